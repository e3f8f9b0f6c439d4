"""Series arithmetic on canonical fields (pure): patterns <-> Graph's patternedRecurrence shape,
occurrence expansion and the time span a meeting covers.

Graph's `patternedRecurrence` is also the emulator store's neutral shape, so the sandbox and the
Graph provider share `to_patterned` / `from_patterned`; EWS maps its own elements.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def parse_local(value: str) -> datetime:
    """A canonical `start`/`end` (date or minute-precision datetime) as a naive datetime."""
    return datetime.fromisoformat(value) if "T" in value else datetime.combine(date.fromisoformat(value), time())


def to_patterned(recurrence: Mapping[str, Any], start: str, timezone: str) -> dict[str, Any]:
    """The canonical recurrence as Graph's patternedRecurrence (only meaningful keys set)."""
    every, on = recurrence["every"], list(recurrence.get("on") or [])
    relative = recurrence.get("week_of_month") is not None
    pattern: dict[str, Any] = {"interval": recurrence.get("interval", 1)}
    if every == "day":
        pattern["type"] = "daily"
    elif every == "week":
        pattern |= {
            "type": "weekly",
            "daysOfWeek": on,
            "firstDayOfWeek": recurrence.get("first_day_of_week", "monday"),
        }
    elif every == "month":
        pattern["type"] = "relativeMonthly" if relative else "absoluteMonthly"
    else:
        pattern["type"] = "relativeYearly" if relative else "absoluteYearly"
        pattern["month"] = recurrence.get("month") or parse_local(start).month
    if every in ("month", "year"):
        if relative:
            pattern |= {"daysOfWeek": on, "index": recurrence["week_of_month"]}
        else:
            pattern["dayOfMonth"] = recurrence.get("day_of_month") or parse_local(start).day
    range_: dict[str, Any] = {"startDate": start[:10], "recurrenceTimeZone": timezone}
    if recurrence.get("until"):
        range_ |= {"type": "endDate", "endDate": recurrence["until"]}
    elif recurrence.get("count"):
        range_ |= {"type": "numbered", "numberOfOccurrences": recurrence["count"]}
    else:
        range_["type"] = "noEnd"
    return {"pattern": pattern, "range": range_}


def from_patterned(patterned: Mapping[str, Any], start: str) -> dict[str, Any]:
    """Graph's patternedRecurrence (defaults filled or not) back to the canonical recurrence.

    The canonical form is explicit: weekly `on`, absolute `day_of_month` and yearly `month` are
    always set (loading fills them from `start`), so both directions compare equal.
    """
    pattern, range_ = patterned["pattern"], patterned["range"]
    kind = str(pattern["type"])
    relative = kind.startswith("relative")
    every = {"daily": "day", "weekly": "week"}.get(kind, "month" if kind.endswith("Monthly") else "year")
    local = parse_local(start)
    on = [str(d).lower() for d in pattern.get("daysOfWeek") or []] if every == "week" or relative else []
    day_of_month = None
    if every in ("month", "year") and not relative:
        day_of_month = int(pattern.get("dayOfMonth") or 0) or local.day
    month = (int(pattern.get("month") or 0) or local.month) if every == "year" else None
    range_type = str(range_.get("type"))
    return {
        "every": every,
        "interval": int(pattern.get("interval", 1)),
        "on": sorted(on, key=_WEEKDAYS.index),
        "day_of_month": day_of_month,
        "week_of_month": str(pattern.get("index", "first")) if relative else None,
        "month": month,
        "until": str(range_["endDate"]) if range_type == "endDate" else None,
        "count": int(range_["numberOfOccurrences"]) if range_type == "numbered" else None,
        "first_day_of_week": str(pattern.get("firstDayOfWeek") or "monday").lower() if every == "week" else "monday",
    }


def _rule(recurrence: Mapping[str, Any], dtstart: datetime, anchor: datetime | None = None) -> rrule.rrule:
    """The rrule of a canonical recurrence from `dtstart`; `anchor` (default `dtstart`) is the series'
    own start, which supplies the day of month and month a pattern leaves implicit."""
    anchor = anchor or dtstart
    freq = {"day": rrule.DAILY, "week": rrule.WEEKLY, "month": rrule.MONTHLY, "year": rrule.YEARLY}[recurrence["every"]]
    days = [getattr(rrule, d[:2].upper()) for d in recurrence.get("on") or []]
    kwargs: dict[str, Any] = {
        "dtstart": dtstart,
        "interval": recurrence.get("interval", 1),
        "wkst": getattr(rrule, str(recurrence.get("first_day_of_week", "monday"))[:2].upper()),
    }
    if recurrence["every"] == "week":
        kwargs["byweekday"] = days or [anchor.weekday()]
    elif recurrence["every"] in ("month", "year"):
        if recurrence.get("week_of_month"):
            # Several days mean "the n-th day that is one of them" (Graph and EWS), hence bysetpos.
            kwargs["byweekday"] = days
            kwargs["bysetpos"] = _INDEX[recurrence["week_of_month"]]
        else:
            # Exchange puts day 29-31 on the last day of a shorter month: the last existing of
            # days 28..n is that day.
            day = recurrence.get("day_of_month") or anchor.day
            kwargs["bymonthday"] = list(range(min(day, 28), day + 1))
            kwargs["bysetpos"] = -1
        if recurrence["every"] == "year":
            kwargs["bymonth"] = recurrence.get("month") or anchor.month
    if recurrence.get("until"):
        kwargs["until"] = datetime.combine(date.fromisoformat(recurrence["until"]), time.max)
    elif recurrence.get("count"):
        kwargs["count"] = recurrence["count"]
    return rrule.rrule(freq, **kwargs)  # type: ignore[arg-type]  # stubs want a Literal frequency


def occurrence_starts(fields: Mapping[str, Any]) -> Iterator[datetime]:
    """Local (naive) start of every occurrence of a canonical meeting, in order; one for a single."""
    start = parse_local(fields["start"])
    recurrence = fields.get("recurrence")
    if not recurrence:
        yield start
        return
    skipped = {date.fromisoformat(d) for d in fields.get("skip") or []}
    for occurrence in _rule(recurrence, start):
        if occurrence.date() not in skipped:
            yield occurrence


def _utc(local: datetime, timezone: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def span_utc(fields: Mapping[str, Any]) -> tuple[datetime, datetime | None]:
    """(start of the first occurrence, end of the last one or None for a series without end), UTC.

    The last occurrence is found arithmetically (`_Series.nth`), never by expanding the series: a
    daily series until 9999-12-31 costs as little as one ending next week.
    """
    start, end = parse_local(fields["start"]), parse_local(fields["end"])
    timezone, duration = fields["timezone"], end - start
    recurrence = fields.get("recurrence")
    if not recurrence:
        return _utc(start, timezone), _utc(end, timezone)
    if not recurrence.get("until") and not recurrence.get("count"):
        return _utc(start, timezone), None
    series = _Series(recurrence, start)
    if recurrence.get("count"):
        last = series.nth(int(recurrence["count"]) - 1)
    else:
        last = series.last_before(datetime.combine(date.fromisoformat(recurrence["until"]), time.max))
    return _utc(start, timezone), _utc((last or start) + duration, timezone)


class _Series:
    """Random access to the occurrences of a pattern without expanding it.

    Every Exchange pattern has a fixed number of occurrences per cycle (`interval` days, weeks,
    months or years): one per cycle, except weekly, where it is the number of week days, and any
    window of one cycle starting at an occurrence holds exactly that many. So the k-th occurrence is
    the first cycle's occurrence (k mod per-cycle) moved by whole cycles, which keeps the pattern's
    phase; for months and years the rule is re-run from the first day of the target period.
    """

    def __init__(self, recurrence: Mapping[str, Any], start: datetime) -> None:
        self._recurrence = {k: v for k, v in recurrence.items() if k not in ("until", "count")}
        self._start = start
        self._every = str(recurrence["every"])
        self._interval = int(recurrence.get("interval", 1))
        rule = _rule(self._recurrence, start)
        first = next(iter(rule), None)
        self._first = first
        self._cycle: list[datetime] = []
        if first is not None and self._every == "week":
            limit = first + timedelta(weeks=self._interval)
            self._cycle = [o for o in islice(rule, 8) if o < limit]

    def nth(self, k: int) -> datetime | None:
        """The k-th occurrence (0-based), None when there is none or it lies past year 9999."""
        first = self._first
        if first is None:
            return None
        try:
            if self._every == "day":
                return first + timedelta(days=self._interval * k)
            if self._every == "week":
                cycles, index = divmod(k, len(self._cycle))
                return self._cycle[index] + timedelta(weeks=self._interval * cycles)
            if self._every == "month":
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


def has_ended(fields: Mapping[str, Any], now: datetime) -> bool:
    """True when the meeting's last occurrence ended before `now` (aware)."""
    end = span_utc(fields)[1]
    return end is not None and end <= now


def next_start_utc(fields: Mapping[str, Any], now: datetime) -> datetime | None:
    """Start (UTC) of the first occurrence that starts at or after `now`, or None when none does.
    Moved occurrences (overrides) count at their pattern time: a late-change check only needs an
    approximation on the safe side of a few hours."""
    timezone = fields["timezone"]
    for start in occurrence_starts(fields):
        moment = _utc(start, timezone)
        if moment >= now:
            return moment
    return None


def has_started(fields: Mapping[str, Any], now: datetime) -> bool:
    return span_utc(fields)[0] <= now
