"""The captured EWS samples in `tests/wire/real/ews/` (sources in `../SOURCES.md`) and a loopback
server that answers exchangelib with them.

The samples are stored verbatim. `KNOWN_ARTIFACTS` is the one list of what is rewritten before
exchangelib or the emulator sees a sample, each with its reason; nothing else is touched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.emulator.server import Request, Response, serve

CORPUS = Path(__file__).parent / "ews"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"

#: (found in a sample, what is used instead, why)
KNOWN_ARTIFACTS = (
    (
        b"https://schemas.xmlsoap.org/soap/envelope/",
        b"http://schemas.xmlsoap.org/soap/envelope/",
        "Microsoft's EWS how-to articles print the SOAP envelope namespace with https; servers and clients "
        "use http (the same articles' own ServerVersionInfo lines use http for the types namespace).",
    ),
)


def captured(name: str) -> bytes:
    """The sample `name` (without `.xml`), with `KNOWN_ARTIFACTS` rewritten."""
    raw = (CORPUS / f"{name}.xml").read_bytes()
    for found, used, _ in KNOWN_ARTIFACTS:
        raw = raw.replace(found, used)
    return raw


def names(suffix: str) -> list[str]:
    """Sample names ending in `suffix` (`.request`, `.response`), sorted."""
    return sorted(p.stem for p in CORPUS.glob(f"*{suffix}.xml"))


def operation_of(body: bytes) -> str:
    """The SOAP operation of a request (the first child of s:Body), e.g. `GetItem`."""
    envelope = ET.fromstring(body)
    soap_body = envelope.find(f"{{{SOAP}}}Body")
    assert soap_body is not None and len(soap_body), "no SOAP body"
    return soap_body[0].tag.rsplit("}", 1)[-1]


@dataclass
class CannedEws:
    """Answers each SOAP operation with one captured response (HTTP 200) and records requests."""

    answers: Mapping[str, bytes]
    seen: list[str] = field(default_factory=list)

    def handle(self, request: Request) -> Response:
        operation = operation_of(request.body)
        self.seen.append(operation)
        return Response(200, {"Content-Type": "text/xml; charset=utf-8"}, self.answers[operation])


@contextmanager
def canned_account(answers: Mapping[str, bytes], mailbox: str) -> Iterator[tuple[Any, CannedEws]]:
    """An exchangelib Account for `mailbox` whose requests are answered from `answers` over loopback
    HTTP, with the provider's properties registered (as `EwsProvider` does)."""
    from exchangelib import DELEGATE, Account, Build, Configuration, EWSTimeZone, Version
    from exchangelib.protocol import close_connections
    from exchangelib.transport import NOAUTH

    from reconciler.providers.ews import sdk

    sdk.register_properties()
    canned = CannedEws(answers)
    with serve(canned) as running:
        config = Configuration(
            service_endpoint=running.base_url + "/EWS/Exchange.asmx",
            auth_type=NOAUTH,
            version=Version(build=Build(15, 1)),
        )
        account = Account(
            mailbox, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=EWSTimeZone("UTC")
        )
        try:
            yield account, canned
        finally:
            close_connections()
