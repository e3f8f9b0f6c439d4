"""The sandbox's "what did this person receive" query, over its sent-mail log."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.store import MailboxStore
from reconciler.model import PROP_MEETING_ID, MailKind, extended_property_id
from reconciler.received import ReceivedMail

_MEETING_ID = extended_property_id(PROP_MEETING_ID)


def received_mail(store_path: Path, address: str) -> tuple[ReceivedMail, ...]:
    """The meeting mail `address` (any case) received in the sandbox at `store_path`, oldest first.

    A sandbox that does not exist yet has delivered nothing; it is not created by asking.
    """
    if not store_path.exists():
        return ()
    store = MailboxStore(store_path)
    try:
        return tuple(
            ReceivedMail(
                kind=MailKind(m.kind),
                subject=m.subject,
                organizer=m.organizer,
                meeting_id=m.extended.get(_MEETING_ID),
                start=m.start,
                end=m.end,
                timezone=m.timezone,
                occurrence=m.occurrence,
                comment=m.comment,
                sent_at=m.sent_at,
            )
            for m in store.mail(address)
        )
    finally:
        store.close()
