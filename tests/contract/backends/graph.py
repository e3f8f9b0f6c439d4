"""The Graph backend for the contract suite: GraphProvider (real msgraph-sdk, httpx without proxy
variables) -> the Graph emulator over loopback HTTP -> the shared store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from reconciler.emulator.graph import ids, serve_graph
from reconciler.emulator.store import MailboxStore
from reconciler.people import Response
from reconciler.providers.graph import GraphProvider
from tests.contract.backends.harness import Backend, Seen
from tests.contract.backends.outlook import GraphOutlook


def calendar_view(base_url: str, organizer: str, start: datetime, end: datetime) -> list[Seen]:
    """GET /users/{organizer}/calendarView for the window, in UTC, following every nextLink."""

    def utc(value: dict[str, str]) -> datetime:
        assert value["timeZone"] == "UTC"
        return datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=UTC)

    window = {"startDateTime": start.isoformat(), "endDateTime": end.isoformat(), "$top": "100"}
    seen: list[Seen] = []
    with httpx.Client(trust_env=False, timeout=10, headers={"Prefer": 'outlook.timezone="UTC"'}) as client:
        url: str | None = f"{base_url}/users/{quote(organizer)}/calendarView"
        params: dict[str, str] | None = window
        while url:
            answer = client.get(url, params=params)
            answer.raise_for_status()
            page = answer.json()
            seen += [(utc(e["start"]), utc(e["end"]), e["subject"]) for e in page["value"]]
            url, params = page.get("@odata.nextLink"), None
    return sorted(seen)


#: The Graph action that gives each answer (event-accept.md, event-tentativelyaccept.md, event-decline.md).
_ACTIONS = {Response.ACCEPTED: "accept", Response.TENTATIVE: "tentativelyAccept", Response.DECLINED: "decline"}


def answer(base_url: str, attendee: str, item_id: str, response: Response) -> None:
    """POST /users/{attendee}/events/{id}/<action> on the attendee's copy (its id made for the
    attendee's mailbox over the organizer's item: the emulator keeps no separate copies)."""
    copy = ids.rest(attendee, ids.store_id(item_id))
    url = f"{base_url}/users/{quote(attendee)}/events/{copy}/{_ACTIONS[response]}"
    with httpx.Client(trust_env=False, timeout=10) as client:
        answered = client.post(url, json={"comment": "", "sendResponse": True})
    assert answered.status_code == 202, answered.text


@contextmanager
def graph_backend(store: MailboxStore) -> Iterator[Backend]:
    with serve_graph(store) as server:
        faults = server.app.faults
        provider = GraphProvider(server.graph_url, trust_env=False)
        try:
            yield Backend(
                name="graph",
                provider=provider,
                store=store,
                # The write commits, then the client sees a 504 Gateway Timeout.
                lose_next_answer=lambda operation: faults.inject("graph", operation, "504-after-commit"),
                store_id=ids.store_id,
                view=lambda organizer, start, end: calendar_view(server.graph_url, organizer, start, end),
                outlook=GraphOutlook(server.graph_url),
                respond=lambda attendee, item_id, response: answer(server.graph_url, attendee, item_id, response),
            )
        finally:
            provider.close()
