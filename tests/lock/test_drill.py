"""Drill: two applies started together on the same namespace and mailbox, on every backend.

Each trial starts two threads at one barrier, each with its own provider (the sandbox: its own
store connection; Graph and EWS: their own SDK client over loopback HTTP to one emulator), each
taking the apply lock, planning and applying the same five new meetings. Whatever the
interleaving: every meeting exists once, every attendee got one invitation per meeting (the
store's sent-mail log), and the loser either stops with the lock holder named (no waiting) or
waits and then finds nothing to do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Barrier, Event, Thread

import pytest

from reconciler.emulator.ews.app import endpoint, serve_ews
from reconciler.emulator.graph import serve_graph
from reconciler.emulator.store import MailboxStore
from reconciler.errors import LockHeldError
from reconciler.locking import LockSettings, apply_lock
from reconciler.lockstate import Holder, LockRecord, decode
from reconciler.model import PROP_MEETING_ID, PROP_NAMESPACE, Action, extended_property_id
from reconciler.plan import Plan, PlanPolicy
from reconciler.port import Provider
from reconciler.providers.graph import GraphProvider
from reconciler.providers.sandbox import SandboxProvider
from reconciler.reconcile import apply_plan, make_plan
from tests.contract.backends.ews import ews_provider
from tests.factories import meeting

TRIALS = 20
NAMESPACE = "drill"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ATTENDEES = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")


@contextmanager
def two_writers(kind: str, path: Path) -> Iterator[tuple[MailboxStore, list[Provider]]]:
    """The store and two providers, each with its own connection to it."""
    with ExitStack() as stack:
        store = MailboxStore(path)
        stack.callback(store.close)
        providers: list[Provider]
        if kind == "sandbox":
            providers = [SandboxProvider(MailboxStore(path)) for _ in range(2)]
        elif kind == "graph":
            server = stack.enter_context(serve_graph(store))
            providers = [GraphProvider(server.graph_url, trust_env=False) for _ in range(2)]
        else:
            running = stack.enter_context(serve_ews(store))
            providers = [ews_provider(endpoint(running)) for _ in range(2)]
        for provider in providers:
            stack.callback(provider.close)
        yield store, providers


def one_apply(
    provider: Provider, organizer: str, token: str, *, timeout: float, hold: Callable[[], object]
) -> Plan | LockHeldError:
    """Lock, plan and apply the trial's five meetings; the plan made, or why the lock was refused.
    `hold` runs as soon as the lock is held."""
    wanted = [meeting(f"team/m{i}", organizer=organizer, subject=f"M{i}") for i in range(5)]
    settings = LockSettings(timeout=timeout, poll=0.02, poll_cap=0.1, contention_pause=0.01)
    holder = Holder("ci", "drill", 1, f"meetings apply ({token})", token)
    try:
        with apply_lock(
            provider, NAMESPACE, [organizer], holder, clock=lambda: datetime.now(UTC), settings=settings
        ) as lock:
            hold()
            # Each apply plans at its own time, so their creates carry different transaction ids
            # (as two real runs do): Exchange's de-duplication cannot hide a race.
            now = NOW + timedelta(seconds=int(token[1:]))
            plan = make_plan(
                wanted, provider, namespace=NAMESPACE, policy=PlanPolicy(), now=now, organizers=[organizer]
            )
            assert apply_plan(plan, provider, guard=lock.renew_if_due).ok
            return plan
    except LockHeldError as error:
        return error


def race(providers: list[Provider], organizer: str, *, waiting: bool) -> list[Plan | LockHeldError | None]:
    """Both applies started at one barrier. Without waiting, the first to hold the lock keeps it
    until the other has tried, so the trial always ends in a refusal; a waiting loser waits for
    the holder to finish."""
    barrier, done = Barrier(2), [Event(), Event()]
    results: list[Plan | LockHeldError | None] = [None, None]

    def run(index: int) -> None:
        hold = (lambda: None) if waiting else (lambda: done[1 - index].wait(5))
        barrier.wait()
        results[index] = one_apply(providers[index], organizer, f"w{index}", timeout=10 if waiting else 0, hold=hold)
        done[index].set()

    threads = [Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("kind", ["sandbox", "graph", "ews"])
def test_two_applies_started_together_create_every_meeting_once_and_mail_once(kind: str, tmp_path: Path) -> None:
    with two_writers(kind, tmp_path / "store.db") as (store, providers):
        for trial in range(TRIALS):
            organizer = f"lead{trial}@contoso.com"
            waiting = trial % 2 == 1
            results = race(providers, organizer, waiting=waiting)
            managed = store.list_items(organizer, extended_equals=(extended_property_id(PROP_NAMESPACE), NAMESPACE))
            ids = sorted(item.doc["extended"][extended_property_id(PROP_MEETING_ID)] for item in managed)
            assert ids == [f"team/m{i}" for i in range(5)], f"trial {trial}: {ids}"
            mail = Counter((m.recipient, m.kind, m.subject) for m in store.mail() if m.organizer == organizer)
            assert mail == Counter({(a, "invitation", f"M{i}"): 1 for a in ATTENDEES for i in range(5)}), trial
            (lock_item,) = providers[0].list_namespace_items(organizer, NAMESPACE)
            assert decode(lock_item.state) == LockRecord()

            plans = [r for r in results if isinstance(r, Plan)]
            refused = [r for r in results if isinstance(r, LockHeldError)]
            creates = sorted(sum(c.action is Action.CREATE for c in plan.changes) for plan in plans)
            if waiting:
                assert creates == [0, 5], f"trial {trial}: {results}"
                assert not min(plans, key=lambda p: len(p.changes)).has_changes
            else:
                assert creates == [5] and len(refused) == 1, f"trial {trial}: {results}"
                message = str(refused[0])
                assert message.startswith("Another apply (ci@drill, pid 1, 'meetings apply (w")
                assert f"is running for namespace 'drill' in {organizer}'s calendar; nothing was written." in message
