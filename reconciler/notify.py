"""Which mail each change causes, and for whom, given the backend's capabilities (pure).

Exchange sends the mail; this module predicts it so the plan can say who will receive what, and
providers use `update_scope` to choose the write that mails the fewest people:

* create: an invitation to every attendee (required, optional, rooms);
* cancel: a cancellation, with the comment, to every attendee;
* update touching attendee-visible fields: an update to every attendee who stays, an invitation
  to each added one and a cancellation to each removed one;
* update touching only attendee lists: only the added (invitation) and removed (cancellation);
* update touching only organizer-only fields (or only our record, as for a move): no mail where
  the backend can write them silently, otherwise an update to every attendee;
* a series is written in the steps the planner decided (`occurrences.SeriesEdits`, passed in, never
  recomputed here); each occurrence write mails that
  occurrence's attendees about that occurrence only (a cancellation; or an update, invitations and
  cancellations by the rules above, where only `required`/`optional` count as attendee lists). On
  a backend whose master update also mails each changed occurrence it keeps (Graph), a master
  write that mails everyone adds one update per such occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from reconciler.model import ATTENDEE_FIELDS, ORGANIZER_ONLY_FIELDS, MailKind
from reconciler.occurrences import (
    EditKind,
    OccurrenceEdit,
    SeriesEdits,
    occurrence_fields,
    override_dates,
    with_override,
)
from reconciler.port import Capabilities
from reconciler.state import MeetingState, OverrideState


class UpdateScope(StrEnum):
    """Who an update has to reach."""

    SILENT = "silent"  # organizer-only fields
    ATTENDEES_ONLY = "attendees-only"  # only attendee lists changed
    EVERYONE = "everyone"  # something attendees see changed


@dataclass(frozen=True)
class Notification:
    """Mail of one kind to a sorted set of recipients; `occurrence` (an original date) when it
    concerns one occurrence of a series rather than the whole meeting."""

    kind: MailKind
    recipients: tuple[str, ...]
    comment: str | None = None
    occurrence: str | None = None


def update_scope(changed: Iterable[str], *, silent_organizer_fields: bool = True) -> UpdateScope:
    """The narrowest scope an update of these canonical fields can have.

    On a backend that cannot write organizer-only fields silently (Graph), writing one mails
    everyone, so it widens an attendee-only update to EVERYONE: one write then mails each person
    once, where two writes would mail those who stay an extra update.
    """
    names = set(changed)
    quiet = ORGANIZER_ONLY_FIELDS if silent_organizer_fields else frozenset()
    if names - ATTENDEE_FIELDS - quiet:
        return UpdateScope.EVERYONE
    if names & ATTENDEE_FIELDS:
        return UpdateScope.ATTENDEES_ONLY
    return UpdateScope.SILENT


def _notice(
    kind: MailKind, recipients: Iterable[str], comment: str | None = None, occurrence: str | None = None
) -> list[Notification]:
    ordered = tuple(sorted(set(recipients)))
    return [Notification(kind, ordered, comment, occurrence)] if ordered else []


def for_create(fields: MeetingState, edits: SeriesEdits) -> tuple[Notification, ...]:
    """Invitations to everyone; a new series' skips and overrides are then written occurrence by
    occurrence (`edits`: Exchange creates a series without exceptions), each with its own mail."""
    notices = _notice(MailKind.INVITATION, fields.attendees)
    for edit in edits.edits:
        notices += _occurrence_notices(fields, edits, edit)
    return tuple(notices)


def for_cancel(fields: MeetingState, comment: str | None) -> tuple[Notification, ...]:
    return tuple(_notice(MailKind.CANCELLATION, fields.attendees, comment))


def for_update(
    before: MeetingState,
    after: MeetingState,
    changed: Iterable[str],
    capabilities: Capabilities,
    edits: SeriesEdits,
) -> tuple[Notification, ...]:
    """Mail caused by writing `changed` fields in the steps `edits` so the item goes from `before`
    to `after`."""
    names = frozenset(changed)
    master = edits.master_fields(names)
    master_write = bool(master) or not names  # no names: a move, which writes only our record
    notices = list(_master_notices(before, after, master, capabilities)) if master_write else []
    if (
        edits.base_overrides
        and capabilities.series_update_mails_exceptions
        and master_write
        and _mails_everyone(master, capabilities)
    ):
        for day in sorted(override_dates(edits.base_overrides)):
            attendees = _attendees(after, occurrence_fields(after, day, edits.base_overrides))
            notices += _notice(MailKind.UPDATE, attendees, occurrence=day)
    for edit in edits.edits:
        notices += _occurrence_notices(after, edits, edit)
    return tuple(notices)


def _mails_everyone(master: frozenset[str], capabilities: Capabilities) -> bool:
    scope = update_scope(master, silent_organizer_fields=capabilities.silent_organizer_fields)
    return scope is UpdateScope.EVERYONE or (scope is UpdateScope.SILENT and not capabilities.silent_organizer_fields)


def _master_notices(
    before: MeetingState, after: MeetingState, changed: frozenset[str], capabilities: Capabilities
) -> list[Notification]:
    scope = update_scope(changed, silent_organizer_fields=capabilities.silent_organizer_fields)
    old, new = before.attendees, after.attendees
    if scope is UpdateScope.SILENT and capabilities.silent_organizer_fields:
        return []
    # SILENT on a loud backend: only our record is written (a move), which Graph may still mail.
    staying = old & new if scope is not UpdateScope.ATTENDEES_ONLY else frozenset()
    return (
        _notice(MailKind.INVITATION, new - old)
        + _notice(MailKind.UPDATE, staying)
        + _notice(MailKind.CANCELLATION, old - new)
    )


def _attendees(series: MeetingState, occurrence: OverrideState) -> frozenset[str]:
    """Every mail recipient of one occurrence of `series`: its attendee lists and the series' rooms."""
    return frozenset((*(occurrence.required or ()), *(occurrence.optional or ()), *series.rooms))


def occurrence_scope(edit: OccurrenceEdit) -> UpdateScope:
    """Who an occurrence CHANGE has to reach: only its attendee lists, or everyone."""
    return UpdateScope.ATTENDEES_ONLY if edit.keys <= {"required", "optional"} else UpdateScope.EVERYONE


def _occurrence_notices(after: MeetingState, edits: SeriesEdits, edit: OccurrenceEdit) -> list[Notification]:
    """Mail of one occurrence write, made after the master write (overrides as in `edits.base_overrides`)."""
    current = occurrence_fields(after, edit.date, edits.base_overrides)
    if edit.kind is EditKind.CANCEL:
        return _notice(MailKind.CANCELLATION, _attendees(after, current), occurrence=edit.date)
    old, new = _attendees(after, current), _attendees(after, with_override(current, edit.written))
    staying = old & new if occurrence_scope(edit) is UpdateScope.EVERYONE else frozenset()
    return (
        _notice(MailKind.INVITATION, new - old, occurrence=edit.date)
        + _notice(MailKind.UPDATE, staying, occurrence=edit.date)
        + _notice(MailKind.CANCELLATION, old - new, occurrence=edit.date)
    )
