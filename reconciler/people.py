"""Attendees' responses as the organizer's item shows them, and what a plan says about them (pure).

A response is never part of the canonical state: attendees answering never makes a plan change
anything. It is read next to the state (`model.ObservedMeeting.responses`) and only informs the
reviewer: an update or cancellation carries the counts (`ResponseCounts`), a time change says how
many people who accepted it asks again, a room that declined is named, and
`policy.protect_accepted` turns the cancellation of a well-attended meeting into a plan error
unless `--allow-mass-cancel` is passed.

Each backend's response vocabulary maps onto `Response`: Graph `responseType` (none, organizer,
tentativelyAccepted, accepted, declined, notResponded) and EWS `ResponseType` (Unknown, Organizer,
Tentative, Accept, Decline, NoResponseReceived); docs/reference/people.md cites both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Response(StrEnum):
    """An attendee's answer to the invitation, as the organizer's item records it."""

    NONE = "none"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"
    ORGANIZER = "organizer"


#: Graph `responseType` values -> Response ("notResponded" is Graph's "asked, no answer yet").
GRAPH_RESPONSES = {
    "none": Response.NONE,
    "notResponded": Response.NONE,
    "organizer": Response.ORGANIZER,
    "tentativelyAccepted": Response.TENTATIVE,
    "accepted": Response.ACCEPTED,
    "declined": Response.DECLINED,
}

#: EWS `ResponseType` values -> Response.
EWS_RESPONSES = {
    "Unknown": Response.NONE,
    "NoResponseReceived": Response.NONE,
    "Organizer": Response.ORGANIZER,
    "Tentative": Response.TENTATIVE,
    "Accept": Response.ACCEPTED,
    "Decline": Response.DECLINED,
}


@dataclass(frozen=True)
class AttendeeResponse:
    """One attendee's answer; `room` for a resource (a room mailbox answers by its booking rules)."""

    address: str
    response: Response
    room: bool = False


@dataclass(frozen=True)
class Responses:
    """Every attendee's answer on one item (sorted by address), and the organizer's own."""

    attendees: tuple[AttendeeResponse, ...] = ()
    organizer: Response = Response.ORGANIZER

    @classmethod
    def of(cls, answers: Iterable[AttendeeResponse], organizer: Response = Response.ORGANIZER) -> Responses:
        return cls(tuple(sorted(answers, key=lambda a: a.address)), organizer)

    def people(self) -> tuple[AttendeeResponse, ...]:
        return tuple(a for a in self.attendees if not a.room)

    def rooms(self) -> tuple[AttendeeResponse, ...]:
        return tuple(a for a in self.attendees if a.room)

    def who(self, response: Response) -> tuple[str, ...]:
        """The people (not rooms) who gave `response`, sorted."""
        return tuple(a.address for a in self.attendees if a.response is response and not a.room)

    def declined_rooms(self) -> tuple[str, ...]:
        """The rooms that declined, sorted."""
        return tuple(a.address for a in self.attendees if a.room and a.response is Response.DECLINED)


#: An item nobody has answered yet (and the default of `model.ObservedMeeting.responses`).
NO_RESPONSES = Responses()


@dataclass(frozen=True)
class ResponseCounts:
    """What a change's reviewer reads about the people: counts of the people's answers (rooms are
    not counted), the rooms that declined, who accepted, and how many accepted or tentative
    answers a time change asks again (0 when the time does not change)."""

    accepted: int
    tentative: int
    declined: int
    no_answer: int
    accepted_by: tuple[str, ...] = ()
    declined_rooms: tuple[str, ...] = ()
    asked_again: int = 0

    @property
    def total(self) -> int:
        return self.accepted + self.tentative + self.declined + self.no_answer


def counts(responses: Responses, *, time_changes: bool = False) -> ResponseCounts:
    """The counts of `responses`; with `time_changes`, everyone who accepted or tentatively
    accepted is asked again (Exchange sends them the new time and their answer no longer holds)."""
    people: dict[Response, list[str]] = {answer: [] for answer in Response}
    for attendee in responses.attendees:
        if not attendee.room:
            people[attendee.response].append(attendee.address)
    accepted, tentative = people[Response.ACCEPTED], people[Response.TENTATIVE]
    return ResponseCounts(
        accepted=len(accepted),
        tentative=len(tentative),
        declined=len(people[Response.DECLINED]),
        no_answer=len(people[Response.NONE]),
        accepted_by=tuple(accepted),
        declined_rooms=responses.declined_rooms(),
        asked_again=len(accepted) + len(tentative) if time_changes else 0,
    )
