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

from reconciler.emulator.ews.app import ENDPOINT_PATH, EwsApp
from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.server import Request, Response, serve
from reconciler.emulator.store import MailboxStore
from reconciler.model import FIELD_ORDER, Meeting
from reconciler.occurrences import creation_edits, series_edits
from reconciler.port import CreateRequest, UpdateRequest
from reconciler.providers.ews import EwsProvider
from reconciler.state import meeting_state
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

    @property
    def faults(self) -> FaultPlan:
        """Where the tests queue the emulator's faults (`faults.inject("ews", ...)`)."""
        return self.recorder.app.faults

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
    fields = meeting_state(desired)
    return CreateRequest(namespace, desired.organizer, desired.id, fields, f"tx-{desired.id}", creation_edits(fields))


def update_request(
    provider: EwsProvider, before: Meeting, after: Meeting, *, previous: str | None = None
) -> UpdateRequest:
    (observed,) = [o for o in provider.list_managed(ORGANIZER, NAMESPACE) if o.meeting_id == (previous or before.id)]
    old, new = meeting_state(before), meeting_state(after)
    changed = frozenset(name for name in FIELD_ORDER if new.value_of(name) != old.value_of(name))
    return UpdateRequest(
        NAMESPACE,
        ORGANIZER,
        after.id,
        observed.item_id,
        observed.change_key,
        new,
        changed,
        previous or before.id,
        series_edits(observed.fields, new, changed),
    )


def set_fields(emulator: Emulator) -> list[str]:
    """The properties the last UpdateItem set or deleted (FieldURI, or the extended property's name)."""
    (root,) = emulator.recorder.bodies("UpdateItem")[-1:]
    paths = []
    for update in root.iter():
        if update.tag in (f"{{{T}}}SetItemField", f"{{{T}}}DeleteItemField"):
            uri = update[0]
            paths.append(uri.get("FieldURI") or uri.get("PropertyName") or "?")
    return paths


def send_mode(emulator: Emulator) -> str:
    (root,) = emulator.recorder.bodies("UpdateItem")[-1:]
    (operation,) = root.iter("{http://schemas.microsoft.com/exchange/services/2006/messages}UpdateItem")
    return operation.get("SendMeetingInvitationsOrCancellations", "")


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


# -- raw SOAP requests ---------------------------------------------------------------------------

CALENDAR = (
    '<t:DistinguishedFolderId Id="calendar"><t:Mailbox><t:EmailAddress>lead@contoso.com</t:EmailAddress>'
    "</t:Mailbox></t:DistinguishedFolderId>"
)
PROPERTY = (
    '<t:ExtendedFieldURI PropertySetId="8F3C6A52-5D1E-4D55-9A44-0B7A7E1C2F31" '
    'PropertyName="MeetingsAsCode.Namespace" PropertyType="String"/>'
)


def calendar_item(
    subject: str = "Sync",
    *,
    start: str = "2026-12-01T10:00:00+01:00",
    end: str = "2026-12-01T10:30:00+01:00",
    zone: str = "W. Europe Standard Time",
    attendees: tuple[str, ...] = ("alice@contoso.com", "bob@contoso.com"),
    namespace: str | None = "soap",
    extra: str = "",
) -> str:
    people = "".join(
        f"<t:Attendee><t:Mailbox><t:EmailAddress>{a}</t:EmailAddress></t:Mailbox></t:Attendee>" for a in attendees
    )
    marker = f"<t:ExtendedProperty>{PROPERTY}<t:Value>{namespace}</t:Value></t:ExtendedProperty>" if namespace else ""
    return (
        f"<t:CalendarItem><t:Subject>{subject}</t:Subject>{marker}<t:Start>{start}</t:Start><t:End>{end}</t:End>"
        f"<t:RequiredAttendees>{people}</t:RequiredAttendees>{extra}"
        f'<t:StartTimeZone Id="{zone}"/><t:EndTimeZone Id="{zone}"/></t:CalendarItem>'
    )


def create(url: str, *items: str, send: str = "SendToAllAndSaveCopy") -> list[tuple[str, str]]:
    answer = post(
        url,
        f'<m:CreateItem MessageDisposition="SaveOnly" SendMeetingInvitations="{send}">'
        f"<m:SavedItemFolderId>{CALENDAR}</m:SavedItemFolderId><m:Items>{''.join(items)}</m:Items></m:CreateItem>",
    )
    assert answer.status_code == 200
    ids = []
    for message in messages(answer):
        assert code(message) == "NoError", message.findtext(f"{{{M}}}MessageText")
        item_id = message.find(f"{{{M}}}Items/{{{T}}}CalendarItem/{{{T}}}ItemId")
        assert item_id is not None
        ids.append((item_id.get("Id", ""), item_id.get("ChangeKey", "")))
    return ids


def find(url: str, view: str, restriction: str = "", shape: str = "") -> httpx.Response:
    return post(
        url,
        f'<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>{shape}</m:ItemShape>'
        f"{view}{restriction}<m:ParentFolderIds>{CALENDAR}</m:ParentFolderIds></m:FindItem>",
    )


def update(url: str, item_id: str, change_key: str, updates: str, *, send: str | None = "SendToAllAndSaveCopy",
           resolution: str = "NeverOverwrite") -> httpx.Response:  # fmt: skip
    mode = f' SendMeetingInvitationsOrCancellations="{send}"' if send else ""
    return post(
        url,
        f'<m:UpdateItem ConflictResolution="{resolution}" MessageDisposition="SaveOnly"{mode}><m:ItemChanges>'
        f'<t:ItemChange><t:ItemId Id="{item_id}" ChangeKey="{change_key}"/><t:Updates>{updates}</t:Updates>'
        "</t:ItemChange></m:ItemChanges></m:UpdateItem>",
    )
