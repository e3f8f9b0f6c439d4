"""EWS `t:Recurrence` <-> the store's patterned recurrence.

The store keeps series in Graph's `patternedRecurrence` shape (its neutral form); EWS writes one
pattern element and one boundary element. Occurrences are expanded by `reconciler.emulator.series`
(Exchange's rules, in the series' own wall-clock time zone), shared with every emulated protocol.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.emulator.ews.soap import EwsError, sub, t, text_of

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
#: The DaysOfWeek values relative patterns may use besides single days.
_GROUPS = {
    "Day": WEEKDAYS,
    "Weekday": WEEKDAYS[:5],
    "WeekendDay": WEEKDAYS[5:],
}


def _days(value: str | None) -> list[str]:
    days: list[str] = []
    for token in (value or "").split():
        if token in _GROUPS:
            days.extend(_GROUPS[token])
        elif token.lower() in WEEKDAYS:
            days.append(token.lower())
        else:
            raise EwsError("ErrorCalendarInvalidRecurrence")
    return days


def _int(element: ET.Element, name: str, default: int | None = None) -> int:
    value = text_of(element, name)
    if value is None:
        if default is None:
            raise EwsError("ErrorCalendarInvalidRecurrence")
        return default
    try:
        return int(value)
    except ValueError as error:
        raise EwsError("ErrorCalendarInvalidRecurrence") from error


def _month(element: ET.Element) -> int:
    name = text_of(element, "Month")
    if name not in MONTHS:
        raise EwsError("ErrorCalendarInvalidRecurrence")
    return MONTHS.index(name) + 1


def _date(value: str | None) -> str:
    # Servers and clients may write "2030-01-07", "2030-01-07Z" or "2030-01-07+01:00".
    if not value or len(value) < 10:
        raise EwsError("ErrorCalendarInvalidRecurrence")
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError as error:
        raise EwsError("ErrorCalendarInvalidRecurrence") from error


def parse(element: ET.Element, timezone: str) -> dict[str, Any]:
    """A `t:Recurrence` element -> patterned recurrence (raises ErrorCalendarInvalidRecurrence)."""
    pattern: dict[str, Any] | None = None
    range_: dict[str, Any] | None = None
    for node in element:
        name = node.tag.rsplit("}", 1)[-1]
        if name == "DailyRecurrence":
            pattern = {"type": "daily", "interval": _int(node, "Interval")}
        elif name == "WeeklyRecurrence":
            pattern = {
                "type": "weekly",
                "interval": _int(node, "Interval"),
                "daysOfWeek": _days(text_of(node, "DaysOfWeek")),
            }
            # Kept only when written: Exchange answers none otherwise (captured
            # getitem-recurring-master.response); the week then starts on Sunday (emulator.series).
            first = text_of(node, "FirstDayOfWeek")
            if first:
                pattern["firstDayOfWeek"] = first.strip().lower()
        elif name == "AbsoluteMonthlyRecurrence":
            pattern = {
                "type": "absoluteMonthly",
                "interval": _int(node, "Interval"),
                "dayOfMonth": _int(node, "DayOfMonth"),
            }
        elif name == "RelativeMonthlyRecurrence":
            pattern = {
                "type": "relativeMonthly",
                "interval": _int(node, "Interval"),
                "daysOfWeek": _days(text_of(node, "DaysOfWeek")),
                "index": (text_of(node, "DayOfWeekIndex") or "First").lower(),
            }
        elif name == "AbsoluteYearlyRecurrence":
            pattern = {
                "type": "absoluteYearly",
                "interval": 1,
                "dayOfMonth": _int(node, "DayOfMonth"),
                "month": _month(node),
            }
        elif name == "RelativeYearlyRecurrence":
            pattern = {
                "type": "relativeYearly",
                "interval": 1,
                "daysOfWeek": _days(text_of(node, "DaysOfWeek")),
                "index": (text_of(node, "DayOfWeekIndex") or "First").lower(),
                "month": _month(node),
            }
        elif name == "NoEndRecurrence":
            range_ = {"type": "noEnd", "startDate": _date(text_of(node, "StartDate"))}
        elif name == "EndDateRecurrence":
            range_ = {
                "type": "endDate",
                "startDate": _date(text_of(node, "StartDate")),
                "endDate": _date(text_of(node, "EndDate")),
            }
        elif name == "NumberedRecurrence":
            range_ = {
                "type": "numbered",
                "startDate": _date(text_of(node, "StartDate")),
                "numberOfOccurrences": _int(node, "NumberOfOccurrences"),
            }
        else:
            raise EwsError("ErrorCalendarInvalidRecurrence")
    if pattern is None or range_ is None:
        raise EwsError("ErrorCalendarInvalidRecurrence")
    if pattern["type"] in ("weekly", "relativeMonthly", "relativeYearly") and not pattern["daysOfWeek"]:
        raise EwsError("ErrorCalendarInvalidRecurrence")
    if pattern["interval"] < 1 or (range_["type"] == "numbered" and range_["numberOfOccurrences"] < 1):
        raise EwsError("ErrorCalendarInvalidRecurrence")
    range_["recurrenceTimeZone"] = timezone
    return {"pattern": pattern, "range": range_}


def _days_text(days: list[str], *, relative: bool) -> str:
    ordered = sorted({d.lower() for d in days}, key=WEEKDAYS.index)
    if relative:
        for group, members in _GROUPS.items():
            if ordered == members:
                return group
        # EWS relative patterns name one day; a Graph series naming several reads as its first.
        return ordered[0].capitalize() if ordered else "Monday"
    return " ".join(d.capitalize() for d in ordered)


def _dated(day: str, zone: str) -> str:
    """A boundary date as Exchange writes it: with the series zone's offset on that day (`2030-01-07+01:00`)."""
    offset = datetime.combine(date.fromisoformat(day), time(12)).replace(tzinfo=ZoneInfo(zone)).strftime("%z")
    return f"{day}{offset[:3]}:{offset[3:]}" if offset not in ("", "+0000") else f"{day}Z"


def render(parent: ET.Element, patterned: Mapping[str, Any], zone: str = "UTC") -> ET.Element:
    """Patterned recurrence -> `t:Recurrence` under `parent`."""
    pattern, range_ = patterned["pattern"], patterned["range"]
    element = sub(parent, t("Recurrence"))
    kind = pattern["type"]
    interval = str(pattern.get("interval", 1))
    if kind == "daily":
        sub(sub(element, t("DailyRecurrence")), t("Interval"), interval)
    elif kind == "weekly":
        node = sub(element, t("WeeklyRecurrence"))
        sub(node, t("Interval"), interval)
        sub(node, t("DaysOfWeek"), _days_text(list(pattern.get("daysOfWeek") or []), relative=False))
        if pattern.get("firstDayOfWeek"):
            sub(node, t("FirstDayOfWeek"), str(pattern["firstDayOfWeek"]).capitalize())
    elif kind == "absoluteMonthly":
        node = sub(element, t("AbsoluteMonthlyRecurrence"))
        sub(node, t("Interval"), interval)
        sub(node, t("DayOfMonth"), str(pattern.get("dayOfMonth")))
    elif kind == "relativeMonthly":
        node = sub(element, t("RelativeMonthlyRecurrence"))
        sub(node, t("Interval"), interval)
        sub(node, t("DaysOfWeek"), _days_text(list(pattern.get("daysOfWeek") or []), relative=True))
        sub(node, t("DayOfWeekIndex"), str(pattern.get("index") or "first").capitalize())
    elif kind == "absoluteYearly":
        node = sub(element, t("AbsoluteYearlyRecurrence"))
        sub(node, t("DayOfMonth"), str(pattern.get("dayOfMonth")))
        sub(node, t("Month"), MONTHS[int(pattern.get("month") or 1) - 1])
    else:
        node = sub(element, t("RelativeYearlyRecurrence"))
        sub(node, t("DaysOfWeek"), _days_text(list(pattern.get("daysOfWeek") or []), relative=True))
        sub(node, t("DayOfWeekIndex"), str(pattern.get("index") or "first").capitalize())
        sub(node, t("Month"), MONTHS[int(pattern.get("month") or 1) - 1])
    kind = range_.get("type", "noEnd")
    if kind == "endDate":
        node = sub(element, t("EndDateRecurrence"))
        sub(node, t("StartDate"), _dated(str(range_["startDate"]), zone))
        sub(node, t("EndDate"), _dated(str(range_["endDate"]), zone))
    elif kind == "numbered":
        node = sub(element, t("NumberedRecurrence"))
        sub(node, t("StartDate"), _dated(str(range_["startDate"]), zone))
        sub(node, t("NumberOfOccurrences"), str(range_["numberOfOccurrences"]))
    else:
        sub(sub(element, t("NoEndRecurrence")), t("StartDate"), _dated(str(range_["startDate"]), zone))
    return element
