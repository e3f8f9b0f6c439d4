"""Benchmark, run on demand: the sandbox apply of N creates (the default backend), in fresh processes.

    python -m tests.benchmarks.sandbox_apply [--meetings 10000] [--organizers 100] [--runs 3]

Each run generates the meetings (`bench.generate`) into a new directory and, in a fresh process,
loads and plans them against an empty sandbox and applies the plan (one create per meeting).
Prints each run's seconds of the apply alone (and of the whole process), then the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.bench import generate

_APPLY = r"""
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from reconciler.config import load_config
from reconciler.loading import load_meetings
from reconciler.plan import PlanPolicy
from reconciler.providers.sandbox import SandboxProvider
from reconciler.reconcile import apply_plan, make_plan
from reconciler.report import OutcomeStatus
started = time.perf_counter()
root = Path(sys.argv[1])
config = load_config(None, env={}, cwd=root)
meetings = list(load_meetings(config).meetings)
provider = SandboxProvider.open(root / config.sandbox.path)
plan = make_plan(meetings, provider, namespace=config.namespace, policy=PlanPolicy(max_cancellations=10**9),
                 now=datetime(2026, 11, 24, tzinfo=UTC))
applying = time.perf_counter()
report = apply_plan(plan, provider)
done = time.perf_counter()
provider.close()
print(json.dumps({"applied": len(report.with_status(OutcomeStatus.APPLIED)),
                  "apply_seconds": round(done - applying, 3), "total_seconds": round(done - started, 3)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--organizers", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    applies, totals = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            generate(root, args.meetings, args.organizers)
            done = subprocess.run([sys.executable, "-c", _APPLY, str(root)], capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"The apply failed:\n{done.stderr}")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            applies.append(figures["apply_seconds"])
            totals.append(figures["total_seconds"])
            print(f"run {run + 1}: {figures}")
    print(
        f"sandbox apply of {args.meetings} creates: median {statistics.median(applies):.2f} s"
        f" (whole process {statistics.median(totals):.2f} s) over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
