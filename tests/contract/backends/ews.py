"""The EWS backend for the contract suite: EwsProvider (real exchangelib) -> EWS emulator over
loopback HTTP -> the shared mailbox store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from reconciler.emulator.ews.app import endpoint, serve_ews
from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.store import MailboxStore
from reconciler.people import Response
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


#: CreateItem's answer element for each response (the AcceptItem, TentativelyAcceptItem and
#: DeclineItem references in MicrosoftDocs/office-developer-exchange-docs).
_ANSWERS = {
    Response.ACCEPTED: "AcceptItem",
    Response.TENTATIVE: "TentativelyAcceptItem",
    Response.DECLINED: "DeclineItem",
}


def answer(url: str, attendee: str, item_id: str, response: Response) -> None:
    """CreateItem (SendAndSaveCopy) with the answer element, impersonating the attendee."""
    envelope = f"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
    xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header>
    <t:RequestServerVersion Version="Exchange2016"/>
    <t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{attendee}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>
  </soap:Header>
  <soap:Body>
    <m:CreateItem MessageDisposition="SendAndSaveCopy">
      <m:Items><t:{_ANSWERS[response]}><t:ReferenceItemId Id="{item_id}"/></t:{_ANSWERS[response]}></m:Items>
    </m:CreateItem>
  </soap:Body>
</soap:Envelope>"""
    with httpx.Client(trust_env=False, timeout=10) as client:
        answered = client.post(url, content=envelope.encode(), headers={"Content-Type": "text/xml; charset=utf-8"})
    assert answered.status_code == 200 and 'ResponseClass="Success"' in answered.text, answered.text


@contextmanager
def ews_backend(store: MailboxStore) -> Iterator[Backend]:
    faults = FaultPlan()
    with serve_ews(store, faults=faults) as running:
        provider = ews_provider(endpoint(running))
        try:
            yield Backend(
                name="ews",
                provider=provider,
                store=store,
                lose_next_answer=lambda operation: faults.inject(
                    "ews", WIRE_OPERATIONS[operation], "timeout-after-commit"
                ),
                view=lambda organizer, start, end: calendar_view(endpoint(running), organizer, start, end),
                outlook=EwsOutlook(endpoint(running)),
                respond=lambda attendee, item_id, response: answer(endpoint(running), attendee, item_id, response),
            )
        finally:
            provider.close()
