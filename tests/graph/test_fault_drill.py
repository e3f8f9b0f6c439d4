"""Fault drill: the reconciler converges on a flaky, throttling Graph without duplicates.

50 meetings are applied through the real reconcile shell (`make_plan` + `apply_plan`: on a
TransientError it looks the marker up with `find` and creates again only if nothing is there)
while the emulator fails a fifth of all requests at random (429 and 503 with Retry-After, 504
before commit, dropped connections) and answers one create with a 504 after committing it. Runs
repeat until a plan is empty; then every meeting exists once and every attendee received exactly
one invitation per meeting. A second drill does the same for updates and cancellations, a third
for series whose skips and overrides are written occurrence by occurrence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.graph import GraphServer, serve_graph
from reconciler.emulator.store import MailboxStore
from reconciler.model import PROP_MEETING_ID, Every, Meeting, Recurrence, Weekday, extended_property_id
from reconciler.plan import Plan, PlanPolicy
from reconciler.providers.graph import GraphProvider
from reconciler.reconcile import apply_plan, make_plan
from reconciler.state import to_json
from tests.factories import ORGANIZER, declared_override, meeting
from tests.graph.conftest import SleepRecorder

NAMESPACE = "drill"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MID = extended_property_id(PROP_MEETING_ID)


def fifty() -> list[Meeting]:
    return [
        meeting(
            f"drill/m{index:02d}",
            subject=f"Drill {index}",
            start=datetime(2026, 12, 1, 9, 0) + timedelta(days=index % 20, hours=index % 6),
            end=datetime(2026, 12, 1, 9, 30) + timedelta(days=index % 20, hours=index % 6),
            required=("alice@contoso.com", f"user{index % 7}@contoso.com"),
            optional=(f"guest{index % 5}@fabrikam.com",),
        )
        for index in range(50)
    ]


@pytest.fixture
def flaky(store: MailboxStore, faults: FaultPlan) -> Iterator[GraphServer]:
    with serve_graph(
        store, faults=faults, failure_rate=0.2, seed=20261124, failure_kinds=("429", "503", "504", "drop")
    ) as server:
        yield server


def converge(provider: GraphProvider, meetings: list[Meeting], rounds: int = 8) -> list[Plan]:
    """Plan and apply until a plan has nothing to do (as repeated CI runs would)."""
    plans = []
    for _ in range(rounds):
        plan = make_plan(
            meetings,
            provider,
            namespace=NAMESPACE,
            policy=PlanPolicy(max_cancellations=100),
            now=NOW,
            extra_organizers=[ORGANIZER],
        )
        plans.append(plan)
        if not plan.changes:
            return plans
        apply_plan(plan, provider)
    raise AssertionError(f"no convergence after {rounds} rounds: {len(plans[-1].changes)} changes left")


def sent(store: MailboxStore, after: int = 0) -> Counter[tuple[str, str, str]]:
    return Counter((m.recipient, m.kind, m.extended.get(MID, "")) for m in store.mail() if m.seq > after)


def test_fifty_creates_under_throttling_and_failures_converge_without_duplicate_items_or_mail(
    flaky: GraphServer, store: MailboxStore, sleeps: SleepRecorder, faults: FaultPlan
) -> None:
    meetings = fifty()
    faults.inject("graph", "create", "504-after-commit")
    provider = GraphProvider(flaky.graph_url, trust_env=False, sleep=sleeps)
    try:
        plans = converge(provider, meetings)
        listed = provider.list_managed(ORGANIZER, NAMESPACE)
    finally:
        provider.close()
    items = store.list_items(ORGANIZER)
    assert len(items) == 50
    assert sorted(i.doc["extended"][MID] for i in items) == sorted(m.id for m in meetings)
    assert sorted(o.meeting_id for o in listed) == sorted(m.id for m in meetings)
    expected = Counter((a, "invitation", m.id) for m in meetings for a in m.attendees)
    assert sent(store) == expected
    # The drill really was rough: faults of every kind, Retry-After waits, more than one run.
    stats = flaky.app.stats
    assert stats.faults["504-after-commit"] == 1
    assert all(stats.faults[kind] > 0 for kind in ("429", "503", "504", "drop"))
    assert any(delay >= 1 for delay in sleeps.delays)
    assert len(plans) >= 2


def test_updates_and_cancellations_under_the_same_faults_mail_each_attendee_once(
    store: MailboxStore, sleeps: SleepRecorder
) -> None:
    meetings = fifty()
    with serve_graph(store) as calm:
        provider = GraphProvider(calm.graph_url, trust_env=False, sleep=sleeps)
        try:
            converge(provider, meetings)
        finally:
            provider.close()
    seq = store.mail()[-1].seq
    changed = [
        m if i % 2 else meeting(m.id, **{**_fields(m), "subject": f"{m.subject} (moved)"})
        for i, m in enumerate(meetings[:40])
    ]  # 20 renamed, 10 removed (cancelled)
    with serve_graph(store, failure_rate=0.2, seed=7, failure_kinds=("429", "503", "504", "drop")) as flaky:
        flaky.app.faults.inject("graph", "update", "504-after-commit")
        flaky.app.faults.inject("graph", "cancel", "504-after-commit")
        provider = GraphProvider(flaky.graph_url, trust_env=False, sleep=sleeps)
        try:
            converge(provider, changed)
        finally:
            provider.close()
    renamed = [m for i, m in enumerate(meetings[:40]) if not i % 2]
    expected = Counter((a, "update", m.id) for m in renamed for a in m.attendees)
    expected += Counter((a, "cancellation", m.id) for m in meetings[40:] for a in m.attendees)
    assert sent(store, seq) == expected
    assert len(store.list_items(ORGANIZER)) == 40


def _fields(m: Meeting) -> dict[str, object]:
    return {
        "subject": m.subject,
        "start": m.start,
        "end": m.end,
        "required": m.required,
        "optional": m.optional,
    }


def twelve_series() -> list[Meeting]:
    """Weekly series of eight Tuesdays from 1 December 2026, each skipping two and renaming one."""
    return [
        meeting(
            f"drill/s{index:02d}",
            subject=f"Series {index}",
            start=datetime(2026, 12, 1, 8 + index % 8, 0),
            end=datetime(2026, 12, 1, 8 + index % 8, 30),
            required=("alice@contoso.com", f"user{index % 5}@contoso.com"),
            recurrence=Recurrence(
                every=Every.WEEK,
                on=(Weekday.TUESDAY,),
                count=8,
                skip=(date(2026, 12, 8), date(2026, 12, 15) + timedelta(weeks=index % 3)),
                overrides=(declared_override(date(2027, 1, 12), {"subject": f"Series {index}: retro"}),),
            ),
        )
        for index in range(12)
    ]


def test_series_skips_and_overrides_under_failures_converge_with_one_mail_per_occurrence(
    flaky: GraphServer, store: MailboxStore, sleeps: SleepRecorder, faults: FaultPlan
) -> None:
    meetings = twelve_series()
    faults.inject("graph", "cancel", "504-after-commit")
    faults.inject("graph", "update", "504-after-commit")
    provider = GraphProvider(flaky.graph_url, trust_env=False, sleep=sleeps)
    try:
        converge(provider, meetings)
        listed = {o.meeting_id: o for o in provider.list_managed(ORGANIZER, NAMESPACE)}
    finally:
        provider.close()
    expected: Counter[tuple[str, str, str, str | None]] = Counter()
    for m in meetings:
        assert m.recurrence is not None
        assert to_json(listed[m.id].fields)["skip"] == sorted(d.isoformat() for d in m.recurrence.skip)
        for attendee in m.attendees:
            expected[(attendee, "invitation", m.id, None)] += 1
            for day in m.recurrence.skip:
                expected[(attendee, "cancellation", m.id, day.isoformat())] += 1
            expected[(attendee, "update", m.id, "2027-01-12")] += 1
    assert Counter((x.recipient, x.kind, x.extended.get(MID, ""), x.occurrence) for x in store.mail()) == expected
    assert flaky.app.stats.faults["504-after-commit"] == 2 and len(store.list_items(ORGANIZER)) == 12
