"""Throttling answers through the real msgraph-sdk client and the Graph emulator: the apply waits
out long back-offs within its bound, slows the mailbox down, and fails cleanly past the bound."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from reconciler import pacing
from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.graph import GraphServer, serve_graph
from reconciler.emulator.store import MailboxStore
from reconciler.pace import ApplyProgress, Pace
from reconciler.providers.graph import GraphProvider
from reconciler.reconcile import apply_plan
from reconciler.report import OutcomeStatus
from tests.graph.conftest import SleepRecorder
from tests.pacing.clock import VirtualClock
from tests.pacing.test_scheduler import MID, Recorder, invitations, meetings, plan_of


@pytest.fixture
def graph(store: MailboxStore, faults: FaultPlan) -> Iterator[GraphServer]:
    with serve_graph(store, faults=faults) as server:
        yield server


@pytest.fixture
def provider(graph: GraphServer) -> Iterator[GraphProvider]:
    provider = GraphProvider(graph.graph_url, trust_env=False, sleep=SleepRecorder())
    yield provider
    provider.close()


def test_a_retry_after_longer_than_the_providers_cap_is_waited_out_and_the_change_written_once(
    provider: GraphProvider, store: MailboxStore, faults: FaultPlan, clock: VirtualClock
) -> None:
    wanted = meetings("lead@contoso.com", 3)
    plan = plan_of(provider, wanted)
    faults.inject("graph", "create", "429", retry_after=300)  # over the provider's 120 s
    seen: list[ApplyProgress] = []
    report = apply_plan(plan, provider, pace=Pace(messages_per_minute=None), clock=clock, on_progress=seen.append)
    assert report.ok
    waits = [p.waiting for p in seen if p.waiting is not None]
    assert [(w.mailbox, w.seconds) for w in waits] == [("lead@contoso.com", 300.0)]
    assert "429" in waits[0].reason or "throttl" in waits[0].reason
    assert clock.elapsed == pytest.approx(300.0)
    assert invitations(store) == Counter((a, m.id) for m in wanted for a in m.attendees)


def test_past_the_wait_bound_the_mailbox_fails_cleanly_and_other_mailboxes_are_applied(
    provider: GraphProvider, store: MailboxStore, faults: FaultPlan, clock: VirtualClock
) -> None:
    wanted = meetings("lead@contoso.com", 3) + meetings("ops@contoso.com", 2)
    plan = plan_of(provider, wanted)
    faults.inject("graph", "create", "429", times=1, retry_after=600)
    report = apply_plan(plan, provider, pace=Pace(messages_per_minute=None, max_wait=120), clock=clock)
    by_status = Counter(o.status for o in report.outcomes)
    assert by_status == {OutcomeStatus.APPLIED: 2, OutcomeStatus.FAILED: 3}
    failed = [o for o in report.outcomes if o.status is OutcomeStatus.FAILED]
    throttled = {o.change.organizer for o in failed}
    assert len(throttled) == 1  # the mailbox that met the 429; the other one is applied
    assert "--max-wait (120 s" in failed[0].message
    assert all("throttled past the wait bound" in o.message for o in failed[1:])
    assert not {m.extended.get(MID) for m in store.mail()} & {o.change.meeting_id for o in failed}


def test_a_throttling_answer_the_provider_waits_out_lowers_the_mailboxs_pace(
    provider: GraphProvider, store: MailboxStore, faults: FaultPlan, clock: VirtualClock
) -> None:
    plan = plan_of(provider, meetings("lead@contoso.com", 4))
    faults.inject("graph", "create", "429", retry_after=1)  # within the cap: the provider retries
    recorder = Recorder(clock)
    report = pacing.run(plan, provider, recorder, pace=Pace(messages_per_minute=30, headroom=1.0), clock=clock)
    assert report.ok
    starts = [s[2] for s in recorder.started]
    # 2 s apart until the 429, then half the rate: 4 s apart.
    assert starts == [0.0, 2.0, 6.0, 10.0]
