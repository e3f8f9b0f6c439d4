"""Plan warnings (`notices.DstShift`) for series whose start moves for attendees in other zones (pure).

Exchange expands a series in the series' own time zone, so a weekly 10:00 Europe/Berlin meeting is
at 10:00 in Berlin all year. An attendee whose zone changes for daylight saving on other dates, or
not at all, sees it move by an hour for some weeks. Each attendee's zone is unknown, so the
repository lists the zones its attendees sit in (`attendee_timezones` in reconciler.yaml) and the
plan warns about every series that moves in one of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from reconciler.notices import DstShift, TimeRun
from reconciler.recurrence import local as naive_local
from reconciler.recurrence import occurrence_starts
from reconciler.state import MeetingState

#: A run of consecutive occurrences at the same unusual time: (HH:MM, first date, last date).
_Run = tuple[str, date, date]


def dst_warnings(
    meeting_id: str, fields: MeetingState, zones: Sequence[str], now: datetime, *, horizon_days: int = 400
) -> list[DstShift]:
    """One warning per zone of `zones` in which the series' start time moves, sorted by zone name.

    `fields` is a canonical meeting state; `zones` are valid IANA names (the
    configuration checks them), duplicates allowed; `now` is aware. Only occurrences starting in
    [`now`, `now + horizon_days`) count, so a series without end is cut off there. All-day meetings
    and single meetings give none, and so does a zone whose offset from the series' zone is the same
    at every counted occurrence (the series' own zone, or Europe/Paris for a Berlin series), whatever
    its name. A warning names the time most occurrences start at in the zone, then every run of
    consecutive occurrences at another time, each with its first and last date in that zone; times
    are local times of day even when the date differs from the series' date. `render.notices` words
    it as

        platform/weekly-sync: 10:00 Europe/Berlin is 04:00 in America/New_York, but 05:00 from
        2027-03-16 to 2027-03-23 (daylight-saving changes on different dates)
    """
    if not zones or fields.all_day or fields.recurrence is None:
        return []
    home_name = fields.timezone
    home = ZoneInfo(home_name)
    starts = _upcoming(fields, home, now, now + timedelta(days=horizon_days))
    home_offsets = [_offset(start.astimezone(home)) for start in starts]
    wall = naive_local(fields.start).strftime("%H:%M")
    warnings: list[DstShift] = []
    for name in sorted(set(zones)):
        zone = ZoneInfo(name)
        local = [start.astimezone(zone) for start in starts]
        offsets = [_offset(moment) for moment in local]
        times = [moment.strftime("%H:%M") for moment in local]
        same_difference = len({theirs - ours for theirs, ours in zip(offsets, home_offsets, strict=True)}) <= 1
        if same_difference or len(set(times)) <= 1:
            continue
        usual = Counter(times).most_common(1)[0][0]
        runs = tuple(TimeRun(*run) for run in _runs(local, times, usual))
        steady = _steady((home, home_offsets), (zone, offsets), now, horizon_days)
        warnings.append(DstShift(meeting_id, wall, home_name, name, usual, runs, steady))
    return warnings


def _upcoming(fields: MeetingState, home: ZoneInfo, now: datetime, limit: datetime) -> list[datetime]:
    """UTC starts of the occurrences in [now, limit); iteration stops at `limit` (series may not end)."""
    found: list[datetime] = []
    for wall_start in occurrence_starts(fields):
        start = wall_start.replace(tzinfo=home).astimezone(UTC)
        if start >= limit:
            break
        if start >= now:
            found.append(start)
    return found


def _runs(local: Sequence[datetime], times: Sequence[str], usual: str) -> list[_Run]:
    """Maximal runs of consecutive occurrences (`local`, starting at `times`) at one time other than `usual`."""
    runs: list[_Run] = []
    previous = usual
    for moment, time in zip(local, times, strict=True):
        if time != usual:
            if time == previous:
                runs[-1] = (time, runs[-1][1], moment.date())
            else:
                runs.append((time, moment.date(), moment.date()))
        previous = time
    return runs


def _offset(moment: datetime) -> timedelta:
    """The UTC offset of an aware `moment` (computed, so never None for the type checker)."""
    return moment.replace(tzinfo=None) - moment.astimezone(UTC).replace(tzinfo=None)


def _changes(zone: ZoneInfo, offsets: Sequence[timedelta], now: datetime, horizon_days: int) -> bool:
    """Whether `zone` changes its UTC offset at all, seen over the counted occurrences' `offsets` and
    weekly over the window or a whole year from `now`, whichever is longer: a series cut short by the
    window or by its end must not make a zone that observes daylight saving look as if it did not."""
    weeks = max(horizon_days, 366) // 7 + 1
    seen = {_offset((now + timedelta(weeks=week)).astimezone(zone)) for week in range(weeks + 1)}
    return len(seen | set(offsets)) > 1


def _steady(
    home: tuple[ZoneInfo, Sequence[timedelta]], other: tuple[ZoneInfo, Sequence[timedelta]], now: datetime, days: int
) -> str | None:
    """Why the time moves: the zone of the two (each with its offsets at the counted occurrences)
    that keeps its UTC offset while the other changes for daylight saving, or None when both change
    (on different dates; at least one changes)."""
    home_changes, other_changes = (_changes(zone, offsets, now, days) for zone, offsets in (home, other))
    if home_changes and other_changes:
        return None
    return other[0].key if home_changes else home[0].key
