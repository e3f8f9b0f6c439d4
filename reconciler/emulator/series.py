"""Series expansion as Exchange does it, for every emulated protocol (pure; stdlib only).

The store keeps a recurring meeting as one master document (see `store`): a patterned recurrence
in Graph's shape, the original dates of cancelled occurrences and partial documents of changed
ones (`exceptions`). This module turns that into occurrences, in the series' own time zone, so a
10:00 Europe/Berlin series stays at 10:00 Berlin time across daylight-saving changes.

It is written from Exchange's rules, not with an RFC 5545 library, so tests can check it against
python-dateutil's rrule as an independent expansion:

* weekly: weeks begin on `firstDayOfWeek`; every `interval`-th week counted from the week that holds
  `startDate`; days in that week in calendar order;
* absolute monthly / yearly: `dayOfMonth`, or the month's last day when the month is shorter
  (MS-OXOCAL: an occurrence on the 31st falls on the 30th in a 30-day month);
* relative monthly / yearly: the `index`-th (first..fourth, last) day of the month that is one of
  `daysOfWeek` (with several days, the n-th day matching any of them: "first weekday");
* ranges: `endDate` (inclusive, local date), `numbered` (cancelled occurrences count), `noEnd`;
  nothing before `startDate`.

Occurrences are identified by their original local date; moving an occurrence (an exception)
keeps that identity, which is what protocol ids are derived from.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INDEX = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
#: Pattern periods (days, weeks, months or years) walked at most: a guard against runaway input.
MAX_PERIODS = 200_000
#: Keys of a master document that describe the series rather than one occurrence.
SERIES_KEYS = ("recurrence", "cancelled_occurrences", "exceptions")


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a series. Times are naive local wall times in the series' zone."""

    original: date  # its identity: the date the pattern gives it
    index: int  # 1-based position in the pattern, cancelled occurrences counted
    original_start: datetime
    start: datetime
    end: datetime
    doc: dict[str, Any]  # the master's document with this occurrence's changes, times and no series keys
    exception: bool  # changed on its own
    cancelled: bool


def wall(value: str) -> datetime:
    """A store wall time ("YYYY-MM-DDTHH:MM[:SS]") as a naive datetime."""
    return datetime.fromisoformat(value)


def to_utc(local: datetime, zone: str) -> datetime:
    """A naive local time in `zone` as an aware UTC datetime (a time in a DST gap moves forward)."""
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _relative_day(year: int, month: int, days: list[int], index: str) -> date | None:
    matching = [
        date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)
        if date(year, month, d).weekday() in days
    ]  # fmt: skip
    position = _INDEX.get(index, 0)
    if not matching or position >= len(matching):
        return None
    return matching[position]


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + months
    return total // 12, total % 12 + 1


def _candidates(pattern: Mapping[str, Any], first: date) -> Iterator[date]:
    """Pattern dates in order from the period holding `first` (some may precede it)."""
    kind = str(pattern["type"])
    interval = max(int(pattern.get("interval") or 1), 1)
    days = sorted(WEEKDAYS.index(str(d).lower()) for d in pattern.get("daysOfWeek") or [])
    for period in range(MAX_PERIODS):
        step = period * interval
        if kind == "daily":
            yield first + timedelta(days=step)
        elif kind == "weekly":
            week_start_day = WEEKDAYS.index(str(pattern.get("firstDayOfWeek") or "sunday").lower())
            week_start = first - timedelta(days=(first.weekday() - week_start_day) % 7)
            week = week_start + timedelta(weeks=step)
            for offset in range(7):
                day = week + timedelta(days=offset)
                if day.weekday() in (days or [first.weekday()]):
                    yield day
        elif kind in ("absoluteMonthly", "relativeMonthly"):
            year, month = _add_months(first.year, first.month, step)
            if kind == "absoluteMonthly":
                yield _month_day(year, month, int(pattern.get("dayOfMonth") or first.day))
            elif (found := _relative_day(year, month, days, str(pattern.get("index") or "first"))) is not None:
                yield found
        else:
            year, month = first.year + step, int(pattern.get("month") or first.month)
            if kind == "absoluteYearly":
                yield _month_day(year, month, int(pattern.get("dayOfMonth") or first.day))
            elif (found := _relative_day(year, month, days, str(pattern.get("index") or "first"))) is not None:
                yield found


def pattern_dates(patterned: Mapping[str, Any]) -> Iterator[date]:
    """Every date of a patterned recurrence in order, cancelled occurrences included."""
    pattern, range_ = patterned["pattern"], patterned["range"]
    first = date.fromisoformat(str(range_["startDate"])[:10])
    kind = range_.get("type", "noEnd")
    end = date.fromisoformat(str(range_["endDate"])[:10]) if kind == "endDate" else None
    count = int(range_.get("numberOfOccurrences") or 0) if kind == "numbered" else None
    produced = 0
    for day in _candidates(pattern, first):
        if day < first:
            continue
        if (end is not None and day > end) or (count is not None and produced >= count):
            return
        produced += 1
        yield day


def expand(
    doc: Mapping[str, Any], *, until: datetime | None = None, include_cancelled: bool = False
) -> Iterator[Occurrence]:
    """The occurrences of a master document in pattern order.

    Generation stops at the first occurrence whose original start is after `until` (naive local);
    without `until` a series without end goes on to MAX_PERIODS, so pass one for such series.
    """
    master_start, master_end = wall(doc["start"]), wall(doc["end"])
    duration = master_end - master_start
    cancelled = set(doc.get("cancelled_occurrences") or [])
    exceptions: Mapping[str, Mapping[str, Any]] = doc.get("exceptions") or {}
    base = {k: v for k, v in doc.items() if k not in SERIES_KEYS}
    for index, day in enumerate(pattern_dates(doc["recurrence"]), start=1):
        original_start = datetime.combine(day, master_start.time())
        if until is not None and original_start > until:
            return
        key = day.isoformat()
        if key in cancelled and not include_cancelled:
            continue
        change = exceptions.get(key) or {}
        start = wall(change["start"]) if change.get("start") else original_start
        end = wall(change["end"]) if change.get("end") else start + duration
        occurrence_doc = {
            **base,
            **change,
            "start": start.isoformat(timespec="seconds"),
            "end": end.isoformat(timespec="seconds"),
        }
        yield Occurrence(day, index, original_start, start, end, occurrence_doc, bool(change), key in cancelled)


def find(doc: Mapping[str, Any], original: date) -> Occurrence | None:
    """The occurrence originally on `original` (cancelled ones too), or None if the pattern has none."""
    if not doc.get("recurrence"):
        return None
    until = datetime.combine(original, datetime.max.time())
    for occurrence in expand(doc, until=until, include_cancelled=True):
        if occurrence.original == original:
            return occurrence
    return None


def window(doc: Mapping[str, Any], start_utc: datetime, end_utc: datetime) -> list[Occurrence]:
    """Live occurrences overlapping [start_utc, end_utc), as calendar views return them.

    Exceptions may be moved up to a day away (Exchange refuses moves across a neighbour), so the
    pattern is walked a little past the window.
    """
    zone = str(doc.get("timezone") or "UTC")
    horizon = end_utc.astimezone(ZoneInfo(zone)).replace(tzinfo=None) + timedelta(days=31)
    return [
        occurrence
        for occurrence in expand(doc, until=horizon)
        if to_utc(occurrence.start, zone) < end_utc and to_utc(occurrence.end, zone) > start_utc
    ]
