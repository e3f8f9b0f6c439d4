"""Canonical meeting fields <-> Graph event JSON (pure: no SDK, no I/O).

Writes use Windows time-zone names (Graph accepts only those and one IANA name per Windows zone)
and carry only the properties a change needs: Graph has no change tracking on its side either, and
every property in a PATCH is "a change" that mails every attendee. Reads expect the properties of
`SELECT` in UTC (`Prefer: outlook.timezone="UTC"`) but honour whatever zone the answer names.

A series master is read with `SERIES_SELECT` and `$expand=exceptionOccurrences` by its id (Graph
returns `cancelledOccurrences` and `exceptionOccurrences` only there): its skips are the original
dates in `cancelledOccurrences` (`OID.<master id>.<date>`), its overrides what its changed
occurrences show, compared with the plain occurrence (`occurrences.observe_overrides`). An
occurrence is identified by its original date, read from `originalStart` in the series' zone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.model import PROP_LAST_APPLIED, PROP_MEETING_ID, PROP_NAMESPACE, ObservedMeeting, extended_property_id
from reconciler.occurrences import observe_overrides, written_keys
from reconciler.ownership import (
    body_fingerprint,
    decode_record,
    keep_join_block,
    marker_properties,
    render_body,
    render_text,
    resolve_observed,
)
from reconciler.providers.graph.people import event_responses
from reconciler.recurrence import from_patterned, local, span_utc, to_patterned
from reconciler.state import MeetingState, OverrideState, Wall, override_json, pattern_json, wall_from_json, wall_json
from reconciler.timezones import is_valid_iana, is_windows_zone, to_iana, to_windows

#: Graph JSON this module builds (request bodies, property values) and reads (a JSON object of an
#: answer: an event, its start, its body): the wire format, kept to this module and `sdk`.
WireJson = dict[str, Any]
WireObject = Mapping[str, Any]

NAMESPACE_PROPERTY = extended_property_id(PROP_NAMESPACE)
MEETING_ID_PROPERTY = extended_property_id(PROP_MEETING_ID)
LAST_APPLIED_PROPERTY = extended_property_id(PROP_LAST_APPLIED)
OWNERSHIP_PROPERTIES = (NAMESPACE_PROPERTY, MEETING_ID_PROPERTY, LAST_APPLIED_PROPERTY)

#: Page size of listings. Graph documents no maximum `$top` for events (reference B.6); 500 keeps a
#: page of selected properties around a megabyte and lists 1,000 meetings in two requests.
PAGE_SIZE = 500

#: The properties a listing asks for: what `observe` reads, nothing more (`id` and the etag always come).
SELECT = (
    "subject",
    "body",
    "start",
    "end",
    "originalStartTimeZone",
    "isAllDay",
    "location",
    "attendees",
    "recurrence",
    "isOnlineMeeting",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "showAs",
    "sensitivity",
    "importance",
    "categories",
    "responseRequested",
    "allowNewTimeProposals",
    "hideAttendees",
    "changeKey",
    "type",
)

#: What a series master is read with, by its id: `SELECT`, its cancelled occurrences and its changed
#: ones (expanded with `EXCEPTIONS`; the selection applies to them too, hence `originalStart`).
SERIES_SELECT = (*SELECT, "originalStart", "cancelledOccurrences", "exceptionOccurrences")
EXCEPTIONS = "exceptionOccurrences"
#: What an occurrence is looked up with in `/instances`: its identity and the values an edit writes.
INSTANCE_SELECT = ("originalStart", "type", "start", "end", "isAllDay", "subject", "location", "body", "attendees")

#: Preferences sent on every request, every page included: answers in UTC, ids that survive moves.
PREFER = ('outlook.timezone="UTC"', 'IdType="ImmutableId"')

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "tzone://Microsoft/Utc", "Coordinated Universal Time"})
_ATTENDEE_KEYS = (("required", "required"), ("optional", "optional"), ("rooms", "resource"))


def odata_string(value: str) -> str:
    """A string literal for `$filter` (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def property_filter(property_id: str, value: str, *, operator: str = "eq") -> str:
    """`$filter` selecting events whose extended property `property_id` equals `value` (or, with
    `operator="ne"`, is set to another value; Graph documents eq and ne on string values, C.1)."""
    condition = f"ep/id eq {odata_string(property_id)} and ep/value {operator} {odata_string(value)}"
    return f"singleValueExtendedProperties/Any(ep: {condition})"


def expand_marker() -> str:
    """`$expand` returning the namespace and meeting id properties only (no record)."""
    ids = " or ".join(f"id eq {odata_string(p)}" for p in (NAMESPACE_PROPERTY, MEETING_ID_PROPERTY))
    return f"singleValueExtendedProperties($filter={ids})"


def expand_ownership() -> str:
    """`$expand` returning our three ownership properties with each event."""
    ids = " or ".join(f"id eq {odata_string(p)}" for p in OWNERSHIP_PROPERTIES)
    return f"singleValueExtendedProperties($filter={ids})"


# -- time zones ---------------------------------------------------------------------------------


def windows_zone(iana: str) -> str:
    """The Windows name Graph is sent for a canonical IANA zone."""
    return "UTC" if iana in _UTC_NAMES else to_windows(iana)


def _zone_of(name: str) -> ZoneInfo:
    return ZoneInfo("UTC" if name in _UTC_NAMES else to_iana(name))


def observed_zone(original: str | None, recorded: str | None) -> str:
    """The IANA zone to report for an event whose Windows zone is `original`.

    Several IANA zones share one Windows zone (Europe/Berlin and Europe/Rome are both "W. Europe
    Standard Time"), so the zone we recorded wins while it still maps to the event's Windows zone;
    otherwise (edited in Outlook, or never recorded) the Windows zone's golden IANA zone is used.
    """
    if original is None or original in _UTC_NAMES:
        if recorded is not None and (original is None or recorded in _UTC_NAMES):
            return recorded
        return "UTC"
    if is_valid_iana(original) and not is_windows_zone(original):
        # Exchange kept the IANA name a client wrote (tests/wire/real/graph): it is exact.
        return original
    try:
        if recorded is not None and windows_zone(recorded) == to_windows(original):
            return recorded
        return to_iana(original)
    except ValueError:
        # A zone Graph knows but CLDR does not (custom zones set by other clients): fall back.
        return recorded or "UTC"


def _parse_wall(value: str) -> datetime:
    """Graph's `YYYY-MM-DDTHH:MM:SS.fffffff` (7 digits) as a naive datetime."""
    head, _, fraction = value.partition(".")
    parsed = datetime.fromisoformat(head)
    return parsed.replace(microsecond=int(fraction[:6].ljust(6, "0"))) if fraction else parsed


def local_time(value: WireObject, zone: str, *, all_day: bool) -> str:
    """A dateTimeTimeZone as the canonical local time in `zone` (a date for all-day events)."""
    wall = _parse_wall(str(value["dateTime"]))
    source = str(value.get("timeZone") or "UTC")
    if all_day:
        # All-day events float: Graph reports midnight in whatever zone was asked for. Convert only
        # if an answer ever carries a time of day.
        if wall.time() != datetime.min.time():
            wall = wall.replace(tzinfo=_zone_of(source)).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        return wall.date().isoformat()
    local = wall.replace(tzinfo=_zone_of(source)).astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%dT%H:%M")


def _date_time_tz(value: Wall | str, zone: str) -> dict[str, str]:
    text = value if isinstance(value, str) else wall_json(value)
    wall = f"{text}:00" if "T" in text else f"{text}T00:00:00"
    return {"dateTime": wall, "timeZone": zone}


# -- writes -------------------------------------------------------------------------------------

#: Which Graph properties carry each canonical field (skip/overrides are written per occurrence).
GRAPH_PROPERTIES: dict[str, tuple[str, ...]] = {
    "subject": ("subject",),
    "start": ("start", "end", "isAllDay"),
    "end": ("start", "end", "isAllDay"),
    "timezone": ("start", "end", "isAllDay"),
    "all_day": ("start", "end", "isAllDay"),
    "recurrence": ("recurrence",),
    "skip": (),
    "overrides": (),
    "required": ("attendees",),
    "optional": ("attendees",),
    "rooms": ("attendees",),
    "location": ("location",),
    "online_meeting": ("isOnlineMeeting",),
    "body": ("body",),
    "body_format": ("body",),
    "reminder_minutes": ("isReminderOn", "reminderMinutesBeforeStart"),
    "show_as": ("showAs",),
    "sensitivity": ("sensitivity",),
    "importance": ("importance",),
    "categories": ("categories",),
    "response_requested": ("responseRequested",),
    "allow_new_time_proposals": ("allowNewTimeProposals",),
    "hide_attendees": ("hideAttendees",),
    "protect": (),
}


def graph_properties(changed: Iterable[str], fields: MeetingState) -> set[str]:
    """The Graph properties to write for these canonical field names.

    A series' range starts on the start's date and its recurrence zone is the event's, so moving a
    series in time or zone rewrites its recurrence too.
    """
    names = {prop for name in changed for prop in GRAPH_PROPERTIES[name]}
    if "start" in names and fields.recurrence is not None:
        names.add("recurrence")
    return names


def event_properties(fields: MeetingState, names: Iterable[str] | None = None) -> WireJson:
    """The event JSON for the canonical state, restricted to the Graph property `names` (None: all)."""
    zone = windows_zone(fields.timezone)
    content_type, content = render_body(fields)
    recurrence = fields.recurrence
    patterned = None
    if recurrence is not None:
        patterned = to_patterned(recurrence, fields.start, fields.timezone)
        patterned["range"]["recurrenceTimeZone"] = zone
    reminder = fields.reminder_minutes
    full: WireJson = {
        "subject": fields.subject,
        "body": {"contentType": content_type, "content": content},
        "start": _date_time_tz(fields.start, zone),
        "end": _date_time_tz(fields.end, zone),
        "isAllDay": fields.all_day,
        "location": {"displayName": fields.location},
        "attendees": _attendees(fields.required, fields.optional, fields.rooms),
        "recurrence": patterned,
        "isOnlineMeeting": fields.online_meeting,
        "isReminderOn": reminder is not None,
        "reminderMinutesBeforeStart": reminder,
        "showAs": fields.show_as.value,
        "sensitivity": fields.sensitivity.value,
        "importance": fields.importance.value,
        "categories": list(fields.categories),
        "responseRequested": fields.response_requested,
        "allowNewTimeProposals": fields.allow_new_time_proposals,
        "hideAttendees": fields.hide_attendees,
    }
    if full["isOnlineMeeting"]:
        full["onlineMeetingProvider"] = "teamsForBusiness"
    if reminder is None:
        del full["reminderMinutesBeforeStart"]
    if names is None:
        if not full["location"]["displayName"]:
            del full["location"]
        if patterned is None:
            del full["recurrence"]
        return full
    wanted = set(names)
    if "isOnlineMeeting" in wanted:
        wanted.add("onlineMeetingProvider")
    return {key: value for key, value in full.items() if key in wanted}


def _attendees(required: Iterable[str], optional: Iterable[str], rooms: Iterable[str]) -> list[WireJson]:
    lists = {"required": required, "optional": optional, "rooms": rooms}
    return [
        {"type": kind, "emailAddress": {"address": address}} for key, kind in _ATTENDEE_KEYS for address in lists[key]
    ]


def body_keeping_join_block(body: WireObject, current: WireObject) -> dict[str, str]:
    """The `body` property to write over the event `current`: ours, with the Teams join block of
    the current body (if any) carried over."""
    server_body = str((current.get("body") or {}).get("content") or "")
    content_type, content = keep_join_block(str(body["contentType"]), str(body["content"]), server_body)
    return {"contentType": content_type, "content": content}


def occurrence_body(fields: MeetingState, values: OverrideState) -> WireJson:
    """The PATCH body that gives one occurrence of the series `fields` these override values.

    Attendee lists alone are written as `attendees` alone (the occurrence's whole list: required and
    optional from `values`, the series' rooms), so only the people added or removed are mailed.
    """
    keys = written_keys(values)
    attendees = _attendees(
        fields.required if values.required is None else values.required,
        fields.optional if values.optional is None else values.optional,
        fields.rooms,
    )
    if keys <= {"required", "optional"}:
        return {"attendees": attendees}
    zone = windows_zone(fields.timezone)
    body: WireJson = {}
    if values.subject is not None:
        body["subject"] = values.subject
    if values.location is not None:
        body["location"] = {"displayName": values.location}
    if values.body is not None:
        content_type, content = render_text(values.body, fields.body_format)
        body["body"] = {"contentType": content_type, "content": content}
    if values.start is not None:
        body["start"] = _date_time_tz(values.start, zone)
    if values.end is not None:
        body["end"] = _date_time_tz(values.end, zone)
    if keys & {"required", "optional"}:
        body["attendees"] = attendees
    return body


def occurrence_window(fields: MeetingState, day: str, override: OverrideState | None) -> tuple[str, str]:
    """The UTC window (`startDateTime`, `endDateTime`) holding the occurrence originally on `day`:
    that day in the series' zone, widened to where the occurrence's current `override` moved it."""
    zone = ZoneInfo(fields.timezone)
    low = datetime.combine(date.fromisoformat(day), time())
    high = low + timedelta(days=1)
    if override is not None and override.start is not None and override.end is not None:
        low, high = min(low, local(override.start)), max(high, local(override.end))
    start, end = (moment.replace(tzinfo=zone).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for moment in (low, high))
    return start, end


def ownership_properties(namespace: str, meeting_id: str, fields: MeetingState) -> list[dict[str, str]]:
    """`singleValueExtendedProperties` holding the marker and the last-applied record."""
    return [
        {"id": extended_property_id(name), "value": value}
        for name, value in marker_properties(namespace, meeting_id, fields).items()
    ]


def create_body(namespace: str, meeting_id: str, fields: MeetingState, transaction_id: str) -> WireJson:
    """The POST body of a create: every field, the ownership properties and the transaction id."""
    body = event_properties(fields)
    body["singleValueExtendedProperties"] = ownership_properties(namespace, meeting_id, fields)
    body["transactionId"] = transaction_id
    return body


# -- reads --------------------------------------------------------------------------------------

#: Graph's enum values, by lower-cased spelling. Graph emits them in camelCase; reading them
#: case-insensitively keeps a differently cased answer from turning into a phantom change.
_ENUM_VALUES = {
    value.lower(): value
    for value in [
        "required",
        "optional",
        "resource",
        "free",
        "tentative",
        "busy",
        "oof",
        "workingElsewhere",
        "unknown",
        "normal",
        "personal",
        "private",
        "confidential",
        "low",
        "high",
        "daily",
        "weekly",
        "absoluteMonthly",
        "relativeMonthly",
        "absoluteYearly",
        "relativeYearly",
        "endDate",
        "noEnd",
        "numbered",
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "first",
        "second",
        "third",
        "fourth",
        "last",
    ]
}


def _enum(value: Any) -> Any:
    return _ENUM_VALUES.get(value.lower(), value) if isinstance(value, str) else value


def _recurrence(patterned: WireObject) -> WireJson:
    pattern, range_ = dict(patterned.get("pattern") or {}), dict(patterned.get("range") or {})
    for key in ("type", "firstDayOfWeek", "index"):
        pattern[key] = _enum(pattern.get(key))
    pattern["daysOfWeek"] = [_enum(d) for d in pattern.get("daysOfWeek") or []]
    range_["type"] = _enum(range_.get("type"))
    return {"pattern": pattern, "range": range_}


def extended_values(event: WireObject) -> dict[str, str]:
    """The expanded single-value extended properties of an event, by the ids we write."""
    wanted = {p.lower(): p for p in OWNERSHIP_PROPERTIES}
    out = {}
    for prop in event.get("singleValueExtendedProperties") or []:
        key = wanted.get(str(prop.get("id", "")).lower())
        if key is not None and prop.get("value") is not None:
            out[key] = str(prop["value"])
    return out


def is_series_master(event: WireObject) -> bool:
    """Whether a listed event is a series master (read again by id for its occurrences)."""
    return _enum(event.get("type")) == "seriesMaster" or bool(event.get("recurrence"))


def _address(recipient: Any) -> str:
    return str(((recipient or {}).get("emailAddress") or {}).get("address") or "").lower()


def _people(event: WireObject, organizer: str = "") -> dict[str, list[str]]:
    """Attendee addresses (lower-cased, sorted) by canonical list: required, optional, rooms.

    Exchange may list the organizer among the attendees (the captured answers in
    tests/wire/real/graph show it in the organizer's copy and in an attendee's); the organizer is
    not an attendee of their own meeting, so that entry is left out.
    """
    attendees: dict[str, set[str]] = {key: set() for key, _ in _ATTENDEE_KEYS}
    by_type = {kind: key for key, kind in _ATTENDEE_KEYS}
    organizers = {organizer.lower(), _address(event.get("organizer"))} - {""}
    for attendee in event.get("attendees") or []:
        address = _address(attendee)
        if address and address not in organizers:
            attendees[by_type.get(_enum(attendee.get("type")), "required")].add(address)
    return {key: sorted(values) for key, values in attendees.items()}


def _instant(value: str) -> datetime:
    """A DateTimeOffset as Graph writes it (`Z`, an offset or none for UTC; up to 7 fractional digits)."""
    head, dot, rest = value.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def original_date(event: WireObject, zone: str, *, all_day: bool) -> str:
    """The original date (YYYY-MM-DD, in the series' zone) of an occurrence or exception: from
    `originalStart`, or, when the answer lacks it (an expanded `exceptionOccurrences` entry may
    carry only `occurrenceId`, as in the event-get documentation sample), from the date that ends
    `occurrenceId` (`OID.<master id>.<YYYY-MM-DD>`, the same form as `cancelledOccurrences`)."""
    if not event.get("originalStart"):
        return _oid_date(event["occurrenceId"])
    text = str(event["originalStart"])
    if all_day:
        return text[:10]  # all-day occurrences float: the date as written
    return _instant(text).astimezone(ZoneInfo(zone)).date().isoformat()


def occurrence_values(event: WireObject, zone: str, *, all_day: bool) -> WireJson:
    """What an occurrence shows, as canonical override values (`body`: the server's raw content)."""
    people = _people(event)
    return {
        "start": local_time(event["start"], zone, all_day=all_day),
        "end": local_time(event["end"], zone, all_day=all_day),
        "subject": event.get("subject") or "",
        "location": (event.get("location") or {}).get("displayName") or "",
        "body": str((event.get("body") or {}).get("content") or ""),
        "required": people["required"],
        "optional": people["optional"],
    }


def occurrence_holds(event: WireObject, fields: MeetingState, values: OverrideState) -> bool:
    """Whether an occurrence of the series `fields` already shows these override values (bodies
    compared by fingerprint): how a write whose answer was lost is confirmed."""
    shown = occurrence_values(event, fields.timezone, all_day=fields.all_day)
    wanted = override_json(values)
    del wanted["date"]
    for key, value in wanted.items():
        if key == "body":
            if body_fingerprint(shown["body"]) != body_fingerprint(render_text(value, fields.body_format)[1]):
                return False
        elif shown[key] != value:
            return False
    return True


def holds(event: WireObject, body: WireObject) -> bool:
    """Whether an event read back shows a master PATCH `body`: its extended properties (which carry
    the last-applied record) or, for an attendee-only PATCH, its attendees. How a master write whose
    answer was lost is confirmed."""
    if "singleValueExtendedProperties" in body:
        wanted = {str(p["id"]): str(p["value"]) for p in body["singleValueExtendedProperties"]}
        shown = extended_values(event)
        return all(shown.get(key) == value for key, value in wanted.items())
    return _people(event) == _people(body)


def _oid_date(oid: Any) -> str:
    return date.fromisoformat(str(oid).rsplit(".", 1)[-1]).isoformat()


def cancelled_dates(event: WireObject) -> list[str]:
    """The original dates of a master's `cancelledOccurrences` (`OID.<master id>.<YYYY-MM-DD>`),
    sorted; none when the answer leaves the property out (as Graph's lists do)."""
    return sorted(_oid_date(oid) for oid in event.get("cancelledOccurrences") or [])


def observe(event: WireObject, organizer: str) -> ObservedMeeting:
    """An event (JSON with the `SELECT` properties and our expanded properties; a series master with
    `SERIES_SELECT` and its exceptions expanded) in canonical terms."""
    extended = extended_values(event)
    record = extended.get(LAST_APPLIED_PROPERTY)
    applied, _ = decode_record(record)
    zone = observed_zone(event.get("originalStartTimeZone"), applied.timezone if applied else None)
    all_day = bool(event.get("isAllDay"))
    start = local_time(event["start"], zone, all_day=all_day)
    recurrence = event.get("recurrence")
    reminder_on = event.get("isReminderOn")
    raw: WireJson = {
        "subject": event.get("subject") or "",
        "start": start,
        "end": local_time(event["end"], zone, all_day=all_day),
        "timezone": zone,
        "all_day": all_day,
        "recurrence": pattern_json(from_patterned(_recurrence(recurrence), wall_from_json(start)))
        if recurrence
        else None,
        "skip": cancelled_dates(event) if recurrence else [],
        "overrides": [],
        **_people(event, organizer),
        "location": ((event.get("location") or {}).get("displayName")) or "",
        "online_meeting": bool(event.get("isOnlineMeeting")),
        "reminder_minutes": event.get("reminderMinutesBeforeStart") if reminder_on or reminder_on is None else None,
        "show_as": _enum(event.get("showAs")),
        "sensitivity": _enum(event.get("sensitivity")),
        "importance": _enum(event.get("importance")),
        "categories": sorted(event.get("categories") or []),
        "response_requested": bool(event.get("responseRequested", True)),
        "allow_new_time_proposals": bool(event.get("allowNewTimeProposals", True)),
        "hide_attendees": bool(event.get("hideAttendees", False)),
    }
    fields, last_applied = resolve_observed(raw, str((event.get("body") or {}).get("content") or ""), record)
    if recurrence:
        exceptions = {
            original_date(e, zone, all_day=all_day): occurrence_values(e, zone, all_day=all_day)
            for e in event.get("exceptionOccurrences") or []
        }
        fields = dataclasses.replace(fields, overrides=observe_overrides(fields, exceptions, last_applied))
    starts, ends = span_utc(fields)
    return ObservedMeeting(
        item_id=str(event["id"]),
        change_key=change_key(event),
        organizer=organizer.lower(),
        meeting_id=extended.get(MEETING_ID_PROPERTY, ""),
        fields=fields,
        last_applied=last_applied,
        ends_at_utc=ends,
        starts_at_utc=starts,
        responses=event_responses(event, organizer),
    )


def change_key(event: WireObject) -> str:
    """An event's change key: `changeKey`, else the one in its `@odata.etag`."""
    return str(event.get("changeKey") or _etag_key(event.get("@odata.etag")))


def _etag_key(etag: Any) -> str:
    text = str(etag or "")
    return text[2:].strip('"') if text.startswith("W/") else text.strip('"')


def etag(change_key: str) -> str:
    """The If-Match value for a change key."""
    return f'W/"{change_key}"'
