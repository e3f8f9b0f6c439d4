"""GraphProvider and recurring meetings' single occurrences against the Graph emulator (real
msgraph-sdk over loopback HTTP): skips and overrides written occurrence by occurrence in the steps
of `occurrences.series_edits`, read back from the calendar, and the mail each step sends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pytest

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.graph import GraphServer, RecordedRequest
from reconciler.emulator.graph.ids import store_id
from reconciler.emulator.store import MailboxStore, SendMode
from reconciler.errors import ConflictError, ProviderError, TransientError
from reconciler.model import FIELD_ORDER, Every, ObservedMeeting, Recurrence, Weekday
from reconciler.occurrences import NO_EDITS, creation_edits, series_edits
from reconciler.port import CreateRequest, UpdateRequest
from reconciler.providers.graph import GraphProvider
from reconciler.state import MeetingState, to_json
from tests.factories import ORGANIZER, declared_override, found, written
from tests.graph.bench_support import graph_plan_figures
from tests.graph.conftest import NAMESPACE, fields

EVERYONE = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
#: Tuesdays 1 December 2026 to 5 January 2027, 10:00 to 10:30 in Berlin.
TUESDAYS = ("2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22", "2026-12-29", "2027-01-05")


def series(
    *, skip: Iterable[str] = (), overrides: Mapping[str, Mapping[str, Any]] | None = None, **changes: Any
) -> MeetingState:
    """The canonical state of the sample meeting as a weekly series of six Tuesdays."""
    weekly = Recurrence(
        every=Every.WEEK,
        on=(Weekday.TUESDAY,),
        count=6,
        skip=tuple(date.fromisoformat(day) for day in skip),
        overrides=tuple(declared_override(date.fromisoformat(day), dict(c)) for day, c in (overrides or {}).items()),
    )
    return fields(recurrence=weekly, **changes)


def create_request(desired: MeetingState) -> CreateRequest:
    return CreateRequest(NAMESPACE, ORGANIZER, "team/sync", desired, "tx-team/sync", creation_edits(desired))


def create(provider: GraphProvider, desired: MeetingState) -> ObservedMeeting:
    return written(provider, create_request(desired))


def update_request(item: ObservedMeeting, desired: MeetingState) -> UpdateRequest:
    """Update `item` to `desired`, writing the fields that differ, planned from what was observed."""
    changed = frozenset(name for name in FIELD_ORDER if desired.value_of(name) != item.fields.value_of(name))
    return UpdateRequest(
        NAMESPACE,
        ORGANIZER,
        item.meeting_id,
        item.item_id,
        item.change_key,
        desired,
        changed,
        item.meeting_id,
        series_edits(item.fields, desired, changed),
    )


def update(provider: GraphProvider, item: ObservedMeeting, desired: MeetingState) -> ObservedMeeting:
    return written(provider, update_request(item, desired))


def sent_by(graph: GraphServer, write: Callable[[], None]) -> list[RecordedRequest]:
    """The requests `write` sent (a write reads nothing back: what it left is read separately)."""
    before = len(graph.app.requests)
    write()
    return requests_since(graph, before)


def mail(store: MailboxStore, after: int = 0) -> Counter[tuple[str, str, str | None]]:
    return Counter((m.recipient, m.kind, m.occurrence) for m in store.mail() if m.seq > after)


def to_all(kind: str, occurrence: str | None, people: Iterable[str] = EVERYONE) -> Counter[tuple[str, str, str | None]]:
    return Counter({(person, kind, occurrence): 1 for person in people})


def last_seq(store: MailboxStore) -> int:
    return max((m.seq for m in store.mail()), default=0)


def requests_since(graph: GraphServer, count: int) -> list[RecordedRequest]:
    return list(graph.app.requests)[count:]


def shape(requests: list[RecordedRequest]) -> list[str]:
    """Each request as `METHOD last-path-segment` (`events` for the master, `instances`, `cancel`, ...)."""
    out = []
    for request in requests:
        path = request.target.split("?")[0].rstrip("/")
        segment = path.rsplit("/", 1)[-1]
        out.append(f"{request.method} {segment if segment in ('events', 'instances', 'cancel') else 'item'}")
    return out


def occurrences(store: MailboxStore, item: ObservedMeeting) -> dict[str, Any]:
    """What the store holds for the series: cancelled dates and changed occurrences."""
    doc = store.get_item(store_id(item.item_id)).doc
    return {"cancelled": doc["cancelled_occurrences"], "exceptions": doc["exceptions"]}


def test_a_new_series_skips_its_skipped_occurrence_and_mails_a_cancellation_for_it(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    desired = series(skip=["2026-12-22"])
    sent = sent_by(graph, lambda: provider.create(create_request(desired)))
    assert shape(sent) == ["POST events", "GET instances", "POST cancel"]
    created = found(provider, NAMESPACE, "team/sync")
    assert mail(store) == to_all("invitation", None) + to_all("cancellation", "2026-12-22")
    assert occurrences(store, created) == {"cancelled": ["2026-12-22"], "exceptions": {}}
    assert created.fields == desired and created.last_applied == desired
    (listed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert listed.fields == desired and listed.change_key == created.change_key


def test_a_new_series_changes_its_overridden_occurrences_one_by_one(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    moved = {"start": "2026-12-09T14:00", "end": "2026-12-09T15:00", "subject": "Moved to Wednesday"}
    people = {"required": ["alice@contoso.com", "erin@contoso.com"], "optional": []}
    desired = series(overrides={"2026-12-08": moved, "2026-12-15": people})
    created = create(provider, desired)
    writes = [r for r in graph.app.requests if r.method != "GET"]
    assert [sorted(w.json()) for w in writes[1:]] == [["end", "start", "subject"], ["attendees"]]
    assert writes[1].json()["start"] == {"dateTime": "2026-12-09T14:00:00", "timeZone": "W. Europe Standard Time"}
    assert mail(store) == (
        to_all("invitation", None)
        + to_all("update", "2026-12-08")
        + Counter({("erin@contoso.com", "invitation", "2026-12-15"): 1})
        + Counter({(a, "cancellation", "2026-12-15"): 1 for a in ("bob@contoso.com", "carol@contoso.com")})
    )
    assert created.fields == desired
    exceptions = occurrences(store, created)["exceptions"]
    assert (
        exceptions["2026-12-08"]["start"] == "2026-12-09T14:00:00"
        and exceptions["2026-12-08"]["subject"] == moved["subject"]
    )
    assert [a["email"] for a in exceptions["2026-12-15"]["attendees"]] == people["required"]


def test_skipping_one_more_occurrence_cancels_only_it_without_touching_the_master(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    item = create(provider, series())
    seq = last_seq(store)
    sent = sent_by(graph, lambda: provider.update(update_request(item, series(skip=["2026-12-15"]))))
    updated = found(provider, NAMESPACE, "team/sync")
    assert shape(sent) == ["GET instances", "POST cancel"]
    assert sent[1].headers["if-match"] == f'W/"{item.change_key}"'
    assert mail(store, seq) == to_all("cancellation", "2026-12-15")
    assert to_json(updated.fields)["skip"] == ["2026-12-15"] and updated.change_key != item.change_key


def test_an_overridden_subject_updates_every_attendee_about_that_occurrence_only(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    item = create(provider, series())
    seq = last_seq(store)
    desired = series(overrides={"2026-12-15": {"subject": "Team sync: retro"}})
    sent = sent_by(graph, lambda: provider.update(update_request(item, desired)))
    updated = found(provider, NAMESPACE, "team/sync")
    assert shape(sent) == ["GET instances", "PATCH item"]
    assert set(sent[1].json()) == {"subject"}
    assert mail(store, seq) == to_all("update", "2026-12-15")
    assert updated.fields.overrides == desired.overrides
    assert store.get_item(store_id(item.item_id)).doc["subject"] == "Team sync"


def test_an_attendee_only_override_mails_only_the_people_added_and_removed_for_that_occurrence(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    item = create(provider, series(rooms=("room-1@contoso.com",)))
    before, seq = len(graph.app.requests), last_seq(store)
    people = {"required": ["alice@contoso.com", "erin@contoso.com"], "optional": []}
    updated = update(provider, item, series(rooms=("room-1@contoso.com",), overrides={"2026-12-08": people}))
    patch = [r for r in requests_since(graph, before) if r.method == "PATCH"]
    assert [set(p.json()) for p in patch] == [{"attendees"}]
    assert {(a["type"], a["emailAddress"]["address"]) for a in patch[0].json()["attendees"]} == {
        ("required", "alice@contoso.com"),
        ("required", "erin@contoso.com"),
        ("resource", "room-1@contoso.com"),
    }
    assert mail(store, seq) == Counter(
        {
            ("erin@contoso.com", "invitation", "2026-12-08"): 1,
            ("bob@contoso.com", "cancellation", "2026-12-08"): 1,
            ("carol@contoso.com", "cancellation", "2026-12-08"): 1,
        }
    )
    assert to_json(updated.fields)["overrides"] == [{"date": "2026-12-08", **people}]


def test_removing_an_override_writes_the_series_values_back_to_that_occurrence(
    provider: GraphProvider, store: MailboxStore
) -> None:
    item = create(provider, series(overrides={"2026-12-15": {"subject": "Retro", "location": "Cafeteria"}}))
    seq = last_seq(store)
    updated = update(provider, item, series())
    assert mail(store, seq) == to_all("update", "2026-12-15")
    # With the series' values back it is a plain occurrence again (the store's modelling choice).
    assert "2026-12-15" not in occurrences(store, item)["exceptions"]
    assert to_json(updated.fields)["overrides"] == [] and updated.fields == series()


def test_moving_an_override_moves_the_occurrence_found_where_it_was_moved_to(
    provider: GraphProvider, store: MailboxStore
) -> None:
    first = {"start": "2026-12-10T09:00", "end": "2026-12-10T09:30"}
    item = create(provider, series(overrides={"2026-12-08": first}))
    later = {"start": "2026-12-11T16:00", "end": "2026-12-11T17:00"}
    updated = update(provider, item, series(overrides={"2026-12-08": later}))
    assert to_json(updated.fields)["overrides"] == [{"date": "2026-12-08", **later}]
    assert occurrences(store, item)["exceptions"]["2026-12-08"]["start"] == "2026-12-11T16:00:00"


def test_bringing_a_skipped_occurrence_back_regenerates_the_series_and_writes_the_others_again(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    retro = {"subject": "Retro"}
    item = create(provider, series(skip=["2026-12-22", "2026-12-29"], overrides={"2026-12-15": retro}))
    seq = last_seq(store)
    desired = series(skip=["2026-12-29"], overrides={"2026-12-15": retro})
    sent = sent_by(graph, lambda: provider.update(update_request(item, desired)))
    updated = found(provider, NAMESPACE, "team/sync")
    assert shape(sent) == [
        "PATCH item",  # the pattern, rewritten: Exchange drops every skip and override
        "GET instances",
        "PATCH item",
        "GET instances",
        "POST cancel",
    ]
    assert set(sent[0].json()) == {"recurrence", "singleValueExtendedProperties"}
    assert mail(store, seq) == (
        to_all("update", None) + to_all("update", "2026-12-15") + to_all("cancellation", "2026-12-29")
    )
    assert updated.fields == desired
    assert occurrences(store, item)["cancelled"] == ["2026-12-29"]


def test_a_master_update_also_updates_every_attendee_of_each_changed_occurrence_it_keeps(
    provider: GraphProvider, store: MailboxStore
) -> None:
    people = {"required": ["erin@contoso.com"], "optional": []}
    item = create(provider, series(overrides={"2026-12-08": people}))
    seq = last_seq(store)
    updated = update(provider, item, series(overrides={"2026-12-08": people}, location="Berlin 4.01"))
    assert mail(store, seq) == to_all("update", None) + Counter({("erin@contoso.com", "update", "2026-12-08"): 1})
    assert to_json(updated.fields)["location"] == "Berlin 4.01" and to_json(updated.fields)["overrides"] == [
        {"date": "2026-12-08", **people}
    ]
    assert provider.capabilities.series_update_mails_exceptions


def test_moving_the_series_regenerates_it_and_applies_its_overrides_to_the_new_occurrences(
    provider: GraphProvider, store: MailboxStore
) -> None:
    retro = {"subject": "Retro"}
    item = create(provider, series(skip=["2026-12-22"], overrides={"2026-12-15": retro}))
    seq = last_seq(store)
    desired = series(
        skip=["2026-12-22"],
        overrides={"2026-12-15": retro},
        start=datetime(2026, 12, 1, 11, 0),
        end=datetime(2026, 12, 1, 11, 30),
    )
    updated = update(provider, item, desired)
    assert updated.fields == desired
    assert mail(store, seq) == (
        to_all("update", None) + to_all("update", "2026-12-15") + to_all("cancellation", "2026-12-22")
    )


def test_occurrences_cancelled_and_changed_in_outlook_are_read_from_the_calendar(
    provider: GraphProvider, store: MailboxStore
) -> None:
    item = create(provider, series())
    store.cancel_occurrence(store_id(item.item_id), "2026-12-29", comment=None, send=False)
    store.update_occurrence(store_id(item.item_id), "2027-01-05", {"subject": "Edited in Outlook"}, send=SendMode.NONE)
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert to_json(observed.fields)["skip"] == ["2026-12-29"]
    assert to_json(observed.fields)["overrides"] == [{"date": "2027-01-05", "subject": "Edited in Outlook"}]
    assert observed.last_applied is not None and to_json(observed.last_applied)["skip"] == []


def test_observing_costs_the_list_pages_and_one_batch_of_reads_for_the_series(
    provider: GraphProvider, graph: GraphServer
) -> None:
    for index in range(3):
        provider.create(
            CreateRequest(NAMESPACE, ORGANIZER, f"team/s{index}", series(), f"tx-s{index}", creation_edits(series()))
        )
    for index in range(4):
        provider.create(
            CreateRequest(NAMESPACE, ORGANIZER, f"team/m{index}", fields(f"team/m{index}"), f"tx-m{index}", NO_EDITS)
        )
    before = len(graph.app.requests)
    assert len(provider.list_managed(ORGANIZER, NAMESPACE)) == 7
    sent = requests_since(graph, before)
    assert shape(sent) == ["GET events", "POST item"] and sent[1].target.endswith("/$batch")
    reads = sent[1].json()["requests"]
    assert [r["method"] for r in reads] == ["GET"] * 3
    assert all("cancelledOccurrences" in r["url"] and "exceptionOccurrences" in r["url"] for r in reads)


def test_an_occurrence_cancelled_meanwhile_is_not_cancelled_again(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    item = create(provider, series())
    store.cancel_occurrence(store_id(item.item_id), "2026-12-15", comment=None, send=False)
    stale_item = provider.find(ORGANIZER, NAMESPACE, "team/sync")
    assert stale_item is not None
    before, seq = len(graph.app.requests), last_seq(store)
    planned = UpdateRequest(
        NAMESPACE,
        ORGANIZER,
        item.meeting_id,
        item.item_id,
        stale_item.change_key,
        series(skip=["2026-12-15"]),
        frozenset({"skip"}),
        item.meeting_id,
        # planned before the cancellation was seen
        series_edits(item.fields, series(skip=["2026-12-15"]), {"skip"}),
    )
    provider.update(planned)
    assert shape(requests_since(graph, before)) == ["GET instances"]
    updated = found(provider, NAMESPACE, "team/sync")
    assert mail(store, seq) == Counter() and to_json(updated.fields)["skip"] == ["2026-12-15"]


@pytest.mark.parametrize("operation", ["cancel", "update"])
def test_an_occurrence_write_whose_answer_was_lost_is_confirmed_and_not_repeated(
    provider: GraphProvider, store: MailboxStore, operation: str, faults: FaultPlan
) -> None:
    item = create(provider, series())
    seq = last_seq(store)
    faults.inject("graph", operation, "504-after-commit")
    desired = (
        series(skip=["2026-12-15"]) if operation == "cancel" else series(overrides={"2026-12-15": {"subject": "Retro"}})
    )
    updated = update(provider, item, desired)
    kind = "cancellation" if operation == "cancel" else "update"
    assert mail(store, seq) == to_all(kind, "2026-12-15")
    assert updated.fields == desired


def test_a_master_write_whose_answer_was_lost_is_confirmed_before_the_occurrence_writes(
    provider: GraphProvider, store: MailboxStore, faults: FaultPlan
) -> None:
    item = create(provider, series(skip=["2026-12-22"]))
    seq = last_seq(store)
    faults.inject("graph", "update", "504-after-commit")
    desired = series(skip=["2026-12-29"])  # the 22nd comes back: the pattern is rewritten first
    updated = update(provider, item, desired)
    assert updated.fields == desired
    assert mail(store, seq) == to_all("update", None) + to_all("cancellation", "2026-12-29")


def test_an_occurrence_write_that_stays_unknown_asks_for_a_new_plan_which_finishes_the_job(
    provider: GraphProvider, store: MailboxStore, faults: FaultPlan
) -> None:
    item = create(provider, series())
    seq = last_seq(store)
    faults.inject("graph", "cancel", "504")  # not committed, and the answer says nothing
    desired = series(skip=["2026-12-08", "2026-12-15"])
    with pytest.raises(ProviderError, match="plan and apply again") as raised:
        update(provider, item, desired)
    assert not isinstance(raised.value, TransientError)
    assert mail(store, seq) == Counter()
    observed = provider.find(ORGANIZER, NAMESPACE, "team/sync")
    assert observed is not None
    finished = update(provider, observed, desired)
    assert finished.fields == desired
    assert mail(store, seq) == to_all("cancellation", "2026-12-08") + to_all("cancellation", "2026-12-15")


def test_occurrence_writes_planned_on_a_stale_change_key_are_a_conflict_that_writes_nothing(
    provider: GraphProvider, store: MailboxStore
) -> None:
    item = create(provider, series())
    store.update_item(store_id(item.item_id), {"location": "Elsewhere"}, send=SendMode.NONE)
    seq = last_seq(store)
    with pytest.raises(ConflictError):
        update(provider, item, series(skip=["2026-12-15"]))
    assert occurrences(store, item)["cancelled"] == [] and mail(store, seq) == Counter()


def test_planning_a_thousand_single_meetings_takes_at_most_three_requests() -> None:
    figures = graph_plan_figures(1000, series_every=0)
    assert (figures["unchanged"], figures["changes"]) == (1000, 0)
    assert figures["requests"] <= 3 == figures["target_requests"]


def test_planning_series_reads_the_masters_twenty_to_a_batch_and_finds_nothing_to_change() -> None:
    figures = graph_plan_figures(63)
    assert (figures["unchanged"], figures["changes"], figures["series"]) == (63, 0, 21)
    # The namespace item (what the last apply recorded), one page of 500 events, two $batches (20 + 1).
    assert figures["requests"] == 1 + 1 + 2 == figures["target_requests"]


def test_an_all_day_series_skips_and_moves_whole_days(provider: GraphProvider, store: MailboxStore) -> None:
    moved = {"start": "2026-12-10", "end": "2026-12-11"}
    desired = series(
        skip=["2026-12-15"],
        overrides={"2026-12-08": moved},
        all_day=True,
        start=date(2026, 12, 1),
        end=date(2026, 12, 2),
    )
    created = create(provider, desired)
    assert created.fields == desired
    assert occurrences(store, created) == {
        "cancelled": ["2026-12-15"],
        "exceptions": {"2026-12-08": {"start": "2026-12-10T00:00:00", "end": "2026-12-11T00:00:00"}},
    }
    assert mail(store) == to_all("invitation", None) + to_all("update", "2026-12-08") + to_all(
        "cancellation", "2026-12-15"
    )


def test_occurrences_after_the_end_of_daylight_saving_are_found_and_written_in_local_time(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    later = {"start": "2026-11-03T14:00", "end": "2026-11-03T14:30"}
    desired = series(
        skip=["2026-10-20"],
        overrides={"2026-11-03": later},
        start=datetime(2026, 10, 13, 10, 0),
        end=datetime(2026, 10, 13, 10, 30),
    )
    created = create(provider, desired)
    assert created.fields == desired
    windows = [r.target for r in graph.app.requests if "/instances" in r.target]
    assert "startDateTime=2026-10-19T22%3A00%3A00Z" in windows[0]  # midnight in Berlin, summer time
    assert "startDateTime=2026-11-02T23%3A00%3A00Z" in windows[1]  # midnight in Berlin, winter time
    assert occurrences(store, created)["exceptions"]["2026-11-03"]["start"] == "2026-11-03T14:00:00"
