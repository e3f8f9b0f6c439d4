"""The emulators' latency and message-rate knobs, seen through the real clients, and an apply paced
within them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from reconciler.emulator.ews.app import ENDPOINT_PATH, EwsApp
from reconciler.emulator.graph import GraphApp
from reconciler.emulator.limits import Dialect, LimitedApp, WireLimits, serve_limited
from reconciler.emulator.store import MailboxStore
from reconciler.errors import ThrottledError
from reconciler.pace import Pace
from reconciler.providers.graph import GraphProvider
from reconciler.providers.graph.provider import RetryPolicy
from reconciler.reconcile import apply_plan
from reconciler.report import OutcomeStatus
from tests.contract.backends.ews import ews_provider
from tests.graph.conftest import SleepRecorder
from tests.pacing.test_scheduler import meetings, plan_of

ORGANIZER = "lead@contoso.com"
#: Unpaced, and no back-off is waited out: the first throttling answer shows in the report.
NO_WAIT = Pace(messages_per_minute=None, max_wait=0)


class Minutes:
    """The limiter's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def minutes() -> Minutes:
    return Minutes()


@pytest.fixture
def limited_graph(store: MailboxStore, minutes: Minutes) -> Iterator[tuple[str, LimitedApp]]:
    from reconciler.emulator.server import serve

    app = LimitedApp(GraphApp(store), store, Dialect.GRAPH, WireLimits(messages_per_minute=3), clock=minutes)
    with serve(app) as running:
        yield running.base_url + "/v1.0", app


def test_graph_answers_429_with_retry_after_and_the_documented_body_once_a_mailbox_sent_its_minutes_messages(
    limited_graph: tuple[str, LimitedApp], minutes: Minutes
) -> None:
    url, app = limited_graph
    provider = GraphProvider(url, trust_env=False, sleep=SleepRecorder(), retry=RetryPolicy(max_attempts=1))
    try:
        report = apply_plan(plan_of(provider, meetings(ORGANIZER, 4)), provider, pace=NO_WAIT)
    finally:
        provider.close()
    statuses = [o.status for o in report.outcomes]
    assert statuses == [OutcomeStatus.APPLIED] * 3 + [OutcomeStatus.FAILED]
    assert app.stats.throttled == 1 and app.stats.messages[ORGANIZER] == 3
    minutes.now = 20.0
    with httpx.Client(trust_env=False) as client:
        answer = client.post(f"{url}/users/{ORGANIZER}/events", json={"subject": "x"})
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "40"  # until the first message leaves the minute
    error = json.loads(answer.content)["error"]
    assert (error["code"], error["message"]) == ("TooManyRequests", "Please retry again later.")
    assert error["innerError"]["status"] == "429"
    minutes.now = 61.0
    with httpx.Client(trust_env=False) as client:
        assert client.get(f"{url}/users/{ORGANIZER}/events").status_code == 200


def test_ews_answers_error_server_busy_with_back_off_milliseconds_and_the_provider_reports_it(
    store: MailboxStore, minutes: Minutes
) -> None:
    app = LimitedApp(EwsApp(store), store, Dialect.EWS, WireLimits(messages_per_minute=2), clock=minutes)
    from reconciler.emulator.server import serve

    with serve(app) as running:
        provider = ews_provider(running.base_url + ENDPOINT_PATH, sleep=lambda s: None, max_wait=10)
        try:
            report = apply_plan(plan_of(provider, meetings(ORGANIZER, 3)), provider, pace=NO_WAIT)
        finally:
            provider.close()
    assert [o.status for o in report.outcomes][:2] == [OutcomeStatus.APPLIED] * 2
    assert report.outcomes[2].status is OutcomeStatus.FAILED
    assert "ErrorServerBusy" in report.outcomes[2].message
    assert app.stats.throttled >= 1


def test_latency_delays_every_answer_and_an_apply_at_the_pace_meets_no_throttling(store: MailboxStore) -> None:
    limits = WireLimits(latency=0.01, messages_per_minute=600)
    with serve_limited(GraphApp(store), store, Dialect.GRAPH, limits) as (running, app):
        provider = GraphProvider(running.base_url + "/v1.0", trust_env=False, sleep=SleepRecorder())
        try:
            plan = plan_of(provider, meetings(ORGANIZER, 12) + meetings("ops@contoso.com", 12))
            report = apply_plan(plan, provider, pace=Pace(messages_per_minute=600))
        finally:
            provider.close()
    assert report.ok
    assert app.stats.throttled == 0
    assert app.stats.messages == {ORGANIZER: 12, "ops@contoso.com": 12}
    assert max(app.stats.peak_in_flight.values()) <= 4


def test_a_throttled_error_carries_the_servers_back_off() -> None:
    assert ThrottledError("slow down", retry_after=2.5).retry_after == 2.5
