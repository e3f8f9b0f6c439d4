"""The EWS backend for the contract suite: EwsProvider (real exchangelib) -> EWS emulator over
loopback HTTP -> the shared mailbox store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.emulator.ews_app import endpoint, serve_ews
from reconciler.emulator.store import MailboxStore
from reconciler.providers.ews import EwsProvider
from tests.contract.backends.harness import Backend

#: The contract's "lose the answer of the next write" for each Provider operation, as EWS sees it.
WIRE_OPERATIONS = {"create": "CreateItem", "update": "UpdateItem", "cancel": "CancelCalendarItem"}


def ews_provider(url: str, **options: object) -> EwsProvider:
    """A provider for an emulator endpoint: Basic auth over loopback, Exchange 2016 schema."""
    settings: dict[str, object] = {"auth": "basic", "username": "svc-meetings@contoso.com", "password": "loopback"}
    settings |= options
    return EwsProvider(url, **settings)  # type: ignore[arg-type]


@contextmanager
def ews_backend(store: MailboxStore) -> Iterator[Backend]:
    with serve_ews(store) as running:
        provider = ews_provider(endpoint(running))
        try:
            yield Backend(
                name="ews",
                provider=provider,
                store=store,
                lose_next_answer=lambda operation: store.inject_fault(
                    "ews", WIRE_OPERATIONS[operation], "timeout-after-commit"
                ),
            )
        finally:
            provider.close()
