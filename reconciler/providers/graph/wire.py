"""Canonical meeting fields <-> Graph event JSON (pure: no SDK, no I/O).

Writes use Windows time-zone names (Graph accepts only those and one IANA name per Windows zone)
and carry only the properties a change needs: Graph has no change tracking on its side either, and
every property in a PATCH is "a change" that mails every attendee. Reads expect the properties of
`SELECT` in UTC (`Prefer: outlook.timezone="UTC"`) but honour whatever zone the answer names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.model import PROP_LAST_APPLIED, PROP_MEETING_ID, PROP_NAMESPACE, ObservedMeeting, extended_property_id
from reconciler.ownership import decode_record, marker_properties, render_body, resolve_observed
from reconciler.recurrence import from_patterned, span_utc, to_patterned
from reconciler.timezones import to_iana, to_windows

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
    "changeKey",
    "type",
)

#: Preferences sent on every request, every page included: answers in UTC, ids that survive moves.
PREFER = ('outlook.timezone="UTC"', 'IdType="ImmutableId"')

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "tzone://Microsoft/Utc", "Coordinated Universal Time"})
_ATTENDEE_KEYS = (("required", "required"), ("optional", "optional"), ("rooms", "resource"))


def odata_string(value: str) -> str:
    """A string literal for `$filter` (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def property_filter(property_id: str, value: str) -> str:
    """`$filter` selecting events whose extended property `property_id` equals `value`."""
    condition = f"ep/id eq {odata_string(property_id)} and ep/value eq {odata_string(value)}"
    return f"singleValueExtendedProperties/Any(ep: {condition})"


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


def local_time(value: Mapping[str, Any], zone: str, *, all_day: bool) -> str:
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


def _date_time_tz(value: str, zone: str) -> dict[str, str]:
    wall = f"{value}:00" if "T" in value else f"{value}T00:00:00"
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
    "protect": (),
}


def graph_properties(changed: Iterable[str], fields: Mapping[str, Any]) -> set[str]:
    """The Graph properties to write for these canonical field names.

    A series' range starts on the start's date and its recurrence zone is the event's, so moving a
    series in time or zone rewrites its recurrence too.
    """
    names = {prop for name in changed for prop in GRAPH_PROPERTIES[name]}
    if "start" in names and fields.get("recurrence"):
        names.add("recurrence")
    return names


def event_properties(fields: Mapping[str, Any], names: Iterable[str] | None = None) -> dict[str, Any]:
    """The event JSON for canonical `fields`, restricted to the Graph property `names` (None: all)."""
    zone = windows_zone(fields["timezone"])
    content_type, content = render_body(fields)
    recurrence = fields.get("recurrence")
    patterned = None
    if recurrence:
        patterned = to_patterned(recurrence, fields["start"], fields["timezone"])
        patterned["range"]["recurrenceTimeZone"] = zone
    reminder = fields.get("reminder_minutes")
    full: dict[str, Any] = {
        "subject": fields["subject"],
        "body": {"contentType": content_type, "content": content},
        "start": _date_time_tz(fields["start"], zone),
        "end": _date_time_tz(fields["end"], zone),
        "isAllDay": bool(fields["all_day"]),
        "location": {"displayName": fields.get("location") or ""},
        "attendees": [
            {"type": kind, "emailAddress": {"address": address}}
            for key, kind in _ATTENDEE_KEYS
            for address in fields.get(key, [])
        ],
        "recurrence": patterned,
        "isOnlineMeeting": bool(fields.get("online_meeting")),
        "isReminderOn": reminder is not None,
        "reminderMinutesBeforeStart": reminder,
        "showAs": fields["show_as"],
        "sensitivity": fields["sensitivity"],
        "importance": fields["importance"],
        "categories": list(fields.get("categories", [])),
        "responseRequested": bool(fields["response_requested"]),
        "allowNewTimeProposals": bool(fields["allow_new_time_proposals"]),
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


def ownership_properties(namespace: str, meeting_id: str, fields: Mapping[str, Any]) -> list[dict[str, str]]:
    """`singleValueExtendedProperties` holding the marker and the last-applied record."""
    return [
        {"id": extended_property_id(name), "value": value}
        for name, value in marker_properties(namespace, meeting_id, fields).items()
    ]


def create_body(namespace: str, meeting_id: str, fields: Mapping[str, Any], transaction_id: str) -> dict[str, Any]:
    """The POST body of a create: every field, the ownership properties and the transaction id."""
    body = event_properties(fields)
    body["singleValueExtendedProperties"] = ownership_properties(namespace, meeting_id, fields)
    body["transactionId"] = transaction_id
    return body


def unsupported_fields(fields: Mapping[str, Any], names: Iterable[str] | None = None) -> list[str]:
    """Canonical fields with values this provider cannot write yet (occurrence skips and overrides)."""
    names = set(names) if names is not None else {"skip", "overrides"}
    return [name for name in ("skip", "overrides") if name in names and fields.get(name)]


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


def _recurrence(patterned: Mapping[str, Any]) -> dict[str, Any]:
    pattern, range_ = dict(patterned.get("pattern") or {}), dict(patterned.get("range") or {})
    for key in ("type", "firstDayOfWeek", "index"):
        pattern[key] = _enum(pattern.get(key))
    pattern["daysOfWeek"] = [_enum(d) for d in pattern.get("daysOfWeek") or []]
    range_["type"] = _enum(range_.get("type"))
    return {"pattern": pattern, "range": range_}


def extended_values(event: Mapping[str, Any]) -> dict[str, str]:
    """The expanded single-value extended properties of an event, by the ids we write."""
    wanted = {p.lower(): p for p in OWNERSHIP_PROPERTIES}
    out = {}
    for prop in event.get("singleValueExtendedProperties") or []:
        key = wanted.get(str(prop.get("id", "")).lower())
        if key is not None and prop.get("value") is not None:
            out[key] = str(prop["value"])
    return out


def observe(event: Mapping[str, Any], organizer: str) -> ObservedMeeting:
    """An event (JSON with the `SELECT` properties and our expanded properties) in canonical terms."""
    extended = extended_values(event)
    record = extended.get(LAST_APPLIED_PROPERTY)
    applied, _ = decode_record(record)
    recorded_zone = applied.get("timezone") if applied else None
    zone = observed_zone(event.get("originalStartTimeZone"), recorded_zone if isinstance(recorded_zone, str) else None)
    all_day = bool(event.get("isAllDay"))
    start = local_time(event["start"], zone, all_day=all_day)
    attendees: dict[str, set[str]] = {key: set() for key, _ in _ATTENDEE_KEYS}
    by_type = {kind: key for key, kind in _ATTENDEE_KEYS}
    for attendee in event.get("attendees") or []:
        address = ((attendee.get("emailAddress") or {}).get("address") or "").lower()
        if address:
            attendees[by_type.get(_enum(attendee.get("type")), "required")].add(address)
    recurrence = event.get("recurrence")
    reminder_on = event.get("isReminderOn")
    raw: dict[str, Any] = {
        "subject": event.get("subject") or "",
        "start": start,
        "end": local_time(event["end"], zone, all_day=all_day),
        "timezone": zone,
        "all_day": all_day,
        "recurrence": from_patterned(_recurrence(recurrence), start) if recurrence else None,
        # Occurrence skips and overrides are not read from Graph yet; the record stands in for them.
        "skip": list(applied.get("skip", [])) if applied and recurrence else [],
        "overrides": list(applied.get("overrides", [])) if applied and recurrence else [],
        **{key: sorted(values) for key, values in attendees.items()},
        "location": ((event.get("location") or {}).get("displayName")) or "",
        "online_meeting": bool(event.get("isOnlineMeeting")),
        "reminder_minutes": event.get("reminderMinutesBeforeStart") if reminder_on or reminder_on is None else None,
        "show_as": _enum(event.get("showAs")),
        "sensitivity": _enum(event.get("sensitivity")),
        "importance": _enum(event.get("importance")),
        "categories": sorted(event.get("categories") or []),
        "response_requested": bool(event.get("responseRequested", True)),
        "allow_new_time_proposals": bool(event.get("allowNewTimeProposals", True)),
    }
    fields, last_applied = resolve_observed(raw, str((event.get("body") or {}).get("content") or ""), record)
    starts, ends = span_utc(fields)
    return ObservedMeeting(
        item_id=str(event["id"]),
        change_key=str(event.get("changeKey") or _etag_key(event.get("@odata.etag"))),
        organizer=organizer.lower(),
        meeting_id=extended.get(MEETING_ID_PROPERTY, ""),
        fields=fields,
        last_applied=last_applied,
        ends_at_utc=ends,
        starts_at_utc=starts,
    )


def _etag_key(etag: Any) -> str:
    text = str(etag or "")
    return text[2:].strip('"') if text.startswith("W/") else text.strip('"')


def etag(change_key: str) -> str:
    """The If-Match value for a change key."""
    return f'W/"{change_key}"'
