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

Limits per mailbox (Outlook's, for one app): 4 requests in flight and 10,000 per 10 minutes, over
which the answer is 429 `ApplicationThrottled` with an integer `Retry-After`. Faults come from
the app's fault plan, `app.faults.inject("graph", <operation>, <kind>, times=N, retry_after=S)`, with operations `list`,
`get`, `create`, `update`, `delete`, `cancel`, `instances`, `calendarview` and `batch` (or `*`;
occurrence writes count as `update`, `cancel` and `delete`; `batch` is the envelope itself, the
requests inside take the faults of their own operations) and kinds `429`, `503`, `500`, `412`
(spurious change-key conflict), `401`/`403` (token refused, access denied), `504` (before commit),
`504-after-commit`, `drop` (connection closed before commit), `drop-after-commit` and `delay`
(answer normally after `seconds`, holding the request in flight); `failure_rate` adds random faults
of `failure_kinds`. A mailbox marked with `store.set_unavailable` answers every request with
Graph's error for the reason (see `_unavailable`). Every request served is kept in `requests`
(method, target, headers, body) for tests that look at the wire.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from reconciler.emulator import series
from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.graph import batch, events, ids, instances, people, render
from reconciler.emulator.graph.odata import (
    ODataError,
    compile_event_filter,
    evaluate_select,
    parse_expand,
    parse_prefer,
)
from reconciler.emulator.server import Request, Response, serve
from reconciler.emulator.store import (
    ItemNotFound,
    MailboxStore,
    OccurrenceCancelled,
    OccurrenceNotFound,
    SendMode,
    StaleChangeKey,
    StoredItem,
    UnavailableReason,
)

_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
_FAULT_KINDS = (
    "429",
    "503",
    "500",
    "412",
    "401",
    "403",
    "504",
    "504-after-commit",
    "drop",
    "drop-after-commit",
    "delay",
)


@dataclass(frozen=True)
class GraphLimits:
    """Outlook's throttling limits per app and mailbox, and the emulator's paging default."""

    max_concurrent: int = 4
    max_requests: int = 10_000
    window_seconds: float = 600.0
    default_page_size: int = 10
    #: `Retry-After` of injected 429/503 faults unless the fault says otherwise.
    retry_after_seconds: int = 1


@dataclass
class GraphStats:
    """What the emulator served: HTTP requests by method (a `$batch` is one), operations (each
    request inside a batch too), and throttled answers."""

    by_method: Counter[str] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    #: Requests served inside a `$batch` (counted in `by_operation`, not in `by_method`).
    batched: int = 0
    throttled: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.by_method.values())


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it (header names lower-cased)."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class _Route:
    mailbox: str
    operation: str  # list | create | get | update | delete | cancel | instances | calendarview | timezones
    event_id: str | None = None
    path: str = ""


#: Operations that read: `Prefer: outlook.timezone` applies to them.
_READS = frozenset({"list", "get", "instances", "calendarview"})
_T = TypeVar("_T")
#: An event of a calendar view: (UTC start, position of its item in the mailbox, its renderer).
_Entry = tuple[datetime, int, Callable[[], dict[str, Any]]]


class GraphApp:
    """A Graph v1.0 calendar emulator; `handle` serves one HTTP request (see the module docstring)."""

    def __init__(
        self,
        store: MailboxStore,
        *,
        clock: Callable[[], datetime] | None = None,
        limits: GraphLimits = GraphLimits(),
        failure_rate: float = 0.0,
        seed: int | None = None,
        failure_kinds: Sequence[str] = ("429", "503", "504"),
        url_safe_ids: bool = True,
        faults: FaultPlan | None = None,
    ) -> None:
        unknown = set(failure_kinds) - set(_FAULT_KINDS)
        if unknown:
            raise ValueError(f"Unknown fault kinds: {sorted(unknown)}.")
        self.store = store
        #: Where tests queue faults for this app (`faults.inject("graph", ...)`).
        self.faults = faults if faults is not None else FaultPlan()
        self.limits = limits
        self.failure_rate = failure_rate
        self.failure_kinds = tuple(failure_kinds)
        #: False: event ids in the EWS alphabet (`/`, `+`), to test that clients encode them in paths.
        self.url_safe_ids = url_safe_ids
        self.stats = GraphStats()
        #: The latest requests served (the last 10,000), oldest first.
        self.requests: deque[RecordedRequest] = deque(maxlen=10_000)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._recent: defaultdict[str, deque[float]] = defaultdict(deque)

    # -- entry point -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        if batch.is_batch(request):
            return self._batch(request, request_id)
        return self._serve(request, request_id)

    def _batch(self, request: Request, request_id: str) -> Response:
        """`POST $batch` (see `batch`): each request inside is served by `_serve` on its own."""
        with self._lock:
            self.stats.by_method[request.method] += 1
            self.stats.by_operation["batch"] += 1
            self.requests.append(RecordedRequest(request.method, request.target, request.headers, request.body))
        fault = self._fault("batch")
        if fault is not None and fault[0] == "delay":
            time.sleep(float(fault[1].get("seconds", 1.0)))
        elif fault is not None and not fault[0].endswith("after-commit"):
            return self._fault_response(fault, request, request_id)
        try:
            answer = batch.serve_batch(request, lambda inner: self._serve(inner, str(uuid.uuid4()), batched=True))
        except ODataError as error:
            return self._error(error, request, request_id)
        except batch.Dropped:
            return Response(0, drop_connection=True)
        if fault is not None and fault[0].endswith("after-commit"):
            return self._fault_response(fault, request, request_id)  # served, but the answer is lost
        headers = self._headers(request, request_id) | {"Content-Type": _JSON}
        return Response(200, headers, json.dumps(answer, ensure_ascii=False).encode())

    def _serve(self, request: Request, request_id: str, *, batched: bool = False) -> Response:
        """One request, sent alone or (`batched`) inside a `$batch`: the limits, faults and
        operation counts apply alike; only a request sent alone is an HTTP request of its own
        (`stats.by_method`, `requests`)."""
        try:
            route = self._route(request)
        except ODataError as error:
            return self._error(error, request, request_id)
        blocked = self.store.unavailable(route.mailbox)
        if blocked is not None:
            return self._error(_unavailable(blocked, route.mailbox), request, request_id)
        admitted = False
        try:
            self._admit(route.mailbox)
            admitted = True
            with self._lock:
                self.stats.by_operation[route.operation] += 1
                if batched:
                    self.stats.batched += 1
                else:
                    self.stats.by_method[request.method] += 1
                    self.requests.append(RecordedRequest(request.method, request.target, request.headers, request.body))
            fault = self._fault(route.operation)
            if fault is not None and fault[0] == "delay":
                time.sleep(float(fault[1].get("seconds", 1.0)))
                fault = None
            if fault is not None and not fault[0].endswith("after-commit"):
                return self._fault_response(fault, request, request_id)
            response = self._dispatch(route, request, request_id)
            if fault is not None and response.status < 400:
                return self._fault_response(fault, request, request_id)
            return response
        except ODataError as error:
            return self._error(error, request, request_id)
        finally:
            if admitted:
                with self._lock:
                    self._in_flight[route.mailbox] -= 1

    # -- routing -------------------------------------------------------------------------------

    def _route(self, request: Request) -> _Route:
        raw_path = urlsplit(request.target).path
        segments = [unquote(s) for s in raw_path.split("/") if s]
        if not segments or segments[0] != "v1.0":
            version = segments[0] if segments else ""
            raise ODataError(400, "BadRequest", f"Invalid version: {version}")
        rest = segments[1:]
        if rest[:1] == ["me"]:
            raise ODataError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        if len(rest) < 3 or rest[0].lower() != "users":
            raise ODataError(400, "BadRequest", f"Resource not found for the segment '{rest[0] if rest else ''}'.")
        mailbox, rest = rest[1].lower(), rest[2:]
        if [s.lower() for s in rest[:2]] == ["outlook", "supportedtimezones"] or (
            rest[:1] == ["outlook"] and len(rest) == 2 and rest[1].lower().startswith("supportedtimezones")
        ):
            self._method(request, "GET")
            return _Route(mailbox, "timezones", path=raw_path)
        lowered = [s.lower() for s in rest]
        if lowered[:1] == ["calendar"]:
            rest, lowered = rest[1:], lowered[1:]
        elif lowered[:1] == ["calendars"] and len(rest) >= 2:
            rest, lowered = rest[2:], lowered[2:]
        if lowered == ["calendarview"]:
            self._method(request, "GET")
            return _Route(mailbox, "calendarview", path=raw_path)
        if lowered == ["getschedule"]:
            self._method(request, "POST")
            return _Route(mailbox, "getschedule", path=raw_path)
        if not lowered or lowered[0] != "events":
            raise ODataError(400, "BadRequest", f"Resource not found for the segment '{rest[0] if rest else ''}'.")
        if len(rest) == 1:
            operation = {"GET": "list", "POST": "create"}.get(request.method)
            if operation is None:
                raise self._not_allowed(request)
            return _Route(mailbox, operation, path=raw_path)
        event_id = rest[1]
        if len(rest) == 2:
            operation = {"GET": "get", "PATCH": "update", "DELETE": "delete"}.get(request.method)
            if operation is None:
                raise self._not_allowed(request)
            return _Route(mailbox, operation, event_id, raw_path)
        if len(rest) == 3 and lowered[2] == "cancel":
            self._method(request, "POST")
            return _Route(mailbox, "cancel", event_id, raw_path)
        if len(rest) == 3 and lowered[2] == "instances":
            self._method(request, "GET")
            return _Route(mailbox, "instances", event_id, raw_path)
        if len(rest) == 3 and lowered[2] in people.ANSWERS:
            self._method(request, "POST")
            return _Route(mailbox, lowered[2], event_id, raw_path)
        raise ODataError(400, "BadRequest", f"Resource not found for the segment '{rest[2]}'.")

    @staticmethod
    def _method(request: Request, expected: str) -> None:
        if request.method != expected:
            raise GraphApp._not_allowed(request)

    @staticmethod
    def _not_allowed(request: Request) -> ODataError:
        return ODataError(405, "Request_BadRequest", f"The HTTP method '{request.method}' is not allowed here.")

    # -- limits and faults ---------------------------------------------------------------------

    def _admit(self, mailbox: str) -> None:
        now = self._clock().timestamp()
        with self._lock:
            if self._in_flight[mailbox] >= self.limits.max_concurrent:
                self.stats.throttled += 1
                raise ODataError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    {"Retry-After": str(self.limits.retry_after_seconds)},
                )
            recent = self._recent[mailbox]
            while recent and recent[0] <= now - self.limits.window_seconds:
                recent.popleft()
            if len(recent) >= self.limits.max_requests:
                self.stats.throttled += 1
                wait = max(1, math.ceil(recent[0] + self.limits.window_seconds - now))
                raise ODataError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    {"Retry-After": str(wait)},
                )
            recent.append(now)
            self._in_flight[mailbox] += 1

    def _fault(self, operation: str) -> tuple[str, Mapping[str, Any]] | None:
        if operation == "timezones":
            return None
        fault = self.faults.take("graph", operation)
        if fault is not None:
            kind, params = fault.kind, fault.params
        else:
            with self._lock:
                if self.failure_rate <= 0 or self._random.random() >= self.failure_rate:
                    return None
                kind, params = self._random.choice(self.failure_kinds), {}
        if kind not in _FAULT_KINDS:
            raise ValueError(f"Unknown Graph fault kind {kind!r}.")
        with self._lock:
            self.stats.faults[kind] += 1
        return kind, params

    def _fault_response(self, fault: tuple[str, Mapping[str, Any]], request: Request, request_id: str) -> Response:
        kind, params = fault
        if kind.startswith("drop"):
            return Response(0, drop_connection=True)
        retry_after = {"Retry-After": str(int(params.get("retry_after", self.limits.retry_after_seconds)))}
        error = {
            "429": ODataError(
                429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", retry_after
            ),
            "503": ODataError(
                503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.", retry_after
            ),
            "500": ODataError(
                500, "ErrorInternalServerError", "An internal server error occurred. The operation failed."
            ),
            "412": ODataError(412, "ErrorIrresolvableConflict", _IRRESOLVABLE),
            "401": ODataError(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
            "403": ODataError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."),
        }.get(kind) or ODataError(504, "UnknownError", "The gateway did not receive a response in time.")
        return self._error(error, request, request_id)

    # -- operations ----------------------------------------------------------------------------

    def _dispatch(self, route: _Route, request: Request, request_id: str) -> Response:
        query = _query(request.target)
        prefer = parse_prefer(request.headers.get("prefer", ""))
        if route.operation == "timezones":
            return self._timezones(_Call(route, request, request_id, query, prefer, render.View(), False, []))
        view, applied = self._view(query, prefer, reading=route.operation in _READS)
        immutable = prefer.get("idtype", "").lower() == "immutableid"
        if immutable:
            applied.append('IdType="ImmutableId"')
        call = _Call(route, request, request_id, query, prefer, view, immutable, applied)
        if route.operation == "list":
            return self._list(call)
        if route.operation == "calendarview":
            return self._calendar_view(call)
        if route.operation == "create":
            return self._create(call)
        if route.operation == "getschedule":
            context = "http://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)"
            return self._json(200, {"@odata.context": context, **people.schedule(self.store, _body(request))}, call)
        assert route.event_id is not None
        event_id = ids.inner(route.mailbox, route.event_id)
        if event_id is None:
            raise _not_found()
        occurrence = instances.split_occurrence_id(event_id)
        if occurrence is not None:
            return self._occurrence_operation(call, *occurrence)
        if route.operation in people.ANSWERS:
            attendee_item = self._find(route.mailbox, event_id, any_mailbox=True)
            _store_write(
                lambda: people.respond(self.store, route.mailbox, attendee_item, route.operation, _body(request))
            )
            return self._empty(202, request, request_id)
        item = self._find(route.mailbox, event_id)
        if route.operation == "get":
            return self._json(200, self._render_by_id(item, call), call, etag=item.change_key)
        if route.operation == "instances":
            return self._instances(item, call)
        if_match = _if_match(request.headers.get("if-match"))
        if route.operation == "update":
            return self._update(item, call, if_match)
        if route.operation == "cancel":
            comment = events.read_cancel(_body(request))
            _store_write(lambda: self.store.cancel_item(item.item_id, comment=comment, if_change_key=if_match))
            return self._empty(202, request, request_id)
        # delete
        if if_match is not None and if_match != item.change_key:
            raise ODataError(412, "ErrorIrresolvableConflict", _IRRESOLVABLE)
        _store_write(lambda: self.store.delete_item(item.item_id, send_cancellations=True))
        return self._empty(204, request, request_id)

    def _view(
        self, query: Mapping[str, str], prefer: Mapping[str, str], *, reading: bool
    ) -> tuple[render.View, list[str]]:
        applied = []
        zone_label, zone = "UTC", "UTC"
        if reading and "outlook.timezone" in prefer:
            zone_label = prefer["outlook.timezone"]
            zone = events.accepted_zone(zone_label)
            applied.append(f'outlook.timezone="{zone_label}"')
        body_text = False
        if "outlook.body-content-type" in prefer:
            wanted = prefer["outlook.body-content-type"].lower()
            if wanted in ("text", "html"):
                body_text = wanted == "text"
                applied.append(f'outlook.body-content-type="{wanted}"')
        select = evaluate_select(query["$select"], events.EVENT_PROPERTIES) if "$select" in query else None
        expansion = parse_expand(query["$expand"]) if "$expand" in query else None
        return render.View(zone_label, zone, body_text, select, expansion, self.url_safe_ids), applied

    def _list(self, call: _Call) -> Response:
        _refuse_options(call.query, {"$filter", "$expand", "$select", "$top", "$skip", "$count"})
        predicate = compile_event_filter(call.query["$filter"]) if "$filter" in call.query else None
        items = self.store.list_items(call.route.mailbox)
        if predicate is not None:
            items = [item for item in items if predicate(render.extended_of(item))]
        return self._paged(call, items, lambda item: self._render(item, call), "events")

    def _calendar_view(self, call: _Call) -> Response:
        """Singles, occurrences and exceptions overlapping the window, by start (masters never)."""
        _refuse_options(call.query, _VIEW_OPTIONS)
        start, end = instances.read_window(call.query)
        entries: list[_Entry] = []
        for position, item in enumerate(self.store.list_items(call.route.mailbox)):
            if item.doc.get("recurrence"):
                entries += self._instance_entries(item, call, start, end, position)
                continue
            zone = str(item.doc.get("timezone") or "UTC")
            starts = series.to_utc(series.wall(item.doc["start"]), zone)
            if starts < end and series.to_utc(series.wall(item.doc["end"]), zone) > start:
                entries.append((starts, position, partial(self._render, item, call)))
        entries.sort(key=lambda entry: entry[:2])
        return self._paged(call, entries, lambda entry: entry[2](), "calendarView")

    def _instances(self, item: StoredItem, call: _Call) -> Response:
        """A master's live occurrences and exceptions overlapping the window, in pattern order."""
        _refuse_options(call.query, _VIEW_OPTIONS)
        start, end = instances.read_window(call.query)
        entries = self._instance_entries(item, call, start, end) if item.doc.get("recurrence") else []
        master_id = self._public_id(item, immutable=call.immutable)
        return self._paged(call, entries, lambda entry: entry[2](), f"events('{master_id}')/instances")

    def _instance_entries(
        self, item: StoredItem, call: _Call, start: datetime, end: datetime, position: int = 0
    ) -> list[_Entry]:
        """(UTC start, position, renderer) of each live occurrence of `item` overlapping [start, end)."""
        zone = str(item.doc.get("timezone") or "UTC")
        master_id = self._public_id(item, immutable=call.immutable)
        return [
            (
                series.to_utc(occurrence.start, zone),
                position,
                partial(self._render_instance, item, occurrence, master_id, call.view),
            )
            for occurrence in series.window(item.doc, start, end)
        ]

    def _paged(self, call: _Call, entries: Sequence[_T], render_one: Callable[[_T], Any], collection: str) -> Response:
        """One page of `entries` (`$top`/`$skip`, or `Prefer: odata.maxpagesize`), with an absolute
        `@odata.nextLink` on the emulator's own host when more follow."""
        top = _non_negative(call.query, "$top")
        skip = _non_negative(call.query, "$skip") or 0
        page_size = top
        if page_size is None and call.prefer.get("odata.maxpagesize", "").isdigit():
            page_size = int(call.prefer["odata.maxpagesize"])
            call.applied.append(f"odata.maxpagesize={page_size}")
        page_size = page_size or self.limits.default_page_size
        host = call.request.headers.get("host", "127.0.0.1")
        selected = f"({','.join(sorted(call.view.select))})" if call.view.select else ""
        body: dict[str, Any] = {
            "@odata.context": f"http://{host}/v1.0/$metadata#users('{quote(call.route.mailbox)}')/{collection}{selected}"
        }
        if call.query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(entries)
        body["value"] = [render_one(entry) for entry in entries[skip : skip + page_size]]
        if skip + page_size < len(entries):
            following = dict(call.query, **{"$skip": str(skip + page_size), "$top": str(page_size)})
            body["@odata.nextLink"] = f"http://{host}{call.route.path}?" + "&".join(
                f"{_LINK_NAMES.get(name, name)}={quote(value, safe=_LINK_SAFE)}" for name, value in following.items()
            )
        return self._json(200, body, call)

    def _create(self, call: _Call) -> Response:
        write = events.read_event(_body(call.request), None)
        doc = dict(write.changes)
        doc["extended"] = write.extended
        if write.transaction_id is not None:
            doc["transaction_id"] = write.transaction_id
        item = self.store.create_item(call.route.mailbox, doc, send=SendMode.ALL, transaction_id=write.transaction_id)
        return self._json(201, self._render(item, call), call, etag=item.change_key)

    def _update(self, item: StoredItem, call: _Call, if_match: str | None) -> Response:
        body = _body(call.request)
        while True:
            try:
                updated, send = self._write_master(item, body, if_match)
                break
            except _Raced:
                item = self._find(item.mailbox, self._public_id(item, immutable=True))
        if send is SendMode.ALL:
            updated = self._mail_exceptions(updated)
        return self._json(200, self._render(updated, call), call, etag=updated.change_key)

    def _write_master(self, item: StoredItem, body: Any, if_match: str | None) -> tuple[StoredItem, SendMode]:
        write = events.read_event(body, item.doc)
        send = _send_mode(write)
        updated = _store_write(
            lambda: self.store.update_item(
                item.item_id,
                write.changes,
                send=send,
                if_change_key=if_match or item.change_key,
                extended=write.extended,
            ),
            raced=if_match is None,
        )
        return updated, send

    def _mail_exceptions(self, item: StoredItem) -> StoredItem:
        """After a master update that mailed everyone: an update about each changed occurrence the
        series kept, to that occurrence's attendees (reference/graph.md D)."""
        for day in sorted(item.doc.get("exceptions") or {}):
            item = self.store.update_occurrence(item.item_id, day, {}, send=SendMode.ALL)
        return item

    def _timezones(self, call: _Call) -> Response:
        names = events.windows_zone_names()
        value = [{"alias": name, "displayName": name} for name in names]
        return self._json(200, {"value": value}, call)

    # -- occurrences ---------------------------------------------------------------------------

    def _occurrence_operation(self, call: _Call, master_id: str, original: date) -> Response:
        """GET, PATCH, DELETE or cancel of one occurrence, addressed by its own id."""
        item = self._find(call.route.mailbox, master_id)
        occurrence = _live_occurrence(item, original)
        if call.route.operation == "get":
            return self._json(
                200, self._render_instance(item, occurrence, master_id, call.view), call, etag=item.change_key
            )
        if call.route.operation == "instances":
            raise _not_found()
        if_match = _if_match(call.request.headers.get("if-match"))
        if call.route.operation == "update":
            return self._update_occurrence(item, call, master_id, original, if_match)
        # Cancel with a comment, or delete: the organizer's delete sends cancellations (reference B.5).
        comment = events.read_cancel(_body(call.request)) if call.route.operation == "cancel" else None
        _store_write(
            lambda: self.store.cancel_occurrence(
                item.item_id, original.isoformat(), comment=comment, if_change_key=if_match
            )
        )
        return self._empty(202 if call.route.operation == "cancel" else 204, call.request, call.request_id)

    def _update_occurrence(
        self, item: StoredItem, call: _Call, master_id: str, original: date, if_match: str | None
    ) -> Response:
        body = _body(call.request)
        while True:
            try:
                updated = self._write_occurrence(item, original, body, if_match)
                break
            except _Raced:
                item = self._find(item.mailbox, self._public_id(item, immutable=True))
        changed = _live_occurrence(updated, original)
        return self._json(
            200, self._render_instance(updated, changed, master_id, call.view), call, etag=updated.change_key
        )

    def _write_occurrence(self, item: StoredItem, original: date, body: Any, if_match: str | None) -> StoredItem:
        """Make one occurrence an exception: its times stay in the series' zone and may not cross
        a neighbour's day; mail as for a master PATCH, to that occurrence's attendees."""
        occurrence = _live_occurrence(item, original)
        write = events.read_event(body, occurrence.doc)
        changes = instances.occurrence_changes(write, occurrence, str(item.doc.get("timezone") or "UTC"))
        if "start" in changes:
            instances.check_boundary(item.doc, original, series.wall(changes["start"]))
        return _store_write(
            lambda: self.store.update_occurrence(
                item.item_id,
                original.isoformat(),
                changes,
                send=_send_mode(write),
                if_change_key=if_match or item.change_key,
            ),
            raced=if_match is None,
        )

    # -- ids and rendering ---------------------------------------------------------------------

    @staticmethod
    def _public_id(item: StoredItem, *, immutable: bool) -> str:
        """The inner id of what a client sees (`ids.rest` makes it the REST id): the immutable id,
        or the default id, which changes on a move."""
        if immutable:
            return item.item_id
        folder = b"\x01" if item.state == "active" else b"\x02"
        return base64.b64encode(b"\x01" + base64.b64decode(item.item_id) + folder).decode()

    def _find(self, mailbox: str, public_id: str, *, any_mailbox: bool = False) -> StoredItem:
        """The item a public id names in `mailbox`; with `any_mailbox`, in any calendar (an
        attendee answering on the organizer's id: the store keeps no attendee copies [INFER])."""
        item_id, folder = public_id, None
        try:
            raw = base64.b64decode(public_id, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ODataError(400, "ErrorInvalidIdMalformed", "Id is malformed.") from error
        if raw[:1] == b"\x01" and len(raw) > 2:
            item_id, folder = base64.b64encode(raw[1:-1]).decode(), raw[-1:]
        try:
            item = self.store.get_item(item_id)
        except ItemNotFound as error:
            raise _not_found() from error
        if (item.mailbox != mailbox and not any_mailbox) or (folder is not None and folder != b"\x01"):
            raise _not_found()
        return item

    def _render(self, item: StoredItem, call: _Call) -> dict[str, Any]:
        return render.event_json(item, self._public_id(item, immutable=call.immutable), call.view)

    def _render_by_id(self, item: StoredItem, call: _Call) -> dict[str, Any]:
        """An event read by its id: a series master also has `cancelledOccurrences` when selected,
        and `exceptionOccurrences` when selected and expanded (never on lists or views)."""
        public_id = self._public_id(item, immutable=call.immutable)
        master = bool(item.doc.get("recurrence"))
        select, expansion = call.view.select or frozenset(), call.view.expansion
        expanded = expansion is not None and expansion.exception_occurrences
        extra: dict[str, Any] = {}
        if master and "cancelledoccurrences" in select:
            rest_id = ids.rest(item.mailbox, public_id, url_safe=self.url_safe_ids)
            extra["cancelledOccurrences"] = instances.cancelled_ids(rest_id, item.doc)
        if master and "exceptionoccurrences" in select and expanded:
            extra["exceptionOccurrences"] = self._exception_occurrences(item, public_id, call.view)
        return render.event_json(item, public_id, call.view, extra=extra)

    def _exception_occurrences(self, item: StoredItem, master_id: str, view: render.View) -> list[dict[str, Any]]:
        """The changed occurrences of a master, with `id` and the selected properties that apply."""
        inner = replace(view, expansion=None)
        out = []
        for day in sorted(item.doc.get("exceptions") or {}):
            occurrence = series.find(item.doc, date.fromisoformat(day))
            if occurrence is not None and not occurrence.cancelled:
                rendered = self._render_instance(item, occurrence, master_id, inner)
                rendered.pop("@odata.etag", None)
                out.append(rendered)
        return out

    @staticmethod
    def _render_instance(
        item: StoredItem, occurrence: series.Occurrence, master_id: str, view: render.View
    ) -> dict[str, Any]:
        public_id = instances.occurrence_id(master_id, occurrence.original)
        return render.event_json(item, public_id, view, instance=render.Instance(occurrence, master_id))

    # -- responses -----------------------------------------------------------------------------

    def _headers(self, request: Request, request_id: str, applied: Sequence[str] = ()) -> dict[str, str]:
        headers = {
            "request-id": request_id,
            "client-request-id": request.headers.get("client-request-id", request_id),
            "Cache-Control": "no-cache",
        }
        if applied:
            headers["Preference-Applied"] = ", ".join(applied)
        return headers

    def _json(self, status: int, body: Any, call: _Call, *, etag: str | None = None) -> Response:
        headers = self._headers(call.request, call.request_id, call.applied)
        headers["Content-Type"] = _JSON
        if etag is not None:
            headers["ETag"] = f'W/"{etag}"'
        return Response(status, headers, json.dumps(body, ensure_ascii=False).encode())

    def _empty(self, status: int, request: Request, request_id: str) -> Response:
        return Response(status, self._headers(request, request_id))

    def _error(self, error: ODataError, request: Request, request_id: str) -> Response:
        headers = self._headers(request, request_id)
        headers.update(error.headers)
        headers["Content-Type"] = _JSON
        inner = {
            "date": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": headers["client-request-id"],
        }
        body = {"error": {"code": error.code, "message": error.message, "innerError": inner}}
        return Response(error.status, headers, json.dumps(body).encode())


def _unavailable(reason: UnavailableReason, mailbox: str) -> ODataError:
    """What Graph answers for every request to a mailbox it cannot serve (reference notes F.2):
    404 ErrorInvalidUser for an unknown user, 404 MailboxNotEnabledForRESTAPI for an unlicensed or
    on-premises mailbox, 403 ErrorAccessDenied "Access to OData is disabled." when an application
    access policy keeps the app out."""
    if reason is UnavailableReason.MISSING:
        return ODataError(404, "ErrorInvalidUser", f"The requested user '{mailbox}' is invalid.")
    if reason is UnavailableReason.NOT_ENABLED:
        return ODataError(
            404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
        )
    return ODataError(403, "ErrorAccessDenied", "Access to OData is disabled.")


_IRRESOLVABLE = (
    "The send or update operation could not be performed because the change key passed in the request"
    " does not match the current change key for the item."
)
_LINK_SAFE = "$,()'=:/@ "


_VIEW_OPTIONS = frozenset({"$startdatetime", "$enddatetime", "$select", "$top", "$skip", "$count"})
#: Query option names as Graph spells them in a nextLink (`_query` keys them lower-cased with `$`).
_LINK_NAMES = {"$startdatetime": "startDateTime", "$enddatetime": "endDateTime"}


@dataclass(frozen=True)
class _Call:
    """One request being served, with what every operation needs to answer it."""

    route: _Route
    request: Request
    request_id: str
    query: Mapping[str, str]
    prefer: Mapping[str, str]
    view: render.View
    immutable: bool
    #: Preferences honoured so far (`Preference-Applied`); paging may add one.
    applied: list[str]


class _Raced(Exception):
    """A write without If-Match lost a race with another write: read the item again and retry."""


def _store_write(write: Callable[[], _T], *, raced: bool = False) -> _T:
    """Run a store write, its refusals as Graph answers them: a stale change key is 412 (or
    `_Raced` when `raced`: the client sent no If-Match), a missing item or occurrence 404."""
    try:
        return write()
    except StaleChangeKey as error:
        if raced:
            raise _Raced from error
        raise ODataError(412, "ErrorIrresolvableConflict", _IRRESOLVABLE) from error
    except (ItemNotFound, OccurrenceNotFound, OccurrenceCancelled) as error:
        raise _not_found() from error


def _send_mode(write: events.EventWrite) -> SendMode:
    """Graph mails only the attendees added and removed when a PATCH holds nothing but `attendees`."""
    return SendMode.CHANGED if write.properties == {"attendees"} else SendMode.ALL


def _live_occurrence(item: StoredItem, original: date) -> series.Occurrence:
    """The occurrence of `item` originally on `original`; 404 when there is none or it was cancelled."""
    occurrence = series.find(item.doc, original)
    if occurrence is None or occurrence.cancelled:
        raise _not_found()
    return occurrence


def _refuse_options(query: Mapping[str, str], supported: frozenset[str] | set[str]) -> None:
    unsupported = set(query) - set(supported)
    if unsupported:
        name = sorted(unsupported)[0]
        raise ODataError(400, "BadRequest", f"Query option '{name}' is not supported by the emulator.")


def _not_found() -> ODataError:
    return ODataError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _query(target: str) -> dict[str, str]:
    """Query options by lower-cased name (`$filter` and `filter` alike), values percent-decoded."""
    out: dict[str, str] = {}
    for part in urlsplit(target).query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = unquote_plus(name).lower()
        if not name.startswith("$"):
            name = "$" + name
        out[name] = unquote_plus(value)
    return out


def _non_negative(query: Mapping[str, str], name: str) -> int | None:
    if name not in query:
        return None
    value = query[name]
    if not value.isdigit() or (name == "$top" and int(value) == 0):
        raise ODataError(400, "BadRequest", f"Invalid value '{value}' for query option '{name}'.")
    return int(value)


def _body(request: Request) -> Any:
    if not request.body:
        return None
    try:
        return json.loads(request.body)
    except ValueError as error:
        raise ODataError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is"
            " set and payload is of valid JSON format.",
        ) from error


def _if_match(value: str | None) -> str | None:
    """The change key named by an If-Match header (`W/"<key>"`); None for absent or `*`."""
    if value is None or value.strip() == "*":
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


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
