"""The Graph v1.0 calendar endpoints GraphProvider uses, over the shared mailbox store.

Routes (under `/v1.0/users/{id or UPN}`, also `.../calendar/events` and `.../calendars/{id}/events`;
path segments percent-decoded, the UPN case-insensitive, `//` collapsed)::

    GET    events                 list: $filter (extended-property subset), $expand, $select, $top, $skip
    POST   events                 create (transactionId de-duplicated; invitations to all attendees)
    GET    events/{id}            one event ($select, $expand); a series master also returns
                                  cancelledOccurrences when selected, and exceptionOccurrences when
                                  selected and expanded
    PATCH  events/{id}            update (If-Match -> 412 when stale)
    DELETE events/{id}            delete (the organizer's attendees get a cancellation)
    POST   events/{id}/cancel     cancel with a comment (202)
    GET    events/{id}/instances  a master's occurrences and exceptions in a window (startDateTime,
                                  endDateTime required), paged like the list
    GET    calendarView           singles, occurrences and exceptions in a window, paged
    GET    outlook/supportedTimeZones
    POST   /v1.0/$batch           up to 20 of the requests above, each served as if sent alone
                                  (`batch`: its own limits, faults and status; 424 after a failed
                                  `dependsOn`)

Event ids are Graph REST ids (`ids`: URL-safe base64, about 150 characters, `AAMkA...`) over the
store's own ids; `url_safe_ids=False` answers them in the EWS alphabet instead (`/`, `+`) for tests
of a client's path encoding. An online (Teams) meeting gets its join details and the join block in
its body when it becomes online (`teams`).

`{id}` may be an occurrence's id (from instances or calendarView, see `instances`): GET reads it,
PATCH makes it an exception, POST cancel and DELETE cancel that occurrence alone. Occurrences carry
the master's change key, and If-Match on their writes is compared with it.

Mail follows reference/graph.md section D through the store's send modes: a create with attendees
invites everyone; a PATCH whose body holds only `attendees` mails only the added and removed
attendees; a PATCH with any other property (extended properties and organizer-only fields included:
the conservative default, since Graph documents no quiet path for them) sends an update to everyone;
cancel and delete send cancellations. The same holds for one occurrence, mailing that occurrence's
attendees about it. A master PATCH that mails everyone also sends, for each changed occurrence the
series keeps, an update about that occurrence to its attendees ("one for the master plus one per
modified instance"); a PATCH that rewrites the pattern drops every changed and cancelled occurrence.

The app is a stack of layers, each a module of its own, composed in `GraphApp._serve` (and, for
the `$batch` envelope, `GraphApp._batch`), in this order:

1. routing (`routes`): method and path -> operation, mailbox and event id; 400/405 otherwise;
2. unavailable mailboxes (`unavailable`): a mailbox marked with `store.set_unavailable` answers
   every request with Graph's error for the reason;
3. throttling (`throttle`, `GraphLimits`): per mailbox 4 requests in flight and 10,000 per 10
   minutes (Outlook's, for one app), over which the answer is 429 `ApplicationThrottled` with an
   integer `Retry-After`;
4. recording (`recording`): `stats` (`GraphStats`) and `requests` (method, target, headers, body of
   the latest 10,000 HTTP requests) for tests that look at the wire;
5. fault injection (`injection`): the app's fault plan, `app.faults.inject("graph", <operation>,
   <kind>, times=N, retry_after=S)` (operations and kinds in `injection`; occurrence writes count
   as `update`, `cancel` and `delete`), and `failure_rate` random faults of `failure_kinds`;
6. dispatch (`handlers`): the operation's handler over the store, which answers or raises the
   ODataError the app renders (`responses`).

`handle(request) -> Response` stays the one entry point, so wrappers (pacing, counting) compose.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator.faults import Fault, FaultPlan
from reconciler.emulator.graph import batch, unavailable
from reconciler.emulator.graph.handlers import Handlers
from reconciler.emulator.graph.injection import GraphFaults, after_commit, dropped, fault_error
from reconciler.emulator.graph.odata import ODataError
from reconciler.emulator.graph.recording import GraphStats, RecordedRequest, Recorder
from reconciler.emulator.graph.responses import error_response, json_response
from reconciler.emulator.graph.routes import resolve
from reconciler.emulator.graph.throttle import GraphLimits, Throttle
from reconciler.emulator.server import Request, Response, serve
from reconciler.emulator.store import MailboxStore

_OUTLOOK_LIMITS = GraphLimits()

__all__ = ["GraphApp", "GraphLimits", "GraphServer", "GraphStats", "RecordedRequest", "serve_graph"]


class GraphApp:
    """A Graph v1.0 calendar emulator; `handle` serves one HTTP request (see the module docstring)."""

    def __init__(
        self,
        store: MailboxStore,
        *,
        clock: Callable[[], datetime] | None = None,
        limits: GraphLimits = _OUTLOOK_LIMITS,
        failure_rate: float = 0.0,
        seed: int | None = None,
        failure_kinds: Sequence[str] = ("429", "503", "504"),
        url_safe_ids: bool = True,
        faults: FaultPlan | None = None,
    ) -> None:
        self.store = store
        self.limits = limits
        self._clock = clock or (lambda: datetime.now(UTC))
        self._recorder = Recorder()
        #: Where tests queue faults for this app (`faults.inject("graph", ...)`).
        self.faults = faults if faults is not None else FaultPlan()
        self._injection = GraphFaults(
            self.faults,
            self._recorder.fault,
            failure_rate=failure_rate,
            seed=seed,
            failure_kinds=failure_kinds,
        )
        self._throttle = Throttle(limits, self._clock, self._recorder.throttled)
        self._handlers = Handlers(store, page_size=limits.default_page_size, url_safe_ids=url_safe_ids)

    @property
    def stats(self) -> GraphStats:
        return self._recorder.stats

    @property
    def requests(self) -> Sequence[RecordedRequest]:
        """The latest requests served (the last 10,000), oldest first."""
        return self._recorder.requests

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        if batch.is_batch(request):
            return self._batch(request, request_id)
        return self._serve(request, request_id)

    def _batch(self, request: Request, request_id: str) -> Response:
        """`POST $batch` (see `batch`): recorded and faulted as the operation `batch` (never
        throttled itself); each request inside is served by `_serve` on its own."""
        self._recorder.served(request, "batch")
        fault = self._injection.take("batch")
        if fault is not None and not after_commit(fault):
            return self._fault_response(fault, request, request_id)
        try:
            answer = batch.serve_batch(request, lambda inner: self._serve(inner, str(uuid.uuid4()), batched=True))
        except ODataError as error:
            return self._error(error, request, request_id)
        except batch.Dropped:
            return Response(0, drop_connection=True)
        if fault is not None:
            return self._fault_response(fault, request, request_id)  # served, but the answer is lost
        return json_response(200, answer, request, request_id)

    def _serve(self, request: Request, request_id: str, *, batched: bool = False) -> Response:
        """One request, sent alone or (`batched`) inside a `$batch`, through the layers of the
        module docstring: the limits, faults and operation counts apply alike."""
        try:
            route = resolve(request)
            refused = unavailable.refusal(self.store, route.mailbox)
            if refused is not None:
                raise refused
            with self._throttle.admitted(route.mailbox):
                self._recorder.served(request, route.operation, batched=batched)
                fault = self._injection.take(route.operation)
                if fault is not None and not after_commit(fault):
                    return self._fault_response(fault, request, request_id)
                response = self._handlers.dispatch(route, request, request_id)
                if fault is not None and response.status < 400:
                    return self._fault_response(fault, request, request_id)
                return response
        except ODataError as error:
            return self._error(error, request, request_id)

    def _fault_response(self, fault: Fault, request: Request, request_id: str) -> Response:
        if dropped(fault):
            return Response(0, drop_connection=True)
        return self._error(fault_error(fault, self.limits.retry_after_seconds), request, request_id)

    def _error(self, error: ODataError, request: Request, request_id: str) -> Response:
        return error_response(error, request, request_id, self._clock)


@dataclass(frozen=True)
class GraphServer:
    """A running emulator: `base_url` is the server (`http://127.0.0.1:<port>`), `graph_url` the
    Graph root a client is pointed at (`<base_url>/v1.0`)."""

    base_url: str
    app: GraphApp

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"


@contextmanager
def serve_graph(
    store: MailboxStore, *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> Iterator[GraphServer]:
    """Serve a `GraphApp(store, **options)` on loopback until the context exits (port 0: a free one)."""
    app = GraphApp(store, **options)
    with serve(app, host=host, port=port) as running:
        yield GraphServer(running.base_url, app)
