"""The fault plan: faults queued by tests, taken by the emulator apps (and the sandbox's fault hook).

A fault is queued for a protocol (`graph`, `ews`, `sandbox`, or `*` for any) and an operation (the
protocol's own name, or `*`) with a kind and parameters whose meaning the protocol defines (each
app's module docstring lists them). It hits the next `times` requests that match, oldest fault
first. The plan lives in memory, next to the app that takes from it: the mailbox store keeps only
mailbox state, and a backend without a plan pays nothing for faults.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fault:
    """An injected fault taken from the plan: `kind` and `params` mean what the protocol says."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Queued:
    protocol: str
    operation: str
    fault: Fault
    remaining: int


class FaultPlan:
    """Queued faults, safe to share between threads (the apps serve requests concurrently)."""

    def __init__(self) -> None:
        self._queued: list[_Queued] = []
        self._lock = threading.Lock()

    def inject(self, protocol: str, operation: str, kind: str, *, times: int = 1, **params: Any) -> None:
        """Queue a fault for the next `times` requests matching `protocol` and `operation`."""
        with self._lock:
            self._queued.append(_Queued(protocol, operation, Fault(kind, dict(params)), times))

    def take(self, protocol: str, operation: str) -> Fault | None:
        """Consume one queued fault matching this request, oldest first, if any."""
        with self._lock:
            for queued in self._queued:
                if queued.protocol in (protocol, "*") and queued.operation in (operation, "*"):
                    queued.remaining -= 1
                    if queued.remaining <= 0:
                        self._queued.remove(queued)
                    return queued.fault
        return None
