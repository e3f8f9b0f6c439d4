"""The imperative shell: observe -> plan -> apply. With `locking`, the only caller of providers.

An apply runs under the apply lock of every mailbox it observes (`locking`, taken by the CLI
before observing), so two applies never plan from the same calendar state and both write.
`observe` reads every organizer's managed items (organizers in parallel, each provider keeps its
own per-mailbox limit), `make_plan` runs the pure planner on them, and `apply_plan` writes the
changes (mailboxes in parallel, each paced: `pacing`). A change that fails does not stop the
others. Writes whose outcome is unknown (a timeout after the server may have committed) are
checked by looking the item up before any retry, so a re-run never creates a second item or
sends a second invitation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from reconciler import availability, pacing
from reconciler.errors import MailboxUnavailableError, ProviderError, TransientError
from reconciler.freebusy import Schedule
from reconciler.locking import ApplyLock, recorded
from reconciler.lockstate import LockRecord
from reconciler.model import Action, Meeting, ObservedMeeting
from reconciler.notices import StaleReason
from reconciler.occurrences import SeriesEdits, series_edits
from reconciler.ownership import transaction_id
from reconciler.pace import ApplyProgress, Pace
from reconciler.pacing import Clock
from reconciler.plan import Change, Plan, PlanPolicy, build_plan, with_foreign_lookalikes
from reconciler.port import (
    UNMANAGED,
    CancelRequest,
    CreateRequest,
    ForeignItem,
    Provider,
    ReleaseRequest,
    UpdateRequest,
)
from reconciler.report import ApplyReport, Outcome, OutcomeStatus
from reconciler.shards import EVERY_MAILBOX, Selection
from reconciler.state import MeetingState

#: Organizers observed in parallel.
OBSERVE_WORKERS = 4
#: No message rate: a library caller's default (the CLI passes the configured one, `pace.pace_for`).
UNPACED = Pace(messages_per_minute=None)

T = TypeVar("T")


def organizers_to_scan(
    meetings: Iterable[Meeting], provider: Provider, extra: Iterable[str | None] = (), *, namespace: str | None = None
) -> list[str]:
    """Every mailbox that may hold our meetings: organizers in files and configuration, those the
    backend can enumerate, and (given `namespace`) every mailbox the namespace items of those
    mailboxes record, followed until no new one appears, so a mailbox whose last file and whose
    `organizers:` entry were removed together is still found and its meetings cancelled."""
    names = {m.organizer for m in meetings} | {e.lower() for e in extra if e} | provider.known_organizers()
    if namespace is None:
        return sorted(names)
    return sorted(_registered(provider, namespace, names))


def _registered(provider: Provider, namespace: str, names: set[str]) -> dict[str, LockRecord | None]:
    """`names` and every mailbox their namespace items record (transitively), each with its record
    (None: none, or unreadable)."""
    records: dict[str, LockRecord | None] = {}
    new = sorted(names)
    while new:
        read = _records(provider, namespace, new)
        records |= {organizer: read.get(organizer) for organizer in new}
        new = sorted({o for record in read.values() for o in record.organizers} - records.keys())
    return records


def _each(provider: Provider, organizers: Sequence[str], read: Callable[[str], T]) -> list[T]:
    """`read` of every organizer: in parallel where the backend's mailboxes are (each provider
    keeps its own per-mailbox limit), else in turn (the sandbox: threads there only contend)."""
    if len(organizers) <= 1 or not provider.capabilities.parallel_mailboxes:
        return [read(organizer) for organizer in organizers]
    with ThreadPoolExecutor(max_workers=OBSERVE_WORKERS) as pool:
        return list(pool.map(read, organizers))


def _records(provider: Provider, namespace: str, organizers: Sequence[str]) -> dict[str, LockRecord]:
    """The namespace item's record of each mailbox that has one and can be read."""

    def one(organizer: str) -> LockRecord | None:
        try:
            return recorded(provider, namespace, organizer)
        except MailboxUnavailableError:
            return None  # observe reports the mailbox

    found = zip(organizers, _each(provider, organizers, one), strict=True)
    return {organizer: record for organizer, record in found if record is not None}


def remember_state(lock: ApplyLock, provider: Provider, namespace: str, plan: Plan, others: Iterable[str] = ()) -> None:
    """Have `lock` record, when it is released, what the apply left in each locked mailbox (the
    namespace's meeting ids, read again after the writes) and which mailboxes the namespace still
    uses: those holding its meetings, and those that could not be read (unknown is never empty).
    The next plan then tells a meeting removed in Outlook from one never created, and finds every
    mailbox even when no file or `organizers:` entry names it any more. `others` are mailboxes the
    namespace uses outside this run's selection (other shards): kept in the record as in use."""
    held = sorted(lock.held)

    def one(organizer: str) -> frozenset[str] | None:
        try:
            return provider.managed_ids(organizer, namespace)
        except MailboxUnavailableError:
            return None  # unknown, never empty: it stays in the record below

    read = dict(zip(held, _each(provider, held, one), strict=True))
    ids = {organizer: found for organizer, found in read.items() if found is not None}
    unknown = {organizer for organizer, found in read.items() if found is None}
    in_use = {o for o, found in ids.items() if found} | {u.mailbox for u in plan.unavailable} | unknown | set(others)
    lock.remember(ids, sorted(in_use))


@dataclass(frozen=True)
class Observation:
    """What `observe` saw: the managed items of every readable mailbox, and for each mailbox that
    could not be used the reason (a sentence). An unreadable mailbox is unknown, never empty."""

    items: tuple[ObservedMeeting, ...]
    unavailable: Mapping[str, str]


def observe(provider: Provider, organizers: Sequence[str], namespace: str) -> Observation:
    """The namespace's managed items in all these mailboxes; a mailbox that cannot be used
    (MailboxUnavailableError) is recorded and the others are still read. Any other error stops."""

    def one(organizer: str) -> list[ObservedMeeting] | MailboxUnavailableError:
        try:
            return provider.list_managed(organizer, namespace)
        except MailboxUnavailableError as error:
            return error

    results = _each(provider, organizers, one)
    items = tuple(item for r in results if not isinstance(r, MailboxUnavailableError) for item in r)
    unavailable = {
        organizer: str(r) for organizer, r in zip(organizers, results, strict=True) if isinstance(r, Exception)
    }
    return Observation(items, unavailable)


def make_plan(
    meetings: Sequence[Meeting],
    provider: Provider,
    *,
    namespace: str,
    policy: PlanPolicy,
    now: datetime,
    extra_organizers: Iterable[str | None] = (),
    allow_mass_cancel: bool = False,
    allow_late: bool = False,
    previous_namespaces: Sequence[str] = (),
    organizers: Sequence[str] | None = None,
    allow_adopt_mail: bool = False,
    selection: Selection = EVERY_MAILBOX,
) -> Plan:
    """Observe the calendars and plan the changes that bring them to `meetings`. `organizers`
    (default: `organizers_to_scan`) are the mailboxes observed; an apply passes those it locked.
    Items of `previous_namespaces` are read too, so the planner can adopt them instead of
    duplicating them; so are the unmanaged meetings of each mailbox where the plan would create
    one (one more read per such mailbox, none when nothing is created), which a file may adopt.
    Only the mailboxes and meetings of organizers in `selection` are planned (`--organizer`,
    `--shard`): of the others only the namespace items are read (to find every mailbox); their
    calendars are neither observed nor changed."""
    if organizers is None:
        # Found through every file, so a mailbox of the selection that only another shard's
        # records name is still found.
        names = set(organizers_to_scan(meetings, provider, (*extra_organizers, *selection.organizers)))
        found = _registered(provider, namespace, names)
        organizers = selection.only(found)
        records = {o: record for o, record in found.items() if record is not None and o in organizers}
    else:  # an apply: read again under the lock it has just taken
        records = _records(provider, namespace, organizers)
    meetings = [m for m in meetings if selection.includes(m.organizer)]
    observed = observe(provider, organizers, namespace)
    readable = [o for o in organizers if o not in observed.unavailable]
    previous = {ns: observe(provider, readable, ns) for ns in previous_namespaces if ns != namespace}
    unavailable = dict(observed.unavailable)
    for earlier in previous.values():
        # A mailbox readable under one namespace and not under another is still unreadable.
        unavailable.update({k: v for k, v in earlier.unavailable.items() if k not in unavailable})

    def planned(unmanaged: Sequence[ObservedMeeting]) -> Plan:
        return build_plan(
            meetings,
            [o for o in observed.items if o.organizer not in unavailable],
            now=now,
            policy=policy,
            capabilities=provider.capabilities,
            backend=provider.name,
            namespace=namespace,
            allow_mass_cancel=allow_mass_cancel,
            allow_late=allow_late,
            unavailable=unavailable,
            previous={ns: earlier.items for ns, earlier in previous.items()},
            recorded={o: record.meetings for o, record in records.items() if record.meetings is not None},
            unmanaged=unmanaged,
            allow_adopt_mail=allow_adopt_mail,
        )

    plan = planned(())
    unmanaged = unmanaged_items(provider, sorted({c.organizer for c in plan.changes if c.action is Action.CREATE}))
    if unmanaged:
        plan = planned(unmanaged)
    plan = with_foreign_lookalikes(plan, _foreign(provider, plan, namespace, previous_namespaces))
    return _with_availability(plan, meetings, observed.items, provider, policy, now)


def _with_availability(
    plan: Plan,
    meetings: Sequence[Meeting],
    observed: Sequence[ObservedMeeting],
    provider: Provider,
    policy: PlanPolicy,
    now: datetime,
) -> Plan:
    """`plan` with the free/busy conflicts of its creates and time changes (one `schedules` read
    per organizer, over the window its checks span) and the repository's own room double bookings."""
    room_errors = policy.room_conflicts == "error"
    found = availability.checks(plan, observed, now)
    by_organizer: dict[str, list[availability.Check]] = {}
    for check in found:
        by_organizer.setdefault(check.organizer, []).append(check)

    def one(organizer: str) -> list[tuple[tuple[str, str], Schedule]]:
        checks = by_organizer[organizer]
        addresses = sorted({a for c in checks for a in c.addresses})
        windows = [availability.window(c) for c in checks]
        start, end = min(w[0] for w in windows), max(w[1] for w in windows)
        return [((organizer, s.address), s) for s in provider.schedules(organizer, addresses, start, end)]

    organizers = sorted(by_organizer)
    schedules = {key: value for answer in _each(provider, organizers, one) for key, value in answer}
    plan = availability.with_conflicts(plan, found, schedules, room_errors=room_errors)
    return availability.double_bookings(plan, meetings, now, room_errors=room_errors)


def unmanaged_items(provider: Provider, organizers: Sequence[str]) -> list[ObservedMeeting]:
    """The unmanaged meetings of these mailboxes (`Provider.list_unmanaged`), read concurrently;
    a mailbox that cannot be read has none."""

    def one(organizer: str) -> list[ObservedMeeting]:
        try:
            return [found.meeting for found in provider.list_unmanaged(organizer)]
        except MailboxUnavailableError:
            return []

    return [item for items in _each(provider, organizers, one) for item in items]


def _foreign(provider: Provider, plan: Plan, namespace: str, previous: Sequence[str]) -> dict[str, list[ForeignItem]]:
    """Other namespaces' items in each mailbox where `plan` creates meetings (one read per such
    mailbox; none when nothing is created). Namespaces being adopted are left out: the planner has
    matched their items already."""
    creating = sorted({c.organizer for c in plan.changes if c.action is Action.CREATE})

    def one(organizer: str) -> list[ForeignItem]:
        try:
            return [i for i in provider.list_foreign(organizer, namespace) if i.namespace not in previous]
        except MailboxUnavailableError:
            return []

    return dict(zip(creating, _each(provider, creating, one), strict=True))


def apply_plan(
    plan: Plan,
    provider: Provider,
    *,
    on_progress: Callable[[ApplyProgress], None] | None = None,
    guard: Callable[[], None] | None = None,
    pace: Pace = UNPACED,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
) -> ApplyReport:
    """Write every change of `plan`: mailboxes in parallel, each in the plan's order and at
    `pace` (`reconciler.pacing` states the contract); a failure is recorded and the next change
    goes on.

    `guard` runs before every change (the apply lock renews itself there); whatever it raises
    stops the apply before that change is written and is raised here once the changes in flight
    have finished. Setting `stop` does the same without an error: the changes not started are
    reported as failed, not applied.
    """
    return pacing.run(
        plan,
        provider,
        lambda change, plan, provider, after: apply_change(change, plan, provider, after=after),
        pace=pace,
        clock=clock,
        stop=stop,
        guard=guard,
        on_progress=on_progress,
    )


def _why_changed(item: ObservedMeeting) -> StaleReason:
    """Who changed an item after the plan was made: an apply leaves the item as it recorded it, an
    edit in Outlook does not."""
    applied = item.last_applied
    if applied is not None and item.fields == applied:
        return StaleReason.CHANGED_BY_APPLY
    return StaleReason.EDITED_IN_OUTLOOK


def stale_changes(saved: Plan, provider: Provider) -> tuple[Plan, list[Outcome]]:
    """Split a saved plan into the changes still valid and those whose item moved since.

    A create is stale when an item with its id appeared meanwhile; any other change is stale when
    its item is gone or its change key moved (someone edited it after the plan was reviewed).
    """
    organizers = sorted({c.organizer for c in saved.changes})
    seen = observe(provider, organizers, saved.namespace)
    namespaces = sorted({c.previous_namespace for c in saved.changes if c.previous_namespace})
    adoptable = [o for ns in namespaces for o in observe(provider, organizers, ns).items]
    if any(c.action is Action.ADOPT and c.previous_namespace == UNMANAGED for c in saved.changes):
        adoptable += unmanaged_items(provider, organizers)
    current = {o.item_id: o for o in (*seen.items, *adoptable)}
    ids = {(o.organizer, o.meeting_id) for o in seen.items}
    valid, stale = [], []
    for change in saved.changes:
        if change.organizer in seen.unavailable:
            stale.append(Outcome(change, OutcomeStatus.FAILED, seen.unavailable[change.organizer]))
            continue
        reason: StaleReason | None = None
        if change.action is Action.CREATE:
            reason = StaleReason.CREATED_SINCE if (change.organizer, change.meeting_id) in ids else None
        elif change.item_id not in current:
            reason = StaleReason.GONE
        elif current[change.item_id].change_key != change.change_key:
            reason = _why_changed(current[change.item_id])
        if reason is not None:
            stale.append(Outcome(change, OutcomeStatus.STALE, stale=reason))
        else:
            valid.append(change)
    return replace(saved, changes=tuple(valid)), stale


def apply_change(change: Change, plan: Plan, provider: Provider, *, after: ProviderError | None = None) -> None:
    """Write one change of `plan`. `after` is the error an earlier attempt of it ended with (a
    ThrottledError: part of a series' writes may have been committed before the refused one):
    then what the calendar holds is looked up first and only what is missing is written, exactly
    as after a lost answer (TransientError) within one attempt."""
    if change.action is Action.CREATE:
        _create(change, plan, provider, after)
    elif change.action is Action.CANCEL:
        _cancel(change, plan, provider, after)
    elif change.action is Action.RELEASE:
        _release(change, plan, provider, after)
    else:
        _update(change, plan, provider, after)


def _create(change: Change, plan: Plan, provider: Provider, after: ProviderError | None) -> None:
    assert change.desired is not None
    request = CreateRequest(
        namespace=plan.namespace,
        organizer=change.organizer,
        meeting_id=change.meeting_id,
        fields=change.desired,
        transaction_id=transaction_id(plan.namespace, change.organizer, change.meeting_id, plan.created_at),
        writes=change.writes,
    )
    if after is None:
        try:
            provider.create(request)
            return
        except TransientError:
            pass  # the server may have committed the create before the answer was lost: look first
    found = provider.find(change.organizer, plan.namespace, change.meeting_id)
    if found is None:
        provider.create(request)
        return
    # A series is created before its occurrences are changed: finish what is missing.
    missing = frozenset(n for n in ("skip", "overrides") if found.fields.value_of(n) != change.desired.value_of(n))
    if missing:
        provider.update(
            UpdateRequest(
                namespace=plan.namespace,
                organizer=change.organizer,
                meeting_id=change.meeting_id,
                item_id=found.item_id,
                change_key=found.change_key,
                fields=change.desired,
                changed=missing,
                previous_meeting_id=change.meeting_id,
                writes=_remaining_writes(found, change.desired, missing),
            )
        )


def _update(change: Change, plan: Plan, provider: Provider, after: ProviderError | None) -> None:
    assert change.desired is not None and change.item_id is not None and change.change_key is not None
    request = UpdateRequest(
        namespace=plan.namespace,
        organizer=change.organizer,
        meeting_id=change.meeting_id,
        item_id=change.item_id,
        change_key=change.change_key,
        fields=change.desired,
        changed=change.changed_names,
        previous_meeting_id=change.meeting_id if change.previous_id is None else change.previous_id,
        writes=change.writes,
        previous_namespace=change.previous_namespace,
    )
    if after is None:
        try:
            provider.update(request)
            return
        except TransientError as error:
            after = error
    current = provider.find(change.organizer, plan.namespace, change.meeting_id) or provider.find(
        change.organizer, plan.namespace, request.previous_meeting_id
    )
    if current is None and change.previous_namespace:
        # An adoption whose answer was lost and did not commit: the item still has the old marker.
        # (An unmanaged item's is not found by marker: the error stands, and the next plan adopts it.)
        current = provider.find(change.organizer, change.previous_namespace, request.previous_meeting_id)
        if current is not None:
            writes = _remaining_writes(current, change.desired, request.changed)
            provider.update(replace(request, change_key=current.change_key, writes=writes))
            return
    if current is None:
        raise after
    if current.change_key != change.change_key and _holds(current, change):
        return  # the write was committed; only its answer was lost
    # Part of a series update may have been committed: write only what is still missing, from
    # the state the calendar holds now, so nobody gets the same mail twice.
    remaining = frozenset(n for n in change.changed_names if current.fields.value_of(n) != change.desired.value_of(n))
    if not remaining and current.meeting_id == change.meeting_id:
        return
    provider.update(
        replace(
            request,
            change_key=current.change_key,
            writes=_remaining_writes(current, change.desired, remaining),
            changed=remaining,
            previous_meeting_id=current.meeting_id,
        )
    )


def _remaining_writes(current: ObservedMeeting, desired: MeetingState, changed: frozenset[str]) -> SeriesEdits:
    """The writes that take the item from what the calendar holds now to `desired`. Only a retry
    after a lost answer decides writes here (part of the planned ones may have been committed);
    every first attempt executes the plan's `Change.writes`."""
    return series_edits(current.fields, desired, changed)


def _holds(item: ObservedMeeting, change: Change) -> bool:
    assert change.desired is not None
    return item.meeting_id == change.meeting_id and all(
        item.fields.value_of(name) == change.desired.value_of(name) for name in change.changed_names
    )


def _release(change: Change, plan: Plan, provider: Provider, after: ProviderError | None) -> None:
    assert change.item_id is not None and change.change_key is not None
    request = ReleaseRequest(change.organizer, change.meeting_id, change.item_id, change.change_key)
    if after is None:
        try:
            provider.release(request)
            return
        except TransientError as error:
            after = error
    # A released item is no longer listed: if the marker is gone, the release was committed.
    namespace = change.previous_namespace or plan.namespace
    if provider.find(change.organizer, namespace, change.meeting_id) is None:
        return
    if isinstance(after, TransientError):
        raise after
    provider.release(request)  # refused before (throttled), never written: write it now


def _cancel(change: Change, plan: Plan, provider: Provider, after: ProviderError | None) -> None:
    assert change.item_id is not None and change.change_key is not None
    request = CancelRequest(change.organizer, change.meeting_id, change.item_id, change.change_key, change.comment)
    if after is None:
        try:
            provider.cancel(request)
            return
        except TransientError:
            pass
    # A cancelled item leaves the calendar: if it is gone, the cancel was committed.
    current = [o for o in provider.list_managed(change.organizer, plan.namespace) if o.item_id == change.item_id]
    if current:
        provider.cancel(replace(request, change_key=current[0].change_key))
