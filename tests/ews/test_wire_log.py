"""The wire log through the real exchangelib against the EWS emulator: every SOAP request and
answer is written, and the service account's password never is."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from reconciler.providers.ews.sdk import LargeChunkAdapter
from reconciler.providers.wirelog import WireLog
from tests.ews.conftest import NAMESPACE, Emulator, create_request
from tests.factories import ORGANIZER, meeting


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_ews_request_and_answer_is_logged_with_the_basic_credentials_redacted(
    emulator: Emulator, tmp_path: Path
) -> None:
    log = tmp_path / "wire.jsonl"
    provider = emulator.provider(wire_log=WireLog(log))
    try:
        provider.create(create_request(meeting("team/demo", subject="Wire log demo")))
        provider.list_managed(ORGANIZER, NAMESPACE)
    finally:
        provider.close()
    text = log.read_text(encoding="utf-8")
    records = lines(log)
    assert len(records) == len(emulator.recorder.requests)
    create = next(r for r in records if "CreateItem" in (r["request"]["body"] or ""))
    assert (create["backend"], create["method"], create["url"], create["status"]) == ("ews", "POST", emulator.url, 200)
    assert create["request"]["headers"]["Authorization"] == "Basic <redacted>"
    assert "Wire log demo" in create["request"]["body"]
    assert "CreateItemResponse" in create["response"]["body"]
    secret = base64.b64encode(b"svc-meetings@contoso.com:loopback").decode()
    assert secret not in text and "loopback" not in text
    # The log is the connection's: once it is closed, other EWS traffic is not written there.
    assert LargeChunkAdapter.wire_log is None
