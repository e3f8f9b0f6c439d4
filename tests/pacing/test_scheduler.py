"""The apply's scheduler on the sandbox: pace per mailbox, plan order, parallel mailboxes, stop, guard."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from reconciler import pacing
from reconciler.cli import DEFAULT_MAX_WAIT as CLI_MAX_WAIT
from reconciler.emulator.store import MailboxStore
from reconciler.errors import LockLostError, ProviderError
from reconciler.limits import SendLimits
from reconciler.model import PROP_MEETING_ID, Meeting, extended_property_id
from reconciler.pace import DEFAULT_MAX_WAIT, ApplyProgress, Pace, pace_for
from reconciler.plan import Change, Plan, PlanPolicy
from reconciler.port import Provider, capabilities_of
from reconciler.providers.sandbox import SandboxProvider
from reconciler.reconcile import apply_change, apply_plan, make_plan
from reconciler.report import OutcomeStatus
from tests.factories import meeting
from tests.pacing.clock import VirtualClock

NAMESPACE = "pace"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MID = extended_property_id(PROP_MEETING_ID)


def meetings(organizer: str, count: int) -> list[Meeting]:
    return [
        meeting(
            f"{organizer.split('@')[0]}/m{index:02d}",
            organizer=organizer,
            subject=f"Pace {index}",
            start=datetime(2026, 12, 1, 9, 0) + timedelta(days=index),
            end=datetime(2026, 12, 1, 9, 30) + timedelta(days=index),
        )
        for index in range(count)
    ]


def plan_of(provider: Provider, wanted: list[Meeting]) -> Plan:
    return make_plan(
        wanted,
        provider,
        namespace=NAMESPACE,
        policy=PlanPolicy(max_cancellations=1000),
        now=NOW,
        extra_organizers=sorted({m.organizer for m in wanted}),
    )


class Recorder:
    """Writes changes through `reconcile.apply_change`, noting when (virtual time) each one started."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.started: list[tuple[str, str, float]] = []
        self._lock = threading.Lock()

    def __call__(self, change: Change, plan: Plan, provider: Provider, after: ProviderError | None) -> None:
        with self._lock:
            self.started.append((change.organizer, change.meeting_id, self.clock.elapsed))
        apply_change(change, plan, provider, after=after)


def invitations(store: MailboxStore) -> Counter[tuple[str, str]]:
    return Counter((m.recipient, m.extended.get(MID, "")) for m in store.mail() if m.kind == "invitation")


def test_one_mailboxs_messages_go_out_evenly_spaced_at_the_pace_in_the_plans_order(
    sandbox: SandboxProvider, clock: VirtualClock
) -> None:
    plan = plan_of(sandbox, meetings("lead@contoso.com", 5))
    recorder = Recorder(clock)
    report = pacing.run(plan, sandbox, recorder, pace=Pace(messages_per_minute=30, headroom=1.0), clock=clock)
    assert report.ok
    assert [s[1] for s in recorder.started] == [c.meeting_id for c in plan.changes]
    assert [s[2] for s in recorder.started] == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_the_eta_is_the_messages_left_at_the_pace(sandbox: SandboxProvider, clock: VirtualClock) -> None:
    plan = plan_of(sandbox, meetings("lead@contoso.com", 4))
    seen: list[ApplyProgress] = []
    pacing.run(
        plan,
        sandbox,
        Recorder(clock),
        pace=Pace(messages_per_minute=6, headroom=1.0),
        clock=clock,
        on_progress=seen.append,
    )
    # 10 s between messages: after the first change three are left (30 s), after the last none.
    assert [(p.done, p.messages_left) for p in seen] == [(1, 3), (2, 2), (3, 1), (4, 0)]
    assert [p.eta_seconds for p in seen] == [pytest.approx(e, abs=0.01) for e in (30.0, 20.0, 10.0, 0.0)]


def test_mailboxes_are_applied_in_parallel(sandbox: SandboxProvider) -> None:
    wanted = meetings("lead@contoso.com", 2) + meetings("ops@contoso.com", 2)
    plan = plan_of(sandbox, wanted)
    both_started = threading.Barrier(2, timeout=10)

    def write(change: Change, plan: Plan, provider: Provider, after: ProviderError | None) -> None:
        if change.meeting_id.endswith("m00"):
            both_started.wait()  # breaks (and fails the test) unless both mailboxes' first changes overlap
        apply_change(change, plan, provider, after=after)

    sandbox_one_at_a_time = Pace(messages_per_minute=None)
    report = pacing.run(plan, sandbox, write, pace=sandbox_one_at_a_time)
    assert report.ok and not both_started.broken


def test_a_stop_lets_the_change_in_flight_finish_and_a_rerun_writes_the_rest_once(
    sandbox: SandboxProvider, store: MailboxStore, clock: VirtualClock
) -> None:
    wanted = meetings("lead@contoso.com", 6)
    plan = plan_of(sandbox, wanted)
    stop = threading.Event()

    def progress(step: ApplyProgress) -> None:
        if step.done == 2:
            stop.set()  # as Ctrl-C does, while the third change waits for its slot

    report = apply_plan(plan, sandbox, pace=Pace(messages_per_minute=30), clock=clock, stop=stop, on_progress=progress)
    statuses = [o.status for o in report.outcomes]
    assert statuses == [OutcomeStatus.APPLIED] * 2 + [OutcomeStatus.FAILED] * 4
    assert all(o.message == pacing.NOT_STARTED for o in report.outcomes[2:])
    rerun = plan_of(sandbox, wanted)
    assert [c.meeting_id for c in rerun.changes] == [m.id for m in wanted[2:]]
    assert apply_plan(rerun, sandbox).ok
    assert invitations(store) == Counter((a, m.id) for m in wanted for a in m.attendees)


def test_a_guard_that_raises_stops_the_apply_and_is_raised_again(sandbox: SandboxProvider, store: MailboxStore) -> None:
    plan = plan_of(sandbox, meetings("lead@contoso.com", 3) + meetings("ops@contoso.com", 3))
    calls = 0

    def guard() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise LockLostError("The apply lock was taken over.")

    with pytest.raises(LockLostError):
        apply_plan(plan, sandbox, guard=guard)
    assert len({m.extended.get(MID) for m in store.mail()}) == 2  # the two changes guarded before


def test_the_cli_and_the_core_agree_on_the_default_wait_bound_and_exchange_is_paced_at_the_configured_rate() -> None:
    assert CLI_MAX_WAIT == DEFAULT_MAX_WAIT
    assert pace_for(SendLimits(), capabilities_of("graph")).messages_per_minute == 30
    assert pace_for(SendLimits(messages_per_minute=120), capabilities_of("ews")).messages_per_minute == 120
    sandbox = pace_for(SendLimits(), capabilities_of("sandbox"), max_wait=5)
    assert sandbox.messages_per_minute is None and sandbox.max_wait == 5


def test_the_pace_keeps_a_headroom_below_the_limit() -> None:
    assert Pace(messages_per_minute=30).interval(30) == pytest.approx(60 / 28.5)
    assert Pace(messages_per_minute=None).interval(None) == 0.0
