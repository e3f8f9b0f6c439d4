"""Series arithmetic on canonical state (pure): patterns <-> Graph's patternedRecurrence shape,
occurrence expansion and the time span a meeting covers.

Graph's `patternedRecurrence` is also the emulator store's neutral shape, so the sandbox and the
Graph provider share `to_patterned` / `from_patterned`; EWS maps its own elements.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule

from reconciler.model import Every, Weekday, WeekOfMonth
from reconciler.state import MeetingState, PatternState, Wall

_WEEKDAYS = list(Weekday)
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def parse_local(value: str) -> datetime:
    """A canonical JSON `start`/`end` (date or minute-precision datetime) as a naive datetime."""
    return datetime.fromisoformat(value) if "T" in value else datetime.combine(date.fromisoformat(value), time())


def local(value: Wall) -> datetime:
    """A wall time as a naive datetime (midnight for a date)."""
    return value if isinstance(value, datetime) else datetime.combine(value, time())


#: Graph's patternedRecurrence wire JSON (`pattern` and `range`), which EWS patterns are mapped through too.
PatternedJson = dict[str, Any]


def to_patterned(recurrence: PatternState, start: Wall, timezone: str) -> PatternedJson:
    """The pattern as Graph's patternedRecurrence wire JSON (only meaningful keys set)."""
    every, on = recurrence.every, [d.value for d in recurrence.on]
    relative = recurrence.week_of_month is not None
    pattern: PatternedJson = {"interval": recurrence.interval}
    if every is Every.DAY:
        pattern["type"] = "daily"
    elif every is Every.WEEK:
        pattern |= {"type": "weekly", "daysOfWeek": on, "firstDayOfWeek": recurrence.first_day_of_week.value}
    elif every is Every.MONTH:
        pattern["type"] = "relativeMonthly" if relative else "absoluteMonthly"
    else:
        pattern["type"] = "relativeYearly" if relative else "absoluteYearly"
        pattern["month"] = recurrence.month or start.month
    if every in (Every.MONTH, Every.YEAR):
        if recurrence.week_of_month is not None:
            pattern |= {"daysOfWeek": on, "index": recurrence.week_of_month.value}
        else:
            pattern["dayOfMonth"] = recurrence.day_of_month or start.day
    start_date = start.date() if isinstance(start, datetime) else start
    range_: PatternedJson = {"startDate": start_date.isoformat(), "recurrenceTimeZone": timezone}
    if recurrence.until:
        range_ |= {"type": "endDate", "endDate": recurrence.until.isoformat()}
    elif recurrence.count:
        range_ |= {"type": "numbered", "numberOfOccurrences": recurrence.count}
    else:
        range_["type"] = "noEnd"
    return {"pattern": pattern, "range": range_}


def from_patterned(patterned: PatternedJson, start: Wall) -> PatternState:
    """Graph's patternedRecurrence wire JSON (defaults filled or not) back to the canonical pattern.

    The canonical form is explicit: weekly `on`, absolute `day_of_month` and yearly `month` are
    always set (loading fills them from `start`), so both directions compare equal.
    """
    pattern, range_ = patterned["pattern"], patterned["range"]
    kind = str(pattern["type"])
    relative = kind.startswith("relative")
    every = _PATTERN_UNITS.get(kind, Every.MONTH if kind.endswith("Monthly") else Every.YEAR)
    on = [Weekday(str(d).lower()) for d in pattern.get("daysOfWeek") or []] if every is Every.WEEK or relative else []
    day_of_month = None
    if every in (Every.MONTH, Every.YEAR) and not relative:
        day_of_month = int(pattern.get("dayOfMonth") or 0) or start.day
    month = (int(pattern.get("month") or 0) or start.month) if every is Every.YEAR else None
    range_type = str(range_.get("type"))
    first_day = str(pattern.get("firstDayOfWeek") or "monday").lower() if every is Every.WEEK else "monday"
    return PatternState(
        every=every,
        interval=int(pattern.get("interval", 1)),
        on=tuple(sorted(on, key=_WEEKDAYS.index)),
        day_of_month=day_of_month,
        week_of_month=WeekOfMonth(str(pattern.get("index", "first"))) if relative else None,
        month=month,
        until=date.fromisoformat(str(range_["endDate"])[:10]) if range_type == "endDate" else None,
        count=int(range_["numberOfOccurrences"]) if range_type == "numbered" else None,
        first_day_of_week=Weekday(first_day),
    )


def _rule(recurrence: PatternState, dtstart: datetime, anchor: datetime | None = None) -> rrule.rrule:
    """The rrule of a canonical pattern from `dtstart`; `anchor` (default `dtstart`) is the series'
    own start, which supplies the day of month and month a pattern leaves implicit."""
    anchor = anchor or dtstart
    every = recurrence.every
    freq = _FREQUENCIES[every]
    days = [_RRULE_DAYS[d] for d in recurrence.on]
    kwargs: dict[str, Any] = {
        "dtstart": dtstart,
        "interval": recurrence.interval,
        "wkst": _RRULE_DAYS[recurrence.first_day_of_week],
    }
    if every is Every.WEEK:
        kwargs["byweekday"] = days or [anchor.weekday()]
    elif every in (Every.MONTH, Every.YEAR):
        if recurrence.week_of_month:
            # Several days mean "the n-th day that is one of them" (Graph and EWS), hence bysetpos.
            kwargs["byweekday"] = days
            kwargs["bysetpos"] = _INDEX[recurrence.week_of_month.value]
        else:
            # Exchange puts day 29-31 on the last day of a shorter month: the last existing of
            # days 28..n is that day.
            day = recurrence.day_of_month or anchor.day
            kwargs["bymonthday"] = list(range(min(day, 28), day + 1))
            kwargs["bysetpos"] = -1
        if every is Every.YEAR:
            kwargs["bymonth"] = recurrence.month or anchor.month
    if recurrence.until:
        kwargs["until"] = datetime.combine(recurrence.until, time.max)
    elif recurrence.count:
        kwargs["count"] = recurrence.count
    return rrule.rrule(freq, **kwargs)  # type: ignore[arg-type]  # stubs want a Literal frequency


_RRULE_DAYS = {day: getattr(rrule, day.value[:2].upper()) for day in Weekday}
_FREQUENCIES = {Every.DAY: rrule.DAILY, Every.WEEK: rrule.WEEKLY, Every.MONTH: rrule.MONTHLY, Every.YEAR: rrule.YEARLY}
_PATTERN_UNITS = {"daily": Every.DAY, "weekly": Every.WEEK}


def occurrence_starts(state: MeetingState) -> Iterator[datetime]:
    """Local (naive) start of every occurrence of a canonical meeting, in order; one for a single."""
    start = local(state.start)
    recurrence = state.recurrence
    if recurrence is None:
        yield start
        return
    skipped = frozenset(state.skip)
    for occurrence in _rule(recurrence, start):
        if occurrence.date() not in skipped:
            yield occurrence


def _utc(local: datetime, timezone: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def span_utc(state: MeetingState) -> tuple[datetime, datetime | None]:
    """(start of the first occurrence, end of the last one or None for a series without end), UTC.

    The last occurrence is found arithmetically (`_Series.nth`), never by expanding the series: a
    daily series until 9999-12-31 costs as little as one ending next week. Remembered per state
    (states are frozen): a plan asks for the span of each item when it is read and again for the
    item and its (mostly equal) desired state.
    """
    return _remembered_span(state)


@functools.lru_cache(maxsize=65_536)
def _remembered_span(state: MeetingState) -> tuple[datetime, datetime | None]:
    start, end = local(state.start), local(state.end)
    timezone, duration = state.timezone, end - start
    recurrence = state.recurrence
    if recurrence is None:
        return _utc(start, timezone), _utc(end, timezone)
    if not recurrence.until and not recurrence.count:
        return _utc(start, timezone), None
    series = _Series(recurrence, start)
    if recurrence.count:
        last = series.nth(recurrence.count - 1)
    else:
        assert recurrence.until is not None
        last = series.last_before(datetime.combine(recurrence.until, time.max))
    return _utc(start, timezone), _utc((last or start) + duration, timezone)


class _Series:
    """Random access to the occurrences of a pattern without expanding it.

    Every Exchange pattern has a fixed number of occurrences per cycle (`interval` days, weeks,
    months or years): one per cycle, except weekly, where it is the number of week days, and any
    window of one cycle starting at an occurrence holds exactly that many. So the k-th occurrence is
    the first cycle's occurrence (k mod per-cycle) moved by whole cycles, which keeps the pattern's
    phase; for months and years the rule is re-run from the first day of the target period.
    """

    def __init__(self, recurrence: PatternState, start: datetime) -> None:
        self._recurrence = dataclasses.replace(recurrence, until=None, count=None)
        self._start = start
        self._every = recurrence.every
        self._interval = recurrence.interval
        self._cycle: list[datetime] = []
        if self._every is Every.WEEK:
            self._cycle = [start + offset for offset in _week_cycle(self._recurrence, start.weekday())]
            self._first = self._cycle[0] if self._cycle else None
        else:
            self._first = next(iter(_rule(self._recurrence, start)), None)

    def nth(self, k: int) -> datetime | None:
        """The k-th occurrence (0-based), None when there is none or it lies past year 9999."""
        first = self._first
        if first is None:
            return None
        try:
            if self._every is Every.DAY:
                return first + timedelta(days=self._interval * k)
            if self._every is Every.WEEK:
                cycles, index = divmod(k, len(self._cycle))
                return self._cycle[index] + timedelta(weeks=self._interval * cycles)
            if self._every is Every.MONTH:
                months = first.year * 12 + first.month - 1 + self._interval * k
                period = first.replace(year=months // 12, month=months % 12 + 1, day=1)
            else:
                period = first.replace(year=first.year + self._interval * k, month=1, day=1)
            return next(iter(_rule(self._recurrence, period, anchor=self._start)), None)
        except (OverflowError, ValueError):
            return None

    def last_before(self, bound: datetime) -> datetime | None:
        """The last occurrence at or before `bound` (None: the first is already later)."""
        if self._first is None or self._first > bound:
            return None

        def within(k: int) -> bool:
            occurrence = self.nth(k)
            return occurrence is not None and occurrence <= bound

        low, high = 0, 1
        while within(high):
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if within(middle) else (low, middle)
        return self.nth(low)


#: A Monday: `_week_cycle` expands a weekly pattern once from the same week day of this week.
_REFERENCE_MONDAY = datetime(2001, 1, 1)


@functools.lru_cache(maxsize=1024)
def _week_cycle(pattern: PatternState, weekday: int) -> tuple[timedelta, ...]:
    """The first cycle of a weekly pattern (without range) that starts on `weekday`, as offsets
    from the start: the same for every start on that week day, since a weekly rule only counts
    whole weeks from the start's week (`first_day_of_week`) and keeps the start's time of day. So
    it is expanded once per pattern and week day, not once per series."""
    start = _REFERENCE_MONDAY + timedelta(days=weekday)
    rule = _rule(pattern, start)
    first = next(iter(rule), None)
    if first is None:
        return ()
    limit = first + timedelta(weeks=pattern.interval)
    return tuple(o - start for o in islice(rule, 8) if o < limit)


def has_ended(state: MeetingState, now: datetime) -> bool:
    """True when the meeting's last occurrence ended before `now` (aware)."""
    end = span_utc(state)[1]
    return end is not None and end <= now


def next_start_utc(state: MeetingState, now: datetime) -> datetime | None:
    """Start (UTC) of the first occurrence that starts at or after `now`, or None when none does.
    Moved occurrences (overrides) count at their pattern time: a late-change check only needs an
    approximation on the safe side of a few hours."""
    timezone = state.timezone
    for start in occurrence_starts(state):
        moment = _utc(start, timezone)
        if moment >= now:
            return moment
    return None


def has_started(state: MeetingState, now: datetime) -> bool:
    return span_utc(state)[0] <= now
