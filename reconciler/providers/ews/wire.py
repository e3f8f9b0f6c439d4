"""Canonical meeting fields <-> exchangelib calendar items, pure (only `sdk` imports exchangelib).

Writes build CalendarItem values (`ItemValues`, of which `sdk.item_kwargs` makes exchangelib's
objects) from canonical fields; reads turn an item fetched with
`ITEM_FIELDS` back into canonical fields. Times go out as wall-clock datetimes in the meeting's zone
(exchangelib derives StartTimeZone/EndTimeZone from them) and come back in UTC with the item's start
zone as a Windows id; the recorded IANA zone is kept when it maps to that Windows id, so
`Europe/Copenhagen` does not read back as CLDR's golden `Europe/Paris`. An item without a
StartTimeZone (Exchange 2007, or an item another client wrote) is read in the zone its legacy
`calendar:TimeZone` text names. The organizer's own address is never read as an attendee (Exchange
can list the organizer among RequiredAttendees).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reconciler import timezones
from reconciler.errors import ProviderError, RequestRejectedError
from reconciler.model import BodyFormat
from reconciler.occurrences import EditKind, SeriesEdits, ShownJson, observe_overrides, occurrence_fields
from reconciler.ownership import decode_record, render_text, resolve_observed
from reconciler.recurrence import from_patterned, local, occurrence_starts, to_patterned
from reconciler.state import MeetingState, OverrideState, StateJson, Wall, pattern_json, wall_from_json

#: JSON in a protocol's shape (Graph's patternedRecurrence, which EWS patterns are read through).
WireJson = dict[str, Any]


@dataclass(frozen=True)
class WireTime:
    """A wall-clock time in an IANA zone (exchangelib: an EWSDateTime in `sdk.ews_zone(zone)`)."""

    wall: datetime
    zone: str


@dataclass(frozen=True)
class WireZone:
    """A meeting's IANA zone (exchangelib: the EWSTimeZone `sdk.ews_zone` picks)."""

    iana: str


@dataclass(frozen=True)
class WireBody:
    """A body as written (exchangelib: HTMLBody when `html`, else Body)."""

    content: str
    html: bool


@dataclass(frozen=True)
class WireAttendees:
    """Attendee addresses (exchangelib: Attendee objects, response type Unknown)."""

    addresses: tuple[str, ...]


@dataclass(frozen=True)
class WireRecurrence:
    """A recurrence as exchangelib's pattern and boundary classes take it: `kind` is Graph's pattern
    type; days are numbered 1..7 for Monday..Sunday and 8, 9, 10 for Day, Weekday, WeekendDay; the
    range ends on `end`, after `occurrences`, or never."""

    kind: str
    interval: int
    start: date
    weekdays: tuple[int, ...] = ()
    first_day_of_week: int | None = None
    day_of_month: int | None = None
    weekday: int | None = None
    week_number: int | None = None
    month: int | None = None
    end: date | None = None
    occurrences: int | None = None


#: An exchangelib CalendarItem as fetched with `ITEM_FIELDS` (read by attribute, never imported here).
FetchedItem = Any
#: One CalendarItem field's value as written; `sdk.item_kwargs` builds exchangelib's objects of it.
WireValue = (
    str | int | bool | list[str] | datetime | WireTime | WireZone | WireBody | WireAttendees | WireRecurrence | None
)
#: CalendarItem field name -> value to write.
ItemValues = dict[str, WireValue]

#: exchangelib attribute names of our three ownership properties.
NAMESPACE_ATTR, MEETING_ID_ATTR, RECORD_ATTR = "mac_namespace", "mac_meeting_id", "mac_last_applied"
#: exchangelib attribute of `calendar:TimeZone`, the read-only text naming the item's zone that
#: every Exchange version returns (Exchange 2007 returns no StartTimeZone); exchangelib has no field for it.
LEGACY_ZONE_ATTR = "mac_legacy_timezone"


#: What a changed occurrence is read with (one GetItem for the ids a listing's masters name).
OCCURRENCE_FIELDS = (
    "subject",
    "body",
    "start",
    "end",
    "location",
    "required_attendees",
    "optional_attendees",
)

#: What list/find/fetch read (GetItem with exactly these; FindItem itself is IdOnly).
ITEM_FIELDS = (
    "subject",
    "body",
    "start",
    "end",
    "_start_timezone",
    "_end_timezone",
    LEGACY_ZONE_ATTR,
    "is_all_day",
    "location",
    "required_attendees",
    "optional_attendees",
    "resources",
    "recurrence",
    "deleted_occurrences",
    "modified_occurrences",
    "is_online_meeting",
    "reminder_is_set",
    "reminder_minutes_before_start",
    "legacy_free_busy_status",
    "sensitivity",
    "importance",
    "categories",
    "is_response_requested",
    "allow_new_time_proposal",
    "my_response_type",
    NAMESPACE_ATTR,
    MEETING_ID_ATTR,
    RECORD_ATTR,
)

_SHOW_AS = {
    "free": "Free",
    "tentative": "Tentative",
    "busy": "Busy",
    "oof": "OOF",
    "workingElsewhere": "WorkingElsewhere",
}
_SHOW_AS_BACK = {v: k for k, v in _SHOW_AS.items()} | {"NoData": "busy"}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_GROUPS = {"Day": _WEEKDAYS, "Weekday": _WEEKDAYS[:5], "WeekendDay": _WEEKDAYS[5:]}
_WEEK_NUMBERS = ["first", "second", "third", "fourth", "last"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]  # fmt: skip
#: exchangelib numbers DaysOfWeek 1..7 for Monday..Sunday and 8, 9, 10 for Day, Weekday, WeekendDay.
_EXTRA_DAYS = {"Day": 8, "Weekday": 9, "WeekendDay": 10}


# -- zones -----------------------------------------------------------------------------------------


def _time(value: Wall, zone: str) -> WireTime:
    """A wall time in `zone`."""
    return WireTime(local(value), zone)


# -- recurrence ------------------------------------------------------------------------------------


def _day_number(name: str) -> int:
    return _WEEKDAYS.index(name.lower()) + 1


def _relative_day(days: Iterable[str]) -> int:
    ordered = sorted({d.lower() for d in days}, key=_WEEKDAYS.index)
    for group, members in _GROUPS.items():
        if ordered == members:
            return _EXTRA_DAYS[group]
    if len(ordered) != 1:
        raise RequestRejectedError(
            "EWS monthly and yearly patterns take one week day (or every day, weekdays or weekend days), "
            f"not {', '.join(ordered)}."
        )
    return _day_number(ordered[0])


def recurrence_for(fields: MeetingState) -> WireRecurrence | None:
    """The series' pattern and range as exchangelib's recurrence classes take them; refuses what EWS
    cannot repeat (several single week days monthly or yearly, a yearly interval above 1)."""
    canonical = fields.recurrence
    if canonical is None:
        return None
    patterned = to_patterned(canonical, fields.start, fields.timezone)
    pattern, range_ = patterned["pattern"], patterned["range"]
    kind, interval = pattern["type"], int(pattern.get("interval", 1))
    start = date.fromisoformat(range_["startDate"])
    end = date.fromisoformat(range_["endDate"]) if range_["type"] == "endDate" else None
    count = int(range_["numberOfOccurrences"]) if range_["type"] == "numbered" else None
    if kind == "daily":
        return WireRecurrence(kind, interval, start, end=end, occurrences=count)
    if kind == "weekly":
        return WireRecurrence(
            kind,
            interval,
            start,
            weekdays=tuple(_day_number(d) for d in pattern["daysOfWeek"]) or (local(fields.start).isoweekday(),),
            first_day_of_week=_day_number(pattern.get("firstDayOfWeek", "monday")),
            end=end,
            occurrences=count,
        )
    if kind == "absoluteMonthly":
        return WireRecurrence(
            kind, interval, start, day_of_month=int(pattern["dayOfMonth"]), end=end, occurrences=count
        )
    if kind == "relativeMonthly":
        return WireRecurrence(
            kind,
            interval,
            start,
            weekday=_relative_day(pattern["daysOfWeek"]),
            week_number=_WEEK_NUMBERS.index(pattern["index"]) + 1,
            end=end,
            occurrences=count,
        )
    if interval != 1:
        raise RequestRejectedError(f"EWS cannot repeat a meeting every {interval} years; only every year.")
    if kind == "absoluteYearly":
        return WireRecurrence(
            kind,
            1,
            start,
            day_of_month=int(pattern["dayOfMonth"]),
            month=int(pattern["month"]),
            end=end,
            occurrences=count,
        )
    return WireRecurrence(
        kind,
        1,
        start,
        weekday=_relative_day(pattern["daysOfWeek"]),
        week_number=_WEEK_NUMBERS.index(pattern["index"]) + 1,
        month=int(pattern["month"]),
        end=end,
        occurrences=count,
    )


def day_names(value: Any) -> list[str]:
    """Week day names of exchangelib's DaysOfWeek value (a number, a name or a group, or a list of them)."""
    values = value if isinstance(value, list | tuple) else [value]
    names: list[str] = []
    for day in values:
        if isinstance(day, int):
            day = (_WEEKDAYS + list(_EXTRA_DAYS))[day - 1]
        text = str(day)
        names.extend(_GROUPS.get(text, [text.lower()]))
    return names


def week_index(value: Any) -> str:
    """Graph's `index` (first .. last) of exchangelib's week number (1..5 or a name)."""
    return _WEEK_NUMBERS[value - 1] if isinstance(value, int) else str(value).lower()


def month_number(value: Any) -> int:
    """The month (1..12) of exchangelib's month value (a number or a name)."""
    return value if isinstance(value, int) else _MONTHS.index(str(value).lower()) + 1


def as_date(value: Any) -> date:
    """The calendar date of an end-date boundary as exchangelib reads it (a date, a UTC datetime or text)."""
    if isinstance(value, datetime):
        # Aware values are UTC (the account's default zone); the boundary is a calendar date.
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def canonical_recurrence(patterned: WireJson | None, start: str) -> StateJson | None:
    """Graph's patternedRecurrence shape of an item's recurrence (`sdk.read_recurrence`) -> the
    canonical recurrence's JSON; None for an item without one."""
    if patterned is None:
        return None
    return pattern_json(from_patterned(patterned, wall_from_json(start)))


def occurrence_indexes(fields: MeetingState, days: Iterable[str]) -> dict[str, int]:
    """EWS InstanceIndex of each original date: the 1-based position in the pattern, skipped
    (deleted) occurrences counted, as OccurrenceItemId numbers them."""
    wanted = set(days)
    if not wanted:
        return {}
    last = max(wanted)
    indexes: dict[str, int] = {}
    for index, start in enumerate(occurrence_starts(dataclasses.replace(fields, skip=())), start=1):
        day = start.date().isoformat()
        if day in wanted:
            indexes[day] = index
        if day >= last:
            break
    missing = sorted(wanted - set(indexes))
    if missing:
        raise RequestRejectedError(f"{', '.join(missing)} is not an occurrence of the series; it cannot be changed.")
    return indexes


# -- writes ----------------------------------------------------------------------------------------


def _attendees(addresses: Iterable[str]) -> WireAttendees | None:
    listed = tuple(addresses)
    return WireAttendees(listed) if listed else None


def _body(body: str, body_format: BodyFormat) -> WireBody:
    kind, content = render_text(body, body_format)
    return WireBody(content, html=kind == "html")


def item_values(fields: MeetingState) -> ItemValues:
    """CalendarItem values (`sdk.item_kwargs` turns them into keyword arguments) for every canonical
    field EWS can write."""
    if fields.online_meeting:
        raise RequestRejectedError(
            "EWS cannot create Teams (online) meetings; set online_meeting: false or use the graph backend."
        )
    zone = WireZone(fields.timezone)
    reminder = fields.reminder_minutes
    return {
        "subject": fields.subject,
        "body": _body(fields.body, fields.body_format),
        "start": _time(fields.start, fields.timezone),
        "end": _time(fields.end, fields.timezone),
        "_start_timezone": zone,
        "_end_timezone": zone,
        "is_all_day": fields.all_day,
        "location": fields.location or None,
        "required_attendees": _attendees(fields.required),
        "optional_attendees": _attendees(fields.optional),
        "resources": _attendees(fields.rooms),
        "recurrence": recurrence_for(fields),
        "reminder_is_set": reminder is not None,
        "reminder_minutes_before_start": reminder if reminder is not None else 15,
        "legacy_free_busy_status": _SHOW_AS[fields.show_as.value],
        "sensitivity": fields.sensitivity.value.capitalize(),
        "importance": fields.importance.value.capitalize(),
        "categories": list(fields.categories) or None,
        "is_response_requested": fields.response_requested,
        "allow_new_time_proposal": fields.allow_new_time_proposals,
    }


def occurrence_values(fields: MeetingState, day: str, values: OverrideState) -> ItemValues:
    """CalendarItem values that write canonical override `values` on the occurrence
    originally on `day` of the series `fields`. Start and end are written together (the one not
    given is the series'); attendees are never written on an occurrence (EWS refuses them)."""
    out: ItemValues = {}
    if values.start is not None or values.end is not None:
        plain = occurrence_fields(fields, day, ())
        out["start"] = _time(values.start or plain.start or fields.start, fields.timezone)
        out["end"] = _time(values.end or plain.end or fields.end, fields.timezone)
    if values.subject is not None:
        out["subject"] = values.subject
    if values.location is not None:
        out["location"] = values.location or None
    if values.body is not None:
        out["body"] = _body(values.body, fields.body_format)
    return out


@dataclass(frozen=True)
class OccurrenceWrites:
    """A series' occurrence edits as EWS writes them, each occurrence named by InstanceIndex."""

    cancel: tuple[int, ...]
    #: (index, CalendarItem values of `occurrence_values`)
    change: tuple[tuple[int, ItemValues], ...]

    def __bool__(self) -> bool:
        return bool(self.cancel or self.change)


def occurrence_writes(meeting_id: str, fields: MeetingState, edits: SeriesEdits) -> OccurrenceWrites:
    """The occurrence writes of `edits` on the series `fields` (computed before anything is written,
    so a write EWS cannot make is refused first). EWS cannot write an occurrence's attendees (the
    loader refuses such overrides on ews): attendees someone changed on one occurrence in Outlook
    cannot be written back."""
    for edit in edits.edits:
        if edit.kind is EditKind.CHANGE and {"required", "optional"} & edit.keys:
            raise RequestRejectedError(
                f"The attendees of the {edit.date} occurrence of {meeting_id} differ from the series' (changed in "
                "Outlook?), and EWS cannot change the attendees of a single occurrence; restore them in Outlook, "
                "or change the series' pattern so Exchange rebuilds every occurrence."
            )
    indexes = occurrence_indexes(fields, [edit.date for edit in edits.edits])
    return OccurrenceWrites(
        tuple(indexes[edit.date] for edit in edits.edits if edit.kind is EditKind.CANCEL),
        tuple(
            (indexes[edit.date], occurrence_values(fields, edit.date, edit.written))
            for edit in edits.edits
            if edit.kind is EditKind.CHANGE
        ),
    )


#: Canonical field -> the exchangelib fields that carry it.
_UPDATE_FIELDS: dict[str, tuple[str, ...]] = {
    "subject": ("subject",),
    "start": ("start", "end"),
    "end": ("start", "end"),
    "timezone": ("start", "end"),
    "all_day": ("start", "end", "is_all_day"),
    "recurrence": ("recurrence",),
    "required": ("required_attendees",),
    "optional": ("optional_attendees",),
    "rooms": ("resources",),
    "location": ("location",),
    "body": ("body",),
    "body_format": ("body",),
    "reminder_minutes": ("reminder_is_set", "reminder_minutes_before_start"),
    "show_as": ("legacy_free_busy_status",),
    "sensitivity": ("sensitivity",),
    "importance": ("importance",),
    "categories": ("categories",),
    "response_requested": ("is_response_requested",),
    "allow_new_time_proposals": ("allow_new_time_proposal",),
    # EWS has no element for it (Capabilities.hide_attendees): the loader refuses `true` on EWS.
    "hide_attendees": (),
    "protect": (),
    "online_meeting": (),
    "skip": (),
    "overrides": (),
}


def update_fields(changed: Iterable[str], fields: MeetingState) -> list[str]:
    """The exchangelib fields to write for `changed` canonical fields, in a stable order.

    A series whose start moves also rewrites its recurrence (the range's start date moves with it).
    """
    names: list[str] = []
    for name in sorted(changed):
        for attr in _UPDATE_FIELDS[name]:
            if attr not in names:
                names.append(attr)
    if "start" in names and fields.recurrence is not None and "recurrence" not in names:
        names.append("recurrence")
    return names


# -- reads -----------------------------------------------------------------------------------------


def _addresses(attendees: Iterable[Any] | None, organizer: str | None) -> list[str]:
    """Attendee addresses, lower-cased and sorted, without the organizer's own (the model never
    counts the organizer as an attendee; Exchange may list it among them)."""
    found = set()
    for attendee in attendees or []:
        mailbox = getattr(attendee, "mailbox", None)
        address = getattr(mailbox, "email_address", None)
        if address:
            found.add(str(address).lower())
    return sorted(found - {organizer.lower()} if organizer else found)


def _windows_zone(item: FetchedItem) -> str | None:
    """The Windows id of the item's zone: StartTimeZone's, else the legacy TimeZone text when it is
    a zone name `timezones` knows."""
    windows = getattr(item._start_timezone, "ms_id", None)
    if windows:
        return str(windows)
    legacy = str(getattr(item, LEGACY_ZONE_ATTR, None) or "").strip()
    if legacy:
        try:
            return timezones.to_windows(legacy)
        except ValueError:
            return None  # e.g. a display name such as "(UTC+01:00) Amsterdam, Berlin"; read in UTC
    return None


def _zone_name(item: FetchedItem, applied: MeetingState | None) -> str:
    """The IANA zone to read times in: the recorded one when it still maps to the item's zone."""
    zone = item._start_timezone
    windows = _windows_zone(item)
    recorded = applied.timezone if applied else None
    if recorded and windows:
        try:
            if timezones.to_windows(str(recorded)) == windows:
                return str(recorded)
        except ValueError:
            pass
    if windows:
        try:
            return timezones.to_iana(str(windows))
        except ValueError:
            pass
    return str(getattr(zone, "key", None) or "UTC")


def _wall(value: Any, zone: ZoneInfo, *, end: bool, all_day: bool) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(zone)
        return local.date().isoformat() if all_day else local.strftime("%Y-%m-%dT%H:%M")
    # exchangelib hands all-day items back as dates, the end one day early (it treats ends as inclusive).
    day = value + timedelta(days=1) if end else value
    return str(day.isoformat())


def observed_state(
    item: FetchedItem, recurrence: WireJson | None, applied: MeetingState | None, organizer: str | None = None
) -> tuple[StateJson, str]:
    """The canonical state a fetched item in `organizer`'s calendar is observed in: (its fields as JSON,
    without body/body_format/protect, and the server body text); `recurrence` is the item's pattern
    as `sdk.read_recurrence` reads it. Raises ProviderError for an item that came back without its times."""
    if item.start is None or item.end is None:
        raise ProviderError(
            f"Exchange returned the calendar item {item.id} without its start or end; it cannot be read."
        )
    zone_name = _zone_name(item, applied)
    zone = ZoneInfo(zone_name)
    all_day = bool(item.is_all_day)
    start = _wall(item.start, zone, end=False, all_day=all_day)
    skip = sorted(
        {value.start.astimezone(zone).date().isoformat() for value in item.deleted_occurrences or [] if value.start}
    )
    raw = {
        "subject": item.subject or "",
        "start": start,
        "end": _wall(item.end, zone, end=True, all_day=all_day),
        "timezone": zone_name,
        "all_day": all_day,
        "recurrence": canonical_recurrence(recurrence, start),
        "skip": skip if item.recurrence else [],
        "overrides": [],
        "required": _addresses(item.required_attendees, organizer),
        "optional": _addresses(item.optional_attendees, organizer),
        "rooms": _addresses(item.resources, None),
        "location": item.location or "",
        "online_meeting": bool(item.is_online_meeting),
        "reminder_minutes": item.reminder_minutes_before_start if item.reminder_is_set else None,
        "show_as": _SHOW_AS_BACK.get(str(item.legacy_free_busy_status), "busy"),
        "sensitivity": str(item.sensitivity or "Normal").lower(),
        "importance": str(item.importance or "Normal").lower(),
        "categories": sorted(item.categories or []),
        "response_requested": item.is_response_requested is not False,
        "allow_new_time_proposals": item.allow_new_time_proposal is not False,
        "hide_attendees": False,  # EWS cannot carry it (Capabilities.hide_attendees)
    }
    return raw, str(item.body or "")


def exception_values(
    item: FetchedItem, fields: MeetingState, shown: Mapping[str, FetchedItem], organizer: str | None = None
) -> dict[str, ShownJson]:
    """What each changed occurrence of a master shows, by original local date: canonical start and
    end, subject, location, attendees and the raw body (for `occurrences.observe_overrides`).
    `shown` maps the ids listed in the master's ModifiedOccurrences to those occurrences, fetched
    with `OCCURRENCE_FIELDS`."""
    zone, all_day = ZoneInfo(fields.timezone), fields.all_day
    exceptions: dict[str, ShownJson] = {}
    for listed in item.modified_occurrences or []:
        occurrence = shown[listed.id]
        exceptions[listed.original_start.astimezone(zone).date().isoformat()] = {
            "start": _wall(occurrence.start, zone, end=False, all_day=all_day),
            "end": _wall(occurrence.end, zone, end=True, all_day=all_day),
            "subject": occurrence.subject or "",
            "location": occurrence.location or "",
            "body": str(occurrence.body or ""),
            "required": _addresses(occurrence.required_attendees, organizer),
            "optional": _addresses(occurrence.optional_attendees, organizer),
        }
    return exceptions


def observe(
    item: FetchedItem, recurrence: WireJson | None, shown: Mapping[str, FetchedItem], organizer: str | None = None
) -> tuple[MeetingState, MeetingState | None]:
    """(canonical state, last-applied state) of an item fetched from `organizer`'s calendar, lossy
    fields resolved; `recurrence` is its pattern as `sdk.read_recurrence` reads it; a series'
    overrides come from its changed occurrences in `shown` (see `exception_values`)."""
    record = getattr(item, RECORD_ATTR, None)
    applied, _ = decode_record(record)
    raw, body = observed_state(item, recurrence, applied, organizer)
    fields, applied = resolve_observed(raw, body, record)
    if item.recurrence and item.modified_occurrences:
        overrides = observe_overrides(fields, exception_values(item, fields, shown, organizer), applied)
        fields = dataclasses.replace(fields, overrides=overrides)
    return fields, applied
