"""`POST /v1.0/$batch`: the emulator answers it as concepts/json-batching.md documents, and
GraphProvider reads series masters through it, twenty to a batch, retrying a throttled request
inside a batch on its own."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.graph import GraphServer
from reconciler.emulator.store import MailboxStore
from reconciler.model import Every, Recurrence, Weekday
from reconciler.occurrences import creation_edits
from reconciler.port import CreateRequest
from reconciler.providers.graph import GraphProvider
from reconciler.state import MeetingState
from tests.factories import ORGANIZER, declared_override
from tests.graph.conftest import NAMESPACE, SleepRecorder, fields

EVENTS = f"/users/{ORGANIZER}/events"


def _created(http: httpx.Client, subject: str) -> dict[str, Any]:
    body = {
        "subject": subject,
        "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T10:30:00", "timeZone": "UTC"},
    }
    created: dict[str, Any] = http.post(EVENTS, json=body).json()
    return created


def _deleted_id(http: httpx.Client) -> str:
    gone = _created(http, "Gone")
    http.delete(f"{EVENTS}/{gone['id']}")
    return str(gone["id"])


def _batch(http: httpx.Client, requests: list[dict[str, Any]]) -> httpx.Response:
    return http.post("/$batch", json={"requests": requests})


def test_a_batch_answers_each_request_by_id_with_its_own_status_headers_and_json_body(
    http: httpx.Client, graph: GraphServer
) -> None:
    first, gone = _created(http, "One"), _deleted_id(http)
    answer = _batch(
        http,
        [
            {"id": "1", "method": "GET", "url": f"{EVENTS}/{first['id']}?$select=subject"},
            {"id": "2", "method": "GET", "url": f"{EVENTS}/{gone}"},
            {
                "id": "3",
                "method": "PATCH",
                "url": f"{EVENTS}/{first['id']}",
                "headers": {"Content-Type": "application/json"},
                "body": {"subject": "Renamed"},
            },
        ],
    )
    assert answer.status_code == 200
    responses = {r["id"]: r for r in answer.json()["responses"]}
    assert (responses["1"]["status"], responses["1"]["body"]["subject"]) == (200, "One")
    assert responses["1"]["headers"]["Content-Type"].startswith("application/json")
    assert responses["2"]["status"] == 404 and responses["2"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert responses["3"]["status"] == 200 and http.get(f"{EVENTS}/{first['id']}").json()["subject"] == "Renamed"
    # One HTTP request on the wire; its three requests count as operations against the limits.
    assert (graph.app.stats.by_operation["batch"], graph.app.stats.batched) == (1, 3)


@pytest.mark.parametrize(
    "requests",
    [
        [{"id": str(n), "method": "GET", "url": EVENTS} for n in range(21)],
        [{"id": "a", "method": "GET", "url": EVENTS}, {"id": "A", "method": "GET", "url": EVENTS}],
        [{"id": "1", "method": "GET", "url": f"https://graph.microsoft.com/v1.0{EVENTS}"}],
        [{"id": "1", "method": "POST", "url": EVENTS, "body": {"subject": "No content type"}}],
        [],
    ],
    ids=["over-20", "repeated-id", "absolute-url", "body-without-content-type", "empty"],
)
def test_a_malformed_batch_is_refused_as_a_whole_with_400(http: httpx.Client, requests: list[dict[str, Any]]) -> None:
    answer = _batch(http, requests)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "BadRequest"
    assert http.get(EVENTS).json()["value"] == []


def test_a_request_depending_on_a_failed_one_is_answered_424_without_running(http: httpx.Client) -> None:
    gone = _deleted_id(http)
    answer = _batch(
        http,
        [
            {"id": "1", "method": "GET", "url": f"{EVENTS}/{gone}"},
            {
                "id": "2",
                "dependsOn": ["1"],
                "method": "POST",
                "url": EVENTS,
                "headers": {"Content-Type": "application/json"},
                "body": {"subject": "Never"},
            },
        ],
    )
    assert [r["status"] for r in answer.json()["responses"]] == [404, 424]
    assert http.get(EVENTS).json()["value"] == []


def test_a_throttled_request_in_a_batch_carries_its_own_429_and_retry_after(
    http: httpx.Client, store: MailboxStore, faults: FaultPlan
) -> None:
    one, two = _created(http, "One"), _created(http, "Two")
    faults.inject("graph", "get", "429", retry_after=7)
    answer = _batch(
        http,
        [{"id": str(n), "method": "GET", "url": f"{EVENTS}/{e['id']}"} for n, e in enumerate((one, two), 1)],
    )
    assert answer.status_code == 200
    first, second = answer.json()["responses"]
    assert (first["status"], first["headers"]["Retry-After"]) == (429, "7")
    assert second["status"] == 200 and second["body"]["subject"] == "Two"


def _series(meeting_id: str, skip: str, moved: str) -> MeetingState:
    weekly = Recurrence(
        every=Every.WEEK,
        on=(Weekday.TUESDAY,),
        count=6,
        skip=(date.fromisoformat(skip),),
        overrides=(declared_override(date.fromisoformat(moved), {"subject": f"{meeting_id} moved"}),),
    )
    return fields(meeting_id, recurrence=weekly)


def _create_series(provider: GraphProvider, count: int) -> dict[str, MeetingState]:
    desired = {f"team/s{n:02d}": _series(f"team/s{n:02d}", "2026-12-15", "2026-12-22") for n in range(count)}
    for meeting_id, wanted in desired.items():
        provider.create(
            CreateRequest(NAMESPACE, ORGANIZER, meeting_id, wanted, f"tx-{meeting_id}", creation_edits(wanted))
        )
    return desired


def test_listing_reads_the_series_masters_twenty_to_a_batch_with_their_skips_and_overrides(
    provider: GraphProvider, graph: GraphServer
) -> None:
    desired = _create_series(provider, 21)
    before = graph.app.stats.requests
    listed = provider.list_managed(ORGANIZER, NAMESPACE)
    assert {seen.meeting_id: seen.fields for seen in listed} == desired
    batches = [r for r in list(graph.app.requests)[-2:] if r.target.endswith("/$batch")]
    assert graph.app.stats.requests - before == 1 + 2 and [len(b.json()["requests"]) for b in batches] == [20, 1]
    assert all(r["url"].startswith(f"/users/{ORGANIZER}/events/") for r in batches[0].json()["requests"])


def test_a_throttled_read_inside_a_batch_is_sent_again_alone_after_its_retry_after(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore, sleeps: SleepRecorder, faults: FaultPlan
) -> None:
    desired = _create_series(provider, 3)
    faults.inject("graph", "get", "429", retry_after=5)
    listed = provider.list_managed(ORGANIZER, NAMESPACE)
    assert {seen.meeting_id: seen.fields for seen in listed} == desired
    assert sleeps.delays == [5.0]
    batches = [r.json()["requests"] for r in graph.app.requests if r.target.endswith("/$batch")]
    assert [len(b) for b in batches] == [3, 1]


def test_a_batch_whose_answer_is_lost_is_read_again_whole(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore, sleeps: SleepRecorder, faults: FaultPlan
) -> None:
    desired = _create_series(provider, 2)
    faults.inject("graph", "batch", "504-after-commit")
    listed = provider.list_managed(ORGANIZER, NAMESPACE)
    assert {seen.meeting_id: seen.fields for seen in listed} == desired
    batches = [r.json()["requests"] for r in graph.app.requests if r.target.endswith("/$batch")]
    assert [len(b) for b in batches] == [2, 2] and len(sleeps.delays) == 1
