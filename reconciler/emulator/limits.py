"""Knobs that give an emulator Exchange's pace: latency per request and a per-mailbox message rate.

`LimitedApp` wraps a Graph or EWS emulator app (any `server.App`) without changing it:

* `latency`: every request is answered `latency` seconds later (the server thread sleeps first;
  requests are served concurrently, so parallel clients overlap their waits as on a real network).
* `messages_per_minute`: a mailbox that sent that many meeting messages in the last 60 seconds has
  its next sending request refused, as Exchange's throttling answers look:
  Graph: HTTP 429, `Retry-After` (integer seconds, until the oldest message leaves the minute)
  and the documented body `{"error": {"code": "TooManyRequests", "message": "Please retry again
  later.", "innerError": {...}}}` [DOC concepts/throttling.md, reference/graph.md E.2]; EWS: an
  HTTP 500 SOAP fault ErrorServerBusy with `BackOffMilliseconds` in `MessageXml`, the form
  exchangelib's tests capture (tests/wire/real/ews/error-serverbusy-fault.response.xml).
  [INFER] Exchange Online documents 30 messages per minute but reports excess mail as queued in the
  Outbox rather than refused (reference/graph.md E.3); refusing the write with the throttling
  answer is this emulator's choice, so a client that overruns the rate sees it at once. Which
  requests count as sending is inferred too: on Graph every request but a GET (the emulator cannot
  tell a silent PATCH from one that mails before serving it), on EWS the CreateItem, UpdateItem
  and DeleteItem requests whose send mode mails someone.
* A message is what the mailbox submits in one go: the store logs one entry per recipient, and
  the entries of one write for one item, kind and occurrence are one message.
* `stats` counts the throttling answers and the peak of requests in flight per mailbox.

The mailbox of a request: Graph's `/users/{mailbox}/` path segment; EWS's `X-AnchorMailbox` header
(exchangelib sends it on every mailbox operation, services/common.py `_extra_headers`).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from reconciler.emulator.ews.soap import SoapFault, fault
from reconciler.emulator.server import App, Request, Response, RunningServer, serve
from reconciler.emulator.store import MailboxStore


class Dialect(StrEnum):
    """Which protocol the wrapped app speaks (how a request names its mailbox, how it is refused)."""

    GRAPH = "graph"
    EWS = "ews"


@dataclass(frozen=True)
class WireLimits:
    """Latency per request (seconds) and the per-mailbox message rate (None: unlimited)."""

    latency: float = 0.0
    messages_per_minute: float | None = None


@dataclass
class LimitStats:
    """What the limits did: throttling answers, and the most requests in flight per mailbox."""

    throttled: int = 0
    peak_in_flight: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)


_GRAPH_MAILBOX = re.compile(r"/users/([^/?]+)")
_EWS_SENDING = re.compile(
    rb"<m:(CreateItem|UpdateItem|DeleteItem)\b[^>]*"
    rb"(SendToAllAndSaveCopy|SendToChangedAndSaveCopy|SendOnlyToAll|SendOnlyToChanged|SendAndSaveCopy|\"SendOnly\")"
)


class LimitedApp:
    """`app` with `limits` applied (see the module docstring); `store` is the app's store."""

    def __init__(
        self,
        app: App,
        store: MailboxStore,
        dialect: Dialect,
        limits: WireLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app = app
        self.store = store
        self.dialect = dialect
        self.limits = limits
        self.stats = LimitStats()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        logged = store.mail()
        self._seen = logged[-1].seq if logged else 0

    def handle(self, request: Request) -> Response:
        mailbox = self._mailbox(request)
        with self._lock:
            self._in_flight[mailbox] += 1
            peak = self.stats.peak_in_flight
            peak[mailbox] = max(peak[mailbox], self._in_flight[mailbox])
        try:
            if self.limits.latency:
                self._sleep(self.limits.latency)
            wait = self._over_rate(mailbox, request)
            if wait is not None:
                return self._throttled(wait)
            response = self.app.handle(request)
            self._count_messages()
            return response
        finally:
            with self._lock:
                self._in_flight[mailbox] -= 1

    def _mailbox(self, request: Request) -> str:
        if self.dialect is Dialect.GRAPH:
            found = _GRAPH_MAILBOX.search(request.target)
            return urllib.parse.unquote(found.group(1)).lower() if found else ""
        return request.headers.get("x-anchormailbox", "").strip().lower()

    def _sends(self, request: Request) -> bool:
        if self.dialect is Dialect.GRAPH:
            return request.method != "GET"
        return _EWS_SENDING.search(request.body) is not None

    def _over_rate(self, mailbox: str, request: Request) -> float | None:
        """Seconds until `mailbox` may send again, or None when this request may go on."""
        rate = self.limits.messages_per_minute
        if rate is None or not mailbox or not self._sends(request):
            return None
        now = self._clock()
        with self._lock:
            sent = self._sent[mailbox]
            while sent and sent[0] <= now - 60.0:
                sent.popleft()
            if len(sent) < rate:
                return None
            self.stats.throttled += 1
            return sent[0] + 60.0 - now

    def _count_messages(self) -> None:
        """Record the messages the store logged since the last request, per organizer."""
        with self._lock:
            new = self.store.mail(after=self._seen)
            if not new:
                return
            self._seen = new[-1].seq
            now = self._clock()
            messages = {(m.organizer, m.item_id, m.kind, m.occurrence) for m in new}
            for organizer, *_ in sorted(messages, key=str):
                self._sent[organizer].append(now)
                self.stats.messages[organizer] += 1

    def _throttled(self, wait: float) -> Response:
        seconds = max(1, math.ceil(wait))
        if self.dialect is Dialect.EWS:
            soap = fault(SoapFault("ErrorServerBusy", back_off_ms=seconds * 1000))
            return Response(500, {"Content-Type": "text/xml; charset=utf-8"}, soap)
        request_id = str(uuid.uuid4())
        inner = {
            "code": "429",
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "message": "Please retry again later.",
            "request-id": request_id,
            "status": "429",
        }
        body = {"error": {"code": "TooManyRequests", "message": "Please retry again later.", "innerError": inner}}
        headers = {"Content-Type": "application/json", "Retry-After": str(seconds), "request-id": request_id}
        return Response(429, headers, json.dumps(body).encode())


@contextmanager
def serve_limited(
    app: App, store: MailboxStore, dialect: Dialect, limits: WireLimits, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[tuple[RunningServer, LimitedApp]]:
    """Serve `app` behind `limits` on loopback until the context exits."""
    limited = LimitedApp(app, store, dialect, limits)
    with serve(limited, host=host, port=port) as running:
        yield running, limited
