"""Fixtures for the EWS tests: the emulator on loopback (with a request recorder), a provider
talking to it with the real exchangelib, and raw SOAP helpers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator.ews_app import ENDPOINT_PATH, EwsApp
from reconciler.emulator.server import Request, Response, serve
from reconciler.emulator.store import MailboxStore
from reconciler.model import Meeting, canonical_fields
from reconciler.providers.base import CreateRequest
from reconciler.providers.ews import EwsProvider
from tests.contract.backends.ews import ews_provider
from tests.factories import ORGANIZER

NAMESPACE = "ews-tests"

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"


@dataclass
class Recorder:
    """Passes requests to the app and remembers each one's SOAP operation and body."""

    app: EwsApp
    requests: list[tuple[str, bytes]] = field(default_factory=list)

    def handle(self, request: Request) -> Response:
        try:
            body = ET.fromstring(request.body).find(f"{{{S}}}Body")
            operation = body[0].tag.rsplit("}", 1)[-1] if body is not None and len(body) else "?"
        except ET.ParseError:
            operation = "?"
        self.requests.append((operation, request.body))
        return self.app.handle(request)

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.requests]

    def bodies(self, operation: str) -> list[ET.Element]:
        return [ET.fromstring(body) for name, body in self.requests if name == operation]

    def clear(self) -> None:
        self.requests.clear()


@dataclass
class Emulator:
    url: str
    store: MailboxStore
    recorder: Recorder
    sleeps: list[float] = field(default_factory=list)

    def provider(self, **options: Any) -> EwsProvider:
        return ews_provider(self.url, sleep=self.sleeps.append, **options)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailboxStore]:
    mailbox_store = MailboxStore(tmp_path / "store.db")
    yield mailbox_store
    mailbox_store.close()


@pytest.fixture
def emulator(store: MailboxStore) -> Iterator[Emulator]:
    recorder = Recorder(EwsApp(store))
    with serve(recorder) as running:
        yield Emulator(running.base_url + ENDPOINT_PATH, store, recorder)


@pytest.fixture
def provider(emulator: Emulator) -> Iterator[EwsProvider]:
    ews = emulator.provider()
    yield ews
    ews.close()


def create_request(desired: Meeting, namespace: str = NAMESPACE) -> CreateRequest:
    return CreateRequest(namespace, desired.organizer, desired.id, canonical_fields(desired), f"tx-{desired.id}")


def soap(body: str, *, header: str = "") -> str:
    """A SOAP envelope around `body` (m: and t: prefixes declared)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{S}" xmlns:m="{M}" xmlns:t="{T}">'
        f'<s:Header><t:RequestServerVersion Version="Exchange2016"/>{header}</s:Header>'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )


def post(url: str, body: str, *, header: str = "", mailbox: str = ORGANIZER, **headers: str) -> httpx.Response:
    sent = {"Content-Type": "text/xml; charset=utf-8", "X-AnchorMailbox": mailbox} | headers
    return httpx.post(url, content=soap(body, header=header).encode(), headers=sent, timeout=10)


def parse(response: httpx.Response) -> ET.Element:
    return ET.fromstring(response.content)


def messages(response: httpx.Response) -> list[ET.Element]:
    """The `m:*ResponseMessage` elements of an answer."""
    return parse(response).findall(f"{{{S}}}Body/*/{{{M}}}ResponseMessages/*")


def code(message: ET.Element) -> str:
    return message.findtext(f"{{{M}}}ResponseCode") or ""
