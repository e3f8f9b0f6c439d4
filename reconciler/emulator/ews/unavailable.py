"""The EWS emulator's unavailable-mailbox layer: a mailbox marked with `store.set_unavailable`."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reconciler.emulator.ews.soap import SoapFault
from reconciler.emulator.store import MailboxStore, UnavailableReason


def refusal(store: MailboxStore, operation: ET.Element, mailbox: str | None) -> SoapFault | None:
    """The request-level fault for a mailbox marked with `store.set_unavailable`, whether it is
    named by impersonation, X-AnchorMailbox (`mailbox`) or a folder's Mailbox element. [INFER] the
    codes are Exchange's documented ResponseCodes; that they come as a SOAP fault is inferred from
    how Exchange reports other header-level problems (ErrorServerBusy)."""
    folders = operation.iterfind(".//{*}DistinguishedFolderId/{*}Mailbox/{*}EmailAddress")
    named = {e.text.strip().lower() for e in folders if e.text}
    for candidate in sorted(named | ({mailbox} if mailbox else set())):
        reason = store.unavailable(candidate)
        if reason is UnavailableReason.DENIED:
            return SoapFault("ErrorImpersonateUserDenied")
        if reason is not None:
            return SoapFault("ErrorNonExistentMailbox")
    return None
