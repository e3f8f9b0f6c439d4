"""What a change does to a series' occurrences, as `notices` effects a person checks (pure).

A diff of a recurrence pattern is hard to read; these records say what happens to the occurrences
people have in their calendars, which `render.notices` words as "3 future occurrences move from
10:00 to 11:00", "occurrence on Tue 2026-12-22 cancelled", "occurrences on ... no longer take
place". Only occurrences that have not started count as future ones; for a series without end, a
year ahead is looked at.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from reconciler.notices import (
    AttendeeChanged,
    Effect,
    Moved,
    OccurrenceCancelled,
    OccurrenceChanged,
    OccurrenceDetail,
    OccurrenceRestored,
    OccurrencesAdded,
    OccurrencesDropped,
    OccurrencesRetimed,
    SeriesRewritten,
    SkipLifted,
    Span,
    TextChanged,
    ValueSet,
)
from reconciler.occurrences import EditKind, OccurrenceEdit, SeriesEdits, occurrence_fields, override_dates
from reconciler.recurrence import occurrence_starts
from reconciler.state import MeetingState, OverrideState, wall_json

#: How far ahead occurrences are listed for a series without end.
HORIZON = timedelta(days=366)


def _span(fields: MeetingState) -> Span:
    return Span(wall_json(fields.start), wall_json(fields.end))


def _span_of(occurrence: OverrideState) -> Span | None:
    """The span of an occurrence's values (None when they do not set its time)."""
    if occurrence.start is None or occurrence.end is None:
        return None
    return Span(wall_json(occurrence.start), wall_json(occurrence.end))


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


def _pattern_lines(before: MeetingState, after: MeetingState, now: datetime) -> list[Effect]:
    old, new = set(_future_starts(before, now)), set(_future_starts(after, now))
    lines: list[Effect] = []
    gone, added = sorted(old - new), sorted(new - old)
    if gone:
        lines.append(OccurrencesDropped(tuple(gone)))
    if added:
        lines.append(OccurrencesAdded(tuple(added)))
    return lines


def _time_lines(before: MeetingState, after: MeetingState, now: datetime) -> list[Effect]:
    """Future occurrences that keep their date but change time, length or zone."""
    was, will = _span(before), _span(after)
    if (_clock_of(was), before.timezone) == (_clock_of(will), after.timezone):
        return []
    moved_alone = set(override_dates(after.overrides))
    common = sorted(set(_future_starts(before, now)) & set(_future_starts(after, now)) - moved_alone)
    if not common:
        return []
    zones = (before.timezone, after.timezone) if before.timezone != after.timezone else None
    pattern = after.recurrence
    endless = pattern is None or (not pattern.until and not pattern.count)
    return [OccurrencesRetimed(len(common), common[0], endless, was, will, zones)]


def _clock_of(span: Span) -> tuple[str, str] | None:
    """The time of day a span covers (None: all day): what an occurrence shows, whatever its date."""
    return (span.start[11:16], span.end[11:16]) if "T" in span.start else None


def _change_words(current: OverrideState, values: OverrideState) -> list[OccurrenceDetail]:
    """What writing `values` changes on the occurrence `current` (every attribute set) shows."""
    words: list[OccurrenceDetail] = []
    was, will = _span_of(current), _span_of(values)
    if was is not None and will is not None and will != was:
        words.append(Moved(was, will, will.start[:10] == was.start[:10]))
    for key in ("subject", "location"):
        value = getattr(values, key)
        if value is not None and value != getattr(current, key):
            words.append(ValueSet(key, value))
    if values.body is not None and values.body != current.body:
        words.append(TextChanged())
    for key in ("required", "optional"):
        wanted: tuple[str, ...] | None = getattr(values, key)
        if wanted is not None:
            shown: tuple[str, ...] = getattr(current, key) or ()
            added, removed = sorted(set(wanted) - set(shown)), sorted(set(shown) - set(wanted))
            words += [AttendeeChanged(a, key, True) for a in added] + [AttendeeChanged(r, key, False) for r in removed]
    return words


def _edit_line(after: MeetingState, edits: SeriesEdits, edit: OccurrenceEdit, dropped: Iterable[str]) -> Effect:
    again = edit.date in dropped
    if edit.kind is EditKind.CANCEL:
        return OccurrenceCancelled(edit.date, again)
    if edit.restores:
        return OccurrenceRestored(edit.date, _span_of(edit.written))
    words = _change_words(occurrence_fields(after, edit.date, edits.base_overrides), edit.written)
    return OccurrenceChanged(edit.date, again, tuple(words))


def series_effects(
    before: MeetingState | None,
    after: MeetingState,
    changed: Iterable[str],
    edits: SeriesEdits,
    now: datetime,
) -> tuple[Effect, ...]:
    """The effects of an update (`before` given) or the creation (`before` None) of a series."""
    if after.recurrence is None:
        return ()
    names = set(changed)
    lines: list[Effect] = []
    dropped: set[str] = set()
    if before is not None and before.recurrence is not None:
        if names & {"recurrence", "start"}:
            lines += _pattern_lines(before, after, now)
        lines += _time_lines(before, after, now)
        old_skip, new_skip = {d.isoformat() for d in before.skip}, {d.isoformat() for d in after.skip}
        lines += [SkipLifted(d) for d in sorted(old_skip - new_skip)]
        if edits.regenerate:
            skipped, changed_days = sorted(old_skip & new_skip), sorted(override_dates(before.overrides))
            dropped = set(skipped) | set(changed_days)
            if dropped:
                lines.append(SeriesRewritten(len(skipped), len(changed_days), len(dropped)))
    lines += [_edit_line(after, edits, edit, dropped) for edit in edits.edits]
    return tuple(lines)
