"""Run one pure function over many inputs in forked worker processes, results in input order.

Reading a meeting file is CPU-bound Python (YAML composition, the schema, the meeting rules), so
threads cannot share it out; processes can. Workers are forked, so they inherit the function and its
inputs from memory: only the slice bounds go to a worker and only the results come back pickled.

Parallel reading is used only where it is safe and pays:
- on Linux (fork is the platform's own start method there; macOS and Windows read in turn);
- when the calling process runs a single thread (forking a threaded process can copy a held lock);
- with at least `MIN_PER_WORKER` inputs per worker, and more than one CPU available to this process.

A pool that cannot be started (no processes left) or loses a worker falls back to reading in turn:
the answer is the same, only slower.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

#: Fewer inputs than this per worker cost more in forking and pickling than they save.
MIN_PER_WORKER = 250
#: More workers than this gain little: the parent unpickles every result alone.
MAX_WORKERS = 8
#: Slices per worker: the parent unpickles early slices while the workers read later ones.
SLICES_PER_WORKER = 4


class _Job(Generic[In, Out]):
    """The function and its inputs, set in the parent before the fork and read by the workers."""

    def __init__(self, function: Callable[[In], Out], inputs: Sequence[In]) -> None:
        self.function, self.inputs = function, inputs


_job: _Job[Any, Any] | None = None


def _run_slice(bounds: tuple[int, int]) -> list[Any]:
    assert _job is not None, "a worker runs only inside map_in_order"
    start, stop = bounds
    return [_job.function(item) for item in _job.inputs[start:stop]]


def available_workers() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worker_count(inputs: int, cpus: int) -> int:
    """How many workers `inputs` inputs get on `cpus` CPUs; 1 means reading in the caller."""
    if sys.platform != "linux" or threading.active_count() > 1:
        return 1
    return max(1, min(cpus, MAX_WORKERS, inputs // MIN_PER_WORKER))


def map_in_order(function: Callable[[In], Out], inputs: Sequence[In], *, workers: int | None = None) -> list[Out]:
    """`[function(x) for x in inputs]`, computed by `workers` forked processes on Linux (default:
    `worker_count`; elsewhere always in turn). `function` must not depend on anything it changes in its process, and its
    results must pickle. An exception it raises is raised here, as it would be in turn."""
    count = worker_count(len(inputs), available_workers()) if workers is None else workers
    if count <= 1 or len(inputs) < 2 or sys.platform != "linux":
        return [function(item) for item in inputs]
    global _job
    _job = _Job(function, inputs)
    try:
        return _in_workers(len(inputs), count)
    except (OSError, BrokenProcessPool):
        return [function(item) for item in inputs]
    finally:
        _job = None


def _in_workers(total: int, count: int) -> list[Any]:
    slices = min(total, count * SLICES_PER_WORKER)
    bounds = [(total * i // slices, total * (i + 1) // slices) for i in range(slices)]
    # A forked worker flushes its copy of the parent's buffers when it ends: empty them first, or
    # whatever the parent had printed but not yet written would be written once more per worker.
    sys.stdout.flush()
    sys.stderr.flush()
    pool = ProcessPoolExecutor(max_workers=count, mp_context=get_context("fork"), initializer=_leave_interrupts)
    try:
        results = [result for part in pool.map(_run_slice, bounds) for result in part]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: the parent stops, nothing more is read
        raise
    pool.shutdown()
    return results


def _leave_interrupts() -> None:
    """Workers ignore Ctrl-C: the terminal sends it to the parent, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
