"""Requests of an all no-op plan on Graph and EWS, through the emulators: prints figures, asserts nothing.

    python -m tests.benchmarks.plan_requests [--scenario singles|series|mixed ...] [--backend graph|ews ...]

Scenarios: 1,000 single meetings in one mailbox (`singles`), 1,000 weekly series in one mailbox
(`series`), and 100 mailboxes of 100 meetings each, a third of them series (`mixed`). The meetings
are written straight into the store (as the sandbox backend writes them, no mail), then planned
through GraphProvider (msgraph-sdk) or EwsProvider (exchangelib) over loopback HTTP; the plan must
be all no-ops. The figures are the HTTP requests the plan made (a Graph `$batch` is one; the EWS
figure counts SOAP requests by operation), the bound the issue sets for Graph,
`mailboxes * (1 + ceil(N / 500)) + ceil(S / 20)` per mailbox (the namespace item, the listing's
pages, a `$batch` of 20 series reads), and the seconds the plan took.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.emulator.ews.app import ENDPOINT_PATH, EwsApp
from reconciler.emulator.graph import serve_graph
from reconciler.emulator.server import Request, Response, serve
from reconciler.emulator.store import MailboxStore
from reconciler.model import Meeting, Weekday
from reconciler.plan import PlanPolicy
from reconciler.port import Provider
from reconciler.providers.graph import GraphProvider
from reconciler.providers.graph.wire import PAGE_SIZE
from reconciler.reconcile import make_plan
from tests.contract.backends.ews import ews_provider
from tests.graph.bench_support import MAX_BATCH, NAMESPACE, NOW, ORGANIZER, bench_meetings, seed

_SOAP_BODY = "{http://schemas.xmlsoap.org/soap/envelope/}Body"


@dataclass
class _CountingEws:
    """The EWS emulator, counting SOAP requests by operation."""

    app: EwsApp
    operations: Counter[str] = field(default_factory=Counter)

    def handle(self, request: Request) -> Response:
        body = ET.fromstring(request.body).find(_SOAP_BODY)
        self.operations[body[0].tag.rsplit("}", 1)[-1] if body is not None and len(body) else "?"] += 1
        return self.app.handle(request)


def _on_its_start_day(meeting: Meeting) -> Meeting:
    """A series recurring on the week day it starts on: Exchange moves a series' start to its first
    occurrence (EWS reads that back), so a start off the pattern would plan as a change there."""
    if meeting.recurrence is None or not isinstance(meeting.start, datetime):
        return meeting
    day = list(Weekday)[meeting.start.weekday()]
    return replace(meeting, recurrence=replace(meeting.recurrence, on=(day,)))


def scenario(name: str) -> list[Meeting]:
    if name == "singles":
        return bench_meetings(1000, series_every=0)
    if name == "series":
        return [_on_its_start_day(m) for m in bench_meetings(1000, series_every=1)]
    mixed = []
    for mailbox in range(100):
        organizer = f"organizer{mailbox:03d}@contoso.com"
        mixed += [
            _on_its_start_day(replace(m, id=f"{m.id}-o{mailbox:03d}", organizer=organizer))
            for m in bench_meetings(100, series_every=3)
        ]
    return mixed


@contextmanager
def _graph(store: MailboxStore) -> Iterator[tuple[Provider, Callable[[], dict[str, int]]]]:
    with serve_graph(store) as server:
        provider = GraphProvider(server.graph_url, trust_env=False)
        try:
            yield provider, lambda: {"http": server.app.stats.requests}
        finally:
            provider.close()


@contextmanager
def _ews(store: MailboxStore) -> Iterator[tuple[Provider, Callable[[], dict[str, int]]]]:
    counting = _CountingEws(EwsApp(store))
    with serve(counting) as running:
        provider = ews_provider(running.base_url + ENDPOINT_PATH, sleep=lambda _: None)
        try:
            yield provider, lambda: {"http": sum(counting.operations.values()), **counting.operations}
        finally:
            provider.close()


def figures(name: str, backend: str) -> dict[str, Any]:
    meetings = scenario(name)
    organizers = sorted({m.organizer or ORGANIZER for m in meetings})
    with tempfile.TemporaryDirectory() as tmp:
        store = MailboxStore(Path(tmp) / "store.db")
        seed(store, meetings)
        with (_graph if backend == "graph" else _ews)(store) as (provider, counts):
            before = counts()
            started = time.perf_counter()
            plan = make_plan(
                meetings, provider, namespace=NAMESPACE, policy=PlanPolicy(), now=NOW, extra_organizers=organizers
            )
            seconds = time.perf_counter() - started
            after = counts()
        store.close()
    per_mailbox: Counter[str] = Counter(m.organizer or ORGANIZER for m in meetings)
    series: Counter[str] = Counter(m.organizer or ORGANIZER for m in meetings if m.recurrence)
    bound = sum(1 + math.ceil(n / PAGE_SIZE) + math.ceil(series[o] / MAX_BATCH) for o, n in per_mailbox.items())
    return {
        "scenario": name,
        "backend": backend,
        "mailboxes": len(organizers),
        "meetings": len(meetings),
        "series": sum(series.values()),
        "changes": len(plan.changes),
        "requests": {key: after[key] - before.get(key, 0) for key in after if after[key] - before.get(key, 0)},
        "graph_bound": bound,
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=("singles", "series", "mixed"))
    parser.add_argument("--backend", action="append", choices=("graph", "ews"))
    args = parser.parse_args()
    for name in args.scenario or ("singles", "series", "mixed"):
        for backend in args.backend or ("graph", "ews"):
            print(json.dumps(figures(name, backend)), flush=True)


if __name__ == "__main__":
    main()
