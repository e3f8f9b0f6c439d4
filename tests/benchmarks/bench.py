"""Benchmarks, run on demand (not part of the test suite): prints figures, asserts nothing.

    python -m tests.benchmarks.bench [--meetings 10000] [--organizers 100] [--graph 1000]

Figures: time and peak memory (max RSS of a fresh process) of `validate` and of `plan` against a
sandbox that already holds every meeting (an all no-op plan), the time to seed that sandbox, and
the start-up time of `meetings --help` (with a check that no SDK was imported for it). With
`--graph N`, also the plan of N managed meetings in one mailbox through the Graph emulator over
loopback: HTTP requests and time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

_PHASE = r"""
import json, resource, sys, time
from datetime import UTC, datetime
from pathlib import Path
from reconciler.config import load_config
from reconciler.loading import load_meetings
root = Path(sys.argv[1]); phase = sys.argv[2]
started = time.perf_counter()
config = load_config(None, env={}, cwd=root)
meetings = list(load_meetings(config).meetings)
figures = {"meetings": len(meetings)}
if phase in ("seed", "plan"):
    from reconciler.plan import PlanPolicy
    from reconciler.providers.sandbox import SandboxProvider
    from reconciler.reconcile import apply_plan, make_plan
    from reconciler.report import OutcomeStatus
    provider = SandboxProvider.open(root / config.sandbox.path)
    plan = make_plan(meetings, provider, namespace=config.namespace, policy=PlanPolicy(max_cancellations=10**9),
                     now=datetime(2026, 11, 24, tzinfo=UTC))
    figures["changes"] = len(plan.changes)
    if phase == "seed":
        report = apply_plan(plan, provider)
        figures["applied"] = len(report.with_status(OutcomeStatus.APPLIED))
    provider.close()
figures["seconds"] = round(time.perf_counter() - started, 3)
figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(figures))
"""


def generate(root: Path, meetings: int, organizers: int) -> None:
    """`meetings` meeting files spread over `organizers` mailboxes, a third of them recurring."""
    (root / "reconciler.yaml").write_text(
        "namespace: bench\nbackend: sandbox\ndefaults:\n  timezone: Europe/Berlin\n"
        "groups:\n  team: [alice@contoso.com, bob@contoso.com, carol@contoso.com]\n",
        encoding="utf-8",
    )
    folder = root / "meetings"
    for index in range(meetings):
        sub = folder / f"org{index % organizers:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        day = 1 + index % 28
        weekday = date(2027, 2, day).strftime("%A").lower()
        recurrence = f"recurrence:\n  every: week\n  on: [{weekday}]\n  count: 20\n" if index % 3 == 0 else ""
        (sub / f"m{index:05d}.yaml").write_text(
            f"id: bench/m{index:05d}\norganizer: organizer{index % organizers:03d}@contoso.com\n"
            f"subject: Benchmark meeting {index}\nstart: 2027-02-{day:02d}T{9 + index % 8:02d}:00\n"
            f"duration: 45m\n{recurrence}attendees:\n  required: ['@team', user{index % 500}@contoso.com]\n"
            f"  optional: [guest{index % 97}@fabrikam.com]\nlocation: Room {index % 40}\n"
            f"body: |\n  Agenda item {index}.\n\n  - *one*\n  - two\n",
            encoding="utf-8",
        )


def run_phase(root: Path, phase: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", _PHASE, str(root), phase], check=True, capture_output=True, text=True
    )
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def help_startup(runs: int = 5) -> tuple[float, list[str]]:
    """Best wall time of `meetings --help` in a fresh interpreter, and SDK modules it imported."""
    probe = (
        "import sys, runpy; sys.argv=['meetings','--help']\n"
        "try:\n    runpy.run_module('reconciler', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy=[m for m in sys.modules if m.split('.')[0] in ('msgraph','exchangelib','azure','kiota_http','httpx')]\n"
        "sys.stderr.write(repr(sorted(heavy)))"
    )
    best, heavy = float("inf"), []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
        best = min(best, time.perf_counter() - started)
        heavy = eval(done.stderr.strip().splitlines()[-1])
    return best, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--organizers", type=int, default=100)
    parser.add_argument(
        "--graph", type=int, default=0, help="also plan N meetings in one mailbox through the Graph emulator"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        generate(root, args.meetings, args.organizers)
        print(
            f"generated {args.meetings} meeting files for {args.organizers} organizers"
            f" in {time.perf_counter() - started:.2f} s"
        )
        for phase in ("validate", "seed", "plan"):
            figures = run_phase(root, phase)
            print(f"{phase:<9} {json.dumps(figures)}")
    seconds, heavy = help_startup()
    print(f"meetings --help: best of 5 = {seconds:.3f} s; SDK modules imported: {heavy or 'none'}")
    if args.graph:
        from tests.graph.bench_support import graph_plan_figures

        print(f"graph plan of {args.graph} meetings: {json.dumps(graph_plan_figures(args.graph))}")


if __name__ == "__main__":
    main()
