"""What GraphProvider puts on the wire, pinned as vcrpy cassettes (one YAML file per scenario).

By default the cassettes are replayed (`record_mode="none"`) with no server at all: a request
the provider no longer sends, or sends in another shape, fails the test, and re-recording shows
the change as a diff in review. Requests are matched on method, path template (mailbox and event
ids replaced), query options and the shape of the JSON body (keys and types, not values), so ids,
change keys and timestamps may differ between recordings.

Re-record against the emulator::

    GRAPH_CASSETTES=record python -m pytest tests/wire/graph -p no:cacheprovider

or against a real tenant (sends real invitations and cancellations to the attendees named in
MEETINGS_GRAPH_TEST_ATTENDEES, three addresses, comma-separated; the organizer's mailbox must be one
the app may write)::

    GRAPH_CASSETTES=record-live AZURE_TENANT_ID=... AZURE_CLIENT_ID=... MEETINGS_GRAPH_CLIENT_SECRET=... \\
    MEETINGS_GRAPH_TEST_ORGANIZER=... MEETINGS_GRAPH_TEST_ATTENDEES=a@...,b@...,c@... \\
    python -m pytest tests/wire/graph -p no:cacheprovider

Recording drops the Authorization header and every other header except the few the provider's
behaviour depends on, and replaces the live organizer and attendee addresses with the example ones.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import vcr

from reconciler.config import Config, GraphSettings
from reconciler.emulator.graph import serve_graph
from reconciler.emulator.store import MailboxStore
from reconciler.model import Every, Meeting, Recurrence, Weekday
from reconciler.occurrences import NO_EDITS, creation_edits, series_edits
from reconciler.port import CancelRequest, CreateRequest, UpdateRequest
from reconciler.providers.graph import GraphProvider
from reconciler.state import MeetingState, meeting_state, to_json
from tests.factories import declared_override, meeting, written

CASSETTES = Path(__file__).parent / "cassettes"
MODE = os.environ.get("GRAPH_CASSETTES", "replay")
NAMESPACE = "cassettes"
EXAMPLE_ORGANIZER = "lead@contoso.com"
EXAMPLE_ATTENDEES = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
ORGANIZER = (
    os.environ.get("MEETINGS_GRAPH_TEST_ORGANIZER", EXAMPLE_ORGANIZER) if MODE == "record-live" else EXAMPLE_ORGANIZER
)
ATTENDEES = (
    tuple(os.environ["MEETINGS_GRAPH_TEST_ATTENDEES"].split(","))
    if MODE == "record-live" and os.environ.get("MEETINGS_GRAPH_TEST_ATTENDEES")
    else EXAMPLE_ATTENDEES
)

#: Live Graph remembers transaction ids: a live re-recording must not reuse the last run's.
SALT = uuid.uuid4().hex[:8] if MODE == "record-live" else "recorded"
REQUEST_HEADERS = {"content-type", "prefer", "if-match", "accept"}
RESPONSE_HEADERS = {"content-type", "etag", "preference-applied", "retry-after", "location"}


# -- matching -----------------------------------------------------------------------------------

_ID_SEGMENT = re.compile(r"(/users/)[^/]+|(/events/)[^/?]+")


def path_template(path: str) -> str:
    """`/v1.0/users/{user}/events/{id}/cancel`: the mailbox and event ids are not part of the shape."""
    path = path[path.index("/v1.0") :] if "/v1.0" in path else path
    return _ID_SEGMENT.sub(lambda m: (m.group(1) or m.group(2)) + ("{user}" if m.group(1) else "{id}"), path)


def shape(value: Any) -> Any:
    """A JSON value with every scalar replaced by its type: what a body looks like, not what it says."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def _body(request: Any) -> Any:
    body = request.body
    if not body:
        return None
    text = body.decode() if isinstance(body, bytes) else str(body)
    return shape(json.loads(text))


def match_path_template(r1: Any, r2: Any) -> None:
    assert path_template(urlsplit(r1.uri).path) == path_template(urlsplit(r2.uri).path)


def match_query(r1: Any, r2: Any) -> None:
    def options(uri: str) -> dict[str, str]:
        return {unquote(k): v for k, v in parse_qsl(urlsplit(uri).query, keep_blank_values=True)}

    assert options(r1.uri) == options(r2.uri)


def match_body_shape(r1: Any, r2: Any) -> None:
    assert _body(r1) == _body(r2)


# -- scrubbing ----------------------------------------------------------------------------------


def _replace_addresses(text: str) -> str:
    pairs = [(ORGANIZER, EXAMPLE_ORGANIZER), *zip(ATTENDEES, EXAMPLE_ATTENDEES, strict=True)]
    for live, example in pairs:
        if live != example:
            text = re.sub(re.escape(live), example, text, flags=re.IGNORECASE)
            text = text.replace(live.replace("@", "%40"), example.replace("@", "%40"))
    return text


def scrub_request(request: Any) -> Any:
    request.headers = {k: v for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS}
    request.uri = _replace_addresses(request.uri)
    if request.body:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        request.body = _replace_addresses(body).encode()
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {k: v for k, v in response["headers"].items() if k.lower() in RESPONSE_HEADERS}
    body = response.get("content")
    if isinstance(body, str):
        response["content"] = _replace_addresses(body)
    return response


def recorder() -> vcr.VCR:
    recording = MODE in ("record", "record-live")
    cassettes = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="all" if recording else "none",
        match_on=["method", "path_template", "graph_query", "body_shape"],
        before_record_request=scrub_request,
        before_record_response=scrub_response,
        decode_compressed_response=True,
    )
    cassettes.register_matcher("path_template", match_path_template)
    cassettes.register_matcher("graph_query", match_query)
    cassettes.register_matcher("body_shape", match_body_shape)
    return cassettes


# -- scenarios ----------------------------------------------------------------------------------


@dataclass
class Wire:
    provider: GraphProvider

    def fields(self, meeting_id: str = "cassette/sync", **changes: Any) -> MeetingState:
        defaults: dict[str, Any] = {
            "organizer": ORGANIZER,
            "subject": "Cassette sync",
            "required": tuple(sorted(ATTENDEES[:2])),
            "optional": (ATTENDEES[2],),
        }
        base: Meeting = meeting(meeting_id, **(defaults | changes))
        return meeting_state(base)

    def create(self, meeting_id: str = "cassette/sync", **changes: Any) -> Any:
        fields = self.fields(meeting_id, **changes)
        request = CreateRequest(
            NAMESPACE, ORGANIZER, meeting_id, fields, f"{meeting_id}#{SALT}", creation_edits(fields)
        )
        return written(self.provider, request)


@contextmanager
def wire(page_size: int = 500) -> Iterator[Wire]:
    if MODE == "record":
        store = MailboxStore(":memory:")
        with serve_graph(store) as server:
            provider = GraphProvider(server.graph_url, trust_env=False, page_size=page_size)
            try:
                yield Wire(provider)
            finally:
                provider.close()
        store.close()
        return
    if MODE == "record-live":
        config = Config(
            root=Path.cwd(),
            meetings_dir=Path.cwd(),
            backend="graph",
            graph=GraphSettings(tenant_id=os.environ["AZURE_TENANT_ID"], client_id=os.environ["AZURE_CLIENT_ID"]),
            env=dict(os.environ),
        )
        provider = GraphProvider.from_config(config)
        provider.page_size = page_size
    else:
        provider = GraphProvider("http://127.0.0.1:9/v1.0", trust_env=False, page_size=page_size)
    try:
        yield Wire(provider)
    finally:
        provider.close()


@contextmanager
def cassette(name: str) -> Iterator[Any]:
    with recorder().use_cassette(f"{name}.yaml", allow_playback_repeats=False) as recorded:
        yield recorded
    if MODE == "replay":
        assert recorded.all_played, f"{name}: the provider sent fewer requests than the cassette holds"


def recorded_bodies(recorded: Any, method: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in recorded.requests if r.method == method and r.body]


def test_create_sends_one_post_with_the_marker_and_the_transaction_id() -> None:
    with cassette("create") as recorded, wire() as w:
        created = w.create()
    assert created.fields == w.fields() and created.meeting_id == "cassette/sync"
    (post,) = recorded_bodies(recorded, "POST")
    assert post["transactionId"].startswith("cassette/sync#")
    assert len(post["singleValueExtendedProperties"]) == 3


def test_updating_one_field_sends_a_sparse_patch_with_if_match() -> None:
    with cassette("update_one_field") as recorded, wire() as w:
        created = w.create()
        desired = w.fields(subject="Cassette sync (renamed)")
        updated = written(
            w.provider,
            UpdateRequest(
                NAMESPACE,
                ORGANIZER,
                created.meeting_id,
                created.item_id,
                created.change_key,
                desired,
                frozenset({"subject"}),
                created.meeting_id,
                NO_EDITS,
            ),
        )
    assert to_json(updated.fields)["subject"] == "Cassette sync (renamed)"
    (patch,) = recorded_bodies(recorded, "PATCH")
    assert set(patch) == {"subject", "singleValueExtendedProperties"}
    assert [
        r.headers.get("if-match") or r.headers.get("If-Match") for r in recorded.requests if r.method == "PATCH"
    ] == [f'W/"{created.change_key}"']


def test_an_attendee_only_change_sends_only_attendees_and_leaves_the_record_as_it_was() -> None:
    with cassette("attendee_only") as recorded, wire() as w:
        created = w.create()
        desired = w.fields(required=(ATTENDEES[0],))
        updated = written(
            w.provider,
            UpdateRequest(
                NAMESPACE,
                ORGANIZER,
                created.meeting_id,
                created.item_id,
                created.change_key,
                desired,
                frozenset({"required"}),
                created.meeting_id,
                NO_EDITS,
            ),
        )
    assert to_json(updated.fields)["required"] == [ATTENDEES[0]]
    (patch,) = recorded_bodies(recorded, "PATCH")
    assert set(patch) == {"attendees"}
    # The create, the test's read of it, the attendees alone, the test's read again: nothing read back.
    assert [r.method for r in recorded.requests] == ["POST", "GET", "PATCH", "GET"]


def test_cancel_posts_the_comment() -> None:
    with cassette("cancel") as recorded, wire() as w:
        created = w.create()
        w.provider.cancel(
            CancelRequest(
                ORGANIZER,
                created.meeting_id,
                created.item_id,
                created.change_key,
                "Replaced by the Q1 planning series.",
            )
        )
    cancel = recorded_bodies(recorded, "POST")[-1]
    assert cancel == {"Comment": "Replaced by the Q1 planning series."}


def test_listing_follows_next_links_page_by_page() -> None:
    with cassette("list_paging") as recorded, wire(page_size=2) as w:
        created = [w.create(f"cassette/m{index}") for index in range(3)]  # each a POST and the test's GET
        listed = w.provider.list_managed(ORGANIZER, NAMESPACE)
        for item in created:
            w.provider.cancel(CancelRequest(ORGANIZER, item.meeting_id, item.item_id, item.change_key, None))
    assert sorted(o.meeting_id for o in listed) == ["cassette/m0", "cassette/m1", "cassette/m2"]
    listing = recorded.requests[6:8]
    assert [r.method for r in listing] == ["GET", "GET"] and "$skip=2" in unquote(listing[1].uri)


def test_a_series_writes_its_skips_and_overrides_occurrence_by_occurrence() -> None:
    weekly = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=4, skip=(date(2026, 12, 15),))
    retro = dataclasses.replace(
        weekly, overrides=(declared_override(date(2026, 12, 8), {"subject": "Cassette retro"}),)
    )
    with cassette("series_occurrences") as recorded, wire() as w:
        created = w.create(recurrence=weekly)
        updated = written(
            w.provider,
            UpdateRequest(
                NAMESPACE,
                ORGANIZER,
                created.meeting_id,
                created.item_id,
                created.change_key,
                w.fields(recurrence=retro),
                frozenset({"overrides"}),
                created.meeting_id,
                series_edits(created.fields, w.fields(recurrence=retro), {"overrides"}),
            ),
        )
        listed = w.provider.list_managed(ORGANIZER, NAMESPACE)
        w.provider.cancel(CancelRequest(ORGANIZER, updated.meeting_id, updated.item_id, updated.change_key, None))
    assert to_json(created.fields)["skip"] == ["2026-12-15"]
    assert (
        to_json(updated.fields)["overrides"]
        == to_json(listed[0].fields)["overrides"]
        == [{"date": "2026-12-08", "subject": "Cassette retro"}]
    )
    steps = [
        (r.method, path_template(urlsplit(r.uri).path).removeprefix("/v1.0/users/{user}")) for r in recorded.requests
    ]
    assert steps == [
        ("POST", "/events"),
        ("GET", "/events/{id}/instances"),  # the skipped occurrence's id, by its original start
        ("POST", "/events/{id}/cancel"),
        ("GET", "/events"),  # the test's read of the new series (a write reads nothing back) ...
        ("GET", "/events/{id}"),  # ... the master by id, for its cancelled and changed occurrences
        ("GET", "/events/{id}/instances"),
        ("PATCH", "/events/{id}"),  # the occurrence only: its subject
        ("GET", "/events"),  # the test's read after the update
        ("GET", "/events/{id}"),
        ("GET", "/events"),  # list_managed
        ("GET", "/events/{id}"),
        ("POST", "/events/{id}/cancel"),
    ]
    assert [json.loads(r.body) for r in recorded.requests if r.method == "PATCH"] == [{"subject": "Cassette retro"}]


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1.0/users/lead%40contoso.com/events", "/v1.0/users/{user}/events"),
        ("/v1.0/users/x/events/AAMk%2Fx%3D/cancel", "/v1.0/users/{user}/events/{id}/cancel"),
    ],
)
def test_paths_are_matched_by_template(path: str, template: str) -> None:
    assert path_template(path) == template
