"""Fault drill: the reconcile shell (observe -> plan -> apply_plan) against the EWS emulator while
Exchange throttles and loses answers. Every run must converge with one item per meeting and exactly
the mail the plans announced, never a second invitation."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest

from reconciler.model import PROP_MEETING_ID, Every, Meeting, Recurrence, Weekday, extended_property_id
from reconciler.plan import Plan, PlanPolicy
from reconciler.providers.ews import EwsProvider
from reconciler.reconcile import apply_plan, make_plan
from reconciler.state import to_json
from tests.ews.conftest import NAMESPACE, Emulator
from tests.factories import ORGANIZER, declared_override, meeting

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MEETINGS = [
    meeting(),
    meeting("team/retro", subject="Retro", required=("dave@contoso.com",), optional=()),
    meeting("team/planning", subject="Planning", required=("erin@contoso.com", "frank@contoso.com"), optional=()),
]


def plan(provider: EwsProvider, meetings: list[Meeting]) -> Plan:
    return make_plan(
        meetings, provider, namespace=NAMESPACE, policy=PlanPolicy(), now=NOW, extra_organizers=[ORGANIZER]
    )


def announced(made: Plan) -> Counter[tuple[str, str, str]]:
    return Counter((r, n.kind.value, c.meeting_id) for c in made.changes for n in c.notifications for r in n.recipients)


def sent(emulator: Emulator, since: int) -> Counter[tuple[str, str, str]]:
    return Counter(
        (m.recipient, m.kind, m.extended.get(extended_property_id(PROP_MEETING_ID), ""))
        for m in emulator.store.mail()[since:]
    )


def apply_until_converged(emulator: Emulator, provider: EwsProvider, meetings: list[Meeting]) -> list[Plan]:
    """Plan and apply (as CI re-runs would) until a plan has nothing to do; at most three runs."""
    plans: list[Plan] = []
    for _ in range(3):
        made = plan(provider, meetings)
        if not made.changes:
            return plans
        plans.append(made)
        apply_plan(made, provider)
    raise AssertionError("three applies did not converge")


def test_creates_converge_through_busy_errors_and_a_committed_create_whose_answer_was_lost(emulator: Emulator) -> None:
    provider = emulator.provider()
    emulator.faults.inject("ews", "FindItem", "server-busy", back_off_ms=20)
    emulator.faults.inject("ews", "CreateItem", "server-busy", times=2, back_off_ms=30)
    emulator.faults.inject("ews", "CreateItem", "timeout-after-commit")
    emulator.faults.inject("ews", "CreateItem", "http-503", retry_after=1)

    first = plan(provider, MEETINGS)
    report = apply_plan(first, provider)

    assert report.ok, [o.message for o in report.outcomes]
    assert plan(provider, MEETINGS).changes == ()
    items = emulator.store.list_items(ORGANIZER)
    assert sorted(i.doc["extended"][extended_property_id(PROP_MEETING_ID)] for i in items) == sorted(
        m.id for m in MEETINGS
    )
    assert sent(emulator, 0) == announced(first)
    assert all(count == 1 for count in sent(emulator, 0).values())
    assert emulator.sleeps == [0.02, 0.03, 0.03, 1.0]
    provider.close()


def test_updates_and_cancels_converge_when_answers_are_lost_and_the_server_throttles(emulator: Emulator) -> None:
    provider = emulator.provider()
    apply_until_converged(emulator, provider, MEETINGS)
    seq = len(emulator.store.mail())

    changed = [
        dataclasses.replace(MEETINGS[0], subject="Team sync (moved)"),
        dataclasses.replace(MEETINGS[1], required=("dave@contoso.com", "gina@contoso.com")),
    ]
    emulator.faults.inject("ews", "UpdateItem", "timeout-after-commit")
    emulator.faults.inject("ews", "UpdateItem", "http-429", retry_after=2)
    emulator.faults.inject("ews", "CancelCalendarItem", "timeout-after-commit")
    emulator.faults.inject("ews", "GetItem", "server-busy-message", back_off_ms=40)

    plans = apply_until_converged(emulator, provider, changed)

    assert len(plans) == 1, [[(c.meeting_id, c.action) for c in p.changes] for p in plans[1:]]
    assert sent(emulator, seq) == announced(plans[0])
    assert sent(emulator, seq) == Counter(
        {
            ("alice@contoso.com", "update", "team/sync"): 1,
            ("bob@contoso.com", "update", "team/sync"): 1,
            ("carol@contoso.com", "update", "team/sync"): 1,
            ("gina@contoso.com", "invitation", "team/retro"): 1,
            ("erin@contoso.com", "cancellation", "team/planning"): 1,
            ("frank@contoso.com", "cancellation", "team/planning"): 1,
        }
    )
    assert sorted(o.meeting_id for o in provider.list_managed(ORGANIZER, NAMESPACE)) == ["team/retro", "team/sync"]
    provider.close()


def occurrence_sent(emulator: Emulator, since: int) -> Counter[tuple[str, str, str]]:
    return Counter((m.recipient, m.kind, m.occurrence or "") for m in emulator.store.mail()[since:])


@pytest.mark.parametrize(
    "faults",
    [
        # The master write answers; the UpdateItem of the changed occurrence commits and its answer is lost.
        [("UpdateItem", "slow", {"seconds": 0}), ("UpdateItem", "timeout-after-commit", {})],
        # The DeleteItem of the skipped occurrence commits and its answer is lost before the override is written.
        [("DeleteItem", "timeout-after-commit", {})],
    ],
    ids=["occurrence-update-lost", "occurrence-delete-lost"],
)
def test_occurrence_writes_whose_answers_are_lost_converge_with_one_mail_per_occurrence(
    emulator: Emulator, faults: list[tuple[str, str, dict[str, Any]]]
) -> None:
    provider = emulator.provider()
    weekly = meeting(recurrence=Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=6))
    apply_until_converged(emulator, provider, [weekly])
    seq = len(emulator.store.mail())
    assert weekly.recurrence is not None
    edited = dataclasses.replace(
        weekly,
        recurrence=dataclasses.replace(
            weekly.recurrence,
            skip=(date(2026, 12, 22),),
            overrides=(declared_override(date(2026, 12, 15), {"subject": "Retro instead"}),),
        ),
    )
    for operation, kind, params in faults:
        emulator.faults.inject("ews", operation, kind, **params)

    plans = apply_until_converged(emulator, provider, [edited])

    assert len(plans) == 1
    assert occurrence_sent(emulator, seq) == Counter(
        {(p, "cancellation", "2026-12-22"): 1 for p in edited.attendees}
        | {(p, "update", "2026-12-15"): 1 for p in edited.attendees}
    )
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert (to_json(observed.fields)["skip"], to_json(observed.fields)["overrides"]) == (
        ["2026-12-22"],
        [{"date": "2026-12-15", "subject": "Retro instead"}],
    )
    provider.close()


def test_plans_read_through_proxy_errors_and_busy_messages_and_converge_with_one_invitation_each(
    emulator: Emulator,
) -> None:
    provider = emulator.provider()
    emulator.faults.inject("ews", "FindItem", "http-502")
    emulator.faults.inject("ews", "FindItem", "http-504", retry_after=3)
    emulator.faults.inject("ews", "FindItem", "server-busy-message", back_off_ms=120)

    plans = apply_until_converged(emulator, provider, MEETINGS)

    assert len(plans) == 1
    assert sent(emulator, 0) == announced(plans[0])
    assert all(count == 1 for count in sent(emulator, 0).values())
    assert emulator.sleeps == [2.0, 3.0, 0.12]
    provider.close()
