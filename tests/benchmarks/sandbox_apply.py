"""Benchmark, run on demand: the sandbox apply of N creates (the default backend), in fresh processes.

    python -m tests.benchmarks.sandbox_apply [--meetings 10000] [--organizers 100] [--runs 3]

Each run generates the meetings (`bench.generate`) into a new directory and applies them all to an
empty sandbox (`bench.run_phase(root, "seed")`: load, plan and apply, one create per meeting).
Prints each run's seconds and the median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from tests.benchmarks.bench import generate, run_phase


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--organizers", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    seconds = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            generate(root, args.meetings, args.organizers)
            figures = run_phase(root, "seed")
            seconds.append(figures["seconds"])
            print(f"run {run + 1}: {figures}")
    print(f"sandbox apply of {args.meetings} creates: median {statistics.median(seconds):.2f} s over {args.runs} runs")


if __name__ == "__main__":
    main()
