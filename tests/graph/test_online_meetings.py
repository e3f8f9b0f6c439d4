"""Teams meetings on Graph: Exchange appends a join block to the body and returns `onlineMeeting`;
the reconciler ignores that block when it compares bodies and keeps it when it rewrites the body.

The emulator's block follows the documented one (tests/wire/real/graph/create-online-meeting-teams.json).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator.store import MailboxStore, SendMode
from reconciler.model import Action, BodyFormat, Every, Recurrence, Weekday
from reconciler.ownership import join_block
from reconciler.state import to_json
from tests.contract.backends.graph import graph_backend
from tests.contract.backends.harness import Backend
from tests.contract.test_contract import NAMESPACE, converge
from tests.factories import ORGANIZER, declared_override, meeting

EVENTS = "/users/lead@contoso.com/events"
TEAMS = meeting(online_meeting=True, body="Agenda v1")


def online_event(**changes: Any) -> dict[str, Any]:
    event = {
        "subject": "Prep for customer meeting",
        "body": {"contentType": "HTML", "content": "Does this time work for you?"},
        "start": {"dateTime": "2026-12-01T13:00:00", "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": "2026-12-01T14:00:00", "timeZone": "Pacific Standard Time"},
        "attendees": [{"emailAddress": {"address": "adele@contoso.com"}, "type": "required"}],
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
    }
    return event | changes


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    store = MailboxStore(tmp_path / "store.db")
    with graph_backend(store) as harness:
        yield harness
    store.close()


def stored_body(backend: Backend) -> str:
    (item,) = backend.store.list_items(ORGANIZER)
    return str(item.doc["body"]["content"])


def test_creating_an_online_meeting_appends_the_join_block_and_returns_the_join_details(http: httpx.Client) -> None:
    created = http.post(EVENTS, json=online_event()).json()
    content = created["body"]["content"]
    assert content.index("Does this time work for you?") < content.index("Join\r\n Microsoft Teams Meeting")
    assert join_block(content) is not None
    assert created["onlineMeetingProvider"] == "teamsForBusiness"
    online = created["onlineMeeting"]
    assert sorted(online) == ["conferenceId", "joinUrl", "tollNumber"]
    assert online["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/19%3ameeting_")
    assert online["joinUrl"] in content and online["conferenceId"].isdigit() and len(online["conferenceId"]) == 9


def test_turning_an_event_online_appends_the_block_once_after_its_text(http: httpx.Client) -> None:
    created = http.post(EVENTS, json=online_event(isOnlineMeeting=False)).json()
    assert created["onlineMeeting"] is None and join_block(created["body"]["content"]) is None
    patched = http.patch(f"{EVENTS}/{created['id']}", json={"isOnlineMeeting": True}).json()
    again = http.patch(f"{EVENTS}/{created['id']}", json={"subject": "Renamed"}).json()
    for event in (patched, again):
        assert event["body"]["content"].count("Join\r\n Microsoft Teams Meeting") == 1
        assert event["body"]["content"].index("Does this time work") < event["body"]["content"].index("_" * 80)
    assert again["onlineMeeting"] == patched["onlineMeeting"]


def test_a_body_written_without_the_block_loses_it_as_in_exchange(http: httpx.Client) -> None:
    created = http.post(EVENTS, json=online_event()).json()
    patched = http.patch(f"{EVENTS}/{created['id']}", json={"body": {"contentType": "text", "content": "New"}}).json()
    assert join_block(patched["body"]["content"]) is None


def test_a_teams_meeting_applied_once_plans_no_change_although_exchange_added_the_join_block(
    backend: Backend,
) -> None:
    plan, sent = converge(backend, [TEAMS])
    assert [c.action for c in plan.changes] == [Action.CREATE]
    assert join_block(stored_body(backend)) is not None
    assert set(sent.values()) == {1}


def test_a_body_change_from_git_keeps_the_join_block_and_mails_each_attendee_one_update(backend: Backend) -> None:
    converge(backend, [TEAMS])
    block = join_block(stored_body(backend))
    plan, sent = converge(backend, [dataclasses.replace(TEAMS, body="Agenda v2: *risks*")])
    (change,) = plan.changes
    assert (change.action, [f.name for f in change.fields]) == (Action.UPDATE, ["body"])
    assert sent == Counter(
        {(who, "update", "team/sync"): 1 for who in ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")}
    )
    body = stored_body(backend)
    assert "Agenda v2:" in body and "Agenda v1" not in body
    assert join_block(body) == block
    (observed,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    assert (to_json(observed.fields)["body"], to_json(observed.fields)["body_format"]) == (
        "Agenda v2: *risks*",
        "markdown",
    )


def test_a_text_body_change_of_a_teams_meeting_keeps_the_block_too(backend: Backend) -> None:
    converge(backend, [dataclasses.replace(TEAMS, body_format=BodyFormat.TEXT)])
    block = join_block(stored_body(backend))
    converge(backend, [dataclasses.replace(TEAMS, body_format=BodyFormat.TEXT, body="Line 1\nLine 2 & more")])
    body = stored_body(backend)
    assert join_block(body) == block and "Line 2 &amp; more" in body


def test_an_outlook_edit_of_a_teams_meetings_text_is_still_drift(backend: Backend) -> None:
    converge(backend, [TEAMS])
    (item,) = backend.store.list_items(ORGANIZER)
    edited = stored_body(backend).replace("Agenda v1", "Agenda edited in Outlook")
    backend.store.update_item(item.item_id, {"body": {"type": "html", "content": edited}}, send=SendMode.NONE)
    plan, _sent = converge(backend, [TEAMS])
    (change,) = plan.changes
    assert (change.action, change.drift) == (Action.UPDATE, ("body", "body_format"))
    body = next(f for f in change.fields if f.name == "body")
    assert (body.before, body.after) == ("Agenda edited in Outlook", "Agenda v1")  # the block is not drift
    assert join_block(stored_body(backend)) is not None


def test_an_occurrence_body_override_of_a_teams_series_keeps_the_join_block(backend: Backend) -> None:
    weekly = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=3)
    series = dataclasses.replace(TEAMS, recurrence=weekly)
    converge(backend, [series])
    override = declared_override(date(2026, 12, 8), {"body": "Agenda for the 8th"})
    converge(backend, [dataclasses.replace(series, recurrence=dataclasses.replace(weekly, overrides=(override,)))])
    (item,) = backend.store.list_items(ORGANIZER)
    body = str(item.doc["exceptions"]["2026-12-08"]["body"]["content"])
    assert "Agenda for the 8th" in body and join_block(body) == join_block(stored_body(backend))
