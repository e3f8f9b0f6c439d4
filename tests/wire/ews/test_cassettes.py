"""Recorded EWS traffic of the main scenarios (create, list, update, cancel), replayed offline.

By default every test replays its cassette with `record_mode="none"`: the provider runs against
recorded answers, every request must match a recorded one exactly (method, URL and SOAP body) and
every recorded request must be used. A change in what EwsProvider sends therefore fails here and
shows in review as a cassette diff once re-recorded.

Re-recording (see the README's EWS section):

* against the emulator: `MEETINGS_EWS_RECORD=emulator pytest tests/wire/ews`
* against a real Exchange Server: `MEETINGS_EWS_RECORD=live` with `MEETINGS_EWS_ENDPOINT`,
  `MEETINGS_EWS_AUTH` (basic | ntlm), `MEETINGS_EWS_USERNAME`, `MEETINGS_EWS_PASSWORD`,
  `MEETINGS_EWS_ORGANIZER` and `MEETINGS_EWS_ATTENDEES` (three test mailboxes, comma-separated).

Recording scrubs credentials and names: Authorization and Cookie headers are dropped, the endpoint
becomes `https://ews.example.invalid/EWS/Exchange.asmx`, and the live organizer and attendees become
lead@, alice@, bob@ and carol@contoso.com in requests and answers.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import vcr

from reconciler.emulator.ews.app import endpoint, serve_ews
from reconciler.emulator.store import MailboxStore
from reconciler.model import Every, Recurrence, Weekday
from reconciler.occurrences import NO_EDITS, series_edits
from reconciler.port import CancelRequest, UpdateRequest
from reconciler.providers.ews import EwsProvider
from reconciler.state import meeting_state
from tests.ews.conftest import NAMESPACE, create_request
from tests.factories import ORGANIZER, declared_override, meeting, written

CASSETTES = Path(__file__).parent / "cassettes"
CANONICAL_ENDPOINT = "https://ews.example.invalid/EWS/Exchange.asmx"
MODE = os.environ.get("MEETINGS_EWS_RECORD", "")
CANONICAL_PEOPLE = [ORGANIZER, "alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]


def _replacements(live_endpoint: str) -> list[tuple[str, str]]:
    pairs = [(live_endpoint, CANONICAL_ENDPOINT)]
    if MODE == "live":
        people = [os.environ["MEETINGS_EWS_ORGANIZER"], *os.environ["MEETINGS_EWS_ATTENDEES"].split(",")]
        pairs += [(real.strip().lower(), fake) for real, fake in zip(people, CANONICAL_PEOPLE, strict=True)]
    return pairs


def _scrubber(pairs: list[tuple[str, str]]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    def scrub(text: bytes) -> bytes:
        for real, fake in pairs:
            text = text.replace(real.encode(), fake.encode())
        return text

    def request(recorded: Any) -> Any:
        if "login.microsoftonline.com" in recorded.uri:
            return None  # token requests (and their secrets) are never recorded
        recorded.uri = scrub(recorded.uri.encode()).decode()
        if recorded.body:
            recorded.body = scrub(recorded.body if isinstance(recorded.body, bytes) else recorded.body.encode())
        return recorded

    def response(recorded: dict[str, Any]) -> dict[str, Any]:
        recorded["headers"] = {k: v for k, v in recorded["headers"].items() if k.lower() not in ("set-cookie",)}
        body = recorded["body"].get("string")
        if body:
            recorded["body"]["string"] = scrub(body)
        return recorded

    return request, response


@contextmanager
def target() -> Iterator[tuple[str, dict[str, Any]]]:
    """(endpoint URL, provider options) for this run: the canonical URL when replaying."""
    if MODE == "emulator":
        store = MailboxStore(":memory:")
        with serve_ews(store) as running:
            yield endpoint(running), {"auth": "basic", "username": "svc@contoso.com", "password": "loopback"}
        store.close()
    elif MODE == "live":
        yield (
            os.environ["MEETINGS_EWS_ENDPOINT"],
            {
                "auth": os.environ.get("MEETINGS_EWS_AUTH", "ntlm"),
                "username": os.environ["MEETINGS_EWS_USERNAME"],
                "password": os.environ["MEETINGS_EWS_PASSWORD"],
            },
        )
    else:
        yield CANONICAL_ENDPOINT, {"auth": "basic", "username": "svc@contoso.com", "password": "recorded"}


@pytest.fixture
def cassette_provider(request: pytest.FixtureRequest) -> Iterator[EwsProvider]:
    name = request.node.name.removeprefix("test_")
    with target() as (url, options):
        scrub_request, scrub_response = _scrubber(_replacements(url))
        recorder = vcr.VCR(
            cassette_library_dir=str(CASSETTES),
            record_mode="all" if MODE else "none",
            match_on=["method", "uri", "body"],
            filter_headers=["authorization", "cookie"],
            before_record_request=scrub_request,
            before_record_response=scrub_response,
            decode_compressed_response=True,
        )
        provider = EwsProvider(url if MODE else CANONICAL_ENDPOINT, sleep=lambda _: None, **options)
        with recorder.use_cassette(f"{name}.yaml", allow_playback_repeats=False) as cassette:
            yield provider
            provider.close()
            if not MODE:
                assert cassette.all_played, "the provider no longer sends every recorded request"


def test_create_invites_with_the_ownership_properties(cassette_provider: EwsProvider) -> None:
    observed = written(cassette_provider, create_request(meeting()))
    assert observed.fields == meeting_state(meeting())
    assert observed.item_id and observed.change_key


def test_list_reads_the_managed_meetings_back(cassette_provider: EwsProvider) -> None:
    cassette_provider.create(create_request(meeting()))
    cassette_provider.create(create_request(meeting("team/retro", subject="Retro")))
    listed = cassette_provider.list_managed(ORGANIZER, NAMESPACE)
    assert sorted(o.meeting_id for o in listed) == ["team/retro", "team/sync"]
    assert {o.meeting_id: o.fields for o in listed}["team/sync"] == meeting_state(meeting())


def test_update_writes_only_the_changed_field(cassette_provider: EwsProvider) -> None:
    created = written(cassette_provider, create_request(meeting()))
    after = meeting_state(dataclasses.replace(meeting(), subject="Team sync (moved)"))
    request = UpdateRequest(
        NAMESPACE,
        ORGANIZER,
        "team/sync",
        created.item_id,
        created.change_key,
        after,
        frozenset({"subject"}),
        "team/sync",
        NO_EDITS,
    )
    assert written(cassette_provider, request).fields.subject == "Team sync (moved)"


def test_cancel_sends_the_cancellation_text(cassette_provider: EwsProvider) -> None:
    created = written(cassette_provider, create_request(meeting()))
    cassette_provider.cancel(
        CancelRequest(ORGANIZER, "team/sync", created.item_id, created.change_key, "Replaced by Q1 planning.")
    )
    assert cassette_provider.list_managed(ORGANIZER, NAMESPACE) == []


def test_series_occurrences_are_written_by_instance_index_and_read_back(cassette_provider: EwsProvider) -> None:
    weekly = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=6)
    before = meeting(
        recurrence=dataclasses.replace(
            weekly,
            skip=(date(2026, 12, 22),),
            overrides=(declared_override(date(2026, 12, 8), {"start": "2026-12-08T14:00", "end": "2026-12-08T14:30"}),),
        )
    )
    created = written(cassette_provider, create_request(before))
    assert created.fields == meeting_state(before)
    after = meeting(recurrence=dataclasses.replace(weekly, skip=(date(2026, 12, 22), date(2026, 12, 29))))
    request = UpdateRequest(
        NAMESPACE,
        ORGANIZER,
        "team/sync",
        created.item_id,
        created.change_key,
        meeting_state(after),
        frozenset({"skip", "overrides"}),
        "team/sync",
        series_edits(created.fields, meeting_state(after), {"skip", "overrides"}),
    )
    assert written(cassette_provider, request).fields == meeting_state(after)
    (listed,) = cassette_provider.list_managed(ORGANIZER, NAMESPACE)
    assert listed.fields == meeting_state(after)
