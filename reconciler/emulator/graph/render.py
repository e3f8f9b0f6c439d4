"""Graph's event resource as Graph renders it, from the store's neutral document.

Canonical camelCase enums, 7-digit fractional seconds, start/end in UTC unless a time zone was
preferred (all-day events float: midnight in whatever zone is asked for), bodies as full HTML
documents unless text was preferred, recurrence with Graph's default fills (`month: 0`,
`firstDayOfWeek: "sunday"`, `endDate: "0001-01-01"`, ...), `@odata.etag` = `W/"<changeKey>"`,
extended properties only when expanded.

An occurrence or exception of a series renders from its own document (`series.Occurrence.doc`)
with `type`, `seriesMasterId`, `originalStart` (only when `$select`ed: the captured default
calendarView answer has none), no recurrence, an `iCalUId` of its own (the
master's global object id with the original date in it, as Outlook makes them) and the master's
change key (instances share one etag, reference/graph.md A.5), `occurrenceId` (`OID.<master
id>.<original date>`, null on singles and masters) and `transactionId: null`.

`transactionId` and `occurrenceId` are on every event, null when unset (the captured calendarView
answers in tests/wire/real/graph carry both); `originalStartTimeZone` keeps the zone name the
client wrote when it still names the stored zone, an IANA name included; an online meeting carries
its join details in `onlineMeeting` (see `teams`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from reconciler.emulator import series
from reconciler.emulator.graph import ids, teams
from reconciler.emulator.graph.events import accepted_zone, convert, windows_name
from reconciler.emulator.graph.instances import original_start_utc
from reconciler.emulator.graph.odata import Expansion, ODataError, canonical_property_id
from reconciler.emulator.store import StoredItem

_NEVER = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class View:
    """How to render events for one request."""

    #: The zone name to report start/end in, as the client spelled it, and its IANA zone.
    zone_label: str = "UTC"
    zone: str = "UTC"
    body_text: bool = False
    select: frozenset[str] | None = None
    expansion: Expansion | None = None
    #: Ids in URL-safe base64 (Graph's REST ids); False: in the EWS alphabet (see `ids.rest`).
    url_safe_ids: bool = True


@dataclass(frozen=True)
class Instance:
    """An occurrence (or exception) of a series to render, with its master's public id."""

    occurrence: series.Occurrence
    master_id: str


def _timestamp(value: str) -> str:
    """The store's microsecond UTC stamp with Graph's 7 fractional digits."""
    return value[:-1] + "0Z" if value.endswith("Z") and "." in value else value


def _date_time(doc: Mapping[str, Any], key: str, view: View) -> dict[str, str]:
    local = datetime.fromisoformat(doc[key])
    if not doc.get("is_all_day"):
        local = convert(local, doc.get("timezone", "UTC"), view.zone)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": view.zone_label}


_HTML_DOCUMENT = re.compile(r"<html\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_HEAD = re.compile(r"<head\b.*?</head>", re.IGNORECASE | re.DOTALL)


def html_document(body: Mapping[str, Any]) -> str:
    """A body as Exchange stores it: a full HTML document (text is escaped, line breaks kept)."""
    content = str(body.get("content") or "")
    if body.get("type") == "html":
        if _HTML_DOCUMENT.search(content):
            return content
        inner = content
    else:
        inner = (
            '<div class="PlainText">' + html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n") + "</div>"
        )
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n'
        "</head>\r\n<body>\r\n" + inner + "\r\n</body>\r\n</html>\r\n"
    )


def plain_text(body: Mapping[str, Any]) -> str:
    """A body converted to text as Graph does for `outlook.body-content-type="text"`."""
    content = str(body.get("content") or "")
    if body.get("type") != "html":
        return content
    without_head = _HEAD.sub("", content)
    text = re.sub(r"<br\s*/?>|</p>|</div>|</li>", "\n", without_head, flags=re.IGNORECASE)
    lines = [" ".join(line.split()) for line in html.unescape(_TAG.sub("", text)).splitlines()]
    return "\r\n".join(line for line in lines if line)


def _filled_recurrence(recurrence: Mapping[str, Any], zone_label: str) -> dict[str, Any]:
    pattern, range_ = recurrence["pattern"], recurrence["range"]
    return {
        "pattern": {
            "type": pattern["type"],
            "interval": pattern.get("interval", 1),
            "month": pattern.get("month", 0),
            "dayOfMonth": pattern.get("dayOfMonth", 0),
            "daysOfWeek": list(pattern.get("daysOfWeek") or []),
            "firstDayOfWeek": pattern.get("firstDayOfWeek") or "sunday",
            "index": pattern.get("index") or "first",
        },
        "range": {
            "type": range_["type"],
            "startDate": range_["startDate"],
            "endDate": range_.get("endDate") or "0001-01-01",
            "recurrenceTimeZone": zone_label,
            "numberOfOccurrences": range_.get("numberOfOccurrences", 0),
        },
    }


def _occurrence_uid(uid: str, original: datetime | None) -> str:
    """A global object id with an instance date (bytes 16-19: year, month, day), as Outlook makes them."""
    if original is None:
        return uid
    return f"{uid[:32]}{original.year:04X}{original.month:02X}{original.day:02X}{uid[40:]}"


def event_json(
    item: StoredItem,
    public_id: str,
    view: View,
    *,
    instance: Instance | None = None,
    extra: Mapping[str, Any] | None = None,
    web_base: str = "https://outlook.office365.com",
) -> dict[str, Any]:
    """An item, or one `instance` of it, as Graph renders it for `view` (all default properties
    unless `$select`ed). `extra` holds properties only some requests return (`cancelledOccurrences`,
    `exceptionOccurrences`); they are added before `$select` applies."""
    public_id = ids.rest(item.mailbox, public_id, url_safe=view.url_safe_ids)
    master_id = ids.rest(item.mailbox, instance.master_id, url_safe=view.url_safe_ids) if instance else None
    doc = instance.occurrence.doc if instance is not None else item.doc
    zone_name = zone_label(doc)
    body = doc.get("body") or {"type": "text", "content": ""}
    content_type, content = ("text", plain_text(body)) if view.body_text else ("html", html_document(body))
    preview = " ".join(_TAG.sub(" ", html.unescape(_HEAD.sub("", html_document(body)))).split())[:255]
    online = bool(doc.get("is_online_meeting"))
    recurrence = doc.get("recurrence")
    location = doc.get("location") or ""
    event: dict[str, Any] = {
        "@odata.etag": f'W/"{item.change_key}"',
        "id": public_id,
        "createdDateTime": _timestamp(item.created_at),
        "lastModifiedDateTime": _timestamp(item.modified_at),
        "changeKey": item.change_key,
        "categories": list(doc.get("categories") or []),
        "transactionId": doc.get("transaction_id") if instance is None else None,
        "originalStartTimeZone": zone_name,
        "originalEndTimeZone": zone_name,
        "iCalUId": _occurrence_uid(item.uid, instance.occurrence.original_start if instance else None),
        "uid": item.uid,
        "reminderMinutesBeforeStart": doc.get("reminder_minutes", 15),
        "isReminderOn": bool(doc.get("is_reminder_on", True)),
        "hasAttachments": False,
        "subject": doc.get("subject", ""),
        "bodyPreview": preview,
        "importance": doc.get("importance", "normal"),
        "sensitivity": doc.get("sensitivity", "normal"),
        "isAllDay": bool(doc.get("is_all_day")),
        "isCancelled": item.state == "cancelled",
        # An invitation's copy in an attendee's calendar names its organizer (store docstring).
        "isOrganizer": item.doc.get("organizer", item.mailbox) == item.mailbox,
        "responseRequested": bool(doc.get("response_requested", True)),
        "seriesMasterId": master_id,
        "showAs": doc.get("show_as", "busy"),
        "type": _event_type(instance, recurrence),
        # OWA links carry the EWS form of the id, percent-encoded (as in the captured answers).
        "webLink": f"{web_base}/owa/?itemid={quote(public_id.replace('-', '/').replace('_', '+'), safe='')}"
        "&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": online,
        "onlineMeetingProvider": doc.get("online_meeting_provider", "teamsForBusiness" if online else "unknown"),
        "allowNewTimeProposals": bool(doc.get("allow_new_time_proposals", True)),
        "isDraft": False,
        "hideAttendees": bool(doc.get("hide_attendees", False)),
        "responseStatus": {
            "response": "organizer" if item.doc.get("organizer", item.mailbox) == item.mailbox else "notResponded",
            "time": _NEVER,
        },
        "body": {"contentType": content_type, "content": content},
        "start": _date_time(doc, "start", view),
        "end": _date_time(doc, "end", view),
        "location": {
            "displayName": location,
            "locationType": "default",
            "uniqueId": location,
            "uniqueIdType": "private",
        }
        if location
        else {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        },
        "locations": [
            {"displayName": location, "locationType": "default", "uniqueId": location, "uniqueIdType": "unknown"}
        ]
        if location
        else [],
        "recurrence": _filled_recurrence(recurrence, zone_name) if recurrence else None,
        "attendees": [
            {
                "type": a.get("type", "required"),
                "status": {"response": a.get("response", "none"), "time": _NEVER},
                "emailAddress": {"name": a.get("name") or a["email"], "address": a["email"]},
            }
            for a in doc.get("attendees", [])
        ],
        "organizer": {
            "emailAddress": {
                "name": item.doc.get("organizer", item.mailbox),
                "address": item.doc.get("organizer", item.mailbox),
            }
        },
        "onlineMeeting": _online_meeting(doc, item) if online else None,
        "occurrenceId": None,
    }
    if instance is not None:
        event["occurrenceId"] = f"OID.{master_id}.{instance.occurrence.original.isoformat()}"
        if view.select is not None and "originalstart" in view.select:
            # Only when selected: the captured calendarView answers without $select have none.
            event["originalStart"] = original_start_utc(instance.occurrence, doc)
    event.update(extra or {})
    if view.select is not None:
        event = {k: v for k, v in event.items() if k in ("@odata.etag", "id") or k.lower() in view.select}
    if view.expansion is not None:
        wanted = view.expansion.single_value_ids
        if wanted is not None:
            event["singleValueExtendedProperties"] = [
                {"id": key, "value": value} for key, value in extended_of(item).items() if key in wanted
            ]
        for name in view.expansion.empty:
            event[name] = []
    return event


def zone_label(doc: Mapping[str, Any]) -> str:
    """`originalStartTimeZone`: the zone as the client named it when it still names the stored zone
    (Exchange keeps an IANA name it was given, tests/wire/real/graph/outlook-rest-v2-event-iana-zone.json),
    otherwise the stored zone's Windows name."""
    zone = str(doc.get("timezone", "UTC"))
    named = doc.get("timezone_name")
    if isinstance(named, str):
        try:
            if accepted_zone(named) == zone:
                return named
        except ODataError:
            pass  # a name no longer accepted: the stored zone's Windows name
    return windows_name(zone)


def _online_meeting(doc: Mapping[str, Any], item: StoredItem) -> dict[str, Any]:
    meeting = doc.get("online_meeting")
    if isinstance(meeting, Mapping):
        return teams.online_meeting_json(meeting)
    # Made online through another protocol: a join URL of its own, nothing more [INFER].
    return {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/{item.uid[-32:]}"}


def _event_type(instance: Instance | None, recurrence: Any) -> str:
    if instance is not None:
        return "exception" if instance.occurrence.exception else "occurrence"
    return "seriesMaster" if recurrence else "singleInstance"


def extended_of(item: StoredItem) -> dict[str, str]:
    return {canonical_property_id(k): v for k, v in (item.doc.get("extended") or {}).items()}
