"""`--wire-log FILE` and MEETINGS_WIRE_LOG end to end: `meetings plan` against the Graph emulator
writes every request it makes to the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.graph import GraphServer, serve_graph
from reconciler.emulator.store import MailboxStore
from tests.e2e.cli import run


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[GraphServer]:
    store = MailboxStore(tmp_path / "store.db")
    try:
        with serve_graph(store) as server:
            yield server
    finally:
        store.close()


@pytest.fixture
def workdir(tmp_path: Path, graph: GraphServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "meetings").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(
        f"namespace: example\nbackend: graph\ngraph:\n  base_url: {graph.graph_url}\n"
        "defaults:\n  organizer: lead@contoso.com\n",
        encoding="utf-8",
    )
    (root / "meetings" / "sync.yaml").write_text(
        "id: team/sync\nsubject: Sync\nstart: 2026-12-01T10:00\ntimezone: Europe/Berlin\n"
        "attendees:\n  required: [alice@contoso.com]\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(root)
    monkeypatch.setenv("MEETINGS_NOW", "2026-11-24T12:00:00+00:00")
    monkeypatch.delenv("MEETINGS_WIRE_LOG", raising=False)
    return root


def test_plan_writes_every_graph_request_to_the_wire_log(workdir: Path, graph: GraphServer) -> None:
    code, _, err = run("plan", "--wire-log", "wire.jsonl")
    assert code == 0, err
    records = [json.loads(line) for line in (workdir / "wire.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == graph.app.stats.requests > 0
    assert {r["backend"] for r in records} == {"graph"}
    assert all(r["url"].startswith(graph.graph_url) and r["status"] == 200 for r in records)


def test_the_environment_variable_names_the_wire_log_and_runs_append_to_it(
    workdir: Path, graph: GraphServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETINGS_WIRE_LOG", str(workdir / "ci-wire.jsonl"))
    assert run("plan")[0] == 0
    first = len((workdir / "ci-wire.jsonl").read_text(encoding="utf-8").splitlines())
    assert run("plan")[0] == 0
    assert len((workdir / "ci-wire.jsonl").read_text(encoding="utf-8").splitlines()) == 2 * first


def test_a_wire_log_that_cannot_be_written_is_refused_before_any_request(workdir: Path, graph: GraphServer) -> None:
    code, _, err = run("plan", "--wire-log", "missing/dir/wire.jsonl")
    assert code == 1
    assert "Error: Cannot write the wire log missing/dir/wire.jsonl: No such file or directory." in err
    assert graph.app.stats.requests == 0
