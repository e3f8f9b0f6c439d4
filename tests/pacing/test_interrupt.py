"""Ctrl-C during `meetings apply`: the changes in flight finish, the rest are reported as not
applied (exit 1, as a partial apply), and a re-run writes exactly those, mailing nobody twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import _stop_on_interrupt
from reconciler.emulator.graph import GraphServer, serve_graph
from reconciler.emulator.store import MailboxStore
from tests.pacing.test_scheduler import MID

REPO = Path(__file__).resolve().parents[2]
COUNT = 4


def test_the_first_ctrl_c_asks_the_apply_to_stop_and_a_second_one_interrupts() -> None:
    with _stop_on_interrupt() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)


@pytest.fixture
def graph(store: MailboxStore) -> Iterator[GraphServer]:
    with serve_graph(store) as server:
        yield server


def repository(root: Path, graph_url: str) -> None:
    (root / "reconciler.yaml").write_text(
        f"namespace: interrupt\nbackend: graph\ngraph:\n  base_url: {graph_url}\n"
        "defaults:\n  timezone: Europe/Berlin\norganizers: [lead@contoso.com]\n",
        encoding="utf-8",
    )
    (root / "meetings").mkdir()
    for index in range(COUNT):
        (root / "meetings" / f"m{index}.yaml").write_text(
            f"id: team/m{index}\norganizer: lead@contoso.com\nsubject: Meeting {index}\n"
            f"start: 2027-01-{index + 4:02d}T09:00\nduration: 30m\n"
            "attendees:\n  required: [alice@contoso.com, bob@contoso.com]\n",
            encoding="utf-8",
        )


def apply(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_stops_a_paced_apply_after_the_change_in_flight_and_a_rerun_finishes_it(
    tmp_path: Path, graph: GraphServer, store: MailboxStore
) -> None:
    repository(tmp_path, graph.graph_url)
    running = apply(tmp_path)
    # Graph is paced at 30 messages a minute: one create every 2 s. Interrupt after the first.
    deadline = time.monotonic() + 60
    while not store.mail() and time.monotonic() < deadline:
        time.sleep(0.05)
    running.send_signal(signal.SIGINT)
    _, err = running.communicate(timeout=60)
    assert running.returncode == 1, err
    assert "Stopping after the requests in flight" in err
    assert "not applied: the apply was stopped before this change" in err
    written = {m.extended.get(MID) for m in store.mail()}
    assert 1 <= len(written) < COUNT

    rerun = apply(tmp_path)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    expected = Counter((a, f"team/m{i}") for i in range(COUNT) for a in ("alice@contoso.com", "bob@contoso.com"))
    assert Counter((m.recipient, m.extended.get(MID, "")) for m in store.mail()) == expected
