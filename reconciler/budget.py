"""The send budget of a plan: per organizer, the messages and recipients it causes, measured
against the mailbox's sending limits (`limits.SendLimits`), and the time they impose (pure).

One message is one `notify.Notification`: mail of one kind about one meeting (or one occurrence)
to its recipients, which Exchange submits from the organizer's mailbox as one message. So an
update that also adds and removes attendees is up to three messages (update, invitation,
cancellation), and a series write that mails about each changed occurrence is one message per
occurrence. Recipients are counted per message, as the recipient rate limit counts them: a person
who gets three messages counts three times.

The apply time is the message count at the message rate: Exchange Online queues what a mailbox
submits faster than that in its Outbox, so no apply is faster; it is a lower bound, stated so the
reviewer sees that 1,000 invitations take half an hour, not seconds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.limits import SendLimits
from reconciler.model import MailKind
from reconciler.notices import MessageTooLarge, NearDailyLimit, OverDailyLimit
from reconciler.notify import Notification


class Mailing(Protocol):
    """What the budget reads of a change (`plan.Change` is one)."""

    @property
    def organizer(self) -> str: ...
    @property
    def meeting_id(self) -> str: ...
    @property
    def notifications(self) -> tuple[Notification, ...]: ...


@dataclass(frozen=True)
class OversizedMessage:
    """A message with more recipients than `SendLimits.recipients_per_message`: Exchange refuses it."""

    meeting_id: str
    kind: MailKind
    recipients: int
    occurrence: str | None = None


@dataclass(frozen=True)
class OrganizerBudget:
    """What a plan sends from one organizer's mailbox; `apply_seconds` is the time its messages
    take at the mailbox's message rate."""

    organizer: str
    messages: int
    recipients: int
    apply_seconds: int
    oversized: tuple[OversizedMessage, ...] = ()


@dataclass(frozen=True)
class SendBudget:
    """The limits a plan was measured against and, per organizer who sends mail (sorted), its budget."""

    limits: SendLimits = field(default_factory=SendLimits)
    organizers: tuple[OrganizerBudget, ...] = ()

    def for_organizer(self, organizer: str) -> OrganizerBudget | None:
        return next((b for b in self.organizers if b.organizer == organizer), None)


def apply_seconds(messages: int, limits: SendLimits) -> int:
    """Seconds `messages` take at `limits.messages_per_minute` (rounded up)."""
    return math.ceil(messages * 60 / limits.messages_per_minute)


def send_budget(changes: Iterable[Mailing], limits: SendLimits) -> SendBudget:
    """The budget of these changes: every organizer who sends at least one message."""
    mail: dict[str, list[tuple[str, Notification]]] = defaultdict(list)
    for change in changes:
        mail[change.organizer] += [(change.meeting_id, n) for n in change.notifications if n.recipients]
    organizers = []
    for organizer, messages in sorted(mail.items()):
        if not messages:
            continue
        oversized = tuple(
            OversizedMessage(meeting_id, n.kind, len(n.recipients), n.occurrence)
            for meeting_id, n in messages
            if len(n.recipients) > limits.recipients_per_message
        )
        organizers.append(
            OrganizerBudget(
                organizer=organizer,
                messages=len(messages),
                recipients=sum(len(n.recipients) for _, n in messages),
                apply_seconds=apply_seconds(len(messages), limits),
                oversized=oversized,
            )
        )
    return SendBudget(limits, tuple(organizers))


def over_daily_limit(budget: SendBudget) -> tuple[OrganizerBudget, ...]:
    """Organizers whose recipients exceed the daily recipient limit: the plan cannot be applied."""
    return tuple(b for b in budget.organizers if b.recipients > budget.limits.recipients_per_day)


def near_daily_limit(budget: SendBudget) -> tuple[OrganizerBudget, ...]:
    """Organizers above `warn_at_percent` of the daily recipient limit, but within it."""
    limits = budget.limits
    threshold = limits.recipients_per_day * limits.warn_at_percent / 100
    return tuple(b for b in budget.organizers if threshold < b.recipients <= limits.recipients_per_day)


def budget_errors(budget: SendBudget) -> tuple[OverDailyLimit | MessageTooLarge, ...]:
    """A plan error per organizer over the daily limit and per message over the per-message limit."""
    limits = budget.limits
    over: list[OverDailyLimit | MessageTooLarge] = [
        OverDailyLimit(b.organizer, b.recipients, limits.recipients_per_day) for b in over_daily_limit(budget)
    ]
    over += [
        MessageTooLarge(m.meeting_id, b.organizer, m.kind, m.occurrence, m.recipients, limits.recipients_per_message)
        for b in budget.organizers
        for m in b.oversized
    ]
    return tuple(over)


def budget_warnings(budget: SendBudget) -> tuple[NearDailyLimit, ...]:
    """A plan warning per organizer above `warn_at_percent` of the daily recipient limit."""
    return tuple(
        NearDailyLimit(b.organizer, b.recipients, budget.limits.recipients_per_day) for b in near_daily_limit(budget)
    )
