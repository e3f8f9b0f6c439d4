"""Action, Change, Plan and `build_plan` (pure: the clock, policy and capabilities are parameters).

Rules (docs/architecture.md section 9), in the order `build_plan` applies them:

* A desired meeting matches the managed item carrying its id, or else one carrying an id from its
  `moved_from` (a move keeps the item: no cancellation, no new invitation).
* Meetings that already ended are never created, changed or cancelled.
* `cancelled:` cancels a live item with that text; an item without a file is cancelled when
  `policy.prune` is on, released with a warning otherwise; `protect: true` recorded on the item
  makes that a plan error. A removed series that has started is ended instead (its range is cut
  after the last occurrence that started), so past occurrences stay in every calendar.
* Fields that differ from git are changed back; fields where the item also differs from our
  last-applied record were edited outside git and are reported as drift (with `policy.drift ==
  "warn"` they are left alone and only reported).
* More cancellations than `policy.max_cancellations` is a plan error unless allowed.
* A change that mails attendees of a meeting whose next occurrence starts within
  `policy.min_notice` is late: marked on the change, and a plan error unless allowed.
* `release: true` removes our marker from the item (action `release`): it stays in every calendar.
* An item carrying the id under one of `previous_namespaces` is adopted (action `adopt`: its
  marker is rewritten to the current namespace) instead of creating a duplicate; such items that
  no file claims are left alone.
* A file that no managed item matches but one unmanaged item does (same organizer, subject,
  start and attendees: `adoption`) adopts that item (action `adopt`, `previous_namespace ==
  port.UNMANAGED`) instead of creating a duplicate; an ambiguous match is a plan error. Where the
  backend cannot write our marker silently, an adoption that changes nothing else needs
  `allow_adopt_mail`.
* A mailbox that could not be read is unknown, not empty: none of its meetings is created,
  changed or cancelled; the plan lists it with its reason and the meetings it holds back.
* Output is deterministic: changes sorted by (organizer, id), recipients sorted.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reconciler import adoption, notify
from reconciler.budget import SendBudget, budget_errors, budget_warnings, send_budget
from reconciler.diff import FieldChange, diff_fields
from reconciler.dst import dst_warnings
from reconciler.effects import series_effects
from reconciler.limits import SendLimits
from reconciler.model import Action, MailKind, Meeting, ObservedMeeting
from reconciler.notices import (
    AdoptedUnmanaged,
    AdoptMailNeeded,
    AlreadyEnded,
    DriftKept,
    DuplicateItem,
    Effect,
    FileDeletedKept,
    FileMayBeDeleted,
    ForeignLookalike,
    ForeignLookalikes,
    LateChange,
    LateChanges,
    MarkerRemoval,
    MovedIntoPast,
    NamespaceRewrite,
    NothingToRelease,
    Notice,
    OnlineMeetingOff,
    OrganizerChanged,
    PreviousNamespaceItemLeft,
    PreviousNamespaceTwin,
    ProtectedByAcceptances,
    ProtectedFileDeleted,
    Recreated,
    RemovedOutsideGitKept,
    RoomDeclined,
    SeriesEnded,
    TooManyCancellations,
    UnmanagedAdoption,
    order_key,
)
from reconciler.notify import Notification
from reconciler.occurrences import NO_EDITS, SeriesEdits, align_override_bodies, creation_edits, series_edits
from reconciler.people import ResponseCounts, counts
from reconciler.port import UNMANAGED, Capabilities, ForeignItem
from reconciler.recurrence import has_ended, has_started, next_start_utc, occurrence_starts, span_utc
from reconciler.state import MeetingState, meeting_state

PLAN_FORMAT_VERSION = 1
#: Changing one of these re-checks a series' local time for attendees in other zones.
_TIMING_FIELDS = frozenset({"start", "end", "timezone", "recurrence"})


@dataclass(frozen=True)
class PlanPolicy:
    """The parts of `config.Policy` the planner needs."""

    prune: bool = True
    max_cancellations: int = 10
    drift: str = "revert"
    #: Zones attendees sit in: a series whose local time shifts there across DST gets a warning.
    attendee_timezones: tuple[str, ...] = ()
    #: A change that mails attendees of a meeting starting sooner than this needs `allow_late`
    #: (None: no limit).
    min_notice: timedelta | None = None
    #: The organizers' sending limits: the plan's send budget is measured against them.
    send_limits: SendLimits = field(default_factory=SendLimits)
    #: Cancelling a meeting at least this many people accepted needs `allow_mass_cancel` (None: off).
    protect_accepted: int | None = None
    #: "warn" (a busy room is a warning) | "error" (a plan error); read by `availability`.
    room_conflicts: str = "warn"


@dataclass(frozen=True)
class UnavailableMailbox:
    """An organizer's mailbox that could not be read (`reason`, a sentence from the provider).
    `meeting_ids` are the meeting files it holds back: none is created, changed or cancelled."""

    mailbox: str
    reason: str
    meeting_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """What the plan does to one meeting, with the fields it writes and the mail that causes.

    `desired` is the full canonical state to write (None for a cancel); `item_id`/`change_key`
    identify the item as observed (None for a create) so a saved plan can refuse stale items.
    """

    action: Action
    meeting_id: str
    organizer: str
    subject: str
    fields: tuple[FieldChange, ...] = ()
    notifications: tuple[Notification, ...] = ()
    item_id: str | None = None
    change_key: str | None = None
    desired: MeetingState | None = None
    previous_id: str | None = None
    comment: str | None = None
    drift: tuple[str, ...] = ()
    warnings: tuple[Notice, ...] = ()
    source: str | None = None
    #: What happens to a series' occurrences (see `effects.series_effects`) or what a marker write
    #: costs in mail.
    effects: tuple[Effect, ...] = ()
    #: How a create or update is written: the master write's extent and the occurrence writes
    #: after it (`occurrences.series_edits`), decided here once; the mail, the effects, the saved
    #: plan and the provider's writes all follow this one value.
    writes: SeriesEdits = NO_EDITS
    #: The change mails attendees less than `policy.min_notice` before the meeting starts.
    late: bool = False
    #: For an adoption: the namespace the item's marker names today.
    previous_namespace: str | None = None
    #: A create of a meeting the last apply left in the calendar: it was cancelled or deleted
    #: outside git (in Outlook) since, so its attendees are invited again.
    recreated: bool = False
    #: The attendees' answers on the item this change writes or cancels (None for a create), with
    #: how many accepted answers a time change asks again (`people.counts`).
    responses: ResponseCounts | None = None

    @property
    def changed_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    def recipients(self) -> frozenset[str]:
        return frozenset(r for n in self.notifications for r in n.recipients)


@dataclass(frozen=True)
class Plan:
    """The whole plan: changes to make, errors that forbid applying it, warnings to read.

    `errors` and `warnings` are `notices` records (`notices.order_key` order); renderers word them
    and show them in the order of `render.notices.ordered`."""

    backend: str
    namespace: str
    created_at: str
    changes: tuple[Change, ...]
    unchanged: int = 0
    errors: tuple[Notice, ...] = ()
    warnings: tuple[Notice, ...] = ()
    #: Mailboxes that could not be read; a run with any fails after applying the rest.
    unavailable: tuple[UnavailableMailbox, ...] = ()
    #: Meetings edited outside git whose edits the plan leaves as they are (`policy.drift: warn`):
    #: the calendars still differ from git, so a drift check counts them as changes present.
    drift_kept: tuple[str, ...] = ()
    #: Messages and recipients per organizer against the sending limits (`budget.send_budget`).
    budget: SendBudget = field(default_factory=SendBudget)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def count(self, action: Action) -> int:
        if action is Action.NOOP:
            return self.unchanged
        return sum(1 for c in self.changes if c.action is action)

    def recipients(self) -> frozenset[str]:
        """Everyone who will receive at least one message."""
        return frozenset(r for c in self.changes for r in c.recipients())

    def mail_count(self, kind: MailKind) -> int:
        return sum(len(n.recipients) for c in self.changes for n in c.notifications if n.kind is kind)


@dataclass
class _Builder:
    now: datetime
    policy: PlanPolicy
    capabilities: Capabilities
    changes: list[Change] = field(default_factory=list)
    errors: list[Notice] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    unchanged: int = 0
    late: list[str] = field(default_factory=list)
    drift_kept: list[str] = field(default_factory=list)
    recorded: Mapping[str, frozenset[str]] = field(default_factory=dict)
    allow_adopt_mail: bool = False


def _where(meeting: Meeting) -> str | None:
    return f"{meeting.source.path}:{meeting.source.line}" if meeting.source else None


def build_plan(
    desired: Sequence[Meeting],
    observed: Sequence[ObservedMeeting],
    *,
    now: datetime,
    policy: PlanPolicy,
    capabilities: Capabilities,
    backend: str,
    namespace: str,
    allow_mass_cancel: bool = False,
    allow_late: bool = False,
    unavailable: Mapping[str, str] | None = None,
    previous: Mapping[str, Sequence[ObservedMeeting]] | None = None,
    recorded: Mapping[str, frozenset[str]] | None = None,
    unmanaged: Sequence[ObservedMeeting] = (),
    allow_adopt_mail: bool = False,
) -> Plan:
    """Compare desired meetings with the managed items observed; see the module docstring.

    `unavailable` maps each mailbox that could not be read to the reason; `previous` holds the
    items found under each of `previous_namespaces` (namespace -> items), which may be adopted;
    `recorded` holds, by mailbox, the meeting ids the last apply left there (from the mailbox's
    namespace item), so a meeting missing now was removed outside git; `unmanaged` holds the
    organizers' meetings that carry no marker, which a file may adopt.
    """
    b = _Builder(now, policy, capabilities, recorded=recorded or {}, allow_adopt_mail=allow_adopt_mail)
    unreadable = {mailbox.lower(): reason for mailbox, reason in (unavailable or {}).items()}
    held = [m for m in desired if m.organizer in unreadable]
    planned = [m for m in desired if m.organizer not in unreadable]
    # Ids a file for an unreadable mailbox declares: never cancelled elsewhere as if deleted.
    held_ids = {i for m in held for i in (m.id, *m.moved_from)}
    by_id = _index(observed)
    earlier = {ns: _index(items) for ns, items in sorted((previous or {}).items())}
    claimed: set[str] = set()
    # Own ids first, moved_from second, so matching never depends on the order of the files.
    matched = {m.id: _take(by_id, claimed, (m.id,)) for m in planned}
    unmatched: list[Meeting] = []
    for meeting in planned:
        item = matched[meeting.id] or _take(by_id, claimed, meeting.moved_from)
        namespace_before = None
        if item is None:
            namespace_before, item = _take_earlier(earlier, claimed, (meeting.id, *meeting.moved_from))
        if item is None and unmanaged and meeting.cancelled is None and not meeting.release:
            unmatched.append(meeting)
            continue
        _plan_meeting(meeting, item, b, previous_namespace=namespace_before)
    found, ambiguous = adoption.match_unmanaged(unmatched, unmanaged)
    b.errors.extend(ambiguous)
    for meeting in unmatched:
        item = found.get(meeting.id)
        _plan_meeting(meeting, item, b, previous_namespace=UNMANAGED if item is not None else None)
    declared = {m.id for m in planned if m.cancelled is None}
    for meeting_id, items in sorted(by_id.items()):
        for index, orphan in enumerate(items):
            if orphan.item_id not in claimed and meeting_id not in held_ids:
                _plan_orphan(orphan, b, duplicate=index > 0 or meeting_id in declared)
    _leave_earlier(earlier, claimed, b)
    cancels = sum(1 for c in b.changes if c.action is Action.CANCEL)
    if cancels > policy.max_cancellations and not allow_mass_cancel:
        b.errors.append(TooManyCancellations(cancels, policy.max_cancellations))
    if b.late and not allow_late and policy.min_notice is not None:
        b.errors.append(LateChanges(tuple(sorted(b.late)), policy.min_notice))
    _note_responses(b, observed, allow_mass_cancel)
    changes = sorted(b.changes, key=lambda c: (c.organizer, c.meeting_id, c.action.value))
    budget = send_budget(changes, policy.send_limits)
    b.errors += budget_errors(budget)
    b.warnings += budget_warnings(budget)
    return Plan(
        backend=backend,
        namespace=namespace,
        created_at=now.isoformat(),
        changes=tuple(changes),
        unchanged=b.unchanged,
        errors=tuple(sorted(b.errors, key=order_key)),
        warnings=tuple(sorted(b.warnings, key=order_key)),
        unavailable=tuple(
            UnavailableMailbox(mailbox, reason, tuple(sorted(m.id for m in held if m.organizer == mailbox)))
            for mailbox, reason in sorted(unreadable.items())
        ),
        drift_kept=tuple(sorted(b.drift_kept)),
        budget=budget,
    )


def _note_responses(b: _Builder, observed: Sequence[ObservedMeeting], allow_mass_cancel: bool) -> None:
    """Put the item's answers on each change that writes or cancels it, warn about rooms that
    declined a meeting that has not ended, and refuse cancelling a meeting at least
    `policy.protect_accepted` people accepted unless allowed. Answers never change what is written."""
    items = {o.item_id: o for o in observed}
    threshold = b.policy.protect_accepted
    for index, change in enumerate(b.changes):
        item = items.get(change.item_id or "")
        if item is None:
            continue
        value = counts(item.responses, time_changes=bool(change.changed_names & _TIMING_FIELDS))
        b.changes[index] = replace(change, responses=value)
        guarded = change.action is Action.CANCEL and threshold is not None and not allow_mass_cancel
        if guarded and threshold is not None and value.accepted >= threshold:
            b.errors.append(ProtectedByAcceptances(change.meeting_id, value.accepted_by, threshold))
    for item in observed:
        declined = item.responses.declined_rooms()
        if declined and not has_ended(item.fields, b.now):
            b.warnings.extend(RoomDeclined(item.meeting_id, room) for room in declined)


def _index(observed: Sequence[ObservedMeeting]) -> dict[str, list[ObservedMeeting]]:
    """Items by meeting id, each list oldest start first (the first is the original, the rest duplicates)."""
    by_id: dict[str, list[ObservedMeeting]] = defaultdict(list)
    for item in sorted(observed, key=lambda o: (o.starts_at_utc, o.item_id)):
        by_id[item.meeting_id].append(item)
    return by_id


def _take_earlier(
    earlier: Mapping[str, Mapping[str, list[ObservedMeeting]]], claimed: set[str], candidate_ids: Sequence[str]
) -> tuple[str | None, ObservedMeeting | None]:
    """The first unclaimed item of a previous namespace carrying one of these ids, now claimed."""
    for namespace, by_id in earlier.items():
        item = _take(by_id, claimed, candidate_ids)
        if item is not None:
            return namespace, item
    return None, None


def _leave_earlier(earlier: Mapping[str, Mapping[str, list[ObservedMeeting]]], claimed: set[str], b: _Builder) -> None:
    """Items of previous namespaces that no file claims are not ours yet: left alone, reported.
    A new meeting identical to one of them (organizer, subject, start) is probably its copy."""
    creates = {
        (c.organizer, c.subject, c.desired.start): c.meeting_id
        for c in b.changes
        if c.action is Action.CREATE and c.desired is not None
    }
    for namespace, by_id in earlier.items():
        for items in by_id.values():
            for item in items:
                if item.item_id in claimed or has_ended(item.fields, b.now):
                    continue
                b.warnings.append(PreviousNamespaceItemLeft(item.meeting_id, namespace, item.organizer))
                twin = creates.get((item.organizer, item.fields.subject, item.fields.start))
                if twin is not None:
                    b.warnings.append(PreviousNamespaceTwin(twin, namespace, item.meeting_id))


def _late(change: Change, states: Sequence[MeetingState | None], b: _Builder) -> Change:
    """`change` marked late when it mails attendees and the meeting's next occurrence (before or
    after the change) starts within `policy.min_notice`; a change that mails nobody is never late."""
    notice = b.policy.min_notice
    if notice is None or not change.notifications:
        return change
    starts = [s for s in (next_start_utc(f, b.now) for f in states if f) if s is not None]
    if not starts or min(starts) - b.now >= notice:
        return change
    b.late.append(change.meeting_id)
    warning = LateChange(change.meeting_id, min(starts), notice)
    return replace(change, late=True, warnings=(*change.warnings, warning))


def _take(
    by_id: Mapping[str, list[ObservedMeeting]], claimed: set[str], candidate_ids: Sequence[str]
) -> ObservedMeeting | None:
    """The first unclaimed item carrying one of these ids, now claimed."""
    for candidate_id in candidate_ids:
        for item in by_id.get(candidate_id, ()):
            if item.item_id in claimed:
                continue
            claimed.add(item.item_id)
            return item
    return None


def _plan_meeting(
    meeting: Meeting, item: ObservedMeeting | None, b: _Builder, *, previous_namespace: str | None = None
) -> None:
    desired = meeting_state(meeting)
    common: dict[str, Any] = {
        "meeting_id": meeting.id,
        "organizer": meeting.organizer,
        "subject": meeting.subject,
        "source": _where(meeting),
    }
    if meeting.cancelled is not None:
        if item is None or has_ended(item.fields, b.now):
            b.unchanged += 1
            return
        _retire(item, b, comment=meeting.cancelled or None, source=_where(meeting))
        return
    if meeting.release:
        _release(meeting, item, b, previous_namespace)
        return
    if item is None:
        _plan_create(meeting, desired, common, b)
        return
    if item.organizer != meeting.organizer:
        b.errors.append(OrganizerChanged(meeting.id, item.organizer, meeting.organizer))
        return
    if has_ended(item.fields, b.now):
        b.unchanged += 1
        return
    if has_ended(desired, b.now):
        b.warnings.append(MovedIntoPast(meeting.id))
        b.unchanged += 1
        return
    seen = item.fields if previous_namespace != UNMANAGED else adoption.with_file_body(item.fields, desired)
    fields = diff_fields(align_override_bodies(seen, desired), desired)
    applied = item.last_applied
    drift = tuple(f.name for f in fields if applied is not None and applied.value_of(f.name) != f.before)
    warnings: tuple[Notice, ...] = ()
    if drift and b.policy.drift == "warn":
        b.drift_kept.append(meeting.id)
        warnings = (DriftKept(meeting.id, drift),)
        fields = tuple(f for f in fields if f.name not in drift)
        drift = ()
    if {f.name for f in fields} & _TIMING_FIELDS:
        warnings += tuple(dst_warnings(meeting.id, desired, b.policy.attendee_timezones, b.now))
    warnings += _online_meeting_warnings(meeting.id, fields)
    moved = item.meeting_id != meeting.id
    if not fields and not moved and previous_namespace is None:
        b.unchanged += 1
        b.warnings.extend(warnings)
        return
    changed = frozenset(f.name for f in fields)
    writes = update_writes(desired, fields)
    effects = series_effects(item.fields, desired, changed, writes, b.now)
    action = Action.MOVE if moved else Action.UPDATE
    if previous_namespace == UNMANAGED:
        action = Action.ADOPT
        effects = (UnmanagedAdoption(b.capabilities.silent_organizer_fields), *effects)
        warnings = (AdoptedUnmanaged(meeting.id, adoption.unmanaged_item(item)), *warnings)
        if not fields and not b.capabilities.silent_organizer_fields and not b.allow_adopt_mail:
            b.errors.append(AdoptMailNeeded(meeting.id, b.capabilities.title))
    elif previous_namespace is not None:
        action = Action.ADOPT
        effects = (NamespaceRewrite(previous_namespace, b.capabilities.silent_organizer_fields), *effects)
    change = Change(
        action,
        **common,
        fields=fields,
        item_id=item.item_id,
        change_key=item.change_key,
        desired=desired,
        previous_id=item.meeting_id,
        drift=drift,
        warnings=warnings,
        notifications=notify.for_update(item.fields, desired, changed, b.capabilities, writes),
        effects=effects,
        writes=writes,
        previous_namespace=previous_namespace,
    )
    b.changes.append(_late(change, (item.fields, desired), b))


def update_writes(desired: MeetingState, fields: Sequence[FieldChange]) -> SeriesEdits:
    """The writes of an update that changes `fields` to reach `desired`, from the item as the write
    sees it: the observed value of each field it changes, the desired value of every other (equal
    to the item's, or drift left as it is)."""
    before = dataclasses.replace(desired, **{f.name: f.before for f in fields})  # type: ignore[arg-type]
    return series_edits(before, desired, {f.name for f in fields})


def _release(meeting: Meeting, item: ObservedMeeting | None, b: _Builder, previous_namespace: str | None) -> None:
    """Remove our marker from the item so it stays in every calendar, unmanaged."""
    if item is None or has_ended(item.fields, b.now):
        if item is None:
            b.warnings.append(NothingToRelease(meeting.id))
        b.unchanged += 1
        return
    b.changes.append(
        Change(
            Action.RELEASE,
            **_item_common(item),
            source=_where(meeting),
            previous_id=item.meeting_id,
            previous_namespace=previous_namespace,
            # Only the marker is written; the series keeps its skips and overrides as they are.
            notifications=notify.for_update(
                item.fields, item.fields, frozenset(), b.capabilities, series_edits(item.fields, item.fields, ())
            ),
            effects=(MarkerRemoval(b.capabilities.silent_organizer_fields), FileMayBeDeleted()),
        )
    )


def _plan_create(meeting: Meeting, desired: MeetingState, common: Mapping[str, Any], b: _Builder) -> None:
    """A meeting without an item: created, unless it already ended; a meeting the last apply left
    in this mailbox (`b.recorded`) was removed outside git, and the plan says so."""
    if has_ended(desired, b.now):
        b.warnings.append(AlreadyEnded(meeting.id))
        b.unchanged += 1
        return
    known = b.recorded.get(meeting.organizer, frozenset())
    recreated = any(i in known for i in (meeting.id, *meeting.moved_from))
    if recreated and b.policy.drift == "warn":
        b.drift_kept.append(meeting.id)
        b.warnings.append(RemovedOutsideGitKept(meeting.id))
        b.unchanged += 1
        return
    warnings: tuple[Notice, ...] = tuple(dst_warnings(meeting.id, desired, b.policy.attendee_timezones, b.now))
    if recreated:
        warnings = (Recreated(meeting.id), *warnings)
    writes = creation_edits(desired)
    b.changes.append(
        Change(
            Action.CREATE,
            **common,
            fields=diff_fields(None, desired),
            desired=desired,
            notifications=notify.for_create(desired, writes),
            effects=series_effects(None, desired, (), writes, b.now),
            writes=writes,
            warnings=warnings,
            recreated=recreated,
        )
    )


def with_foreign_lookalikes(plan: Plan, foreign: Mapping[str, Sequence[ForeignItem]]) -> Plan:
    """`plan` with a warning on every create identical (subject and start) to an item that another
    namespace's marker claims in the same mailbox (`foreign`, by mailbox), and one plan warning.

    Changing `namespace` without `previous_namespaces` makes every meeting look new: the plan would
    invite everyone a second time and leave the old items unmanaged. The planner cannot know that
    the namespace changed, but a calendar full of identical meetings under another namespace says so.
    """
    by_key = {
        (organizer, item.subject, item.starts_at_utc): item for organizer, items in foreign.items() for item in items
    }
    changes: list[Change] = []
    namespaces: set[str] = set()
    count = 0
    for change in plan.changes:
        twin = None
        if change.action is Action.CREATE and change.desired is not None:
            twin = by_key.get((change.organizer, change.subject, span_utc(change.desired)[0]))
        if twin is None:
            changes.append(change)
            continue
        count, namespaces = count + 1, namespaces | {twin.namespace}
        warning = ForeignLookalike(change.meeting_id, change.organizer, twin.namespace, twin.meeting_id or None)
        changes.append(replace(change, warnings=(*change.warnings, warning)))
    if not count:
        return plan
    summary = ForeignLookalikes(count, tuple(sorted(namespaces)))
    return replace(plan, changes=tuple(changes), warnings=tuple(sorted((*plan.warnings, summary), key=order_key)))


def _online_meeting_warnings(meeting_id: str, fields: Sequence[FieldChange]) -> tuple[Notice, ...]:
    """Turning a Teams meeting off takes its join link away from everyone who was invited.

    Exchange keeps the online meeting only while its join block stays in the body (Graph's event
    update notes: removing the meeting blob disables the online meeting), so a reviewer must see it.
    """
    online = next((f for f in fields if f.name == "online_meeting"), None)
    if online is None or not online.before or online.after:
        return ()
    return (OnlineMeetingOff(meeting_id),)


def _plan_orphan(item: ObservedMeeting, b: _Builder, *, duplicate: bool) -> None:
    """An item no meeting file claims: a duplicate, a deleted file, or a released meeting."""
    if has_ended(item.fields, b.now):
        return
    if duplicate:
        change = Change(
            Action.CANCEL,
            **_item_common(item),
            notifications=notify.for_cancel(item.fields, None),
            warnings=(DuplicateItem(item.meeting_id, item.starts_at_utc),),
        )
        b.changes.append(_late(change, (item.fields,), b))
        return
    if not b.policy.prune:
        b.warnings.append(FileDeletedKept(item.meeting_id))
        return
    if item.protect:
        b.errors.append(ProtectedFileDeleted(item.meeting_id))
        return
    _retire(item, b, comment=None, source=None)


def _item_common(item: ObservedMeeting) -> dict[str, Any]:
    """Change fields that identify an observed item (its own organizer and id, not a file's)."""
    return {
        "meeting_id": item.meeting_id,
        "organizer": item.organizer,
        "subject": item.fields.subject,
        "item_id": item.item_id,
        "change_key": item.change_key,
    }


def _retire(item: ObservedMeeting, b: _Builder, *, comment: str | None, source: str | None) -> None:
    """Cancel an item, or end it if it is a series that has started (past occurrences stay)."""
    if item.fields.recurrence is not None and has_started(item.fields, b.now):
        _end_series(item, b)
        return
    change = Change(
        Action.CANCEL,
        **_item_common(item),
        source=source,
        comment=comment,
        notifications=notify.for_cancel(item.fields, comment),
    )
    b.changes.append(_late(change, (item.fields,), b))


def _end_series(item: ObservedMeeting, b: _Builder) -> None:
    """Cut a started series after its last occurrence that started before now."""
    timezone = item.fields.timezone
    now_local = b.now.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    last_started = None
    for start in occurrence_starts(item.fields):
        if start > now_local:
            break
        last_started = start
    assert last_started is not None  # has_started() held
    until = last_started.date()
    assert item.fields.recurrence is not None  # _retire checked
    recurrence = dataclasses.replace(item.fields.recurrence, until=until, count=None)
    # Skips and overrides after the new end are no longer occurrences of the series.
    desired = dataclasses.replace(
        item.fields,
        recurrence=recurrence,
        skip=tuple(d for d in item.fields.skip if d <= until),
        overrides=tuple(o for o in item.fields.overrides if o.date <= until),
    )
    fields = diff_fields(item.fields, desired)
    changed = frozenset(f.name for f in fields)
    writes = update_writes(desired, fields)
    change = Change(
        Action.UPDATE,
        **_item_common(item),
        fields=fields,
        desired=desired,
        previous_id=item.meeting_id,
        warnings=(SeriesEnded(item.meeting_id, last_started.date()),),
        notifications=notify.for_update(item.fields, desired, changed, b.capabilities, writes),
        effects=series_effects(item.fields, desired, changed, writes, b.now),
        writes=writes,
    )
    b.changes.append(_late(change, (item.fields, desired), b))
