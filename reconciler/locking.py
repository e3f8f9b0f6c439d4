"""One apply at a time per (namespace, mailbox): the apply lock, kept in the mailbox itself.

There is no state file, so the lock lives where the meetings live: in the *namespace item* of the
mailbox (`port.NamespaceItems`), whose PROP_STATE record (`lockstate.LockRecord`) names
the holder and when the lock expires. Every write of the record is a compare-and-swap on the
item's change key (Graph: PATCH with If-Match, 412 when stale; EWS: UpdateItem with NeverOverwrite,
ErrorIrresolvableConflict when stale; the sandbox store's change-key check), so of two writers who
read the same record exactly one writes it.

Taking the lock of one mailbox (`ApplyLock.acquire`):

1. List the namespace items. None yet: create one (with a free record) and list again. Creating
   never means holding.
2. The *survivor* is the earliest item by (created time, item id); every writer computes the same
   one from the same listing. A writer deletes the items it created itself that are not the
   survivor (only its own: another writer may be about to write one it listed).
3. If any item carries a live record of another holder, the lock is held: wait (bounded, with
   back-off) and start again, or give up with LockHeldError once `timeout` has passed.
4. Otherwise CAS the survivor's record to "held by me until now + ttl", then list again. The lock is
   held only if that listing shows the same survivor carrying my record and no other item carrying
   a live record of someone else. Otherwise step back (CAS my record off whatever item carries it)
   and start again after a short random pause.

Why at most one writer holds it: a writer only proceeds after (a) its CAS committed and then (b) a
listing showed no other live holder. Take two writers A and B that both proceed, and say A's CAS
committed first. B's check (b) came after B's CAS, so after A's CAS: it saw A's record, unless A's
record was gone by then, which happens only when A stepped back or released (then A does not
proceed, or has finished) or when B's own CAS overwrote it. B's CAS can overwrite A's record only
on the same item with the change key A's write produced, so B read the item after A's write and
saw A live in step 3 (and did not CAS). So B does not proceed: contradiction. This needs no
agreement on the survivor, only that a listing shows every write committed before it; the survivor
rule makes duplicates from the creation race converge to one item so writers stop colliding on
different items (EWS reports creation times to the second, so ties are broken by id).

An expired record (`expires` passed, e.g. the holder crashed) counts as free and is taken over by
the same CAS. A holder renews its record (`renew_if_due`, called before every write of an apply)
when less than half the ttl is left, and loses the lock (LockLostError) if the record was taken
over or cleared (`unlock`) meanwhile. `release` writes the record free again, keeping every key a
later version added. Clocks of different machines are compared through `expires`: the ttl must
dwarf their skew.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from reconciler.errors import (
    ConflictError,
    LockError,
    LockHeldError,
    LockLostError,
    MailboxUnavailableError,
    NotFoundError,
    TransientError,
)
from reconciler.lockstate import Holder, LockRecord, LockRecordError, decode, encode, survivor
from reconciler.port import NamespaceItem, NamespaceItems

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]

#: A CAS that lost, or whose outcome is unknown: the listing after it tells what happened.
_UNDECIDED = (ConflictError, NotFoundError, TransientError)


@dataclass(frozen=True)
class LockSettings:
    """How long a lock lasts and how long a writer waits for one."""

    ttl: timedelta = timedelta(minutes=10)
    #: Seconds to wait for a lock another apply holds (0: fail at once).
    timeout: float = 60.0
    #: First pause between polls of a held lock; doubles up to `poll_cap`.
    poll: float = 0.5
    poll_cap: float = 5.0
    #: Rounds of contention (lost CAS, stepping back) before giving up even without a holder seen.
    max_rounds: int = 40
    #: Longest random pause after contention.
    contention_pause: float = 0.05


@dataclass(frozen=True)
class HeldLock:
    """The lock of one mailbox as this apply holds it: the item, its change key after our last
    write, and the record written."""

    organizer: str
    item_id: str
    change_key: str
    record: LockRecord


def _format(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "an unknown time"


def _unreadable(organizer: str, error: LockRecordError) -> LockError:
    return LockError(
        f"The apply lock item in {organizer}'s calendar holds a state this version cannot read ({error});"
        f" nothing was written. Run `meetings unlock --organizer {organizer}` to reset it."
    )


class ApplyLock:
    """The apply locks one run holds, taken mailbox by mailbox in sorted order."""

    def __init__(
        self,
        port: NamespaceItems,
        namespace: str,
        holder: Holder,
        *,
        clock: Clock,
        sleep: Sleep,
        settings: LockSettings = LockSettings(),
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """`clock` (aware UTC) stamps and judges records; `monotonic` (seconds) times the wait, so a
        pinned clock still lets a wait end; `sleep` pauses; `jitter` (0..1) spreads retries."""
        self._port, self._namespace, self._holder = port, namespace, holder
        self._clock, self._sleep, self._settings = clock, sleep, settings
        self._monotonic, self._jitter = monotonic, jitter
        self.held: dict[str, HeldLock] = {}
        #: Until when no held lock needs renewing (None: check them all at the next call).
        self._fresh_until: datetime | None = None
        #: What `remember` recorded, written with the release: meeting ids by mailbox, organizers.
        self._memory: tuple[dict[str, frozenset[str]], tuple[str, ...]] | None = None

    # -- acquire ---------------------------------------------------------------------------------

    def acquire(self, organizers: Sequence[str]) -> None:
        """Take the lock of every mailbox (sorted, so two applies never wait for each other in a
        circle). On failure the locks already taken are released and the error raised."""
        try:
            for organizer in sorted(set(organizers)):
                try:
                    self.held[organizer] = self._acquire_one(organizer)
                except MailboxUnavailableError:
                    # Nothing can be read or written there: the plan reports the mailbox and holds
                    # its meetings back, and the other mailboxes go on (one bad mailbox stops none).
                    continue
        except BaseException:
            self.release()
            raise

    def _acquire_one(self, organizer: str) -> HeldLock:
        settings = self._settings
        deadline = self._monotonic() + settings.timeout
        pause, rounds = settings.poll, 0
        created: set[str] = set()
        while True:
            items = self._port.list_namespace_items(organizer, self._namespace)
            if not items:
                rounds += 1
                if rounds >= settings.max_rounds:
                    raise LockError(
                        f"Could not create the apply lock item of namespace {self._namespace!r} in {organizer}'s"
                        " calendar: it never appeared in the calendar; nothing was written."
                    )
                created.add(self._create(organizer))
                continue
            first = survivor(items)
            created -= self._delete_own(organizer, items, first, created)
            now = self._clock()
            blocker = self._blocker(organizer, items, now)
            if blocker is None:
                record = self._readable(organizer, first)
                taken = encode(record.taken(self._holder, now, settings.ttl))
                # Lost to another writer, or an unknown outcome: the listing below decides.
                with suppress(*_UNDECIDED):
                    self._port.write_namespace_state(organizer, first.item_id, first.change_key, taken)
                check = self._port.list_namespace_items(organizer, self._namespace)
                held = self._confirmed(organizer, check)
                if held is not None:
                    return held
                self._step_back(organizer, check)
                rounds += 1
                if rounds >= settings.max_rounds:
                    raise LockHeldError(
                        f"Could not take the apply lock of namespace {self._namespace!r} in {organizer}'s calendar:"
                        f" other applies kept competing for it ({rounds} rounds); nothing was written. Try again."
                    )
                self._sleep(self._jitter() * settings.contention_pause)
                continue
            left = deadline - self._monotonic()
            if left <= 0:
                raise LockHeldError(self._held_message(organizer, blocker))
            self._sleep(min(pause, left))
            pause = min(pause * 2, settings.poll_cap)

    def _create(self, organizer: str) -> str:
        try:
            return self._port.create_namespace_item(organizer, self._namespace, encode(LockRecord()))
        except TransientError:
            # Perhaps created: the next listing shows it (an extra item is resolved as a duplicate).
            return ""

    def _delete_own(
        self, organizer: str, items: Sequence[NamespaceItem], first: NamespaceItem, created: set[str]
    ) -> set[str]:
        """Delete the items this writer created that lost the creation race; returns their ids."""
        gone = set()
        for item in items:
            if item.item_id in created and item.item_id != first.item_id:
                with suppress(NotFoundError):
                    self._port.delete_namespace_item(organizer, item.item_id)
                gone.add(item.item_id)
        return gone

    def _blocker(self, organizer: str, items: Sequence[NamespaceItem], now: datetime) -> LockRecord | None:
        """The live record of another holder on any item, or None when the lock is free."""
        for item in sorted(items, key=lambda i: (i.created, i.item_id)):
            try:
                record = decode(item.state)
            except LockRecordError as error:
                if item is survivor(items):
                    raise _unreadable(organizer, error) from error
                continue  # a duplicate nobody will write again
            if record.live(now) and not record.held_by(self._holder.token):
                return record
        return None

    def _readable(self, organizer: str, item: NamespaceItem) -> LockRecord:
        try:
            return decode(item.state)
        except LockRecordError as error:
            raise _unreadable(organizer, error) from error

    def _confirmed(self, organizer: str, items: Sequence[NamespaceItem]) -> HeldLock | None:
        if not items:
            return None
        first = survivor(items)
        record = self._readable(organizer, first)
        if not record.held_by(self._holder.token):
            return None
        if self._blocker(organizer, [i for i in items if i.item_id != first.item_id], self._clock()) is not None:
            return None
        return HeldLock(organizer, first.item_id, first.change_key, record)

    def _step_back(self, organizer: str, items: Sequence[NamespaceItem]) -> None:
        """Clear this writer's record from every item carrying it (a lost round)."""
        for item in items:
            try:
                record = decode(item.state)
            except LockRecordError:
                continue
            if record.held_by(self._holder.token):
                released = encode(record.released())
                # Overwritten or gone: nothing of ours is left there (or it expires).
                with suppress(*_UNDECIDED):
                    self._port.write_namespace_state(organizer, item.item_id, item.change_key, released)

    def _held_message(self, organizer: str, blocker: LockRecord) -> str:
        assert blocker.holder is not None
        waited = f" (waited {self._settings.timeout:g} s)" if self._settings.timeout > 0 else ""
        return (
            f"Another apply ({blocker.holder.describe()}, since {_format(blocker.since)}) is running for namespace"
            f" {self._namespace!r} in {organizer}'s calendar{waited}; nothing was written. Its lock expires at"
            f" {_format(blocker.expires)} unless renewed; run again later, or if that apply crashed, run"
            f" `meetings unlock --organizer {organizer}`."
        )

    # -- renew and release -----------------------------------------------------------------------

    def renew_if_due(self) -> None:
        """Extend every held lock that has less than half its ttl left. Raises LockLostError when a
        lock was taken over or cleared meanwhile: the caller must stop writing."""
        now, ttl = self._clock(), self._settings.ttl
        # Called before every write: most calls find every lock fresh, and say so without a loop.
        if self._fresh_until is not None and now < self._fresh_until:
            return
        for organizer, held in list(self.held.items()):
            expires = held.record.expires
            if expires is not None and expires - now > ttl / 2:
                continue
            renewed = held.record.renewed(now, ttl)
            try:
                key = self._port.write_namespace_state(organizer, held.item_id, held.change_key, encode(renewed))
            except _UNDECIDED:
                current = self._current(organizer, held)
                if current is None:
                    del self.held[organizer]
                    raise LockLostError(
                        f"The apply lock of namespace {self._namespace!r} in {organizer}'s calendar was taken over or"
                        " cleared (meetings unlock) while this apply ran; it stopped before its next write. Plan"
                        " again to see what was applied."
                    ) from None
                self.held[organizer] = current
                continue
            self.held[organizer] = replace(held, change_key=key, record=renewed)
        due = [h.record.expires - ttl / 2 for h in self.held.values() if h.record.expires is not None]
        self._fresh_until = min(due) if len(due) == len(self.held) and due else None

    def _current(self, organizer: str, held: HeldLock) -> HeldLock | None:
        """The held lock as the mailbox shows it now, or None when it is no longer ours."""
        for item in self._port.list_namespace_items(organizer, self._namespace):
            if item.item_id == held.item_id:
                try:
                    record = decode(item.state)
                except LockRecordError:
                    return None
                return (
                    HeldLock(organizer, item.item_id, item.change_key, record)
                    if record.held_by(self._holder.token)
                    else None
                )
        return None

    def remember(self, meetings: dict[str, frozenset[str]], organizers: Sequence[str]) -> None:
        """Record with the release what the apply left: the namespace's meeting ids in each held
        mailbox (as read after the writes) and every mailbox the namespace uses."""
        self._memory = (meetings, tuple(organizers))

    def release(self) -> None:
        """Write every held record free again (other keys kept), with what `remember` recorded. A
        lock taken over or cleared meanwhile is left alone: nothing of ours is on it."""
        for organizer in sorted(self.held, reverse=True):
            held = self.held.pop(organizer)
            for _ in range(3):
                record = held.record.released()
                if self._memory is not None and organizer in self._memory[0]:
                    record = record.remembering(self._memory[0][organizer], self._memory[1])
                try:
                    self._port.write_namespace_state(organizer, held.item_id, held.change_key, encode(record))
                    break
                except _UNDECIDED:
                    current = self._current(organizer, held)
                    if current is None:
                        break
                    held = current


@contextmanager
def apply_lock(
    port: NamespaceItems,
    namespace: str,
    organizers: Sequence[str],
    holder: Holder,
    *,
    clock: Clock,
    sleep: Sleep = time.sleep,
    settings: LockSettings = LockSettings(),
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[ApplyLock]:
    """Hold the apply locks of `organizers` for the `with` block; released however it ends."""
    lock = ApplyLock(port, namespace, holder, clock=clock, sleep=sleep, settings=settings, monotonic=monotonic)
    lock.acquire(organizers)
    try:
        yield lock
    finally:
        lock.release()


def recorded(port: NamespaceItems, namespace: str, organizer: str) -> LockRecord | None:
    """What the namespace item of `organizer` says (the survivor's record), for planning; None
    when there is none yet or it cannot be read (then nothing is known, which is never an error)."""
    items = port.list_namespace_items(organizer, namespace)
    if not items:
        return None
    try:
        return decode(survivor(items).state)
    except LockRecordError:
        return None


def unlock(port: NamespaceItems, namespace: str, organizer: str) -> list[LockRecord]:
    """Clear the apply lock of `namespace` in `organizer`'s calendar by CAS, whoever holds it (an
    operator's tool after a crash); returns the records whose holder was removed (expired ones
    too). An unreadable record is reset to an empty one and returned as a record without holder."""
    removed: list[LockRecord] = []
    for _ in range(10):
        pending: list[tuple[NamespaceItem, LockRecord | None]] = []
        for item in port.list_namespace_items(organizer, namespace):
            try:
                record: LockRecord | None = decode(item.state)
            except LockRecordError:
                record = None
            if record is None or record.holder is not None:
                pending.append((item, record))
        if not pending:
            return removed
        for item, record in pending:
            cleared = record.released() if record is not None else LockRecord()
            try:
                port.write_namespace_state(organizer, item.item_id, item.change_key, encode(cleared))
            except _UNDECIDED:
                continue  # written or removed meanwhile: the next listing tells
            removed.append(record if record is not None else LockRecord())
    raise LockError(f"The apply lock in {organizer}'s calendar kept changing while it was being cleared; try again.")
