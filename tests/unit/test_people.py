"""Answers, conflicts and rooms in the pure core: `people`, `availability` and the plan rules that
use them, on plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from reconciler import availability
from reconciler.freebusy import BusyPeriod, BusyStatus, Schedule
from reconciler.model import Action, Every, Recurrence, Weekday
from reconciler.people import AttendeeResponse, Response, ResponseCounts, Responses, counts
from reconciler.providers.ews.people import _schedule
from reconciler.providers.graph.people import event_responses, read_schedules
from reconciler.render.notices import word
from reconciler.state import meeting_state
from tests.factories import declared_override
from tests.unit.test_plan_rules import NOW, item, meeting, only, plan


def answered(**answers: str) -> Responses:
    """Responses of the sample meeting's people and room, `answers` by local part."""
    people = {"alice": False, "bob": False, "carol": False, "room-1": True}
    return Responses.of(
        AttendeeResponse(f"{name}@contoso.com", Response(answers.get(name.replace("-", "_"), "none")), room=room)
        for name, room in people.items()
    )


def utc(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def test_counts_leave_rooms_out_and_name_who_accepted() -> None:
    value = counts(answered(alice="accepted", bob="tentative", room_1="declined"))
    assert value == ResponseCounts(
        accepted=1,
        tentative=1,
        declined=0,
        no_answer=1,
        accepted_by=("alice@contoso.com",),
        declined_rooms=("room-1@contoso.com",),
    )


def test_answers_alone_never_make_a_change() -> None:
    result = plan([meeting()], [replace(item(meeting()), responses=answered(alice="accepted", bob="declined"))])
    assert (result.changes, result.unchanged) == ((), 1)


def test_an_update_carries_the_counts_and_a_time_change_asks_the_accepted_again() -> None:
    observed = replace(item(meeting()), responses=answered(alice="accepted", bob="tentative"))
    subject = only(plan([meeting(subject="Renamed")], [observed]))
    assert subject.responses is not None and subject.responses.asked_again == 0
    moved = only(plan([meeting(start=datetime(2026, 12, 1, 11, 0), end=datetime(2026, 12, 1, 11, 30))], [observed]))
    assert moved.responses is not None and (moved.responses.accepted, moved.responses.asked_again) == (1, 2)


def test_cancelling_at_least_protect_accepted_acceptances_is_an_error_unless_allowed() -> None:
    observed = replace(item(meeting()), responses=answered(alice="accepted", bob="accepted"))
    assert plan([], [observed], protect_accepted=3).errors == ()
    refused = plan([], [observed], protect_accepted=2)
    assert tuple(word(e) for e in refused.errors) == (
        "team/sync: the plan cancels a meeting 2 people accepted (alice@contoso.com, bob@contoso.com), at least"
        " policy.protect_accepted (2); pass --allow-mass-cancel if this is intended.",
    )
    assert plan([], [observed], protect_accepted=2, allow_mass_cancel=True).errors == ()


def test_a_room_that_declined_is_warned_about_in_every_plan_while_the_meeting_lasts() -> None:
    observed = replace(item(meeting()), responses=answered(room_1="declined"))
    assert tuple(word(w) for w in plan([meeting()], [observed]).warnings) == (
        "team/sync: the room room-1@contoso.com declined the meeting; book another room or change the time.",
    )


def test_slots_skip_cancelled_occurrences_move_overridden_ones_and_stop_at_the_horizon() -> None:
    series = meeting(
        start=datetime(2026, 12, 1, 10, 0),
        end=datetime(2026, 12, 1, 10, 30),
        recurrence=Recurrence(
            Every.WEEK,
            on=(Weekday.TUESDAY,),
            skip=(date(2026, 12, 8),),
            overrides=(
                declared_override(date(2026, 12, 15), {"start": "2026-12-15T12:00", "end": "2026-12-15T12:30"}),
            ),
        ),
    )
    found = availability.slots(meeting_state(series), NOW)
    assert [(s.start, s.end) for s in found] == [
        (utc(9), utc(9, 30)),
        (utc(11, day=15), utc(11, 30, day=15)),
    ]  # the 22nd starts exactly at now + HORIZON: outside


def conflicts(schedules: dict[str, Schedule], **policy: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    result = plan([meeting()], **policy)
    found = availability.checks(result, (), NOW)
    checked = availability.with_conflicts(
        result,
        found,
        {("lead@contoso.com", a): s for a, s in schedules.items()},
        room_errors=policy.get("room_conflicts") == "error",
    )
    return tuple(word(w) for w in only(checked).warnings), tuple(word(e) for e in checked.errors)


def test_only_required_attendees_and_rooms_are_checked_and_a_missing_answer_is_unknown() -> None:
    (check,) = availability.checks(plan([meeting()]), (), NOW)
    assert check.addresses == ("alice@contoso.com", "bob@contoso.com", "room-1@contoso.com")
    warnings, _ = conflicts({"alice@contoso.com": Schedule("alice@contoso.com"), "bob@contoso.com": Schedule("b")})
    assert warnings == (
        "team/sync: room-1@contoso.com's availability is unknown (the backend gave no answer for it); it was not"
        " checked.",
    )


def test_a_busy_room_is_an_error_only_under_room_conflicts_error_and_a_busy_person_never() -> None:
    busy = (BusyPeriod(utc(9, 15), utc(10), BusyStatus.BUSY),)
    schedules = {
        "alice@contoso.com": Schedule("alice@contoso.com", busy),
        "bob@contoso.com": Schedule("bob@contoso.com", (BusyPeriod(utc(10), utc(11), BusyStatus.BUSY),)),
        "room-1@contoso.com": Schedule("room-1@contoso.com", busy),
    }
    warnings, errors = conflicts(schedules)
    assert warnings == (
        "team/sync: alice@contoso.com is busy 2026-12-01 09:15-10:00 UTC at the meeting's time.",
        "team/sync: the room room-1@contoso.com is busy 2026-12-01 09:15-10:00 UTC at the meeting's time.",
    )
    assert errors == ()
    assert conflicts(schedules, room_conflicts="error")[1] == (
        "team/sync: the room room-1@contoso.com is busy 2026-12-01 09:15-10:00 UTC at the meeting's time."
        " policy.room_conflicts is error.",
    )


def test_an_update_is_not_in_conflict_with_its_own_old_slot() -> None:
    moved = meeting(start=datetime(2026, 12, 1, 10, 15), end=datetime(2026, 12, 1, 10, 45))
    observed = item(meeting())
    result = plan([moved], [observed])
    (check,) = availability.checks(result, [observed], NOW)
    own = Schedule("alice@contoso.com", (BusyPeriod(utc(9), utc(9, 30), BusyStatus.BUSY),))
    checked = availability.with_conflicts(
        result, [check], {("lead@contoso.com", a): own for a in check.addresses}, room_errors=False
    )
    assert only(checked).warnings == ()


def test_two_files_booking_one_room_at_once_warn_before_anything_is_applied() -> None:
    first, second = meeting(), meeting("team/retro", start=datetime(2026, 12, 1, 10, 15), end=datetime(2026, 12, 1, 11))
    result = availability.double_bookings(plan([first, second]), [first, second], NOW, room_errors=False)
    assert {c.meeting_id: tuple(word(w) for w in c.warnings) for c in result.changes} == {
        "team/retro": (
            "team/retro: the room room-1@contoso.com is also booked by team/sync (both in this repository),"
            " overlapping 2026-12-01 09:15-09:30 UTC.",
        ),
        "team/sync": (
            "team/sync: the room room-1@contoso.com is also booked by team/retro (both in this repository),"
            " overlapping 2026-12-01 09:15-09:30 UTC.",
        ),
    }
    unchanged = plan([first, second], [item(first, 1), item(second, 2)])
    assert availability.double_bookings(unchanged, [first, second], NOW, room_errors=True) == unchanged
    assert {c.action for c in result.changes} == {Action.CREATE}


def test_graph_answers_read_as_responses_and_errors_as_unknown() -> None:
    event = {
        "attendees": [
            {"type": "required", "status": {"response": "accepted"}, "emailAddress": {"address": "Alice@contoso.com"}},
            {"type": "resource", "status": {"response": "notResponded"}, "emailAddress": {"address": "room@c.com"}},
            {"type": "required", "status": {"response": "none"}, "emailAddress": {"address": "lead@contoso.com"}},
        ],
        "responseStatus": {"response": "organizer"},
    }
    assert event_responses(event, "lead@contoso.com") == Responses(
        (
            AttendeeResponse("alice@contoso.com", Response.ACCEPTED),
            AttendeeResponse("room@c.com", Response.NONE, room=True),
        )
    )
    schedules = read_schedules(
        ["a@c.com", "b@c.com", "c@c.com"],
        [
            {
                "scheduleId": "a@c.com",
                "availabilityView": "",
                "error": {"message": "Denied.", "responseCode": "ErrorNoFreeBusyAccess"},
            },
            {
                "scheduleId": "b@c.com",
                "scheduleItems": [
                    {
                        "status": "oof",
                        "start": {"dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "UTC"},
                        "end": {"dateTime": "2026-12-01T10:00:00.0000000", "timeZone": "UTC"},
                    }
                ],
            },
        ],
    )
    assert schedules == [
        Schedule("a@c.com", unknown="ErrorNoFreeBusyAccess: Denied"),
        Schedule("b@c.com", (BusyPeriod(utc(9), utc(10), BusyStatus.OOF),)),
        Schedule("c@c.com", unknown="Graph's answer does not name it"),
    ]


def test_an_ews_error_for_one_mailbox_is_unknown_for_that_mailbox() -> None:
    class ErrorNoFreeBusyAccess(Exception):
        pass

    assert _schedule("a@c.com", ErrorNoFreeBusyAccess("No access.")) == Schedule(
        "a@c.com", unknown="ErrorNoFreeBusyAccess: No access"
    )
    assert _schedule("a@c.com", None).unknown == "EWS's answer does not name it"
