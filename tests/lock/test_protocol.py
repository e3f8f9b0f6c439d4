"""The apply lock's protocol (`reconciler.locking`) over the sandbox store, on a test clock.

Every writer is a real `ApplyLock` over a real `SandboxProvider`; races are staged by a port that
lets another writer act at a chosen step (the only wrapper here: it forwards every call).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.emulator.store import MailboxStore
from reconciler.errors import LockError, LockHeldError, LockLostError
from reconciler.locking import ApplyLock, LockSettings, apply_lock, unlock
from reconciler.lockstate import Holder, LockRecord, decode, encode
from reconciler.model import PROP_NAMESPACE, PROP_NAMESPACE_ITEM, extended_property_id
from reconciler.plan import PlanPolicy
from reconciler.port import NamespaceItem, NamespaceItems
from reconciler.providers.sandbox import SandboxProvider
from reconciler.reconcile import apply_plan, make_plan
from tests.factories import meeting

ORGANIZER = "lead@contoso.com"
NAMESPACE = "team"
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class Clock:
    """Wall clock and monotonic seconds that move only when a writer sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - START).total_seconds()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[MailboxStore]:
    opened = MailboxStore(tmp_path / "store.db", clock=clock)
    yield opened
    opened.close()


def holder(token: str) -> Holder:
    return Holder("ci", "runner", 100, f"meetings apply ({token})", token)


def writer(port: NamespaceItems, clock: Clock, token: str, settings: LockSettings | None = None) -> ApplyLock:
    return ApplyLock(
        port,
        NAMESPACE,
        holder(token),
        clock=clock,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        settings=settings or LockSettings(),
        jitter=lambda: 0.5,
    )


def records(provider: SandboxProvider) -> list[LockRecord]:
    return [decode(item.state) for item in provider.list_namespace_items(ORGANIZER, NAMESPACE)]


class Staged(SandboxProvider):
    """A sandbox provider that runs `before[operation]` once, just before that operation."""

    def __init__(self, store: MailboxStore, before: dict[str, Callable[[], None]]) -> None:
        super().__init__(store)
        self.before = before

    def _stage(self, operation: str) -> None:
        action = self.before.pop(operation, None)
        if action is not None:
            action()

    def list_namespace_items(self, organizer: str, namespace: str) -> list[NamespaceItem]:
        self._stage("list")
        return super().list_namespace_items(organizer, namespace)

    def create_namespace_item(self, organizer: str, namespace: str, state: str) -> str:
        self._stage("create")
        return super().create_namespace_item(organizer, namespace, state)

    def write_namespace_state(self, organizer: str, item_id: str, change_key: str, state: str) -> str:
        self._stage("write")
        return super().write_namespace_state(organizer, item_id, change_key, state)


def test_the_first_apply_creates_one_namespace_item_holds_it_and_frees_it_on_release(
    store: MailboxStore, clock: Clock
) -> None:
    provider = SandboxProvider(store)
    lock = writer(provider, clock, "a")
    lock.acquire([ORGANIZER])
    (held,) = records(provider)
    assert held.held_by("a") and held.since == START and held.expires == START + timedelta(minutes=10)
    lock.release()
    assert records(provider) == [LockRecord()]
    assert store.mail() == []
    (item,) = store.list_items(ORGANIZER)
    assert item.doc["extended"].get(extended_property_id(PROP_NAMESPACE_ITEM)) == NAMESPACE
    assert extended_property_id(PROP_NAMESPACE) not in item.doc["extended"]
    assert provider.list_managed(ORGANIZER, NAMESPACE) == []


def test_a_held_lock_stops_a_second_apply_at_once_with_the_holder_named(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    writer(provider, clock, "a").acquire([ORGANIZER])
    with pytest.raises(LockHeldError) as raised:
        writer(SandboxProvider(store), clock, "b", LockSettings(timeout=0)).acquire([ORGANIZER])
    message = str(raised.value)
    assert message.startswith(
        "Another apply (ci@runner, pid 100, 'meetings apply (a)', since 2026-12-01 10:00:00 UTC) is running for"
        " namespace 'team' in lead@contoso.com's calendar; nothing was written."
    )
    assert "meetings unlock --organizer lead@contoso.com" in message
    assert [r.held_by("a") for r in records(provider)] == [True]


def test_a_waiting_apply_polls_with_back_off_and_gives_up_after_the_timeout(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    writer(provider, clock, "a").acquire([ORGANIZER])
    with pytest.raises(LockHeldError, match=r"\(waited 10 s\); nothing was written"):
        writer(provider, clock, "b", LockSettings(timeout=10, poll=1, poll_cap=4)).acquire([ORGANIZER])
    assert clock.slept == [1, 2, 4, 3]


def test_a_waiting_apply_takes_the_lock_once_the_holder_releases_it(store: MailboxStore, clock: Clock) -> None:
    first = writer(SandboxProvider(store), clock, "a")
    first.acquire([ORGANIZER])
    waiting = writer(Staged(store, {}), clock, "b", LockSettings(timeout=60, poll=1))
    released = False

    def sleep(seconds: float) -> None:
        nonlocal released
        clock.sleep(seconds)
        if not released:
            first.release()
            released = True

    waiting._sleep = sleep
    waiting.acquire([ORGANIZER])
    assert [r.held_by("b") for r in records(SandboxProvider(store))] == [True]


def test_a_crashed_holder_whose_lock_expired_is_taken_over(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    writer(provider, clock, "crashed").acquire([ORGANIZER])  # never released
    clock.advance(timedelta(minutes=10))
    writer(provider, clock, "b", LockSettings(timeout=0)).acquire([ORGANIZER])
    (record,) = records(provider)
    assert record.held_by("b") and record.since == START + timedelta(minutes=10)


def test_when_both_create_the_item_the_later_one_is_deleted_and_only_one_writer_holds(
    store: MailboxStore, clock: Clock
) -> None:
    other = SandboxProvider(store)

    def b_creates_first() -> None:
        other.create_namespace_item(ORGANIZER, NAMESPACE, encode(LockRecord()))
        clock.advance(timedelta(milliseconds=1))

    # B creates its item between A's empty listing and A's create: both created one.
    racing = Staged(store, {"create": b_creates_first})
    a = writer(racing, clock, "a")
    a.acquire([ORGANIZER])
    (record,) = records(other)  # A deleted its own item: B's came first and survives
    assert record.held_by("a")
    with pytest.raises(LockHeldError):
        writer(other, clock, "b", LockSettings(timeout=0)).acquire([ORGANIZER])


def test_a_duplicate_that_sorts_first_does_not_let_a_second_writer_in(tmp_path: Path, clock: Clock) -> None:
    # EWS stamps creation to the second: an item created later can sort first (by id).
    pinned = MailboxStore(tmp_path / "pinned.db", clock=lambda: START)
    try:
        provider = SandboxProvider(pinned)
        a = writer(provider, clock, "a")
        a.acquire([ORGANIZER])
        extra = provider.create_namespace_item(ORGANIZER, NAMESPACE, encode(LockRecord()))
        b = writer(provider, clock, "b", LockSettings(timeout=0))
        with pytest.raises(LockHeldError):
            b.acquire([ORGANIZER])
        live = [
            item.item_id
            for item in provider.list_namespace_items(ORGANIZER, NAMESPACE)
            if decode(item.state).live(START)
        ]
        assert len(live) == 1 and live[0] != extra
    finally:
        pinned.close()


def test_of_two_writers_racing_for_the_survivor_exactly_one_wins(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    provider.create_namespace_item(ORGANIZER, NAMESPACE, encode(LockRecord()))
    b = writer(SandboxProvider(store), clock, "b", LockSettings(timeout=0))
    # B takes the lock between A's listing and A's CAS: A's change key is stale.
    a = writer(Staged(store, {"write": lambda: b.acquire([ORGANIZER])}), clock, "a", LockSettings(timeout=0))
    with pytest.raises(LockHeldError, match=r"meetings apply \(b\)"):
        a.acquire([ORGANIZER])
    assert [r.held_by("b") for r in records(provider)] == [True]


def test_a_long_apply_renews_its_lock_when_half_the_ttl_is_gone(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    lock = writer(provider, clock, "a")
    lock.acquire([ORGANIZER])
    clock.advance(timedelta(minutes=4))
    lock.renew_if_due()
    assert records(provider)[0].expires == START + timedelta(minutes=10)
    clock.advance(timedelta(minutes=2))
    lock.renew_if_due()
    (record,) = records(provider)
    assert record.expires == START + timedelta(minutes=16) and record.since == START


def test_a_lock_cleared_by_unlock_is_noticed_before_the_next_write(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    lock = writer(provider, clock, "a")
    lock.acquire([ORGANIZER])
    (removed,) = unlock(provider, NAMESPACE, ORGANIZER)
    assert removed.held_by("a")
    clock.advance(timedelta(minutes=6))
    with pytest.raises(LockLostError, match="taken over or cleared"):
        lock.renew_if_due()
    assert unlock(provider, NAMESPACE, ORGANIZER) == []


def test_keys_a_later_version_recorded_are_kept_through_a_whole_apply(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    later = json.dumps({"version": 2, "holder": None, "inventory": ["team/sync"]})
    provider.create_namespace_item(ORGANIZER, NAMESPACE, later)
    with apply_lock(provider, NAMESPACE, [ORGANIZER], holder("a"), clock=clock, sleep=clock.sleep) as lock:
        clock.advance(timedelta(minutes=6))
        lock.renew_if_due()
    (item,) = provider.list_namespace_items(ORGANIZER, NAMESPACE)
    assert json.loads(item.state)["inventory"] == ["team/sync"]
    assert decode(item.state).holder is None


def test_the_locks_are_released_when_the_apply_is_interrupted(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    mailboxes = [ORGANIZER, "office@contoso.com"]
    with (
        pytest.raises(KeyboardInterrupt),
        apply_lock(provider, NAMESPACE, mailboxes, holder("a"), clock=clock, sleep=clock.sleep),
    ):
        raise KeyboardInterrupt
    for mailbox in mailboxes:
        assert [decode(i.state).holder for i in provider.list_namespace_items(mailbox, NAMESPACE)] == [None]


def test_locks_already_taken_are_released_when_a_later_mailbox_is_held(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    writer(provider, clock, "other").acquire(["office@contoso.com"])
    with pytest.raises(LockHeldError):
        writer(provider, clock, "a", LockSettings(timeout=0)).acquire(["office@contoso.com", ORGANIZER])
    assert [decode(i.state).holder for i in provider.list_namespace_items(ORGANIZER, NAMESPACE)] == [None]


def test_an_unreadable_state_stops_the_apply_and_unlock_resets_it(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    provider.create_namespace_item(ORGANIZER, NAMESPACE, "edited by hand")
    with pytest.raises(LockError, match=r"cannot read .* Run `meetings unlock --organizer lead@contoso\.com`"):
        writer(provider, clock, "a").acquire([ORGANIZER])
    assert unlock(provider, NAMESPACE, ORGANIZER) == [LockRecord()]
    writer(provider, clock, "a").acquire([ORGANIZER])


def test_an_apply_that_lost_its_lock_stops_before_writing_anything_more(store: MailboxStore, clock: Clock) -> None:
    provider = SandboxProvider(store)
    wanted = [meeting("team/a", organizer=ORGANIZER), meeting("team/b", organizer=ORGANIZER)]
    lock = writer(provider, clock, "a")
    lock.acquire([ORGANIZER])
    plan = make_plan(wanted, provider, namespace=NAMESPACE, policy=PlanPolicy(), now=START - timedelta(days=7))
    assert len(plan.changes) == 2
    clock.advance(timedelta(minutes=11))  # the apply stalled past its lock's expiry ...
    writer(provider, clock, "b").acquire([ORGANIZER])  # ... and another apply took it over
    with pytest.raises(LockLostError):
        apply_plan(plan, provider, guard=lock.renew_if_due)
    assert provider.list_managed(ORGANIZER, NAMESPACE) == [] and store.mail() == []
