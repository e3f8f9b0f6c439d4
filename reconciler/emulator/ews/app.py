"""The EWS SOAP endpoint over the mailbox store: `POST /EWS/Exchange.asmx`.

Dispatch is on the first child of `s:Body` (clients send no SOAPAction). Operations: GetFolder,
CreateItem (calendar items and CancelCalendarItem), FindItem (IndexedPageItemView or CalendarView,
Restriction, SortOrder), GetItem, UpdateItem, DeleteItem and ConvertId. Anything else is answered
with the SOAP fault Exchange gives for a request it cannot read (ErrorInvalidRequest).

Mail follows the send mode of each write (store rules): SendToNone mails nobody; SendOnlyToAll and
SendToAllAndSaveCopy mail everyone; SendOnlyToChanged and SendToChangedAndSaveCopy mail only the
attendees added or removed; CancelCalendarItem and DeleteItem with SendMeetingCancellations send
cancellations (the former with its NewBodyContent as the comment).

Single occurrences are named by an occurrence ItemId (stable when the occurrence becomes an
exception) or an OccurrenceItemId (InstanceIndex: the position in the pattern, deleted occurrences
counted). UpdateItem, DeleteItem and CancelCalendarItem on one change, delete or cancel only it
(`store.update_occurrence`, `store.cancel_occurrence`) and mail only about it. Its attendees and
pattern cannot be set (ErrorInvalidPropertySet), nor can it move to or past a neighbour's day
(ErrorOccurrenceCrossingBoundary).

Injected faults (`app.faults.inject("ews", <operation>, <kind>, **params)`; the operation is the
SOAP operation name, or "CancelCalendarItem" for a CreateItem that cancels):

================== ==================================================================================
server-busy        HTTP 500 SOAP fault ErrorServerBusy with BackOffMilliseconds (`back_off_ms`)
server-busy-message HTTP 200, response message ErrorServerBusy with BackOffMilliseconds
http-503           HTTP 503 with Retry-After (`retry_after` seconds)
http-429           HTTP 429 with Retry-After (`retry_after` seconds)
http-502           HTTP 502 with nginx's default error page, as a reverse proxy sends when Exchange
                   fails (optional `retry_after`; `commit=True` does the work first)
http-504           HTTP 504 with nginx's default error page, as a proxy sends when it gives up waiting
                   (same parameters)
unauthorized       HTTP 401 with WWW-Authenticate (an expired or revoked token)
slow               sleep `seconds`, then answer normally
timeout-after-commit  do the work, then drop the connection (or sleep `seconds` and answer late)
================== ==================================================================================

The app is a stack of layers composed in `EwsApp.handle`, in this order: the endpoint's path and
method; authentication (`auth`); the SOAP envelope; unavailable mailboxes (`unavailable`); fault
injection before the work (`injection`); dispatch on the operation name (`operations.Operations.table`,
where a new operation is added); fault injection after the work. `handle(request) -> Response`
stays the one entry point, so wrappers (recorders, pacing) compose.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator.ews import unavailable
from reconciler.emulator.ews.auth import Authentication
from reconciler.emulator.ews.injection import XML, EwsFaults
from reconciler.emulator.ews.operations import Context, Operations
from reconciler.emulator.ews.soap import SoapFault, child, envelope, fault, local
from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.server import Request, Response, RunningServer, serve
from reconciler.emulator.store import MailboxStore

ENDPOINT_PATH = "/EWS/Exchange.asmx"


class EwsApp:
    """The EWS endpoint; see the module docstring.

    `users` (Basic: name -> password) and `tokens` (Bearer) switch authentication on; without them
    every request is accepted, as with NTLM done by a front end. `sleep` is what slow faults call.
    `clock` is accepted for symmetry with the other apps; item times are stamped by the store's clock.
    """

    def __init__(
        self,
        store: MailboxStore,
        *,
        clock: Callable[[], datetime] | None = None,
        users: Mapping[str, str] | None = None,
        tokens: Collection[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        faults: FaultPlan | None = None,
    ) -> None:
        self.store = store
        #: Where tests queue faults for this app (`faults.inject("ews", ...)`).
        self.faults = faults if faults is not None else FaultPlan()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._auth = Authentication(users, tokens)
        self._injection = EwsFaults(self.faults, sleep, self._auth.unauthorised)
        self._operations = Operations(store)

    def handle(self, request: Request) -> Response:
        path = request.target.split("?", 1)[0]
        if path.lower() != ENDPOINT_PATH.lower():
            return Response(404, {"Content-Type": "text/plain"}, b"Not found.")
        if request.method != "POST":
            return Response(405, {"Allow": "POST", "Content-Type": "text/plain"}, b"Method not allowed.")
        authorised, user = self._auth.check(request)
        if not authorised:
            return self._auth.unauthorised()
        try:
            root = ET.fromstring(request.body)
        except ET.ParseError as problem:
            return _fault(SoapFault("ErrorSchemaValidation", f"The request failed schema validation: {problem}."))
        body = child(root, "Body")
        header = child(root, "Header")
        if local(root) != "Envelope" or body is None or len(body) == 0:
            return _fault(SoapFault("ErrorSchemaValidation", "The request failed schema validation: no SOAP body."))
        operation = body[0]
        name = local(operation)
        context = Context(header, request, user)
        refused = unavailable.refusal(self.store, operation, context.mailbox)
        if refused is not None:
            return _fault(refused)
        injected = self._injection.take(name, operation)
        if injected is not None:
            early = self._injection.before(injected, name)
            if early is not None:
                return early
        handler = self._operations.table.get(name)
        if handler is None:
            return _fault(SoapFault("ErrorInvalidRequest", f"The request is invalid: {name} is not supported."))
        try:
            answer = envelope(handler(operation, context))
        except SoapFault as problem:
            return _fault(problem)
        late = self._injection.after(injected) if injected is not None else None
        return late if late is not None else Response(200, XML, answer)


def _fault(problem: SoapFault) -> Response:
    return Response(500, XML, fault(problem))


@contextmanager
def serve_ews(
    store: MailboxStore, *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> Iterator[RunningServer]:
    """Serve the EWS emulator on loopback; the endpoint is `<base_url>/EWS/Exchange.asmx`."""
    with serve(EwsApp(store, **options), host=host, port=port) as running:
        yield running


def endpoint(running: RunningServer) -> str:
    return running.base_url + ENDPOINT_PATH
