"""Calendar items between EWS XML and the store's neutral document.

Writes (`ItemWrite`) apply `t:CalendarItem` children from CreateItem or SetItemField/DeleteItemField
to a document the way Exchange does: times arrive with any offset and are kept as wall-clock time
in the item's start time zone (so changing only the zone keeps the wall time and moves the instant),
all-day items snap to local midnights, HTML bodies are wrapped in a full document, and a new
recurrence pattern regenerates the series (its exceptions and deleted occurrences are dropped).

Reads (`ItemView`, `render`) present a single item, a recurring master or one occurrence with the
properties a shape asks for, times in UTC (`Z`) and the start time zone as a Windows id.
"""

from __future__ import annotations

import base64
import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.emulator import series, zones
from reconciler.emulator.ews import recurrence
from reconciler.emulator.ews.soap import EwsError, child, children, ews_bool, local, parse_bool, sub, t, text_of
from reconciler.emulator.store import DEFAULT_DOCUMENT, StoredItem

DEFAULT_DOC: dict[str, Any] = {**DEFAULT_DOCUMENT, "extended": {}}

DISTINGUISHED_SETS = {
    "PublicStrings": "00020329-0000-0000-c000-000000000046",
    "Common": "00062008-0000-0000-c000-000000000046",
    "Address": "00062004-0000-0000-c000-000000000046",
    "Appointment": "00062002-0000-0000-c000-000000000046",
    "Meeting": "6ed8da90-450b-101b-98da-00aa003f1305",
    "Task": "00062003-0000-0000-c000-000000000046",
    "InternetHeaders": "00020386-0000-0000-c000-000000000046",
    "CalendarAssistant": "11000e07-b51b-40d6-af21-caa85edab1d0",
    "UnifiedMessaging": "4442858e-a9e3-4e80-b900-317a210cc15b",
    "Sharing": "00062040-0000-0000-c000-000000000046",
}

_SHOW_AS = {
    "Free": "free",
    "Tentative": "tentative",
    "Busy": "busy",
    "OOF": "oof",
    "WorkingElsewhere": "workingElsewhere",
    "NoData": "busy",
}
_SHOW_AS_EWS = {v: k for k, v in _SHOW_AS.items() if k != "NoData"}
_CHOICES = {"Sensitivity": ("Normal", "Personal", "Private", "Confidential"), "Importance": ("Low", "Normal", "High")}
_ATTENDEE_KINDS = {"RequiredAttendees": "required", "OptionalAttendees": "optional", "Resources": "resource"}
_RESPONSES = {
    "none": "Unknown",
    "organizer": "Organizer",
    "tentativelyAccepted": "Tentative",
    "accepted": "Accept",
    "declined": "Decline",
    "notResponded": "NoResponseReceived",
}
_FIVE_YEARS = timedelta(days=5 * 366)
_HTML_WRAP = (
    "<html>\r\n<head>\r\n"
    '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n'
    "</head>\r\n<body>\r\n{}\r\n</body>\r\n</html>\r\n"
)
_GUID = re.compile(r"\{([0-9A-Fa-f-]{36})\}")


# -- extended properties ---------------------------------------------------------------------------


def property_key(uri: ET.Element) -> str:
    """The Graph-style id (`String {guid} Name x`, `Integer {guid} Id 0x8001`, `String 0x1234`)
    under which the store keeps the property a `t:ExtendedFieldURI` names."""
    kind = uri.get("PropertyType")
    if not kind:
        raise EwsError("ErrorInvalidExtendedProperty")
    tag = uri.get("PropertyTag")
    if tag:
        return f"{kind} 0x{int(tag, 0):04x}"
    guid = uri.get("PropertySetId") or DISTINGUISHED_SETS.get(uri.get("DistinguishedPropertySetId") or "")
    if not guid:
        raise EwsError("ErrorInvalidExtendedProperty")
    if uri.get("PropertyName") is not None:
        return f"{kind} {{{guid.lower()}}} Name {uri.get('PropertyName')}"
    if uri.get("PropertyId") is not None:
        return f"{kind} {{{guid.lower()}}} Id 0x{int(uri.get('PropertyId') or '0', 0):04x}"
    raise EwsError("ErrorInvalidExtendedProperty")


def normalise_key(key: str) -> str:
    """Store keys compare with the GUID lower-cased (MAPI property sets are case-insensitive)."""
    return _GUID.sub(lambda match: "{" + match.group(1).lower() + "}", key)


def extended_value(doc: Mapping[str, Any], key: str) -> str | None:
    wanted = normalise_key(key)
    for name, value in (doc.get("extended") or {}).items():
        if normalise_key(name) == wanted:
            return str(value)
    return None


# -- times ---------------------------------------------------------------------------------------


def parse_datetime(value: str | None, context_zone: str) -> datetime:
    """An xs:dateTime as sent (offset, `Z`, or naive in the request's TimeZoneContext)."""
    if not value:
        raise EwsError("ErrorInvalidRequest", "A date/time value is missing.")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError as error:
        raise EwsError("ErrorInvalidRequest", f"The date/time value {value!r} is invalid.") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(context_zone))


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wall(value: str) -> datetime:
    """A store wall time (seconds, minutes or a date) as a naive datetime."""
    return datetime.fromisoformat(value) if "T" in value else datetime.combine(date.fromisoformat(value), time())


def to_utc(local_time: datetime, zone: str) -> datetime:
    return local_time.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def zone_of(element: ET.Element | None) -> str | None:
    """The IANA zone of a `t:StartTimeZone`/`t:EndTimeZone`/`t:TimeZoneDefinition` element."""
    if element is None:
        return None
    name = element.get("Id") or element.get("Name") or element.get("TimeZoneName")
    if not name:
        return None
    try:
        return zones.to_iana(name)
    except zones.UnknownTimeZone as error:
        raise EwsError("ErrorCalendarInvalidTimeZone", f"The time zone {name!r} isn't valid.") from error


# -- writes ----------------------------------------------------------------------------------------


def _choice(element: ET.Element, name: str) -> str:
    value = (element.text or "").strip()
    if value not in _CHOICES[name]:
        raise EwsError("ErrorInvalidRequest", f"The value {value!r} is not valid for {name}.")
    return value.lower()


def _attendees(element: ET.Element, kind: str) -> list[dict[str, str]]:
    result = []
    for attendee in children(element, "Attendee"):
        mailbox = child(attendee, "Mailbox")
        address = (text_of(mailbox, "EmailAddress") if mailbox is not None else None) or ""
        if not address.strip():
            raise EwsError("ErrorInvalidRecipients", "An attendee has no e-mail address.")
        name = (text_of(mailbox, "Name") if mailbox is not None else None) or address
        result.append({"email": address.strip(), "name": name, "type": kind, "response": "none"})
    return result


def _body(element: ET.Element) -> dict[str, str]:
    content = element.text or ""
    if element.get("BodyType", "Text") == "HTML":
        if content and not content.lstrip().lower().startswith("<html"):
            content = _HTML_WRAP.format(content)
        return {"type": "html", "content": content}
    return {"type": "text", "content": content}


#: Properties a client may not write (Exchange: ErrorInvalidPropertySet "Set action is invalid").
READ_ONLY = frozenset(
    {
        "ItemId", "ParentFolderId", "DateTimeCreated", "LastModifiedTime", "CalendarItemType", "IsMeeting",
        "IsCancelled", "IsRecurring", "MeetingRequestWasSent", "MyResponseType", "Organizer", "Duration",
        "AppointmentState", "AppointmentSequenceNumber", "FirstOccurrence", "LastOccurrence",
        "ModifiedOccurrences", "DeletedOccurrences", "IsOnlineMeeting", "OriginalStart", "RecurrenceId",
    }
)  # fmt: skip

#: FieldURI -> the document keys DeleteItemField resets, and to what.
_DELETABLE: dict[str, dict[str, Any]] = {
    "item:Subject": {"subject": ""},
    "item:Body": {"body": {"type": "text", "content": ""}},
    "item:Categories": {"categories": []},
    "item:ReminderMinutesBeforeStart": {"reminder_minutes": 15},
    "calendar:Location": {"location": ""},
    "calendar:Recurrence": {"recurrence": None},
    "calendar:IsResponseRequested": {"response_requested": True},
    "calendar:AllowNewTimeProposal": {"allow_new_time_proposals": True},
}


@dataclass
class ItemWrite:
    """Applies written properties to a copy of a document; `finish` validates and returns it."""

    doc: dict[str, Any]
    context_zone: str
    extended: dict[str, str | None] = field(default_factory=dict)
    _start: datetime | None = None
    _end: datetime | None = None
    _zone: str | None = None
    _recurrence: ET.Element | None = None
    _all_day: bool | None = None

    @classmethod
    def new(cls, context_zone: str) -> ItemWrite:
        return cls(copy.deepcopy(DEFAULT_DOC), context_zone)

    @classmethod
    def of(cls, doc: Mapping[str, Any], context_zone: str) -> ItemWrite:
        return cls({**copy.deepcopy(DEFAULT_DOC), **copy.deepcopy(dict(doc))}, context_zone)

    def set(self, element: ET.Element) -> None:
        name, doc = local(element), self.doc
        if name in READ_ONLY:
            raise EwsError("ErrorInvalidPropertySet", f"Set action is invalid for property {name}.")
        if name == "Subject":
            doc["subject"] = element.text or ""
        elif name == "Body":
            doc["body"] = _body(element)
        elif name in _CHOICES:
            doc[name.lower()] = _choice(element, name)
        elif name == "Categories":
            doc["categories"] = [s.text or "" for s in children(element, "String")]
        elif name == "ReminderIsSet":
            doc["is_reminder_on"] = parse_bool(element.text)
        elif name == "ReminderMinutesBeforeStart":
            doc["reminder_minutes"] = int(element.text or "0")
        elif name == "ExtendedProperty":
            uri, value = child(element, "ExtendedFieldURI"), child(element, "Value")
            if uri is None or value is None:
                raise EwsError("ErrorInvalidExtendedPropertyValue", "Only single-value extended properties are kept.")
            self.extended[property_key(uri)] = value.text or ""
        elif name == "Start":
            self._start = parse_datetime(element.text, self.context_zone)
        elif name == "End":
            self._end = parse_datetime(element.text, self.context_zone)
        elif name == "IsAllDayEvent":
            self._all_day = parse_bool(element.text)
        elif name == "LegacyFreeBusyStatus":
            status = (element.text or "").strip()
            if status not in _SHOW_AS:
                raise EwsError("ErrorInvalidRequest", f"The value {status!r} is not valid for LegacyFreeBusyStatus.")
            doc["show_as"] = _SHOW_AS[status]
        elif name == "Location":
            doc["location"] = element.text or ""
        elif name == "IsResponseRequested":
            doc["response_requested"] = parse_bool(element.text)
        elif name == "AllowNewTimeProposal":
            doc["allow_new_time_proposals"] = parse_bool(element.text)
        elif name in _ATTENDEE_KINDS:
            kind = _ATTENDEE_KINDS[name]
            others = [a for a in doc.get("attendees", []) if a.get("type") != kind]
            doc["attendees"] = others + _attendees(element, kind)
        elif name == "Recurrence":
            self._recurrence = element
        elif name in ("StartTimeZone", "MeetingTimeZone"):
            self._zone = zone_of(element)
        # EndTimeZone: the store keeps one zone per item; the end is converted into the start's zone.
        # UID, ConferenceType, When, ...: accepted and not kept.

    def delete(self, uri: ET.Element) -> None:
        if local(uri) == "ExtendedFieldURI":
            self.extended[property_key(uri)] = None
            return
        path = uri.get("FieldURI", "")
        if path in ("calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources"):
            kind = _ATTENDEE_KINDS[path.split(":", 1)[1]]
            self.doc["attendees"] = [a for a in self.doc.get("attendees", []) if a.get("type") != kind]
        elif path in _DELETABLE:
            self.doc.update(copy.deepcopy(_DELETABLE[path]))
        else:
            raise EwsError("ErrorInvalidPropertyDelete", f"The property {path} can't be deleted.")

    @property
    def writes_recurrence(self) -> bool:
        """Whether a Recurrence was set: saving a pattern regenerates the series, even an unchanged one."""
        return self._recurrence is not None

    def finish(self, *, creating: bool, zone: str | None = None) -> dict[str, Any]:
        """The complete new document (extended properties merged), validated as Exchange would.

        `zone` pins the time zone times are kept in (an occurrence stays in its series' zone
        whatever StartTimeZone says); by default a written StartTimeZone becomes the item's zone.
        """
        doc = self.doc
        old_zone = doc.get("timezone") or self.context_zone
        zone = zone or self._zone or old_zone
        if creating and (self._start is None or self._end is None):
            raise EwsError("ErrorInvalidRequest", "A calendar item needs a Start and an End.")
        if self._all_day is not None:
            doc["is_all_day"] = self._all_day
        doc.setdefault("is_all_day", False)
        tz = ZoneInfo(zone)
        start = self._start.astimezone(tz).replace(tzinfo=None) if self._start else wall(doc["start"])
        end = self._end.astimezone(tz).replace(tzinfo=None) if self._end else wall(doc["end"])
        if doc["is_all_day"]:
            start = datetime.combine(start.date(), time())
            if end.time() != time():
                end = datetime.combine(end.date() + timedelta(days=1), time())
        if end < start:
            raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate")
        if end - start > _FIVE_YEARS:
            raise EwsError("ErrorCalendarDurationIsTooLong")
        doc["start"], doc["end"] = start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")
        doc["timezone"] = zone
        if self._recurrence is not None:
            # The store drops the series' exceptions and deleted occurrences when it saves a pattern.
            doc["recurrence"] = recurrence.parse(self._recurrence, zone)
        elif doc.get("recurrence"):
            doc["recurrence"]["range"]["recurrenceTimeZone"] = zone
        extended = dict(doc.get("extended") or {})
        for key, value in self.extended.items():
            for existing in [k for k in extended if normalise_key(k) == normalise_key(key)]:
                del extended[existing]
            if value is not None:
                extended[key] = value
        doc["extended"] = extended
        return doc


# -- ids -------------------------------------------------------------------------------------------

_OCCURRENCE = b"\x01OCC"


def occurrence_id(master_id: str, original: date) -> str:
    """A stable id for one occurrence: it survives edits of the occurrence (as on Exchange)."""
    return base64.b64encode(_OCCURRENCE + base64.b64decode(master_id) + original.strftime("%Y%m%d").encode()).decode()


def decode_id(item_id: str) -> tuple[str, date | None]:
    """(store item id, original date for an occurrence id); ErrorInvalidIdMalformed if not ours."""
    try:
        raw = base64.b64decode(item_id, validate=True)
    except (ValueError, TypeError) as error:
        raise EwsError("ErrorInvalidIdMalformed") from error
    if raw.startswith(_OCCURRENCE) and len(raw) > len(_OCCURRENCE) + 8:
        try:
            original = datetime.strptime(raw[-8:].decode(), "%Y%m%d").date()
        except ValueError as error:
            raise EwsError("ErrorInvalidIdMalformed") from error
        return base64.b64encode(raw[len(_OCCURRENCE) : -8]).decode(), original
    if len(raw) < 8:
        raise EwsError("ErrorInvalidIdMalformed")
    return item_id, None


# -- views -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemView:
    """A calendar item as EWS presents it: a single, a recurring master, or one occurrence."""

    item: StoredItem
    doc: Mapping[str, Any]
    kind: str  # Single | RecurringMaster | Occurrence | Exception
    item_id: str
    start: datetime  # UTC
    end: datetime  # UTC
    occurrence: series.Occurrence | None = None  # occurrences and exceptions only

    @property
    def zone(self) -> str:
        return str(self.doc.get("timezone") or "UTC")

    @property
    def original_start(self) -> datetime | None:
        """An occurrence's start as the pattern gives it (UTC); None for singles and masters."""
        return to_utc(self.occurrence.original_start, self.zone) if self.occurrence else None


def view_of(item: StoredItem) -> ItemView:
    """A single item or a series master. A master's Start/End are those its first occurrence has in
    the pattern (Exchange moves a series start that is not an occurrence onto the first one)."""
    doc, zone = item.doc, str(item.doc.get("timezone") or "UTC")
    start, end = to_utc(wall(doc["start"]), zone), to_utc(wall(doc["end"]), zone)
    if not doc.get("recurrence"):
        return ItemView(item, doc, "Single", item.item_id, start, end)
    first = next(series.expand(doc, include_cancelled=True), None)
    if first is not None:
        start, end = to_utc(first.original_start, zone), to_utc(first.original_start, zone) + (end - start)
    return ItemView(item, doc, "RecurringMaster", item.item_id, start, end)


def _occurrence_view(item: StoredItem, occurrence: series.Occurrence) -> ItemView:
    zone = str(item.doc.get("timezone") or "UTC")
    return ItemView(
        item,
        occurrence.doc,
        "Exception" if occurrence.exception else "Occurrence",
        occurrence_id(item.item_id, occurrence.original),
        to_utc(occurrence.start, zone),
        to_utc(occurrence.end, zone),
        occurrence,
    )


def occurrence_views(item: StoredItem, *, until_utc: datetime | None = None) -> Iterator[ItemView]:
    """The live occurrences of a master in pattern order, up to the first whose original start is
    after `until_utc` (pass one for a series without end)."""
    zone = ZoneInfo(str(item.doc.get("timezone") or "UTC"))
    until = until_utc.astimezone(zone).replace(tzinfo=None) if until_utc else None
    for occurrence in series.expand(item.doc, until=until):
        yield _occurrence_view(item, occurrence)


def occurrence_by_date(item: StoredItem, original: date) -> ItemView:
    """The occurrence originally on `original` (an occurrence id names it)."""
    found = series.find(item.doc, original)
    if found is None:
        raise EwsError("ErrorItemNotFound")
    if found.cancelled:
        raise EwsError("ErrorCalendarOccurrenceIsDeletedFromRecurrence")
    return _occurrence_view(item, found)


def occurrence_by_index(item: StoredItem, index: int) -> ItemView:
    """The occurrence at a 1-based InstanceIndex: its position in the pattern, deleted ones counted."""
    if item.doc.get("recurrence") and index >= 1:
        for occurrence in series.expand(item.doc, include_cancelled=True):
            if occurrence.index < index:
                continue
            if occurrence.cancelled:
                raise EwsError("ErrorCalendarOccurrenceIsDeletedFromRecurrence")
            return _occurrence_view(item, occurrence)
    raise EwsError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange")


def check_move(item: StoredItem, moved: series.Occurrence, new_start: datetime) -> None:
    """Refuse to move an occurrence to or before the day of the previous occurrence, or to or after
    the day of the next one (ErrorOccurrenceCrossingBoundary). Deleted neighbours count too: Outlook
    keeps two occurrences of a series off the same day even when one was deleted."""
    previous: series.Occurrence | None = None
    for occurrence in series.expand(item.doc, include_cancelled=True):
        if occurrence.index == moved.index - 1:
            previous = occurrence
        elif occurrence.index == moved.index + 1:
            if new_start.date() >= occurrence.start.date():
                raise EwsError("ErrorOccurrenceCrossingBoundary")
            break
    if previous is not None and new_start.date() <= previous.start.date():
        raise EwsError("ErrorOccurrenceCrossingBoundary")


# -- rendering -------------------------------------------------------------------------------------


def _mailbox(parent: ET.Element, address: str, name: str | None = None) -> None:
    mailbox = sub(parent, t("Mailbox"))
    sub(mailbox, t("Name"), name or address)
    sub(mailbox, t("EmailAddress"), address)
    sub(mailbox, t("RoutingType"), "SMTP")
    sub(mailbox, t("MailboxType"), "Mailbox")


def _attendee_list(kind: str) -> Callable[[ET.Element, ItemView], None]:
    def render_list(parent: ET.Element, view: ItemView) -> None:
        attendees = [a for a in view.doc.get("attendees", []) if a.get("type") == _ATTENDEE_KINDS[kind]]
        if not attendees:
            return
        container = sub(parent, t(kind))
        for attendee in attendees:
            element = sub(container, t("Attendee"))
            _mailbox(element, attendee["email"], attendee.get("name"))
            sub(element, t("ResponseType"), _RESPONSES.get(str(attendee.get("response")), "Unknown"))

    return render_list


def _simple(name: str, value: Callable[[ItemView], str | None]) -> Callable[[ET.Element, ItemView], None]:
    def render_simple(parent: ET.Element, view: ItemView) -> None:
        text = value(view)
        if text is not None:
            sub(parent, t(name), text)

    return render_simple


def _body_render(parent: ET.Element, view: ItemView) -> None:
    body = view.doc.get("body") or {}
    sub(parent, t("Body"), str(body.get("content", "")), BodyType="HTML" if body.get("type") == "html" else "Text")


def _categories(parent: ET.Element, view: ItemView) -> None:
    if view.doc.get("categories"):
        container = sub(parent, t("Categories"))
        for category in view.doc["categories"]:
            sub(container, t("String"), category)


def _organizer(parent: ET.Element, view: ItemView) -> None:
    _mailbox(sub(parent, t("Organizer")), str(view.doc.get("organizer", view.item.mailbox)))


def _duration(view: ItemView) -> str:
    seconds = int((view.end - view.start).total_seconds())
    days, rest = divmod(seconds, 86400)
    return f"P{days}DT{rest // 3600}H{rest % 3600 // 60}M{rest % 60}S"


def _recurrence(parent: ET.Element, view: ItemView) -> None:
    if view.kind == "RecurringMaster":
        recurrence.render(parent, view.doc["recurrence"], view.zone)


def _occurrence(parent: ET.Element, tag: str, view: ItemView) -> None:
    element = sub(parent, t(tag))
    sub(element, t("ItemId"), Id=view.item_id, ChangeKey=view.item.change_key)
    sub(element, t("Start"), utc_text(view.start))
    sub(element, t("End"), utc_text(view.end))
    sub(element, t("OriginalStart"), utc_text(view.original_start or view.start))


def _first_occurrence(parent: ET.Element, view: ItemView) -> None:
    if view.kind == "RecurringMaster":
        first = next(iter(occurrence_views(view.item)), None)
        if first is not None:
            _occurrence(parent, "FirstOccurrence", first)


def _last_occurrence(parent: ET.Element, view: ItemView) -> None:
    if view.kind == "RecurringMaster" and view.doc["recurrence"]["range"].get("type") != "noEnd":
        last = None
        for last in occurrence_views(view.item):  # noqa: B007 - the loop finds the last one
            pass
        if last is not None:
            _occurrence(parent, "LastOccurrence", last)


def _modified(parent: ET.Element, view: ItemView) -> None:
    """ModifiedOccurrences: every exception in pattern order; absent when there is none."""
    changed = [date.fromisoformat(day) for day, change in (view.doc.get("exceptions") or {}).items() if change]
    if view.kind != "RecurringMaster" or not changed:
        return
    until = to_utc(datetime.combine(max(changed), time.max), view.zone)
    exceptions = [o for o in occurrence_views(view.item, until_utc=until) if o.kind == "Exception"]
    if exceptions:
        container = sub(parent, t("ModifiedOccurrences"))
        for occurrence in exceptions:
            _occurrence(container, "Occurrence", occurrence)


def _deleted(parent: ET.Element, view: ItemView) -> None:
    if view.kind != "RecurringMaster" or not view.doc.get("cancelled_occurrences"):
        return
    container = sub(parent, t("DeletedOccurrences"))
    first = wall(view.doc["start"])
    for day in sorted(view.doc["cancelled_occurrences"]):
        original = to_utc(datetime.combine(date.fromisoformat(day), first.time()), view.zone)
        sub(sub(container, t("DeletedOccurrence")), t("Start"), utc_text(original))


def _zone(tag: str) -> Callable[[ET.Element, ItemView], None]:
    def render_zone(parent: ET.Element, view: ItemView) -> None:
        sub(parent, t(tag), Id=zones.to_windows(view.zone))

    return render_zone


def _created(view: ItemView) -> str:
    return view.item.created_at[:19] + "Z"


def _modified_at(view: ItemView) -> str:
    return view.item.modified_at[:19] + "Z"


def _has_attendees(view: ItemView) -> bool:
    return bool(view.doc.get("attendees"))


def _original(view: ItemView) -> str | None:
    return utc_text(view.original_start) if view.original_start else None


#: FieldURI -> renderer, in the schema order of ItemType then CalendarItemType.
FIELDS: dict[str, Callable[[ET.Element, ItemView], None]] = {
    "item:ItemClass": _simple("ItemClass", lambda v: "IPM.Appointment"),
    "item:Subject": _simple("Subject", lambda v: str(v.doc.get("subject", ""))),
    "item:Sensitivity": _simple("Sensitivity", lambda v: str(v.doc.get("sensitivity", "normal")).capitalize()),
    "item:Body": _body_render,
    "item:Categories": _categories,
    "item:Importance": _simple("Importance", lambda v: str(v.doc.get("importance", "normal")).capitalize()),
    "item:DateTimeCreated": _simple("DateTimeCreated", _created),
    "item:ReminderIsSet": _simple("ReminderIsSet", lambda v: ews_bool(bool(v.doc.get("is_reminder_on", True)))),
    "item:ReminderMinutesBeforeStart": _simple(
        "ReminderMinutesBeforeStart", lambda v: str(v.doc.get("reminder_minutes", 15))
    ),
    "item:HasAttachments": _simple("HasAttachments", lambda v: "false"),
    "item:LastModifiedTime": _simple("LastModifiedTime", _modified_at),
    "calendar:UID": _simple("UID", lambda v: v.item.uid),
    "calendar:RecurrenceId": _simple("RecurrenceId", _original),
    "calendar:Start": _simple("Start", lambda v: utc_text(v.start)),
    "calendar:End": _simple("End", lambda v: utc_text(v.end)),
    "calendar:OriginalStart": _simple("OriginalStart", _original),
    "calendar:IsAllDayEvent": _simple("IsAllDayEvent", lambda v: ews_bool(bool(v.doc.get("is_all_day")))),
    "calendar:LegacyFreeBusyStatus": _simple(
        "LegacyFreeBusyStatus", lambda v: _SHOW_AS_EWS.get(str(v.doc.get("show_as")), "Busy")
    ),
    "calendar:Location": _simple("Location", lambda v: str(v.doc.get("location") or "") or None),
    "calendar:IsMeeting": _simple("IsMeeting", lambda v: ews_bool(_has_attendees(v))),
    "calendar:IsCancelled": _simple("IsCancelled", lambda v: "false"),
    "calendar:IsRecurring": _simple("IsRecurring", lambda v: ews_bool(v.kind in ("Occurrence", "Exception"))),
    "calendar:MeetingRequestWasSent": _simple("MeetingRequestWasSent", lambda v: ews_bool(_has_attendees(v))),
    "calendar:IsResponseRequested": _simple(
        "IsResponseRequested", lambda v: ews_bool(bool(v.doc.get("response_requested", True)))
    ),
    "calendar:CalendarItemType": _simple("CalendarItemType", lambda v: v.kind),
    # An invitation's copy in an attendee's calendar (store docstring) has not been answered yet.
    "calendar:MyResponseType": _simple(
        "MyResponseType",
        lambda v: "Organizer" if v.doc.get("organizer", v.item.mailbox) == v.item.mailbox else "NoResponseReceived",
    ),
    "calendar:Organizer": _organizer,
    "calendar:RequiredAttendees": _attendee_list("RequiredAttendees"),
    "calendar:OptionalAttendees": _attendee_list("OptionalAttendees"),
    "calendar:Resources": _attendee_list("Resources"),
    "calendar:Duration": _simple("Duration", _duration),
    # The legacy text form of the zone (Exchange 2007's only one): the Windows name, as in Microsoft's
    # GetItem AllProperties example (tests/wire/real/ews/getitem-calendar-allproperties-2007.response.xml).
    "calendar:TimeZone": _simple("TimeZone", lambda v: zones.to_windows(v.zone)),
    "calendar:AppointmentState": _simple("AppointmentState", lambda v: "1" if _has_attendees(v) else "0"),
    "calendar:Recurrence": _recurrence,
    "calendar:FirstOccurrence": _first_occurrence,
    "calendar:LastOccurrence": _last_occurrence,
    "calendar:ModifiedOccurrences": _modified,
    "calendar:DeletedOccurrences": _deleted,
    "calendar:StartTimeZone": _zone("StartTimeZone"),
    "calendar:EndTimeZone": _zone("EndTimeZone"),
    "calendar:AllowNewTimeProposal": _simple(
        "AllowNewTimeProposal", lambda v: ews_bool(bool(v.doc.get("allow_new_time_proposals", True)))
    ),
    "calendar:IsOnlineMeeting": _simple("IsOnlineMeeting", lambda v: ews_bool(bool(v.doc.get("is_online_meeting")))),
}

#: What `BaseShape=Default` returns for a calendar item.
DEFAULT_SHAPE = (
    "item:Subject", "item:Sensitivity", "item:Importance", "item:HasAttachments", "calendar:Start", "calendar:End",
    "calendar:LegacyFreeBusyStatus", "calendar:Location", "calendar:CalendarItemType", "calendar:Organizer",
)  # fmt: skip
#: Properties a FindItem may not return (Exchange computes them only on GetItem).
NOT_IN_FIND = frozenset(
    {
        "item:Body",
        "calendar:Recurrence",
        "calendar:RequiredAttendees",
        "calendar:OptionalAttendees",
        "calendar:Resources",
        "calendar:ModifiedOccurrences",
        "calendar:DeletedOccurrences",
        "calendar:FirstOccurrence",
        "calendar:LastOccurrence",
        "calendar:UID",
    }
)


@dataclass(frozen=True)
class Shape:
    """An ItemShape: base shape plus additional FieldURIs and ExtendedFieldURIs."""

    base: str = "IdOnly"
    fields: tuple[str, ...] = ()
    extended: tuple[ET.Element, ...] = ()

    @classmethod
    def parse(cls, element: ET.Element | None) -> Shape:
        if element is None:
            return cls()
        base = (text_of(element, "BaseShape") or "IdOnly").strip()
        additional = child(element, "AdditionalProperties")
        fields: list[str] = []
        extended: list[ET.Element] = []
        if additional is not None:
            for uri in additional:
                if local(uri) == "FieldURI":
                    fields.append(uri.get("FieldURI", ""))
                elif local(uri) == "ExtendedFieldURI":
                    property_key(uri)  # validates
                    extended.append(uri)
                else:
                    raise EwsError("ErrorInvalidPropertyRequest", f"{local(uri)} is not supported for calendar items.")
        return cls(base, tuple(fields), tuple(extended))

    def wanted(self) -> set[str]:
        if self.base == "AllProperties":
            return set(FIELDS)
        if self.base == "Default":
            return set(DEFAULT_SHAPE) | set(self.fields)
        return set(self.fields)


def render(parent: ET.Element, view: ItemView, shape: Shape, *, find: bool = False) -> ET.Element:
    """`t:CalendarItem` for a view with the properties `shape` asks for."""
    element = sub(parent, t("CalendarItem"))
    sub(element, t("ItemId"), Id=view.item_id, ChangeKey=view.item.change_key)
    wanted = shape.wanted()
    if find:
        wanted -= NOT_IN_FIND
    for path, renderer in FIELDS.items():
        if path == "item:LastModifiedTime":
            # Extended properties sit in the schema between HasAttachments and LastModifiedTime.
            for uri in shape.extended:
                value = extended_value(view.doc, property_key(uri))
                if value is not None:
                    prop = sub(element, t("ExtendedProperty"))
                    sub(prop, t("ExtendedFieldURI"), **dict(uri.attrib))
                    sub(prop, t("Value"), value)
        if path in wanted:
            renderer(element, view)
    return element
