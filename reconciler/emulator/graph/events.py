"""Graph's event resource as Graph reads it, into the store's neutral document (see `render` for
the way back).

Input is read the way Graph reads it: property names and enum values in any case, `@odata.*`
annotations ignored, read-only properties accepted and ignored, unknown properties refused with
400 `RequestBodyRead`, time zones limited to Windows names and the IANA names Graph lists (one per
Windows zone), dates in `dateTimeTimeZone` without an offset, recurrence ranges starting on the
start's date.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tzlocal.windows_tz import win_tz

from reconciler.emulator import zones
from reconciler.emulator.graph import teams
from reconciler.emulator.graph.odata import ODataError, canonical_property_id
from reconciler.emulator.store import DEFAULT_DOCUMENT

# -- time zones ---------------------------------------------------------------------------------

#: Renamed zones whose current tzdata spelling Graph lists next to CLDR's historical golden name.
_MODERN = {
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Europe/Kiev": "Europe/Kyiv",
    "America/Godthab": "America/Nuuk",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Indianapolis": "America/Indiana/Indianapolis",
}
_ACCEPTED_IANA = frozenset(win_tz.values()) | frozenset(_MODERN.values()) | {"UTC", "Etc/UTC"}


def accepted_zone(name: str) -> str:
    """The IANA zone for a time-zone name Graph accepts; 400 TimeZoneNotSupportedException otherwise."""
    if name in win_tz or name in _ACCEPTED_IANA or name == "tzone://Microsoft/Utc":
        iana = zones.to_iana(name if name != "Etc/UTC" else "UTC")
        return _MODERN.get(iana, iana)
    raise ODataError(
        400,
        "TimeZoneNotSupportedException",
        f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'.",
    )


def windows_zone_names() -> list[str]:
    """Every Windows zone name Graph accepts, sorted."""
    return sorted(win_tz)


def windows_name(iana: str) -> str:
    """The Windows name Graph reports for a stored IANA zone (the IANA name when it has none)."""
    try:
        return zones.to_windows(iana)
    except zones.UnknownTimeZone:
        legacy = {v: k for k, v in _MODERN.items()}.get(iana)
        return zones.to_windows(legacy) if legacy else iana


# -- input --------------------------------------------------------------------------------------

_ENUMS: dict[str, tuple[str, ...]] = {
    "bodyType": ("text", "html"),
    "attendeeType": ("required", "optional", "resource"),
    "freeBusyStatus": ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown"),
    "sensitivity": ("normal", "personal", "private", "confidential"),
    "importance": ("low", "normal", "high"),
    "recurrencePatternType": (
        "daily",
        "weekly",
        "absoluteMonthly",
        "relativeMonthly",
        "absoluteYearly",
        "relativeYearly",
    ),
    "recurrenceRangeType": ("endDate", "noEnd", "numbered"),
    "dayOfWeek": ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"),
    "weekIndex": ("first", "second", "third", "fourth", "last"),
    "onlineMeetingProviderType": ("unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer"),
    "locationType": (
        "default",
        "conferenceRoom",
        "homeAddress",
        "businessAddress",
        "geoCoordinates",
        "streetAddress",
        "hotel",
        "restaurant",
        "localBusiness",
        "postalAddress",
    ),
    "responseType": ("none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded"),
}

#: Type name -> property -> type. Types: a type name, "string", "bool", "int", "date", "float",
#: "enum:<name>", "list:<type>", "any" (accepted, ignored). Read-only event properties are "ro".
_TYPES: dict[str, dict[str, str]] = {
    "event": {
        "subject": "string",
        "body": "itemBody",
        "start": "dateTimeTimeZone",
        "end": "dateTimeTimeZone",
        "isAllDay": "bool",
        "location": "location",
        "locations": "list:location",
        "attendees": "list:attendee",
        "recurrence": "patternedRecurrence",
        "isOnlineMeeting": "bool",
        "onlineMeetingProvider": "enum:onlineMeetingProviderType",
        "reminderMinutesBeforeStart": "int",
        "isReminderOn": "bool",
        "showAs": "enum:freeBusyStatus",
        "sensitivity": "enum:sensitivity",
        "importance": "enum:importance",
        "categories": "list:string",
        "responseRequested": "bool",
        "allowNewTimeProposals": "bool",
        "hideAttendees": "bool",
        "transactionId": "string",
        "singleValueExtendedProperties": "list:singleValueLegacyExtendedProperty",
        "multiValueExtendedProperties": "any",
        "extensions": "any",
        "attachments": "any",
        "id": "ro",
        "changeKey": "ro",
        "createdDateTime": "ro",
        "lastModifiedDateTime": "ro",
        "iCalUId": "ro",
        "uid": "ro",
        "type": "ro",
        "seriesMasterId": "ro",
        "originalStart": "ro",
        "occurrenceId": "ro",
        "originalStartTimeZone": "ro",
        "originalEndTimeZone": "ro",
        "bodyPreview": "ro",
        "isOrganizer": "ro",
        "responseStatus": "ro",
        "organizer": "ro",
        "isCancelled": "ro",
        "isDraft": "ro",
        "hasAttachments": "ro",
        "webLink": "ro",
        "onlineMeeting": "ro",
        "onlineMeetingUrl": "ro",
        "cancelledOccurrences": "ro",
        "exceptionOccurrences": "ro",
        "calendar": "ro",
        "instances": "ro",
    },
    "dateTimeTimeZone": {"dateTime": "string", "timeZone": "string"},
    "itemBody": {"contentType": "enum:bodyType", "content": "string"},
    "location": {
        "displayName": "string",
        "locationType": "enum:locationType",
        "locationEmailAddress": "string",
        "locationUri": "string",
        "address": "any",
        "coordinates": "any",
        "uniqueId": "string",
        "uniqueIdType": "any",
    },
    "attendee": {
        "type": "enum:attendeeType",
        "status": "responseStatus",
        "emailAddress": "emailAddress",
        "proposedNewTime": "any",
    },
    "emailAddress": {"address": "string", "name": "string"},
    "responseStatus": {"response": "enum:responseType", "time": "string"},
    "patternedRecurrence": {"pattern": "recurrencePattern", "range": "recurrenceRange"},
    "recurrencePattern": {
        "type": "enum:recurrencePatternType",
        "interval": "int",
        "month": "int",
        "dayOfMonth": "int",
        "daysOfWeek": "list:enum:dayOfWeek",
        "firstDayOfWeek": "enum:dayOfWeek",
        "index": "enum:weekIndex",
    },
    "recurrenceRange": {
        "type": "enum:recurrenceRangeType",
        "startDate": "date",
        "endDate": "date",
        "recurrenceTimeZone": "string",
        "numberOfOccurrences": "int",
    },
    "singleValueLegacyExtendedProperty": {"id": "string", "value": "string"},
    "cancel": {"comment": "string"},
}
_LOOKUP = {type_name: {name.lower(): name for name in props} for type_name, props in _TYPES.items()}
#: Lower-cased event property name -> canonical name, for `$select`.
EVENT_PROPERTIES = {name.lower(): name for name in _TYPES["event"]}


def _request_body_read(message: str) -> ODataError:
    return ODataError(400, "RequestBodyRead", message)


def normalise(value: Any, type_name: str) -> Any:
    """A JSON value read as Graph reads `type_name`: names and enums canonicalised, types checked."""
    if type_name in ("any", "ro"):
        return value
    if type_name.startswith("list:"):
        if value is None:
            return None
        if not isinstance(value, list):
            raise _request_body_read(
                f"A node of type '{type(value).__name__}' was read where a collection was expected."
            )
        return [normalise(item, type_name[5:]) for item in value]
    if value is None:
        return None
    if type_name.startswith("enum:"):
        enum = type_name[5:]
        canonical = {v.lower(): v for v in _ENUMS[enum]}.get(str(value).lower()) if isinstance(value, str) else None
        if canonical is None:
            raise _request_body_read(
                f"Cannot convert the literal '{value}' to the expected type 'microsoft.graph.{enum}'."
            )
        return canonical
    if type_name == "string":
        if not isinstance(value, str):
            raise _request_body_read("Cannot convert a primitive value to the expected type 'Edm.String'.")
        return value
    if type_name == "bool":
        if not isinstance(value, bool):
            raise _request_body_read("Cannot convert a primitive value to the expected type 'Edm.Boolean'.")
        return value
    if type_name == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _request_body_read("Cannot convert a primitive value to the expected type 'Edm.Int32'.")
        return value
    if type_name == "date":
        try:
            return (
                date.fromisoformat(value).isoformat()
                if isinstance(value, str) and len(value) == 10
                else _bad_date(value)
            )
        except ValueError:
            return _bad_date(value)
    if not isinstance(value, dict):
        raise _request_body_read(
            f"An unexpected '{type(value).__name__}' node was found when reading a resource of"
            f" type 'microsoft.graph.{type_name}'."
        )
    lookup, out = _LOOKUP[type_name], {}
    for key, item in value.items():
        if key.startswith("@odata.") or "@odata." in key:
            continue
        canonical = lookup.get(key.lower())
        if canonical is None:
            raise _request_body_read(
                f"The property '{key}' does not exist on type 'microsoft.graph.{type_name}'. Make sure to only use"
                " property names that are defined by the type or mark the type as open type."
            )
        out[canonical] = normalise(item, _TYPES[type_name][canonical])
    return out


def _bad_date(value: Any) -> Any:
    raise ODataError(
        400, "UnableToDeserializePostBody", f"Cannot convert the literal '{value}' to the expected type 'Edm.Date'."
    )


_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,7}))?$")


def _wall_time(value: Mapping[str, Any], what: str) -> tuple[datetime, str]:
    """(naive local datetime, IANA zone) of a dateTimeTimeZone."""
    text, zone_name = value.get("dateTime"), value.get("timeZone")
    if not isinstance(text, str) or not isinstance(zone_name, str):
        raise ODataError(400, "ErrorInvalidRequest", f"The {what} time and time zone must both be given.")
    match = _DATE_TIME.match(text)
    if match is None:
        raise ODataError(400, "UnableToDeserializePostBody", f"Cannot convert the literal '{text}' to a date and time.")
    try:
        local = datetime.fromisoformat(match.group(1))
    except ValueError as error:
        raise ODataError(
            400, "UnableToDeserializePostBody", f"Cannot convert the literal '{text}' to a date and time."
        ) from error
    return local.replace(microsecond=0), accepted_zone(zone_name)


def convert(local: datetime, source: str, target: str) -> datetime:
    if source == target:
        return local
    return local.replace(tzinfo=ZoneInfo(source)).astimezone(ZoneInfo(target)).replace(tzinfo=None)


def _iso(local: datetime) -> str:
    return local.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class EventWrite:
    """A create or update as the store takes it."""

    changes: dict[str, Any]
    extended: dict[str, str]
    transaction_id: str | None
    #: Canonical names of the event properties present in the body (for the mail rules).
    properties: frozenset[str]


def read_event(body: Any, old: Mapping[str, Any] | None) -> EventWrite:
    """Validate a POST (old=None) or PATCH body and translate it into store document changes."""
    if not isinstance(body, dict):
        raise ODataError(400, "BadRequest", "Empty Payload. JSON content expected.")
    event = normalise(body, "event")
    present = frozenset(k for k in event if _TYPES["event"][k] not in ("ro", "any"))
    if old is not None and "transactionId" in event:
        raise ODataError(400, "ErrorInvalidRequest", "The transactionId of an event cannot be changed.")
    changes: dict[str, Any] = {}
    base = dict(old or DEFAULT_DOCUMENT)
    if "subject" in event:
        changes["subject"] = event["subject"] or ""
    if "body" in event:
        item_body = event["body"] or {}
        changes["body"] = {"type": item_body.get("contentType", "text"), "content": item_body.get("content") or ""}
    _read_times(event, base, changes, creating=old is None)
    if "location" in event:
        changes["location"] = (event["location"] or {}).get("displayName") or ""
    elif "locations" in event:
        first = (event["locations"] or [{}])[0] if event["locations"] else {}
        changes["location"] = first.get("displayName") or ""
    if "attendees" in event:
        changes["attendees"] = _read_attendees(event["attendees"] or [])
    if "recurrence" in event:
        changes["recurrence"] = _read_recurrence(event["recurrence"], {**base, **changes})
        if changes["recurrence"] is None:
            changes["cancelled_occurrences"], changes["exceptions"] = [], {}
    elif ("start" in changes or "timezone" in changes) and base.get("recurrence"):
        # Moving a series moves its range along with it.
        recurrence = dict(base["recurrence"])
        recurrence["range"] = {**recurrence["range"], "startDate": changes.get("start", base["start"])[:10]}
        changes["recurrence"] = recurrence
    simple = {
        "isOnlineMeeting": "is_online_meeting",
        "isReminderOn": "is_reminder_on",
        "reminderMinutesBeforeStart": "reminder_minutes",
        "showAs": "show_as",
        "sensitivity": "sensitivity",
        "importance": "importance",
        "responseRequested": "response_requested",
        "allowNewTimeProposals": "allow_new_time_proposals",
        "hideAttendees": "hide_attendees",
        "onlineMeetingProvider": "online_meeting_provider",
    }
    for name, key in simple.items():
        if name in event and event[name] is not None:
            changes[key] = event[name]
    if "categories" in event:
        changes["categories"] = list(event["categories"] or [])
    if changes.get("is_online_meeting") and "online_meeting_provider" not in changes:
        changes["online_meeting_provider"] = base.get("online_meeting_provider") or "teamsForBusiness"
    _make_online(changes, base)
    extended = {}
    for prop in event.get("singleValueExtendedProperties") or []:
        if not isinstance(prop.get("id"), str) or not isinstance(prop.get("value"), str):
            raise ODataError(400, "ErrorInvalidRequest", "An extended property needs an id and a string value.")
        extended[canonical_property_id(prop["id"])] = prop["value"]
    if old is None:
        changes = {**DEFAULT_DOCUMENT, **changes}
        if "start" not in changes:
            raise ODataError(400, "ErrorInvalidRequest", "The event must have a start and an end time.")
    return EventWrite(changes, extended, event.get("transactionId"), present)


def _make_online(changes: dict[str, Any], base: Mapping[str, Any]) -> None:
    """An event that becomes a Teams meeting gets its join information and the join block in its
    body, once (see `teams`)."""
    online = changes.get("is_online_meeting", base.get("is_online_meeting"))
    provider = changes.get("online_meeting_provider", base.get("online_meeting_provider"))
    if not online or provider != "teamsForBusiness" or base.get("online_meeting"):
        return
    meeting = teams.new_meeting(str(uuid.uuid4()))
    changes["online_meeting"] = meeting
    changes["body"] = teams.with_join_block(changes.get("body", base.get("body")), meeting)


def _read_times(event: Mapping[str, Any], base: Mapping[str, Any], changes: dict[str, Any], *, creating: bool) -> None:
    if creating and ("start" not in event or "end" not in event):
        raise ODataError(400, "ErrorInvalidRequest", "The event must have a start and an end time.")
    if not {"start", "end", "isAllDay"} & event.keys():
        return
    zone = base.get("timezone", "UTC")
    if "start" in event:
        start, zone = _wall_time(event["start"] or {}, "start")
    else:
        start = datetime.fromisoformat(base["start"])
    if "end" in event:
        end_local, end_zone = _wall_time(event["end"] or {}, "end")
        end = convert(end_local, end_zone, zone)
    else:
        end = convert(datetime.fromisoformat(base["end"]), base.get("timezone", zone), zone)
    all_day = event["isAllDay"] if event.get("isAllDay") is not None else bool(base.get("is_all_day"))
    if end <= start:
        raise ODataError(400, "ErrorInvalidRequest", "The end of the event must be after its start.")
    if all_day and (
        start.time() != datetime.min.time() or end.time() != datetime.min.time() or (end - start) < timedelta(hours=24)
    ):
        raise ODataError(
            400,
            "ErrorInvalidRequest",
            "An all-day event must start and end at midnight and its duration must be at least 24 hours.",
        )
    changes.update(start=_iso(start), end=_iso(end), timezone=zone, is_all_day=all_day)
    if "start" in event:
        # Exchange answers with the zone's name as the client wrote it, an IANA name included.
        changes["timezone_name"] = event["start"]["timeZone"]


def _read_attendees(attendees: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    out = []
    for attendee in attendees:
        address = (attendee.get("emailAddress") or {}).get("address")
        if not address or "@" not in address:
            raise ODataError(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        name = (attendee.get("emailAddress") or {}).get("name") or address
        out.append({"email": address, "name": name, "type": attendee.get("type") or "required", "response": "none"})
    return out


_WEEKLY_OR_RELATIVE = ("weekly", "relativeMonthly", "relativeYearly")


def _read_recurrence(recurrence: Mapping[str, Any] | None, doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """Validate a patternedRecurrence; keep only the fields its type uses (zones as IANA names)."""
    if recurrence is None:
        return None
    pattern, range_ = recurrence.get("pattern"), recurrence.get("range")
    if not pattern or not range_ or not pattern.get("type") or not range_.get("type"):
        raise ODataError(400, "ErrorInvalidRequest", "A recurrence needs a pattern and a range, each with a type.")
    kind = pattern["type"]
    interval = pattern.get("interval")
    if not isinstance(interval, int) or interval < 1:
        raise ODataError(400, "ErrorInvalidRequest", "The recurrence interval must be a positive number.")
    out_pattern: dict[str, Any] = {"type": kind, "interval": interval}
    if kind in _WEEKLY_OR_RELATIVE:
        if not pattern.get("daysOfWeek"):
            raise ODataError(400, "ErrorInvalidRequest", f"A {kind} recurrence pattern needs daysOfWeek.")
        out_pattern["daysOfWeek"] = list(pattern["daysOfWeek"])
    if kind == "weekly":
        out_pattern["firstDayOfWeek"] = pattern.get("firstDayOfWeek") or "sunday"
    if kind.startswith("relative"):
        out_pattern["index"] = pattern.get("index") or "first"
    if kind.startswith("absolute"):
        day = pattern.get("dayOfMonth")
        if not isinstance(day, int) or not 1 <= day <= 31:
            raise ODataError(400, "ErrorInvalidRequest", f"An {kind} recurrence pattern needs dayOfMonth (1-31).")
        out_pattern["dayOfMonth"] = day
    if kind.endswith("Yearly"):
        month = pattern.get("month")
        if not isinstance(month, int) or not 1 <= month <= 12:
            raise ODataError(400, "ErrorInvalidRequest", f"A {kind} recurrence pattern needs month (1-12).")
        out_pattern["month"] = month
    start_date = range_.get("startDate")
    if start_date is None or start_date != str(doc.get("start", ""))[:10]:
        raise ODataError(400, "ErrorInvalidRequest", "The recurrence range must start on the date the event starts.")
    zone_name = range_.get("recurrenceTimeZone")
    out_range: dict[str, Any] = {
        "type": range_["type"],
        "startDate": start_date,
        "recurrenceTimeZone": accepted_zone(zone_name) if zone_name else doc.get("timezone", "UTC"),
    }
    if range_["type"] == "endDate":
        if not range_.get("endDate") or range_["endDate"] < start_date:
            raise ODataError(
                400, "ErrorInvalidRequest", "An endDate recurrence range needs an endDate after its startDate."
            )
        out_range["endDate"] = range_["endDate"]
    elif range_["type"] == "numbered":
        count = range_.get("numberOfOccurrences")
        if not isinstance(count, int) or count < 1:
            raise ODataError(400, "ErrorInvalidRequest", "A numbered recurrence range needs numberOfOccurrences > 0.")
        out_range["numberOfOccurrences"] = count
    return {"pattern": out_pattern, "range": out_range}


def read_cancel(body: Any) -> str | None:
    """The comment of a cancel body (`Comment` or `comment`)."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise ODataError(400, "BadRequest", "Empty Payload. JSON content expected.")
    return normalise(body, "cancel").get("comment")  # type: ignore[no-any-return]
