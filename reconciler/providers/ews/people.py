"""EWS attendee answers -> `people.Responses`: each Attendee's `ResponseType` in
RequiredAttendees, OptionalAttendees and Resources, and the item's `MyResponseType` (the
organizer's own), as exchangelib reads them (docs/reference/people.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from reconciler.freebusy import BusyPeriod, BusyStatus, Schedule
from reconciler.people import EWS_RESPONSES, AttendeeResponse, Response, Responses


def item_responses(item: Any, organizer: str) -> Responses:
    """The answers an exchangelib CalendarItem carries; the organizer listed among the attendees
    is left out, as the canonical attendee lists leave it out."""
    answers: dict[str, AttendeeResponse] = {}
    for attendees, room in (
        (item.required_attendees, False),
        (item.optional_attendees, False),
        (item.resources, True),
    ):
        for attendee in attendees or []:
            address = str(getattr(getattr(attendee, "mailbox", None), "email_address", None) or "").lower()
            if not address or address == organizer.lower():
                continue
            response = EWS_RESPONSES.get(str(getattr(attendee, "response_type", None)), Response.NONE)
            answers[address] = AttendeeResponse(address, response, room=room)
    own = EWS_RESPONSES.get(str(item.my_response_type), Response.ORGANIZER)
    return Responses.of(answers.values(), own)


#: Mailboxes asked per GetUserAvailability request: the largest MailboxDataArray Exchange takes is
#: 100 [DOC GetUserAvailability operation, not verified here against a server].
AVAILABILITY_BATCH = 100
_BUSY_TYPES = {"Tentative": BusyStatus.TENTATIVE, "Busy": BusyStatus.BUSY, "OOF": BusyStatus.OOF}


def free_busy(ask: Callable[[list[str]], list[Any]], addresses: Sequence[str]) -> list[Schedule]:
    """The schedules of `addresses`, asked AVAILABILITY_BATCH at a time with `ask` (one
    GetUserAvailability, `sdk.availability`). A FreeBusyResponse carrying an error is unknown with
    that error's code, never free; an address the answer does not reach is unknown too."""
    found: list[Schedule] = []
    for first in range(0, len(addresses), AVAILABILITY_BATCH):
        batch = list(addresses[first : first + AVAILABILITY_BATCH])
        answers = ask(batch)
        for index, address in enumerate(batch):
            answer = answers[index] if index < len(answers) else None
            found.append(_schedule(address, answer))
    return found


def _schedule(address: str, answer: Any) -> Schedule:
    if answer is None:
        return Schedule(address, unknown="EWS's answer does not name it")
    if isinstance(answer, Exception):
        return Schedule(address, unknown=f"{type(answer).__name__}: {str(answer).rstrip('.')}")
    busy = []
    for event in answer.calendar_events or []:
        status = _BUSY_TYPES.get(str(event.busy_type))
        if status is None:
            if str(event.busy_type) in ("Free", "NoData"):
                continue
            status = BusyStatus.WORKING_ELSEWHERE if str(event.busy_type) == "WorkingElsewhere" else BusyStatus.BUSY
        busy.append(BusyPeriod(_aware(event.start), _aware(event.end), status))
    return Schedule(address, tuple(busy))


def _aware(value: datetime) -> datetime:
    return datetime.fromtimestamp(value.timestamp(), UTC)
