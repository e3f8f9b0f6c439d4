"""The wire log through the real msgraph-sdk against the Graph emulator: every request and answer
is written, and the bearer token never is."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.graph import GraphServer
from reconciler.errors import ProviderError
from reconciler.occurrences import NO_EDITS
from reconciler.port import CreateRequest
from reconciler.providers.graph import GraphProvider
from reconciler.providers.wirelog import WireLog
from tests.factories import ORGANIZER
from tests.graph.conftest import NAMESPACE, SleepRecorder, fields

#: Shaped like an Entra access token (header.payload.signature), so the JWT pattern is tested too.
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


class Credential:
    """An azure-identity style credential handing out `TOKEN`."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(TOKEN, int(time.time()) + 3600)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_graph_request_and_answer_is_logged_with_the_token_redacted(graph: GraphServer, tmp_path: Path) -> None:
    log = tmp_path / "wire.jsonl"
    provider = GraphProvider(graph.graph_url, credential=Credential(), trust_env=False, wire_log=WireLog(log))
    try:
        desired = fields("team/demo", subject="Wire log demo")
        provider.create(CreateRequest(NAMESPACE, ORGANIZER, "team/demo", desired, "tx-demo", NO_EDITS))
        provider.list_managed(ORGANIZER, NAMESPACE)
    finally:
        provider.close()
    text = log.read_text(encoding="utf-8")
    records = lines(log)
    assert len(records) == graph.app.stats.requests
    create = next(r for r in records if r["method"] == "POST")
    assert create["backend"] == "graph"
    assert create["url"] == f"{graph.graph_url}/users/lead%40contoso.com/events"
    assert create["status"] == 201
    assert create["request"]["headers"]["authorization"] == "Bearer <redacted>"
    assert json.loads(create["request"]["body"])["subject"] == "Wire log demo"
    assert json.loads(create["response"]["body"])["subject"] == "Wire log demo"
    assert create["elapsed_ms"] >= 0 and create["error"] is None
    assert TOKEN not in text and TOKEN.split(".")[1] not in text


def test_a_request_without_an_answer_is_logged_with_its_error(tmp_path: Path, sleeps: SleepRecorder) -> None:
    log = tmp_path / "wire.jsonl"
    # Nothing listens on port 9 of loopback (discard): the connection is refused.
    provider = GraphProvider("http://127.0.0.1:9/v1.0", trust_env=False, wire_log=WireLog(log), sleep=sleeps)
    try:
        with pytest.raises(ProviderError):
            provider.list_managed(ORGANIZER, NAMESPACE)
    finally:
        provider.close()
    records = lines(log)
    assert len(records) == len(sleeps.delays) + 1  # each attempt
    assert all(r["status"] is None and "ConnectError" in r["error"] for r in records)
