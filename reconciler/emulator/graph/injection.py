"""The Graph emulator's fault injection layer: faults from the plan, or at random, as Graph answers them.

Operations (`routes`): `list`, `get`, `create`, `update`, `delete`, `cancel`, `instances`,
`calendarview`, `getschedule`, the answers (`accept`...) and `batch` (the envelope; the requests
inside take the faults of their own operations); `timezones` never faults. Kinds: `429`, `503`
(with `Retry-After`: the fault's `retry_after`, else the limits'), `500`, `412` (a spurious
change-key conflict), `401`/`403` (token refused, access denied), `504` (before commit),
`504-after-commit`, `drop` (connection closed before commit), `drop-after-commit` and `delay`
(answer normally after `seconds`, holding the request in flight).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence

from reconciler.emulator.faults import Fault, FaultPlan
from reconciler.emulator.graph.odata import ODataError
from reconciler.emulator.graph.responses import IRRESOLVABLE

FAULT_KINDS = (
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


class GraphFaults:
    """Takes the fault of each request: a queued one from `plan` (protocol `graph`), else one of
    `failure_kinds` with probability `failure_rate` (reproducible from `seed`). `on_fault` is told
    each fault's kind."""

    def __init__(
        self,
        plan: FaultPlan,
        on_fault: Callable[[str], None],
        *,
        failure_rate: float = 0.0,
        seed: int | None = None,
        failure_kinds: Sequence[str] = ("429", "503", "504"),
    ) -> None:
        unknown = set(failure_kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"Unknown fault kinds: {sorted(unknown)}.")
        self.plan = plan
        self.failure_rate = failure_rate
        self.failure_kinds = tuple(failure_kinds)
        self._on_fault = on_fault
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def take(self, operation: str) -> Fault | None:
        """This request's fault, if any; a `delay` is served here (the request is then answered
        normally, so None)."""
        if operation == "timezones":
            return None
        fault = self.plan.take("graph", operation)
        if fault is None:
            with self._lock:
                if self.failure_rate <= 0 or self._random.random() >= self.failure_rate:
                    return None
                fault = Fault(self._random.choice(self.failure_kinds))
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"Unknown Graph fault kind {fault.kind!r}.")
        self._on_fault(fault.kind)
        if fault.kind == "delay":
            time.sleep(float(fault.params.get("seconds", 1.0)))
            return None
        return fault


def after_commit(fault: Fault) -> bool:
    """Whether the fault lets the write happen and loses only its answer."""
    return fault.kind.endswith("after-commit")


def dropped(fault: Fault) -> bool:
    """Whether the fault's answer is a closed connection (no HTTP answer at all)."""
    return fault.kind.startswith("drop")


def fault_error(fault: Fault, retry_after_seconds: int) -> ODataError:
    """The answer Graph gives for the fault (a `drop` kind has none: see `dropped`)."""
    retry_after = {"Retry-After": str(int(fault.params.get("retry_after", retry_after_seconds)))}
    errors = {
        "429": ODataError(
            429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", retry_after
        ),
        "503": ODataError(
            503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.", retry_after
        ),
        "500": ODataError(500, "ErrorInternalServerError", "An internal server error occurred. The operation failed."),
        "412": ODataError(412, "ErrorIrresolvableConflict", IRRESOLVABLE),
        "401": ODataError(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
        "403": ODataError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    }
    return errors.get(fault.kind) or ODataError(504, "UnknownError", "The gateway did not receive a response in time.")
