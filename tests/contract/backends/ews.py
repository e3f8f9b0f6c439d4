"""The EWS backend for the contract suite: EwsProvider (real exchangelib) -> EWS emulator over
loopback HTTP -> the shared mailbox store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator.ews.app import endpoint, serve_ews
from reconciler.emulator.store import MailboxStore
from reconciler.providers.ews import EwsProvider
from tests.contract.backends.harness import Backend, Seen
from tests.contract.backends.outlook import EwsOutlook

#: The contract's "lose the answer of the next write" for each Provider operation, as EWS sees it.
WIRE_OPERATIONS = {"create": "CreateItem", "update": "UpdateItem", "cancel": "CancelCalendarItem"}


def ews_provider(url: str, **options: Any) -> EwsProvider:
    """A provider for an emulator endpoint: Basic auth over loopback, Exchange 2016 schema; `options`
    are the provider's other keyword arguments."""
    return EwsProvider(url, auth="basic", username="svc-meetings@contoso.com", password="loopback", **options)


def calendar_view(url: str, organizer: str, start: datetime, end: datetime) -> list[Seen]:
    """FindItem with a CalendarView through exchangelib (singles, occurrences and exceptions)."""
    from exchangelib import (
        BASIC,
        DELEGATE,
        Account,
        Build,
        Configuration,
        Credentials,
        EWSDateTime,
        EWSTimeZone,
        Version,
    )

    config = Configuration(
        service_endpoint=url,
        credentials=Credentials("svc-meetings@contoso.com", "loopback"),
        auth_type=BASIC,
        version=Version(build=Build(15, 1)),
    )
    account = Account(
        organizer, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=EWSTimeZone("UTC")
    )
    window = account.calendar.view(start=EWSDateTime.from_datetime(start), end=EWSDateTime.from_datetime(end))

    def utc(value: datetime) -> datetime:
        return datetime.fromtimestamp(value.timestamp(), UTC)

    return sorted(
        (utc(item.start), utc(item.end), item.subject or "") for item in window.only("start", "end", "subject")
    )


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
                view=lambda organizer, start, end: calendar_view(endpoint(running), organizer, start, end),
                outlook=EwsOutlook(endpoint(running)),
            )
        finally:
            provider.close()
