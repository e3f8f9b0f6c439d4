"""Fixtures of the workflow tests: a meetings repository on the sandbox, and the CLI run in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOW = "2026-11-24T12:00:00+00:00"

CONFIG = """\
namespace: workflow-test
backend: sandbox
meetings_dir: meetings
defaults:
  organizer: lead@contoso.com
  timezone: Europe/Berlin
groups:
  team: [alice@contoso.com, bob@contoso.com]
policy:
  prune: true
  max_cancellations: 10
sandbox:
  path: .meetings/sandbox.db
"""

SYNC = """\
id: team/sync
subject: Team sync
start: 2027-01-11T10:00
duration: 30m
recurrence:
  every: week
  on: [monday]
attendees:
  required: ["@team"]
"""

REVIEW = """\
id: team/review
subject: Quarterly review
start: 2027-02-01T14:00
duration: 1h
attendees:
  required: [alice@contoso.com, carol@contoso.com]
"""


@pytest.fixture
def meetings_repo(tmp_path: Path) -> Path:
    """A meetings repository with two meetings, planned against a sandbox inside it."""
    repo = tmp_path / "repo"
    (repo / "meetings").mkdir(parents=True)
    (repo / "reconciler.yaml").write_text(CONFIG, encoding="utf-8")
    (repo / "meetings" / "sync.yaml").write_text(SYNC, encoding="utf-8")
    (repo / "meetings" / "review.yaml").write_text(REVIEW, encoding="utf-8")
    return repo


def meetings(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m reconciler ARGS` in `cwd`, outside GitHub Actions, with the clock pinned."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    # The code under test is this checkout's, not whichever copy is installed in the venv.
    environment.update({"MEETINGS_NOW": NOW, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
