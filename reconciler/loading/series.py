"""The `recurrence:` block: consistency rules, the explicit canonical pattern, skip and overrides.

The pattern is made fully explicit (weekly `on`, absolute `day_of_month`, yearly `month` filled from
the start), because providers read patterns back in that form and the planner compares like with like.
Skip and override dates are checked against the pattern's real occurrences, computed by
`reconciler.recurrence` and only as far as the latest date asked about.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from reconciler import model
from reconciler.loading.reader import MISSING, DocumentReader, iso
from reconciler.loading.yamldoc import NodePath
from reconciler.recurrence import occurrence_starts
from reconciler.state import MeetingState, StateJson, override_from_json, pattern_state

_WEEKDAYS = [d.value for d in model.Weekday]
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
#: Occurrences scanned at most when checking skip/override dates (a daily series over 130 years).
_MAX_SCAN = 50_000
_ON_RULE = '"on" is only allowed with every: week, or with every: month or year together with week_of_month'


@dataclass(frozen=True)
class Series:
    """What the series rules need from the meeting: its first occurrence and what overrides inherit."""

    start: datetime | date
    length: timedelta
    all_day: bool
    organizer: str | None
    required: list[str]
    optional: list[str]


def read_recurrence(reader: DocumentReader, series: Series | None) -> model.Recurrence | None:
    """The checked, explicit Recurrence of the document, or None (none declared, or problems reported).

    `series` is None when the meeting's start or end is invalid; the pattern is then only checked for
    consistency.
    """
    spec = reader.get("recurrence", default=None)
    every_text = reader.get("recurrence", "every")
    if not isinstance(spec, dict) or every_text is MISSING:
        return None
    errors_before = len(reader.diagnostics)
    every = model.Every(every_text)
    relative = "week_of_month" in spec

    def misplaced(key: str, message: str) -> None:
        if key in spec:
            reader.error(("recurrence", key), message, at_key=True)

    if every is model.Every.DAY or (every is not model.Every.WEEK and not relative):
        misplaced("on", _ON_RULE)
    if every in (model.Every.DAY, model.Every.WEEK):
        misplaced("week_of_month", '"week_of_month" is only allowed with every: month or year')
        misplaced("day_of_month", '"day_of_month" is only allowed with every: month or year')
    elif relative:
        if "on" not in spec:
            misplaced("week_of_month", '"week_of_month" needs "on" to name the week day, like on: [friday]')
        misplaced("day_of_month", '"day_of_month" cannot be combined with "week_of_month"')
    if every is not model.Every.YEAR:
        misplaced("month", '"month" is only allowed with every: year')
    if every is not model.Every.WEEK:
        misplaced("first_day_of_week", '"first_day_of_week" is only allowed with every: week')
    if "until" in spec and "count" in spec:
        misplaced("count", 'give either "until" or "count", not both')
    until = reader.date_at(("recurrence", "until"))
    start = series.start if series else None
    start_date = start.date() if isinstance(start, datetime) else start
    if until is not None and start_date is not None and until < start_date:
        reader.error(("recurrence", "until"), f"until {until} is before the start date {start_date}")
    if any(p[:1] == ("recurrence",) and p[1:2] not in (("skip",), ("overrides",)) for p in reader.bad):
        return None  # the schema rejected part of the pattern: it cannot be evaluated
    if len(reader.diagnostics) > errors_before or series is None or start_date is None:
        return None
    pattern = _pattern(reader, spec, every, start_date, until)
    if pattern is None:
        return None
    occurrences = _Occurrences(series.start, pattern)
    first = occurrences.first()
    if first is None:
        reader.error(("recurrence",), "the recurrence has no occurrence on or after the start", at_key=True)
        return None
    if first != start_date:
        message = f"start {start_date} is not an occurrence of the recurrence; its first occurrence is {first}"
        reader.error(("start",), message)
        return None
    skip = _skip(reader, occurrences)
    overrides = _overrides(reader, occurrences, series, skip)
    return dataclasses.replace(pattern, skip=tuple(sorted(skip)), overrides=overrides)


def _pattern(
    reader: DocumentReader, spec: dict[str, Any], every: model.Every, start: date, until: date | None
) -> model.Recurrence | None:
    """The pattern with every implicit value made explicit from the start date."""
    relative = "week_of_month" in spec
    on = spec.get("on")
    day_of_month = spec.get("day_of_month")
    month = spec.get("month")
    if every is model.Every.WEEK and on is None:
        on = [_WEEKDAYS[start.weekday()]]
    if every in (model.Every.MONTH, model.Every.YEAR) and not relative and day_of_month is None:
        day_of_month = start.day
    if every is model.Every.YEAR and month is None:
        month = start.month
    if day_of_month is not None and month is not None and day_of_month > _MONTH_DAYS[int(month) - 1]:
        reader.error(("recurrence", "day_of_month"), f"day_of_month {day_of_month} never occurs in month {month}")
        return None
    return model.Recurrence(
        every=every,
        interval=int(spec.get("interval", 1)),
        on=tuple(model.Weekday(d) for d in dict.fromkeys(on or [])),
        day_of_month=int(day_of_month) if day_of_month is not None else None,
        week_of_month=model.WeekOfMonth(spec["week_of_month"]) if relative else None,
        month=int(month) if month is not None else None,
        until=until,
        count=int(spec["count"]) if "count" in spec else None,
        first_day_of_week=model.Weekday(spec.get("first_day_of_week", "monday")),
    )


class _Occurrences:
    """The series' occurrence dates, computed lazily and only as far as asked."""

    def __init__(self, start: datetime | date, pattern: model.Recurrence) -> None:
        # Only the start and the pattern decide the dates; the rest of the state is a placeholder.
        state = MeetingState(subject="", start=start, end=start, timezone="UTC", recurrence=pattern_state(pattern))
        self._starts: Iterator[datetime] = occurrence_starts(state)
        self._seen: set[date] = set()
        self._last: date | None = None
        self._first: date | None = None
        self._exhausted = False
        self._scanned = 0

    def _advance(self) -> bool:
        if self._exhausted or self._scanned >= _MAX_SCAN:
            return False
        start = next(self._starts, None)
        if start is None:
            self._exhausted = True
            return False
        self._scanned += 1
        self._last = start.date()
        self._first = self._first or self._last
        self._seen.add(self._last)
        return True

    def first(self) -> date | None:
        if self._first is None:
            self._advance()
        return self._first

    def includes(self, day: date) -> bool:
        """Whether `day` is an occurrence; True when the scan limit leaves it undecided."""
        while (self._last is None or self._last < day) and self._advance():
            pass
        return day in self._seen or (self._scanned >= _MAX_SCAN and (self._last is None or self._last < day))


def _skip(reader: DocumentReader, occurrences: _Occurrences) -> dict[date, NodePath]:
    skipped: dict[date, NodePath] = {}
    for index in range(len(reader.list_at("recurrence", "skip"))):
        path = ("recurrence", "skip", index)
        day = reader.date_at(path)
        if day is None:
            continue
        if day in skipped:
            first = reader.document.value_pos(skipped[day]).line
            reader.warn(path, f"skip date {day} is already listed at line {first}")
        elif occurrences.includes(day):
            skipped[day] = path
        else:
            reader.error(path, f"skip date {day} is not an occurrence of the series")
    return skipped


def _overrides(
    reader: DocumentReader, occurrences: _Occurrences, series: Series, skipped: dict[date, NodePath]
) -> tuple[model.OverrideState, ...]:
    overrides: dict[date, model.OverrideState] = {}
    first_line: dict[date, int] = {}
    for index in range(len(reader.list_at("recurrence", "overrides"))):
        path: NodePath = ("recurrence", "overrides", index)
        date_path = (*path, "date")
        day = reader.date_at(date_path) if reader.get(*path) is not MISSING else None
        if day is None:
            continue
        override = _override(reader, path, day, series)  # its own problems, whatever its date
        if not occurrences.includes(day):
            reader.error(date_path, f"override date {day} is not an occurrence of the series")
        elif day in skipped:
            reader.error(date_path, f"{day} is both skipped and overridden; keep it in one of skip and overrides")
        elif day in first_line:
            reader.error(date_path, f"{day} is already overridden at line {first_line[day]}")
        else:
            first_line[day] = reader.document.value_pos(date_path).line
            overrides[day] = override
    return tuple(overrides[day] for day in sorted(overrides))


def _override(reader: DocumentReader, path: NodePath, day: date, series: Series) -> model.OverrideState:
    """One occurrence's changes, in canonical form: start and end move together, lists are explicit."""
    spec = reader.get(*path)
    changes: StateJson = {}  # the override in its JSON form, read typed below
    if any(key in spec for key in ("start", "end", "duration")):
        original = datetime.combine(day, series.start.time()) if isinstance(series.start, datetime) else day
        start = reader.when((*path, "start"), series.all_day) if "start" in spec else original
        end = reader.end_at(path, start, series.all_day, series.length)
        if start is not None and end is not None:
            changes |= {"start": iso(start), "end": iso(end)}
    for key in ("subject", "location", "body"):
        value = reader.get(*path, key, default=None)
        if isinstance(value, str):
            changes[key] = value
    if "attendees" in spec:
        required = reader.people((*path, "attendees", "required"), series.organizer)
        optional = reader.people((*path, "attendees", "optional"), series.organizer)
        required_set = set(series.required if required is None else required) - {series.organizer}
        optional_set = set(series.optional if optional is None else optional) - required_set - {series.organizer}
        changes |= {"required": sorted(required_set), "optional": sorted(optional_set)}
    if set(spec) == {"date"}:
        reader.error(path, f"the override of {day} changes nothing; add start, end, subject or other values")
    return override_from_json({"date": day.isoformat(), **changes})
