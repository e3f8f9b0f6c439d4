"""Which mail each change causes, and for whom, given the backend's capabilities (pure).

Exchange sends the mail; this module predicts it so the plan can say who will receive what, and
providers use `update_scope` to choose the write that mails the fewest people:

* create: an invitation to every attendee (required, optional, rooms);
* cancel: a cancellation, with the comment, to every attendee;
* update touching attendee-visible fields: an update to every attendee who stays, an invitation
  to each added one and a cancellation to each removed one;
* update touching only attendee lists: only the added (invitation) and removed (cancellation);
* update touching only organizer-only fields (or only our record, as for a move): no mail where
  the backend can write them silently, otherwise an update to every attendee.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.model import ATTENDEE_FIELDS, ORGANIZER_ONLY_FIELDS, MailKind, attendees_of
from reconciler.providers.base import Capabilities


class UpdateScope(StrEnum):
    """Who an update has to reach."""

    SILENT = "silent"  # organizer-only fields
    ATTENDEES_ONLY = "attendees-only"  # only attendee lists changed
    EVERYONE = "everyone"  # something attendees see changed


@dataclass(frozen=True)
class Notification:
    """Mail of one kind to a sorted set of recipients."""

    kind: MailKind
    recipients: tuple[str, ...]
    comment: str | None = None


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


def _notice(kind: MailKind, recipients: Iterable[str], comment: str | None = None) -> list[Notification]:
    ordered = tuple(sorted(set(recipients)))
    return [Notification(kind, ordered, comment)] if ordered else []


def for_create(fields: Mapping[str, Any]) -> tuple[Notification, ...]:
    return tuple(_notice(MailKind.INVITATION, attendees_of(fields)))


def for_cancel(fields: Mapping[str, Any], comment: str | None) -> tuple[Notification, ...]:
    return tuple(_notice(MailKind.CANCELLATION, attendees_of(fields), comment))


def for_update(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    changed: Iterable[str],
    capabilities: Capabilities,
) -> tuple[Notification, ...]:
    """Mail caused by writing `changed` fields so the item goes from `before` to `after`."""
    scope = update_scope(changed, silent_organizer_fields=capabilities.silent_organizer_fields)
    old, new = attendees_of(before), attendees_of(after)
    if scope is UpdateScope.SILENT and capabilities.silent_organizer_fields:
        return ()
    # SILENT on a loud backend: only our record is written (a move), which Graph may still mail.
    staying = old & new if scope is not UpdateScope.ATTENDEES_ONLY else frozenset()
    return tuple(
        _notice(MailKind.INVITATION, new - old)
        + _notice(MailKind.UPDATE, staying)
        + _notice(MailKind.CANCELLATION, old - new)
    )
