"""EWS attendee answers -> `people.Responses`: each Attendee's `ResponseType` in
RequiredAttendees, OptionalAttendees and Resources, and the item's `MyResponseType` (the
organizer's own), as exchangelib reads them (docs/reference/people.md)."""

from __future__ import annotations

from collections.abc import Sequence
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


def _utc_zone() -> Any:
    """The legacy availability TimeZone of UTC: no bias, no daylight-saving transitions."""
    from datetime import time

    from exchangelib.properties import DaylightTime, StandardTime, TimeZone

    rule = {"bias": 0, "time": time(0), "occurrence": 1, "iso_month": 1, "weekday": 1}
    return TimeZone(bias=0, standard_time=StandardTime(**rule), daylight_time=DaylightTime(**rule))


def free_busy(protocol: Any, addresses: Sequence[str], start: datetime, end: datetime) -> list[Schedule]:
    """GetUserAvailability (FreeBusyViewOptions, Detailed) of `addresses` in [start, end), asked in
    UTC, one request per AVAILABILITY_BATCH. A FreeBusyResponse carrying an error is unknown with
    that error's code, never free. Raises exchangelib's errors for a failed request."""
    from exchangelib import EWSDateTime, EWSTimeZone
    from exchangelib.errors import ResponseMessageError
    from exchangelib.properties import FreeBusyViewOptions, MailboxData, TimeWindow
    from exchangelib.services import GetUserAvailability

    class EachMailboxAvailability(GetUserAvailability):  # type: ignore[misc]
        """Every per-mailbox error (ErrorNoFreeBusyAccess, ...) is returned for its mailbox
        instead of raised: exchangelib raises all but a few, which would lose the whole batch."""

        ERRORS_TO_CATCH_IN_RESPONSE = (*GetUserAvailability.ERRORS_TO_CATCH_IN_RESPONSE, ResponseMessageError)

    utc = EWSTimeZone("UTC")
    window = TimeWindow(
        start=EWSDateTime.from_datetime(start.astimezone(UTC)).astimezone(utc),
        end=EWSDateTime.from_datetime(end.astimezone(UTC)).astimezone(utc),
    )
    found: list[Schedule] = []
    for first in range(0, len(addresses), AVAILABILITY_BATCH):
        batch = list(addresses[first : first + AVAILABILITY_BATCH])
        answers = list(
            EachMailboxAvailability(protocol=protocol).call(
                tzinfo=utc,
                mailbox_data=[MailboxData(email=a, attendee_type="Required", exclude_conflicts=False) for a in batch],
                timezone=_utc_zone(),
                free_busy_view_options=FreeBusyViewOptions(
                    time_window=window, merged_free_busy_interval=30, requested_view="Detailed"
                ),
            )
        )
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
