"""Figures for the benchmark script: planning N managed meetings of one mailbox through Graph.

`graph_plan_figures(n)` seeds N meetings (every `series_every`-th a weekly series, by default a
third of them; 0 for singles only) into one mailbox of a fresh store, serves it with the Graph
emulator on loopback, and plans the same N meetings through GraphProvider (real msgraph-sdk over
HTTP). The plan must be all no-ops; the figures are the HTTP requests the plan made, the time it
took, and the bound `1 + ceil(N / page size) + ceil(S / 20)`: the mailbox's namespace item (what
the last apply recorded there), the listing's pages, and one `$batch` of up to 20 reads by id per
20 series masters S (the only read that returns a series' cancelled and changed occurrences).
"""

from __future__ import annotations

import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.emulator.graph import serve_graph
from reconciler.emulator.store import MailboxStore
from reconciler.model import Every, Meeting, Recurrence, Weekday
from reconciler.occurrences import creation_edits
from reconciler.ownership import transaction_id
from reconciler.plan import PlanPolicy
from reconciler.port import CreateRequest
from reconciler.providers.graph import GraphProvider
from reconciler.providers.graph.wire import PAGE_SIZE
from reconciler.providers.sandbox import SandboxProvider
from reconciler.reconcile import make_plan
from reconciler.state import meeting_state

#: Graph's limit of requests in one `$batch` (concepts/json-batching.md).
MAX_BATCH = 20
ORGANIZER = "bench@contoso.com"
NAMESPACE = "bench"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def bench_meetings(count: int, series_every: int = 3) -> list[Meeting]:
    meetings = []
    for index in range(count):
        start = datetime(2027, 2, 1, 9, 0) + timedelta(days=index % 28, hours=index % 8)
        recurrence = (
            Recurrence(every=Every.WEEK, on=(Weekday.MONDAY, Weekday.WEDNESDAY), count=20)
            if series_every and index % series_every == 0
            else None
        )
        meetings.append(
            Meeting(
                id=f"bench/m{index:05d}",
                organizer=ORGANIZER,
                subject=f"Benchmark meeting {index}",
                start=start,
                end=start + timedelta(minutes=45),
                timezone="Europe/Berlin",
                recurrence=recurrence,
                required=tuple(sorted({"alice@contoso.com", f"user{index % 500}@contoso.com"})),
                optional=(f"guest{index % 97}@fabrikam.com",),
                location=f"Room {index % 40}",
                body=f"Agenda item {index}.\n\n- *one*\n- two\n",
            )
        )
    return meetings


def seed(store: MailboxStore, meetings: list[Meeting]) -> None:
    """Write the meetings straight into the store (as the sandbox backend would) in their
    organizers' mailboxes, without mail."""
    sandbox = SandboxProvider(store)
    for meeting in meetings:
        fields = meeting_state(meeting)
        organizer = meeting.organizer or ORGANIZER
        sandbox.create(
            CreateRequest(
                NAMESPACE,
                organizer,
                meeting.id,
                fields,
                transaction_id(NAMESPACE, organizer, meeting.id, "seed"),
                creation_edits(fields),
            )
        )


def graph_plan_figures(count: int = 1000, series_every: int = 3) -> dict[str, Any]:
    """Plan `count` managed meetings in one mailbox through the Graph emulator; requests and time."""
    with tempfile.TemporaryDirectory() as tmp:
        store = MailboxStore(Path(tmp) / "store.db")
        meetings = bench_meetings(count, series_every)
        seed(store, meetings)
        with serve_graph(store) as server:
            provider = GraphProvider(server.graph_url, trust_env=False)
            try:
                before = server.app.stats.requests
                started = time.perf_counter()
                plan = make_plan(
                    meetings, provider, namespace=NAMESPACE, policy=PlanPolicy(), now=NOW, extra_organizers=[ORGANIZER]
                )
                seconds = time.perf_counter() - started
                requests = server.app.stats.requests - before
            finally:
                provider.close()
        store.close()
    return {
        "meetings": count,
        "changes": len(plan.changes),
        "unchanged": plan.unchanged,
        "requests": requests,
        "page_size": PAGE_SIZE,
        "series": sum(1 for meeting in meetings if meeting.recurrence),
        "target_requests": 1
        + math.ceil(count / PAGE_SIZE)
        + math.ceil(sum(1 for meeting in meetings if meeting.recurrence) / MAX_BATCH),
        "seconds": round(seconds, 3),
    }


if __name__ == "__main__":
    import json
    import sys

    arguments = [int(value) for value in sys.argv[1:3]]  # [N [series_every]]
    print(json.dumps(graph_plan_figures(*arguments)))
