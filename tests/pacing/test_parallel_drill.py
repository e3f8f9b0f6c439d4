"""Fault drill with several organizers applied in parallel: a flaky, throttling Graph (429, 503,
504 before commit, dropped connections, and a create, an update and a cancel whose answers are lost
after they committed) and EWS with busy errors and lost answers. Re-runs converge with one item per
meeting and every attendee mailed exactly once per change, as with one mailbox at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from reconciler.emulator.ews.app import ENDPOINT_PATH, EwsApp
from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.graph import serve_graph
from reconciler.emulator.server import serve
from reconciler.emulator.store import MailboxStore
from reconciler.model import Meeting
from reconciler.plan import Plan
from reconciler.port import Provider
from reconciler.providers.graph import GraphProvider
from reconciler.reconcile import apply_plan
from tests.contract.backends.ews import ews_provider
from tests.factories import meeting
from tests.graph.conftest import SleepRecorder
from tests.pacing.test_scheduler import MID, plan_of

ORGANIZERS = ("lead@contoso.com", "ops@contoso.com", "sales@contoso.com", "hr@contoso.com")


def wanted(subject: str = "Drill") -> list[Meeting]:
    return [
        meeting(
            f"{organizer.split('@')[0]}/m{index:02d}",
            organizer=organizer,
            subject=f"{subject} {index}",
            start=datetime(2026, 12, 1, 9, 0) + timedelta(days=index),
            end=datetime(2026, 12, 1, 9, 30) + timedelta(days=index),
            required=("alice@contoso.com", f"user{index % 3}@contoso.com"),
            optional=(),
        )
        for organizer in ORGANIZERS
        for index in range(8)
    ]


def converge(provider: Provider, meetings: list[Meeting], rounds: int = 8) -> list[Plan]:
    plans = []
    for _ in range(rounds):
        plan = plan_of(provider, meetings)
        plans.append(plan)
        if not plan.changes:
            return plans
        apply_plan(plan, provider)
    raise AssertionError(f"no convergence after {rounds} rounds: {len(plans[-1].changes)} changes left")


def mail(store: MailboxStore, after: int = 0) -> Counter[tuple[str, str, str]]:
    return Counter((m.recipient, m.kind, m.extended.get(MID, "")) for m in store.mail(after=after))


def expected(meetings: list[Meeting], kind: str) -> Counter[tuple[str, str, str]]:
    return Counter((a, kind, m.id) for m in meetings for a in m.attendees)


@pytest.fixture
def flaky_graph(store: MailboxStore, faults: FaultPlan) -> Iterator[GraphProvider]:
    kinds = ("429", "503", "504", "drop")
    with serve_graph(store, faults=faults, failure_rate=0.2, seed=20261201, failure_kinds=kinds) as server:
        provider = GraphProvider(server.graph_url, trust_env=False, sleep=SleepRecorder())
        yield provider
        provider.close()


def test_parallel_organizers_on_a_flaky_graph_converge_without_duplicate_items_or_mail(
    flaky_graph: GraphProvider, store: MailboxStore, faults: FaultPlan
) -> None:
    meetings = wanted()
    for operation in ("create", "create", "create"):
        faults.inject("graph", operation, "504-after-commit")
    plans = converge(flaky_graph, meetings)
    assert len(plans) >= 2
    assert mail(store) == expected(meetings, "invitation")
    for organizer in ORGANIZERS:
        assert len(store.list_items(organizer)) == 8

    seq = store.mail()[-1].seq
    renamed = wanted("Renamed")
    faults.inject("graph", "update", "504-after-commit")
    converge(flaky_graph, renamed)
    assert mail(store, seq) == expected(renamed, "update")

    seq = store.mail()[-1].seq
    faults.inject("graph", "cancel", "504-after-commit")
    kept = [m for m in renamed if not m.id.endswith(("m06", "m07"))]
    converge(flaky_graph, kept)
    assert mail(store, seq) == expected([m for m in renamed if m not in kept], "cancellation")


def test_parallel_organizers_on_a_busy_ews_converge_without_duplicate_items_or_mail(
    store: MailboxStore, faults: FaultPlan
) -> None:
    sleeps: list[float] = []
    with serve(EwsApp(store, faults=faults)) as running:
        provider = ews_provider(running.base_url + ENDPOINT_PATH, sleep=sleeps.append)
        faults.inject("ews", "CreateItem", "server-busy", times=6, back_off_ms=20)
        faults.inject("ews", "CreateItem", "timeout-after-commit", times=3)
        meetings = wanted()
        converge(provider, meetings)
        assert mail(store) == expected(meetings, "invitation")
        for organizer in ORGANIZERS:
            assert len(store.list_items(organizer)) == 8
        assert sleeps  # the busy answers were waited out
        provider.close()
