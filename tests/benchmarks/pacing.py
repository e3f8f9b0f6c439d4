"""Benchmark of the paced, parallel apply through the Graph emulator (prints figures, asserts nothing).

    python -m tests.benchmarks.pacing spread [--meetings 1000] [--organizers 20] [--rate 30] [--latency 0.1]
    python -m tests.benchmarks.pacing single [--meetings 120] [--rate 30] [--latency 0.1]

The emulator answers every request `--latency` seconds late and refuses a mailbox's writes beyond
`--rate` messages per minute the way Exchange throttles (emulator/limits.py); the apply is paced at
the same rate (`pace.Pace`). `spread`: creates spread over many mailboxes; figures: apply time
against the limit-bound optimum (the busiest mailbox's messages at the rate), throttling answers,
the peak of requests in flight per mailbox. `single`: one mailbox; figures: the most messages sent
in any minute (scaled to the rate: `--rate 600` runs 20 times faster than Exchange Online's 30 and
says so) and the first ETA against the real apply time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from reconciler.emulator.graph import GraphApp
from reconciler.emulator.limits import Dialect, WireLimits, serve_limited
from reconciler.emulator.store import MailboxStore
from reconciler.model import Meeting
from reconciler.pace import ApplyProgress, Pace
from reconciler.plan import PlanPolicy
from reconciler.providers.graph import GraphProvider
from reconciler.reconcile import apply_plan, make_plan
from tests.factories import meeting


def wanted(count: int, organizers: int) -> list[Meeting]:
    return [
        meeting(
            f"bench/m{index:04d}",
            organizer=f"organizer{index % organizers:02d}@contoso.com",
            subject=f"Bench {index}",
            start=datetime(2027, 1, 4, 9, 0) + timedelta(days=index // organizers % 300),
            end=datetime(2027, 1, 4, 9, 30) + timedelta(days=index // organizers % 300),
        )
        for index in range(count)
    ]


def busiest_minute(times: list[float], window: float) -> int:
    """The most entries of `times` (sorted) within any `window` seconds."""
    return max((bisect_right(times, t + window - 1e-9) - i for i, t in enumerate(times)), default=0)


def _serve(folder: str, limits: WireLimits, channel: Connection) -> None:
    """The emulator's process: serve until told to stop, then send the limiter's figures back."""
    store = MailboxStore(Path(folder) / "store.db")
    with serve_limited(GraphApp(store), store, Dialect.GRAPH, limits) as (running, app):
        channel.send(running.base_url + "/v1.0")
        channel.recv()
        channel.send((app.stats.throttled, max(app.stats.peak_in_flight.values(), default=0), app.stats.messages))
    store.close()


def run(count: int, organizers: int, rate: float, latency: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        # The emulator runs in its own process, as Exchange runs elsewhere: it does not share the
        # client's interpreter lock.
        ours, theirs = multiprocessing.Pipe()
        server = multiprocessing.Process(target=_serve, args=(folder, WireLimits(latency, rate), theirs))
        server.start()
        try:
            provider = GraphProvider(ours.recv(), trust_env=False)
            meetings = wanted(count, organizers)
            plan = make_plan(
                meetings,
                provider,
                namespace="bench",
                policy=PlanPolicy(max_cancellations=10**6),
                now=datetime(2026, 12, 1, tzinfo=UTC),
                extra_organizers=sorted({m.organizer for m in meetings}),
            )
            #: The apply's whole time as each step's ETA predicts it: time so far plus the ETA.
            predicted: list[float] = []
            sent_at: list[float] = []

            def progress(step: ApplyProgress) -> None:
                if step.outcome is not None:
                    predicted.append(step.eta_seconds + (time.monotonic() - started))
                    sent_at.append(time.monotonic())

            started = time.monotonic()
            report = apply_plan(plan, provider, pace=Pace(messages_per_minute=rate), on_progress=progress)
            elapsed = time.monotonic() - started
            provider.close()
            ours.send("stop")
            throttled, peak, messages = ours.recv()
        finally:
            server.join(timeout=30)
    interval = 60.0 / rate
    per_mailbox = max(
        sum(len(c.notifications) for c in plan.changes if c.organizer == o) for o in {c.organizer for c in plan.changes}
    )
    optimum = (per_mailbox - 1) * interval + latency
    scale = rate / 30.0
    print(f"changes: {len(plan.changes)} over {len({c.organizer for c in plan.changes})} mailboxes")
    print(f"rate: {rate:g} messages/min per mailbox ({scale:g}x Exchange Online's 30), latency {latency * 1000:g} ms")
    print(f"all applied: {report.ok}")
    print(f"apply time: {elapsed:.1f} s; limit-bound optimum {optimum:.1f} s; ratio {elapsed / optimum:.3f}")
    print(f"throttling answers: {throttled}")
    print(f"peak requests in flight per mailbox: {peak}")
    print(f"messages logged by the emulator: {sum(messages.values())}")
    if organizers == 1:
        most = busiest_minute(sorted(sent_at), 60.0 / scale)
        print(f"most changes finished in any {60 / scale:g} s (one minute at 30/min scaled): {most}")
    for label, at in (("first change", 0), ("2nd change", 1), ("10% of changes", len(predicted) // 10)):
        eta = predicted[at]
        print(
            f"ETA after the {label}: total {eta:.1f} s predicted; real {elapsed:.1f} s; error"
            f" {100 * (eta - elapsed) / elapsed:+.1f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=("spread", "single"))
    parser.add_argument("--meetings", type=int)
    parser.add_argument("--organizers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    if args.scenario == "spread":
        run(args.meetings or 1000, args.organizers, args.rate, args.latency)
    else:
        run(args.meetings or 120, 1, args.rate, args.latency)


if __name__ == "__main__":
    main()
