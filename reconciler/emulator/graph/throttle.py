"""The Graph emulator's throttling layer: Outlook's limits per app and mailbox.

At most `max_concurrent` requests in flight and `max_requests` per `window_seconds` per mailbox
(Outlook's 4 and 10,000 per 10 minutes, reference/graph.md); over either the answer is 429
`ApplicationThrottled` with an integer `Retry-After` (the window's: until its oldest request ages
out).
"""

from __future__ import annotations

import math
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from reconciler.emulator.graph.odata import ODataError


@dataclass(frozen=True)
class GraphLimits:
    """Outlook's throttling limits per app and mailbox, and the emulator's paging default."""

    max_concurrent: int = 4
    max_requests: int = 10_000
    window_seconds: float = 600.0
    default_page_size: int = 10
    #: `Retry-After` of injected 429/503 faults unless the fault says otherwise.
    retry_after_seconds: int = 1


class Throttle:
    """Admits requests per mailbox within `limits`; `on_throttled` is called for each refusal."""

    def __init__(self, limits: GraphLimits, clock: Callable[[], datetime], on_throttled: Callable[[], None]) -> None:
        self.limits = limits
        self._clock = clock
        self._on_throttled = on_throttled
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._recent: defaultdict[str, deque[float]] = defaultdict(deque)

    @contextmanager
    def admitted(self, mailbox: str) -> Iterator[None]:
        """Hold one of the mailbox's places in flight for the body; ODataError 429 when there is
        none or the window is full (the request then counts nowhere)."""
        self._admit(mailbox)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[mailbox] -= 1

    def _admit(self, mailbox: str) -> None:
        now = self._clock().timestamp()
        with self._lock:
            if self._in_flight[mailbox] >= self.limits.max_concurrent:
                raise self._throttled(self.limits.retry_after_seconds)
            recent = self._recent[mailbox]
            while recent and recent[0] <= now - self.limits.window_seconds:
                recent.popleft()
            if len(recent) >= self.limits.max_requests:
                raise self._throttled(max(1, math.ceil(recent[0] + self.limits.window_seconds - now)))
            recent.append(now)
            self._in_flight[mailbox] += 1

    def _throttled(self, retry_after: int) -> ODataError:
        self._on_throttled()
        return ODataError(
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
            {"Retry-After": str(retry_after)},
        )
