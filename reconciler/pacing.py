"""The apply's scheduler: mailboxes in parallel, each paced to its message rate (shell).

Contract of `run`:

* Every mailbox (organizer) has its own lane; lanes run in parallel threads. A lane writes its
  changes one after the other in the plan's order, so what one mailbox receives, and in which
  order, is the same on every run; the requests of one change stay within `max_in_flight` through
  the provider's own gate (Graph reads a series' occurrences concurrently). At Exchange Online's
  30 messages per minute a change has two seconds before the next may send, far more than its
  requests take, so overlapping changes of one mailbox would gain nothing but disorder.
* A change that makes its mailbox send m messages (`pace.messages_of`) starts no earlier than
  the lane's next send time, which it then moves m * 60 / rate seconds on: a mailbox's messages
  go out evenly spaced at `Pace.messages_per_minute`. Silent changes wait only for their turn.
* When the provider reports a throttling answer it waits out itself (`port.ReportsThrottling`),
  the lane's rate is lowered (`Pace.slower`) and its next send moved past the back-off. A change
  that ends in ThrottledError (the server asked for longer than the provider waits, or kept
  refusing) is retried after the server's back-off, announced as `pace.Waiting`, while the lane's
  total wait stays within `Pace.max_wait`; the retry looks up what the calendar holds first
  (`reconcile.apply_change(after=...)`), so a partly written series mails nobody twice. Past the
  bound the change and the rest of its lane fail with a sentence saying so.
* `stop` (Ctrl-C, or a guard that raised) lets the changes in flight finish; every change not
  started is reported FAILED as not applied, and a re-run plans and writes exactly those.
* `guard` runs before every change, one call at a time (the apply lock renews itself there);
  what it raises stops the apply and is raised again once the changes in flight have finished.
* `on_progress` is called once per finished change and once per announced wait, one call at a
  time, with the ETA computed from the lanes' pacing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.errors import ProviderError, ThrottledError
from reconciler.pace import ApplyProgress, Pace, Waiting, messages_of
from reconciler.plan import Change, Plan
from reconciler.port import Provider, ReportsThrottling
from reconciler.report import ApplyReport, Outcome, OutcomeStatus

#: Seconds waited after a ThrottledError that names no back-off (inferred: Graph documents no
#: default, exchangelib waits 10 s doubling; a minute lets a per-minute send limit clear).
DEFAULT_BACK_OFF = 60.0

#: Writes one change; `after` is the error its previous attempt ended with (see reconcile.apply_change).
ApplyChange = Callable[[Change, Plan, Provider, ProviderError | None], None]


class Clock(Protocol):
    """Time for the scheduler: `now` in seconds (monotonic), `wait_until` returns at `deadline`
    or as soon as `stop` is set, saying whether it was stopped."""

    def now(self) -> float: ...

    def wait_until(self, deadline: float, stop: threading.Event) -> bool: ...


class SystemClock:
    """The real clock: time.monotonic, waits that a stop event ends early."""

    def now(self) -> float:
        return time.monotonic()

    def wait_until(self, deadline: float, stop: threading.Event) -> bool:
        remaining = deadline - time.monotonic()
        if remaining > 0:
            return stop.wait(remaining)
        return stop.is_set()


@dataclass
class _Lane:
    """One mailbox's queue and pacing state (guarded by the scheduler's lock)."""

    mailbox: str
    queue: deque[tuple[int, Change]]
    rate: float | None
    messages_left: int
    #: The messages of the changes still in `queue` (kept as they leave it, so the ETA of every
    #: progress step costs one addition per lane, not a walk over the queue).
    queued_messages: int = 0
    next_send: float = 0.0
    waited: float = 0.0
    #: Set when the lane waited past `max_wait`: its remaining changes fail without a request.
    given_up: str = ""
    #: Seconds the lane's latest change took (its first one not counted: the first write of a
    #: run pays for loading the SDK's models, 5 s on Graph): changes slower than the pace's
    #: interval set the lane's pace (and its ETA) themselves.
    took: float = 0.0
    written: int = 0
    #: Throttling answers the lane met; a change that met one does not set `took` (its time is the
    #: server's back-off, already in `next_send`).
    throttled: int = 0


@dataclass
class _Run:
    plan: Plan
    provider: Provider
    pace: Pace
    clock: Clock
    stop: threading.Event
    apply: ApplyChange
    guard: Callable[[], None] | None
    on_progress: Callable[[ApplyProgress], None] | None
    lanes: dict[str, _Lane]
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    guard_lock: threading.Lock = field(default_factory=threading.Lock)
    progress_lock: threading.Lock = field(default_factory=threading.Lock)


NOT_STARTED = "not applied: the apply was stopped before this change; run apply again to write it."


def run(
    plan: Plan,
    provider: Provider,
    apply: ApplyChange,
    *,
    pace: Pace,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
    guard: Callable[[], None] | None = None,
    on_progress: Callable[[ApplyProgress], None] | None = None,
) -> ApplyReport:
    """Apply every change of `plan` as the module docstring says; outcomes in the plan's order."""
    clock = clock or SystemClock()
    state = _Run(
        plan,
        provider,
        pace,
        clock,
        stop or threading.Event(),
        apply,
        guard,
        on_progress,
        lanes=_lanes(plan, pace, clock.now()),
    )
    listens: ReportsThrottling | None = provider if isinstance(provider, ReportsThrottling) else None
    if listens is not None:
        listens.listen_throttling(lambda mailbox, seconds: _throttled(state, mailbox, seconds))
    try:
        workers = list(state.lanes.values())
        if len(workers) == 1 or not pace.parallel:
            for lane in workers:
                _work(state, lane)
        elif workers:
            with ThreadPoolExecutor(max_workers=len(workers), thread_name_prefix="apply") as pool:
                for future in [pool.submit(_work, state, lane) for lane in workers]:
                    future.result()
    finally:
        if listens is not None:
            listens.listen_throttling(None)
    if state.errors:
        raise state.errors[0]
    return ApplyReport(tuple(state.outcomes[i] for i in sorted(state.outcomes)))


def _lanes(plan: Plan, pace: Pace, now: float) -> dict[str, _Lane]:
    lanes: dict[str, _Lane] = {}
    for index, change in enumerate(plan.changes):
        lane = lanes.get(change.organizer)
        if lane is None:
            lane = lanes[change.organizer] = _Lane(
                change.organizer, deque(), pace.messages_per_minute, 0, next_send=now
            )
        lane.queue.append((index, change))
        lane.messages_left += messages_of(change)
        lane.queued_messages += messages_of(change)
    return lanes


def _work(state: _Run, lane: _Lane) -> None:
    """Take the lane's next change until it is empty: wait for its slot, guard, write it."""
    try:
        while True:
            with state.lock:
                if not lane.queue:
                    return
                index, change = lane.queue.popleft()
                lane.queued_messages -= messages_of(change)
                slot = _slot(state, lane, change)
                given_up = lane.given_up
            if given_up or state.clock.wait_until(slot, state.stop):
                _finish(state, lane, index, Outcome(change, OutcomeStatus.FAILED, given_up or NOT_STARTED))
                continue
            if state.guard is not None and not _guarded(state):
                _finish(state, lane, index, Outcome(change, OutcomeStatus.FAILED, NOT_STARTED))
                continue
            began, throttled = state.clock.now(), lane.throttled
            outcome = _attempt(state, lane, change)
            with state.lock:
                if lane.written and lane.throttled == throttled:
                    lane.took = state.clock.now() - began
                lane.written += 1
            _finish(state, lane, index, outcome)
    except BaseException as error:  # a bug or an interrupt: stop every lane, raise it from `run`
        with state.lock:
            state.errors.append(error)
        state.stop.set()


def _slot(state: _Run, lane: _Lane, change: Change) -> float:
    """When `change` may start: now, or for a change that sends mail the lane's next send time,
    which then moves on by its messages at the lane's rate."""
    start = state.clock.now()
    messages = messages_of(change)
    if messages:
        start = max(start, lane.next_send)
        lane.next_send = start + messages * state.pace.interval(lane.rate)
    return start


def _guarded(state: _Run) -> bool:
    """Run the guard (one thread at a time); False, with the apply stopped, when it raised."""
    with state.guard_lock:
        if state.stop.is_set():
            return False
        try:
            assert state.guard is not None
            state.guard()
        except BaseException as error:
            with state.lock:
                state.errors.append(error)
            state.stop.set()
            return False
    return True


def _attempt(state: _Run, lane: _Lane, change: Change) -> Outcome:
    """Write `change`, waiting out the back-offs the server asks for within the lane's bound."""
    after: ProviderError | None = None
    while True:
        try:
            state.apply(change, state.plan, state.provider, after)
            return Outcome(change, OutcomeStatus.APPLIED)
        except ThrottledError as error:
            wait = error.retry_after if error.retry_after else DEFAULT_BACK_OFF
            with state.lock:
                if lane.waited + wait > state.pace.max_wait:
                    lane.given_up = (
                        f"not applied: {lane.mailbox} was throttled past the wait bound (--max-wait"
                        f" {state.pace.max_wait:g} s; {lane.waited:g} s waited): {error}"
                    )
                    message = (
                        f"{error} Waiting {wait:g} s more would pass --max-wait ({state.pace.max_wait:g} s,"
                        f" {lane.waited:g} s waited already)."
                    )
                    return Outcome(change, OutcomeStatus.FAILED, message)
                lane.waited += wait
                lane.throttled += 1
                lane.rate = state.pace.slower(lane.rate)
                deadline = state.clock.now() + wait
                lane.next_send = max(lane.next_send, deadline)
            reason = f"the server asked {lane.mailbox} to wait {wait:g} s ({error})"
            _report(state, waiting=Waiting(lane.mailbox, wait, reason))
            if state.clock.wait_until(deadline, state.stop):
                return Outcome(
                    change,
                    OutcomeStatus.FAILED,
                    f"not finished: the apply was stopped while waiting out a back-off ({error});"
                    " run apply again to finish it.",
                )
            after = error
        except ProviderError as error:
            return Outcome(change, OutcomeStatus.FAILED, str(error))


def _throttled(state: _Run, mailbox: str, seconds: float) -> None:
    """The provider waits `seconds` for `mailbox`: slow the lane down and move its next send."""
    with state.lock:
        lane = state.lanes.get(mailbox) or next((x for m, x in state.lanes.items() if m.lower() == mailbox), None)
        if lane is None:
            return
        lane.throttled += 1
        lane.rate = state.pace.slower(lane.rate)
        lane.next_send = max(lane.next_send, state.clock.now() + seconds)


def _finish(state: _Run, lane: _Lane, index: int, outcome: Outcome) -> None:
    with state.lock:
        state.outcomes[index] = outcome
        lane.messages_left -= messages_of(outcome.change)
    _report(state, outcome=outcome)


def _report(state: _Run, *, outcome: Outcome | None = None, waiting: Waiting | None = None) -> None:
    if state.on_progress is None:
        return
    with state.lock:
        done, total = len(state.outcomes), len(state.plan.changes)
        left = sum(lane.messages_left for lane in state.lanes.values())
        eta = _eta(state)
    with state.progress_lock:
        state.on_progress(ApplyProgress(done, total, left, eta, outcome=outcome, waiting=waiting))


def _eta(state: _Run) -> float:
    """Seconds until the busiest lane sends its last message (held: `state.lock`): a lane's
    queued messages go out one interval apart from its next send time on, or as far apart as its
    latest change took where that is longer (an unpaced lane, a slow server)."""
    now = state.clock.now()
    etas = []
    for lane in state.lanes.values():
        queued = lane.queued_messages
        if queued:
            step = max(state.pace.interval(lane.rate), lane.took)
            etas.append(max(0.0, lane.next_send - now, lane.took) + (queued - 1) * step)
    return max(etas, default=0.0)
