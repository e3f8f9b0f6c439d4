"""Graph's attendee answers and free/busy: `POST /users/{attendee}/events/{id}/accept|decline|
tentativelyAccept` and `POST /users/{id}/calendar/getSchedule` (docs/reference/people.md).

Sources: event-accept.md, event-decline.md, event-tentativelyaccept.md (body `comment`,
`sendResponse`; 202 Accepted, no body) and calendar-getschedule.md with scheduleinformation.md
(the request and answer shapes) in microsoftgraph/microsoft-graph-docs-contrib.

Modelled, not documented [INFER]: the store keeps no attendee copies, so an attendee answers on the
organizer's event id (Exchange gives the attendee's copy its own id); the organizer's event then
shows the answer in `attendees[].status`. A schedule that cannot be read (a mailbox marked
unavailable) is answered with the schedule's `error` (freeBusyError: `message`, `responseCode`)
and no `scheduleItems`; the response codes are the EWS ones Graph passes through
(ErrorMailRecipientNotFound, ErrorNoFreeBusyAccess) [INFER]. Times are answered in UTC: the
`Prefer: outlook.timezone` header is not applied (the provider asks in UTC).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.emulator import zones
from reconciler.emulator.freebusy import BusyPeriod, FreeBusyUnavailable, busy_periods_of
from reconciler.emulator.graph.odata import ODataError
from reconciler.emulator.store import ItemNotFound, MailboxStore, StoredItem, UnavailableReason

#: The action segment -> the answer the organizer's item records (a responseType value).
ANSWERS = {"accept": "accepted", "tentativelyaccept": "tentativelyAccepted", "decline": "declined"}
_VIEW_DIGITS = {"tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
_ERRORS = {
    UnavailableReason.MISSING: ("ErrorMailRecipientNotFound", "The mailbox could not be found."),
    UnavailableReason.NOT_ENABLED: ("ErrorMailRecipientNotFound", "The mailbox is not enabled."),
    UnavailableReason.DENIED: ("ErrorNoFreeBusyAccess", "No free/busy access to the mailbox."),
}


def respond(store: MailboxStore, attendee: str, item: StoredItem, action: str, body: Any) -> None:
    """Record `attendee`'s answer on the organizer's `item` (refused when it is not an attendee)."""
    if body is not None and not isinstance(body, dict):
        raise ODataError(400, "RequestBodyRead", "The request body must be a JSON object.")
    unknown = sorted(set(body or {}) - {"comment", "sendResponse", "proposedNewTime"})
    if unknown:
        message = f"The parameter '{unknown[0]}' in the request payload is not a valid parameter for '{action}'."
        raise ODataError(400, "RequestBodyRead", message)
    try:
        store.respond(item.item_id, attendee, ANSWERS[action])
    except ItemNotFound as error:
        raise ODataError(404, "ErrorItemNotFound", "The specified object was not found in the store.") from error


def _moment(value: Any, name: str) -> datetime:
    if not isinstance(value, dict) or "dateTime" not in value or "timeZone" not in value:
        raise ODataError(400, "RequestBodyRead", f"The parameter '{name}' is missing or malformed.")
    try:
        zone = zones.zone(zones.to_iana(str(value["timeZone"])))
        local = datetime.fromisoformat(str(value["dateTime"])[:19])
    except ValueError as error:
        raise ODataError(400, "ErrorInvalidParameter", f"The parameter '{name}' is not valid.") from error
    return local.replace(tzinfo=zone).astimezone(UTC)


def _utc(value: datetime) -> dict[str, str]:
    return {"dateTime": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def schedule(store: MailboxStore, body: Any) -> dict[str, Any]:
    """The getSchedule answer (its `value`) for the request body."""
    # Action parameter names are matched ignoring case: the reference writes `schedules`, the
    # free/busy guide `Schedules`, and msgraph-sdk sends `Schedules`, `StartTime`, `EndTime`.
    params = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
    if not isinstance(params.get("schedules"), list):
        raise ODataError(400, "RequestBodyRead", "The parameter 'schedules' is missing.")
    start, end = _moment(params.get("starttime"), "startTime"), _moment(params.get("endtime"), "endTime")
    interval = int(params.get("availabilityviewinterval") or 30)
    if not 5 <= interval <= 1440:
        raise ODataError(400, "ErrorInvalidParameter", "availabilityViewInterval must be between 5 and 1440.")
    addresses = [str(a) for a in params["schedules"]]
    found = busy_periods_of(store, addresses, start, end)
    return {"value": [_information(a, found[a.lower()], start, end, interval) for a in addresses]}


def _information(
    address: str, periods: list[BusyPeriod] | FreeBusyUnavailable, start: datetime, end: datetime, interval: int
) -> dict[str, Any]:
    if isinstance(periods, FreeBusyUnavailable):
        code, message = _ERRORS[periods.reason]
        return {"scheduleId": address, "availabilityView": "", "error": {"message": message, "responseCode": code}}
    slots = max(1, math.ceil((end - start) / timedelta(minutes=interval)))
    view = ["0"] * slots
    for index in range(slots):
        begin = start + timedelta(minutes=interval * index)
        finish = begin + timedelta(minutes=interval)
        digits = [_VIEW_DIGITS.get(p.status, "2") for p in periods if p.start < finish and p.end > begin]
        view[index] = max(digits, default="0")
    return {
        "scheduleId": address,
        "availabilityView": "".join(view),
        "scheduleItems": [
            {
                "isPrivate": False,
                "status": p.status,
                "subject": p.subject,
                "location": "",
                "start": _utc(p.start),
                "end": _utc(p.end),
            }
            for p in periods
        ],
    }
