"""Graph attendee answers -> `people.Responses`: `attendees[].status.response` (responseType) and
the organizer's `responseStatus` (Microsoft Graph event and attendee resources, see
docs/reference/people.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from reconciler.freebusy import BusyPeriod, BusyStatus, Schedule
from reconciler.people import GRAPH_RESPONSES, AttendeeResponse, Response, Responses


def event_responses(event: Mapping[str, Any], organizer: str) -> Responses:
    """The answers an event's `attendees` and `responseStatus` carry (unknown values read as none);
    the organizer, whom Exchange may list among the attendees, is left out as the canonical
    attendee lists leave it out."""
    answers = []
    for attendee in event.get("attendees") or []:
        address = str((attendee.get("emailAddress") or {}).get("address") or "").lower()
        if not address or address == organizer.lower():
            continue
        status = (attendee.get("status") or {}).get("response")
        answers.append(
            AttendeeResponse(
                address, GRAPH_RESPONSES.get(str(status), Response.NONE), room=attendee.get("type") == "resource"
            )
        )
    own = (event.get("responseStatus") or {}).get("response")
    return Responses.of(answers, GRAPH_RESPONSES.get(str(own), Response.ORGANIZER))


#: Addresses asked per getSchedule request. The v1.0 reference names no limit [DOC
#: calendar-getschedule.md]; 20 is a conservative choice [INFER], not a documented maximum.
SCHEDULE_BATCH = 20
_STATUSES = {s.value.lower(): s for s in BusyStatus}


def _utc(value: Mapping[str, Any]) -> datetime:
    """A scheduleItem's start/end (asked without Prefer: outlook.timezone, so in UTC)."""
    if str(value.get("timeZone") or "UTC") != "UTC":
        raise ValueError(f"expected a UTC time, got {value.get('timeZone')!r}")
    return datetime.fromisoformat(str(value["dateTime"])[:19]).replace(tzinfo=UTC)


def read_schedules(addresses: Sequence[str], answer: Sequence[Mapping[str, Any]]) -> list[Schedule]:
    """getSchedule's `value` as one Schedule per asked address, in order: an entry with an `error`,
    an unreadable entry, or no entry at all is unknown, never free."""
    by_address = {str(entry.get("scheduleId") or "").lower(): entry for entry in answer}
    found = []
    for address in addresses:
        entry = by_address.get(address.lower())
        if entry is None:
            found.append(Schedule(address, unknown="Graph's answer does not name it"))
            continue
        error = entry.get("error")
        if error:
            code = str(error.get("responseCode") or "error")
            found.append(Schedule(address, unknown=f"{code}: {str(error.get('message') or '').rstrip('.')}"))
            continue
        try:
            busy = tuple(
                BusyPeriod(_utc(item["start"]), _utc(item["end"]), _STATUSES[str(item["status"]).lower()])
                for item in entry.get("scheduleItems") or []
                if str(item.get("status", "")).lower() != "free"
            )
        except (KeyError, TypeError, ValueError) as problem:
            found.append(Schedule(address, unknown=f"Graph's answer could not be read ({problem})"))
            continue
        found.append(Schedule(address, busy))
    return found
