"""Plans that know the people, on every backend: attendees answer through the protocol, the plan
counts the answers (never acting on them), a well-attended cancellation needs confirmation, a
busy or double-booked room warns, and availability that cannot be read is unknown, never free."""

from __future__ import annotations

from datetime import datetime

from reconciler.emulator.store import UnavailableReason
from reconciler.notices import AvailabilityUnknown
from reconciler.people import AttendeeResponse, Response, ResponseCounts
from reconciler.plan import PlanPolicy
from reconciler.reconcile import apply_plan
from reconciler.render.notices import word
from tests.contract.backends.harness import Backend
from tests.contract.test_contract import NAMESPACE, announced, converge, last_seq, mail_since, plan_for
from tests.factories import ORGANIZER, meeting

ROOM = "room-berlin-3@contoso.com"


def answer(backend: Backend, *answers: tuple[str, Response]) -> None:
    assert backend.respond is not None
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    for attendee, response in answers:
        backend.respond(attendee, item.item_id, response)


def test_answers_show_on_the_organizers_item_and_never_make_the_plan_change_anything(backend: Backend) -> None:
    converge(backend, [meeting(rooms=(ROOM,))])
    seq = last_seq(backend)
    answer(
        backend,
        ("alice@contoso.com", Response.ACCEPTED),
        ("bob@contoso.com", Response.TENTATIVE),
        ("carol@contoso.com", Response.DECLINED),
    )
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    assert item.responses.attendees == (
        AttendeeResponse("alice@contoso.com", Response.ACCEPTED),
        AttendeeResponse("bob@contoso.com", Response.TENTATIVE),
        AttendeeResponse("carol@contoso.com", Response.DECLINED),
        AttendeeResponse(ROOM, Response.NONE, room=True),
    )
    assert plan_for(backend, [meeting(rooms=(ROOM,))]).changes == ()
    assert mail_since(backend, seq) == {}  # an answer mails only the organizer, who is never in the log


def test_a_time_change_shows_the_counts_and_how_many_accepted_people_it_asks_again(backend: Backend) -> None:
    converge(backend, [meeting()])
    answer(backend, ("alice@contoso.com", Response.ACCEPTED), ("bob@contoso.com", Response.TENTATIVE))
    moved = meeting(start=datetime(2026, 12, 1, 14, 0), end=datetime(2026, 12, 1, 14, 30))
    (change,) = plan_for(backend, [moved]).changes
    assert change.responses == ResponseCounts(
        accepted=1, tentative=1, declined=0, no_answer=1, accepted_by=("alice@contoso.com",), asked_again=2
    )
    apply_plan(plan_for(backend, [moved]), backend.provider)
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    assert {a.response for a in item.responses.attendees} == {Response.NONE}  # everyone is asked again


def test_cancelling_a_meeting_many_people_accepted_needs_confirmation(backend: Backend) -> None:
    converge(backend, [meeting()])
    answer(backend, ("alice@contoso.com", Response.ACCEPTED), ("bob@contoso.com", Response.ACCEPTED))
    policy = PlanPolicy(protect_accepted=2)
    refused = plan_for(backend, [], policy)
    assert tuple(word(e) for e in refused.errors) == (
        "team/sync: the plan cancels a meeting 2 people accepted (alice@contoso.com, bob@contoso.com), at least"
        " policy.protect_accepted (2); pass --allow-mass-cancel if this is intended.",
    )
    from reconciler.reconcile import make_plan
    from tests.contract.test_contract import NOW

    allowed = make_plan(
        [],
        backend.provider,
        namespace=NAMESPACE,
        policy=policy,
        now=NOW,
        extra_organizers=[ORGANIZER],
        allow_mass_cancel=True,
    )
    assert allowed.errors == ()
    seq = last_seq(backend)
    assert apply_plan(allowed, backend.provider).ok
    assert mail_since(backend, seq) == announced(allowed)


def test_a_room_that_declined_shows_in_the_next_plan(backend: Backend) -> None:
    converge(backend, [meeting(rooms=(ROOM,))])
    answer(backend, (ROOM, Response.DECLINED))
    again = plan_for(backend, [meeting(rooms=(ROOM,))])
    assert again.changes == ()
    assert tuple(word(w) for w in again.warnings) == (
        f"team/sync: the room {ROOM} declined the meeting; book another room or change the time.",
    )


def test_a_room_busy_at_a_new_meetings_time_warns_and_is_an_error_under_room_conflicts_error(
    backend: Backend,
) -> None:
    converge(backend, [meeting(rooms=(ROOM,), required=(), optional=())])
    other = meeting("team/retro", subject="Retro", rooms=(ROOM,), required=(), optional=())
    planned = plan_for(backend, [meeting(rooms=(ROOM,), required=(), optional=()), other])
    (change,) = planned.changes
    busy = f"team/retro: the room {ROOM} is busy 2026-12-01 09:00-09:30 UTC at the meeting's time."
    both = f"team/retro: the room {ROOM} is also booked by team/sync (both in this repository), overlapping"
    assert word(change.warnings[0]) == busy
    assert word(change.warnings[1]).startswith(both)
    assert planned.errors == ()
    strict = plan_for(
        backend, [meeting(rooms=(ROOM,), required=(), optional=()), other], PlanPolicy(room_conflicts="error")
    )
    assert f"{busy} policy.room_conflicts is error." in [word(e) for e in strict.errors]


def test_moving_a_meeting_is_never_in_conflict_with_its_own_old_slot(backend: Backend) -> None:
    converge(backend, [meeting(rooms=(ROOM,))])
    later = meeting(rooms=(ROOM,), start=datetime(2026, 12, 1, 10, 15), end=datetime(2026, 12, 1, 10, 45))
    (change,) = plan_for(backend, [later]).changes
    assert change.warnings == ()


def test_availability_that_cannot_be_read_is_reported_as_unknown_never_as_free(backend: Backend) -> None:
    backend.store.set_unavailable("bob@contoso.com", UnavailableReason.DENIED)
    (change,) = plan_for(backend, [meeting()]).changes
    (warning,) = change.warnings
    assert isinstance(warning, AvailabilityUnknown) and word(warning).startswith(
        "team/sync: bob@contoso.com's availability is unknown ("
    )
    assert word(warning).endswith("); it was not checked.")
