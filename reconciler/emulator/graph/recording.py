"""The Graph emulator's recording layer: what it served, as counts (`GraphStats`) and as the wire
requests themselves (`RecordedRequest`, the latest 10,000)."""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.server import Request


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


class Recorder:
    """Counts and keeps what is served; the other layers count into the same `stats` through it."""

    def __init__(self) -> None:
        self.stats = GraphStats()
        #: The latest requests served (the last 10,000), oldest first.
        self.requests: deque[RecordedRequest] = deque(maxlen=10_000)
        self._lock = threading.Lock()

    def served(self, request: Request, operation: str, *, batched: bool = False) -> None:
        """One operation admitted: a request sent alone is also an HTTP request of its own
        (`stats.by_method`, `requests`); one inside a `$batch` counts in `stats.batched`."""
        with self._lock:
            self.stats.by_operation[operation] += 1
            if batched:
                self.stats.batched += 1
            else:
                self.stats.by_method[request.method] += 1
                self.requests.append(RecordedRequest(request.method, request.target, request.headers, request.body))

    def throttled(self) -> None:
        with self._lock:
            self.stats.throttled += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.stats.faults[kind] += 1
