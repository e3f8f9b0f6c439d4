"""A virtual clock for the scheduler: waiting moves time on instead of sleeping."""

from __future__ import annotations

import threading


class VirtualClock:
    """`pacing.Clock` in virtual seconds. `wait_until(deadline)` moves the shared time to the
    deadline at once (never back); every wait is recorded as (deadline, thread name)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self._now = start
        self._lock = threading.Lock()
        self.waits: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def wait_until(self, deadline: float, stop: threading.Event) -> bool:
        if stop.is_set():
            return True
        with self._lock:
            if deadline > self._now:
                self.waits.append(deadline - self.start)
                self._now = deadline
        return stop.is_set()

    @property
    def elapsed(self) -> float:
        return self.now() - self.start
