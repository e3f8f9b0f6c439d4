"""What one person received: the meeting mail the sandbox delivered (pure values; the query is
`providers.sandbox_mail`, the wording is in `render/`)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model import MailKind


@dataclass(frozen=True)
class ReceivedMail:
    """One meeting message as the sandbox's sent-mail log holds it.

    `start` and `end` are the meeting's local times in `timezone`, as ISO 8601 text exactly as the
    store wrote them (shown as written, never re-formatted); `occurrence` is the date of the one
    occurrence the message is about (None: the whole meeting); `meeting_id` is None for an item
    that carries no id of ours.
    """

    kind: MailKind
    subject: str
    organizer: str
    meeting_id: str | None
    start: str
    end: str
    timezone: str
    occurrence: str | None
    comment: str | None
    sent_at: str
