"""What a change does to a series' occurrences, in sentences a person checks (pure).

A diff of a recurrence pattern is hard to read; these lines say what happens to the occurrences
people have in their calendars: "3 future occurrences move from 10:00 to 11:00", "occurrence on
Tue 2026-12-22 cancelled", "occurrences on ... no longer take place". Only occurrences that have not
started count as future ones; for a series without end, a year ahead is looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.occurrences import EditKind, OccurrenceEdit, SeriesEdits, occurrence_fields, overrides_by_date
from reconciler.recurrence import occurrence_starts
from reconciler.state import MeetingState, wall_json

#: How far ahead occurrences are listed for a series without end.
HORIZON = timedelta(days=366)
#: Dates named at most in one sentence.
MAX_DATES = 4
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _day(value: str | date) -> str:
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return f"{_DAY_NAMES[day.weekday()]} {day.isoformat()}"


def _dates(days: Sequence[str]) -> str:
    named = [_day(d) for d in days[:MAX_DATES]]
    rest = len(days) - len(named)
    if rest:
        return ", ".join(named) + f" and {rest} more"
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def _clock(value: str) -> str:
    return value[11:16] if "T" in value else "all day"


def _span(start: str, end: str) -> str:
    if "T" not in start:
        return "all day"
    return f"{_clock(start)}-{_clock(end)}"


def _future_starts(fields: MeetingState, now: datetime) -> list[str]:
    """Original dates of the occurrences (skips removed) that start after `now`, a year ahead at most."""
    zone = ZoneInfo(fields.timezone)
    local_now = now.astimezone(zone).replace(tzinfo=None)
    horizon = local_now + HORIZON
    out = []
    for start in islice(occurrence_starts(fields), 100_000):
        if start > horizon:
            break
        if start >= local_now:
            out.append(start.date().isoformat())
    return out


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _pattern_lines(before: MeetingState, after: MeetingState, now: datetime) -> list[str]:
    old, new = set(_future_starts(before, now)), set(_future_starts(after, now))
    lines = []
    gone, added = sorted(old - new), sorted(new - old)
    if gone:
        lines.append(
            f"{len(gone)} future {_plural(len(gone), 'occurrence', 'occurrences')} no longer"
            f" {_plural(len(gone), 'takes', 'take')} place: {_dates(gone)}"
        )
    if added:
        lines.append(f"{len(added)} new {_plural(len(added), 'occurrence', 'occurrences')}: {_dates(added)}")
    return lines


def _time_lines(before: MeetingState, after: MeetingState, now: datetime) -> list[str]:
    """Future occurrences that keep their date but change time, length or zone."""
    was = (_span(wall_json(before.start), wall_json(before.end)), before.timezone)
    will = (_span(wall_json(after.start), wall_json(after.end)), after.timezone)
    if was == will:
        return []
    moved_alone = set(overrides_by_date(after))
    common = sorted(set(_future_starts(before, now)) & set(_future_starts(after, now)) - moved_alone)
    if not common:
        return []
    zone_note = (f" {before.timezone}", f" {after.timezone}") if was[1] != will[1] else ("", "")
    pattern = after.recurrence
    endless = pattern is None or (not pattern.until and not pattern.count)
    count = (
        f"every future occurrence (from {_day(common[0])})"
        if endless
        else f"{len(common)} future " + _plural(len(common), "occurrence", "occurrences")
    )
    verb = "moves" if endless or len(common) == 1 else "move"
    return [f"{count} {verb} from {was[0]}{zone_note[0]} to {will[0]}{zone_note[1]}"]


def _change_words(current: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    words = []
    if "start" in values and (values["start"], values.get("end")) != (current["start"], current["end"]):
        same_day = values["start"][:10] == current["start"][:10]
        target = (
            _span(values["start"], values["end"])
            if same_day
            else f"{_day(values['start'])} {_span(values['start'], values['end'])}"
        )
        words.append(f"moves from {_span(current['start'], current['end'])} to {target}")
    for key in ("subject", "location"):
        if key in values and values[key] != current[key]:
            words.append(f'{key} "{values[key]}"')
    if "body" in values and values["body"] != current["body"]:
        words.append("new text")
    for key in ("required", "optional"):
        if key in values:
            added = sorted(set(values[key]) - set(current[key]))
            removed = sorted(set(current[key]) - set(values[key]))
            words += [f"+{a} ({key})" for a in added] + [f"-{r} ({key})" for r in removed]
    return words


def _edit_line(after: MeetingState, edits: SeriesEdits, edit: OccurrenceEdit, dropped: Iterable[str]) -> str:
    again = " again" if edit.date in dropped else ""
    if edit.kind is EditKind.CANCEL:
        return f"occurrence on {_day(edit.date)} cancelled{again}"
    if edit.restores:
        back = f" (back at {_span(edit.values['start'], edit.values['end'])})" if "start" in edit.values else ""
        return f"occurrence on {_day(edit.date)} restored to the series{back}"
    words = _change_words(occurrence_fields(after, edit.date, edits.base_overrides), edit.values)
    detail = ": " + ", ".join(words) if words else ""
    return f"occurrence on {_day(edit.date)} changed{again}{detail}"


def series_effects(
    before: MeetingState | None,
    after: MeetingState,
    changed: Iterable[str],
    edits: SeriesEdits,
    now: datetime,
) -> tuple[str, ...]:
    """Sentences for an update (`before` given) or the creation (`before` None) of a series."""
    if after.recurrence is None:
        return ()
    names = set(changed)
    lines: list[str] = []
    dropped: set[str] = set()
    if before is not None and before.recurrence is not None:
        if names & {"recurrence", "start"}:
            lines += _pattern_lines(before, after, now)
        lines += _time_lines(before, after, now)
        old_skip, new_skip = {d.isoformat() for d in before.skip}, {d.isoformat() for d in after.skip}
        lines += [f"occurrence on {_day(d)} restored" for d in sorted(old_skip - new_skip)]
        if edits.regenerate:
            skipped, changed_days = sorted(old_skip & new_skip), sorted(overrides_by_date(before))
            dropped = set(skipped) | set(changed_days)
            if dropped:
                parts = [
                    f"{len(days)} {kind} {_plural(len(days), 'occurrence', 'occurrences')}"
                    for kind, days in (("cancelled", skipped), ("changed", changed_days))
                    if days
                ]
                lines.append(
                    f"the series is written again, which drops its {' and '.join(parts)} in Exchange;"
                    f" {_plural(len(dropped), 'it is', 'they are')} re-applied"
                )
    lines += [_edit_line(after, edits, edit, dropped) for edit in edits.edits]
    return tuple(lines)
