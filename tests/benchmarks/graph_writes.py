"""The client's own CPU per Graph write: prints figures, asserts nothing.

    python -m tests.benchmarks.graph_writes [--writes 200] [--runs 5]

The Graph emulator runs in a child process, so `time.process_time()` in this process counts only
the client: GraphProvider, msgraph-sdk, kiota and httpx (the calling thread and the provider's loop
thread). Each run creates `--writes` single meetings in one mailbox, then updates each of them once
(subject and location: a sparse PATCH with the record); the figure is CPU milliseconds per write,
the median over `--runs` runs, for creates and updates apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from reconciler.occurrences import NO_EDITS
from reconciler.ownership import transaction_id
from reconciler.port import CreateRequest, UpdateRequest
from reconciler.providers.graph import GraphProvider
from reconciler.state import meeting_state
from tests.graph.bench_support import NAMESPACE, ORGANIZER, bench_meetings

_SERVE = r"""
import sys, time
from pathlib import Path
from reconciler.emulator.graph import serve_graph
from reconciler.emulator.store import MailboxStore
store = MailboxStore(Path(sys.argv[1]))
with serve_graph(store) as server:
    print(server.graph_url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
"""


def one_run(url: str, writes: int, run: int) -> tuple[float, float]:
    """CPU milliseconds per create and per update over `writes` meetings."""
    provider = GraphProvider(url, trust_env=False)
    try:
        meetings = [replace(m, id=f"{m.id}-r{run}") for m in bench_meetings(writes, series_every=0)]
        started = time.process_time()
        for meeting in meetings:
            fields = meeting_state(meeting)
            tx = transaction_id(NAMESPACE, ORGANIZER, meeting.id, "bench")
            provider.create(CreateRequest(NAMESPACE, ORGANIZER, meeting.id, fields, tx, NO_EDITS))
        create_ms = (time.process_time() - started) * 1000 / writes
        found = {o.meeting_id: o for o in provider.list_managed(ORGANIZER, NAMESPACE)}
        started = time.process_time()
        for meeting in meetings:
            seen = found[meeting.id]
            fields = meeting_state(replace(meeting, subject=meeting.subject + " (moved)", location="Room 99"))
            provider.update(
                UpdateRequest(
                    NAMESPACE,
                    ORGANIZER,
                    meeting.id,
                    seen.item_id,
                    seen.change_key,
                    fields,
                    frozenset({"subject", "location"}),
                    meeting.id,
                    NO_EDITS,
                )
            )
        update_ms = (time.process_time() - started) * 1000 / writes
    finally:
        provider.close()
    return create_ms, update_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(Path(tmp) / "store.db")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            figures = [one_run(url, args.writes, run) for run in range(args.runs)]
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=30)
    creates, updates = zip(*figures, strict=True)
    print(
        json.dumps(
            {
                "writes_per_run": args.writes,
                "runs": args.runs,
                "cpu_ms_per_create_median": round(statistics.median(creates), 2),
                "cpu_ms_per_update_median": round(statistics.median(updates), 2),
                "cpu_ms_per_create_runs": [round(v, 2) for v in creates],
                "cpu_ms_per_update_runs": [round(v, 2) for v in updates],
            }
        )
    )


if __name__ == "__main__":
    main()
