"""The Graph emulator's unavailable-mailbox layer: a mailbox marked with `store.set_unavailable`
answers every request with Graph's error for the reason."""

from __future__ import annotations

from reconciler.emulator.graph.odata import ODataError
from reconciler.emulator.store import MailboxStore, UnavailableReason


def refusal(store: MailboxStore, mailbox: str) -> ODataError | None:
    """What Graph answers for every request to a mailbox it cannot serve (reference notes F.2):
    404 ErrorInvalidUser for an unknown user, 404 MailboxNotEnabledForRESTAPI for an unlicensed or
    on-premises mailbox, 403 ErrorAccessDenied "Access to OData is disabled." when an application
    access policy keeps the app out; None when the mailbox is served."""
    reason = store.unavailable(mailbox)
    if reason is None:
        return None
    if reason is UnavailableReason.MISSING:
        return ODataError(404, "ErrorInvalidUser", f"The requested user '{mailbox}' is invalid.")
    if reason is UnavailableReason.NOT_ENABLED:
        return ODataError(
            404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
        )
    return ODataError(403, "ErrorAccessDenied", "Access to OData is disabled.")
