"""Graph and EWS over one mailbox store: a meeting written through one API is owned, planned,
changed and cancelled through the other, with no duplicate item and no duplicate mail. Both reach
the same MAPI named properties (one property-set GUID, fixed names), so a mailbox can move from
EWS (on-premises) to Graph (Exchange Online) without losing its meetings."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reconciler.emulator.store import MailboxStore
from reconciler.model import (
    PROP_MEETING_ID,
    Every,
    Meeting,
    Recurrence,
    Weekday,
    extended_property_id,
)
from reconciler.plan import Plan, PlanPolicy
from reconciler.port import Provider
from reconciler.reconcile import apply_plan, make_plan
from reconciler.state import meeting_state, to_json
from tests.contract.backends.ews import ews_backend
from tests.contract.backends.harness import Backend
from tests.ews.conftest import NAMESPACE
from tests.factories import ORGANIZER, meeting

graph_harness = pytest.importorskip(
    "tests.contract.backends.graph", reason="the Graph harness (tests/contract/backends/graph.py) is not there yet"
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ATTENDEES = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[dict[str, Backend]]:
    store = MailboxStore(tmp_path / "store.db")
    with ExitStack() as stack:
        graph = stack.enter_context(graph_harness.graph_backend(store))
        ews = stack.enter_context(ews_backend(store))
        yield {"graph": graph, "ews": ews}
    store.close()


def plan(provider: Provider, meetings: list[Meeting]) -> Plan:
    return make_plan(
        meetings, provider, namespace=NAMESPACE, policy=PlanPolicy(), now=NOW, extra_organizers=[ORGANIZER]
    )


def apply(provider: Provider, meetings: list[Meeting]) -> Plan:
    made = plan(provider, meetings)
    report = apply_plan(made, provider)
    assert report.ok, [o.message for o in report.outcomes]
    return made


def sent(store: MailboxStore, since: int = 0) -> Counter[tuple[str, str, str]]:
    return Counter(
        (m.recipient, m.kind, m.extended.get(extended_property_id(PROP_MEETING_ID), "")) for m in store.mail()[since:]
    )


def announced(made: Plan) -> Counter[tuple[str, str, str]]:
    return Counter((r, n.kind.value, c.meeting_id) for c in made.changes for n in c.notifications for r in n.recipients)


SERIES = meeting(
    "team/weekly",
    subject="Weekly",
    recurrence=Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), until=date(2027, 6, 29)),
)


@pytest.mark.parametrize(("writer", "reader"), [("graph", "ews"), ("ews", "graph")])
def test_meetings_written_through_one_api_read_the_same_and_plan_as_no_op_through_the_other(
    backends: dict[str, Backend], writer: str, reader: str
) -> None:
    meetings = [meeting(), SERIES]
    apply(backends[writer].provider, meetings)
    written = {o.meeting_id: o for o in backends[writer].provider.list_managed(ORGANIZER, NAMESPACE)}
    read = {o.meeting_id: o for o in backends[reader].provider.list_managed(ORGANIZER, NAMESPACE)}
    assert sorted(read) == ["team/sync", "team/weekly"]
    for meeting_id, observed in read.items():
        assert observed.fields == written[meeting_id].fields
        # One item: Graph names it by its REST id, EWS by the EWS id (as Exchange does).
        reader_id, writer_id = observed.item_id, written[meeting_id].item_id
        assert backends[reader].store_id(reader_id) == backends[writer].store_id(writer_id)
        assert observed.fields == meeting_state(next(m for m in meetings if m.id == meeting_id))
    assert plan(backends[reader].provider, meetings).changes == ()


@pytest.mark.parametrize(("writer", "changer"), [("graph", "ews"), ("ews", "graph")])
def test_a_meeting_created_through_one_api_is_updated_and_cancelled_through_the_other_without_duplicate_mail(
    backends: dict[str, Backend], writer: str, changer: str
) -> None:
    store = backends[writer].store
    first = apply(backends[writer].provider, [meeting()])
    assert sent(store) == announced(first)

    seq = len(store.mail())
    moved = dataclasses.replace(meeting(), subject="Team sync (moved)")
    update = apply(backends[changer].provider, [moved])
    assert [c.action.value for c in update.changes] == ["update"]
    assert sent(store, seq) == announced(update) == Counter({(a, "update", "team/sync"): 1 for a in ATTENDEES})

    seq = len(store.mail())
    widened = dataclasses.replace(moved, required=(*moved.required, "erin@contoso.com"))
    invite = apply(backends[changer].provider, [widened])
    assert sent(store, seq) == announced(invite) == Counter({("erin@contoso.com", "invitation", "team/sync"): 1})
    (observed,) = backends[writer].provider.list_managed(ORGANIZER, NAMESPACE)
    assert to_json(observed.fields)["subject"] == "Team sync (moved)"
    assert plan(backends[writer].provider, [widened]).changes == ()

    seq = len(store.mail())
    cancel = apply(backends[changer].provider, [dataclasses.replace(widened, cancelled="Replaced by Q1 planning.")])
    assert sent(store, seq) == announced(cancel)
    assert sorted(m.recipient for m in store.mail()[seq:] if m.comment == "Replaced by Q1 planning.") == sorted(
        (*ATTENDEES, "erin@contoso.com")
    )
    assert backends[writer].provider.list_managed(ORGANIZER, NAMESPACE) == []
    assert store.list_items(ORGANIZER) == []
    invitations = [m for m in store.mail() if m.kind == "invitation"]
    assert len(invitations) == len({m.recipient for m in invitations}) == 4
