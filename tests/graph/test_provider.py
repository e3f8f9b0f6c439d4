"""GraphProvider against the Graph emulator over loopback HTTP (the real msgraph-sdk): what it
writes on the wire, what Exchange mails because of it, what it reads back, and how it fails."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, datetime
from typing import Any

import pytest

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.graph import GraphServer, RecordedRequest
from reconciler.emulator.graph.ids import store_id
from reconciler.emulator.store import MailboxStore, SendMode, UnavailableReason
from reconciler.errors import (
    AuthError,
    ConflictError,
    MailboxUnavailableError,
    NotFoundError,
    ProviderError,
    RequestRejectedError,
    ThrottledError,
    TransientError,
)
from reconciler.model import (
    PROP_LAST_APPLIED,
    PROP_MEETING_ID,
    PROP_NAMESPACE,
    Every,
    ObservedMeeting,
    Recurrence,
    Weekday,
    extended_property_id,
)
from reconciler.occurrences import NO_EDITS, creation_edits, series_edits
from reconciler.port import CancelRequest, CreateRequest, UpdateRequest
from reconciler.providers.graph import GraphProvider, RetryPolicy
from reconciler.state import pattern_json, pattern_state, to_json
from tests.factories import ORGANIZER, written
from tests.graph.conftest import NAMESPACE, SleepRecorder, fields

NS = extended_property_id(PROP_NAMESPACE)
MID = extended_property_id(PROP_MEETING_ID)
RECORD = extended_property_id(PROP_LAST_APPLIED)
EVERYONE = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")


def create(provider: GraphProvider, meeting_id: str = "team/sync", **changes: Any) -> ObservedMeeting:
    desired = fields(meeting_id, **changes)
    return written(
        provider, CreateRequest(NAMESPACE, ORGANIZER, meeting_id, desired, f"tx-{meeting_id}", creation_edits(desired))
    )


def update(provider: GraphProvider, item: ObservedMeeting, changed: set[str], **changes: Any) -> ObservedMeeting:
    desired = fields(item.meeting_id, **changes) if changes else item.fields
    request = UpdateRequest(
        NAMESPACE,
        ORGANIZER,
        item.meeting_id,
        item.item_id,
        item.change_key,
        desired,
        frozenset(changed),
        item.meeting_id,
        series_edits(item.fields, desired, changed),
    )
    return written(provider, request)


def mail(store: MailboxStore, after: int = 0) -> Counter[tuple[str, str]]:
    return Counter((m.recipient, m.kind) for m in store.mail() if m.seq > after)


def last_seq(store: MailboxStore) -> int:
    return store.mail()[-1].seq if store.mail() else 0


def writes(graph: GraphServer) -> list[RecordedRequest]:
    return [r for r in graph.app.requests if r.method in ("POST", "PATCH", "DELETE")]


def test_create_writes_the_marker_and_transaction_id_in_one_post_and_invites_everyone(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    observed = create(provider)
    (post,) = writes(graph)
    body = post.json()
    assert body["transactionId"] == "tx-team/sync"
    assert {p["id"] for p in body["singleValueExtendedProperties"]} == {NS, MID, RECORD}
    assert body["start"] == {"dateTime": "2026-12-01T10:00:00", "timeZone": "W. Europe Standard Time"}
    assert mail(store) == Counter({(a, "invitation"): 1 for a in EVERYONE})
    assert observed.fields == fields()
    assert (observed.meeting_id, observed.organizer, observed.last_applied) == ("team/sync", ORGANIZER, fields())
    (item,) = store.list_items(ORGANIZER)
    assert item.doc["extended"][NS] == NAMESPACE and item.change_key == observed.change_key


def test_every_request_prefers_utc_and_immutable_ids(provider: GraphProvider, graph: GraphServer) -> None:
    item = create(provider)
    provider.list_managed(ORGANIZER, NAMESPACE)
    provider.cancel(CancelRequest(ORGANIZER, item.meeting_id, item.item_id, item.change_key, None))
    for request in graph.app.requests:
        assert 'outlook.timezone="UTC"' in request.headers["prefer"]
        assert 'IdType="ImmutableId"' in request.headers["prefer"]


def test_updating_one_field_patches_only_that_property_and_the_record_and_updates_everyone(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    item = create(provider)
    seq = last_seq(store)
    updated = update(provider, item, {"subject"}, subject="Team sync (new)")
    patch = writes(graph)[-1]
    assert patch.method == "PATCH" and patch.headers["if-match"] == f'W/"{item.change_key}"'
    assert set(patch.json()) == {"subject", "singleValueExtendedProperties"}
    assert mail(store, seq) == Counter({(a, "update"): 1 for a in EVERYONE})
    assert to_json(updated.fields)["subject"] == "Team sync (new)" and updated.last_applied == updated.fields
    assert updated.change_key != item.change_key


def test_an_attendee_only_change_patches_only_attendees_and_mails_only_the_added_and_removed(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    item = create(provider)
    record_before = store.get_item(store_id(item.item_id)).doc["extended"][RECORD]
    seq = last_seq(store)
    updated = update(provider, item, {"required"}, required=("alice@contoso.com", "erin@contoso.com"))
    patch = [r for r in writes(graph) if r.method == "PATCH"][-1]
    assert set(patch.json()) == {"attendees"}
    assert mail(store, seq) == Counter({("erin@contoso.com", "invitation"): 1, ("bob@contoso.com", "cancellation"): 1})
    assert store.get_item(store_id(item.item_id)).doc["extended"][RECORD] == record_before
    assert to_json(updated.fields)["required"] == ["alice@contoso.com", "erin@contoso.com"]
    assert updated.last_applied is not None and to_json(updated.last_applied)["required"] == [
        "alice@contoso.com",
        "bob@contoso.com",
    ]


def test_moving_a_meeting_id_rewrites_the_id_property_in_the_same_patch(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    item = create(provider, "team/old")
    request = UpdateRequest(
        NAMESPACE,
        ORGANIZER,
        "team/new",
        item.item_id,
        item.change_key,
        fields("team/new"),
        frozenset(),
        "team/old",
        NO_EDITS,
    )
    moved = written(provider, request)
    assert set(writes(graph)[-1].json()) == {"singleValueExtendedProperties"}
    assert moved.meeting_id == "team/new" and moved.item_id == item.item_id
    assert store.get_item(store_id(item.item_id)).doc["extended"][MID] == "team/new"


def test_cancel_posts_the_comment_with_if_match_and_every_attendee_gets_one_cancellation(
    provider: GraphProvider, graph: GraphServer, store: MailboxStore
) -> None:
    item = create(provider)
    seq = last_seq(store)
    provider.cancel(CancelRequest(ORGANIZER, item.meeting_id, item.item_id, item.change_key, "Replaced."))
    cancel = writes(graph)[-1]
    assert cancel.target.endswith("/cancel") and cancel.headers["if-match"] == f'W/"{item.change_key}"'
    assert [(m.recipient, m.kind, m.comment) for m in store.mail() if m.seq > seq] == [
        (a, "cancellation", "Replaced.") for a in EVERYONE
    ]
    assert provider.list_managed(ORGANIZER, NAMESPACE) == []


def test_listing_follows_next_links_with_the_prefer_headers_on_every_page(
    graph: GraphServer, sleeps: SleepRecorder
) -> None:
    provider = GraphProvider(graph.graph_url, trust_env=False, sleep=sleeps, page_size=3)
    try:
        for index in range(7):
            create(provider, f"team/m{index}")
        before = len(graph.app.requests)
        listed = provider.list_managed(ORGANIZER, NAMESPACE)
    finally:
        provider.close()
    pages = list(graph.app.requests)[before:]
    assert len(pages) == 3
    assert "%24top=3" in pages[0].target or "$top=3" in pages[0].target
    assert all("$skip=" in p.target for p in pages[1:])
    assert all('outlook.timezone="UTC"' in p.headers["prefer"] for p in pages)
    assert sorted(o.meeting_id for o in listed) == [f"team/m{index}" for index in range(7)]
    assert all(o.fields == fields(o.meeting_id) for o in listed)


def test_listing_asks_for_our_namespace_with_the_properties_expanded_and_selected(
    provider: GraphProvider, graph: GraphServer
) -> None:
    provider.list_managed(ORGANIZER, NAMESPACE)
    target = graph.app.requests[-1].target
    assert target.count("%24select=") + target.count("$select=") == 1
    assert "singleValueExtendedProperties%2FAny" in target
    assert "%24expand=" in target or "$expand=" in target
    assert "%24top=500" in target or "$top=500" in target


def test_unmarked_events_and_other_namespaces_are_never_listed_or_found(
    provider: GraphProvider, store: MailboxStore
) -> None:
    ours = create(provider)
    doc = store.get_item(store_id(ours.item_id)).doc
    store.create_item(ORGANIZER, {**doc, "extended": {}}, send=SendMode.NONE)
    store.create_item(ORGANIZER, {**doc, "extended": {**doc["extended"], NS: "other-team"}}, send=SendMode.NONE)
    store.create_item(ORGANIZER, {**doc, "extended": {NS: NAMESPACE.upper(), MID: "team/upper"}}, send=SendMode.NONE)
    assert [o.item_id for o in provider.list_managed(ORGANIZER, NAMESPACE)] == [ours.item_id]
    found = provider.find(ORGANIZER, NAMESPACE, "team/sync")
    assert found is not None and found.item_id == ours.item_id
    assert provider.find(ORGANIZER, "other-team", "team/upper") is None
    assert provider.find(ORGANIZER, NAMESPACE, "team/none") is None


def test_find_asks_graph_for_the_meeting_id_property(provider: GraphProvider, graph: GraphServer) -> None:
    provider.find(ORGANIZER, NAMESPACE, "team/sync")
    target = graph.app.requests[-1].target
    assert "MeetingsAsCode.Id" in target and "team%2Fsync" in target


def test_a_stale_change_key_is_a_conflict_that_writes_and_mails_nothing(
    provider: GraphProvider, store: MailboxStore
) -> None:
    item = create(provider)
    store.update_item(store_id(item.item_id), {"location": "Elsewhere"}, send=SendMode.NONE)
    seq = last_seq(store)
    with pytest.raises(ConflictError) as raised:
        update(provider, item, {"subject"}, subject="Overwritten")
    assert isinstance(raised.value.__cause__, Exception)
    assert "updating team/sync in lead@contoso.com's calendar" in str(raised.value)
    with pytest.raises(ConflictError):
        provider.cancel(CancelRequest(ORGANIZER, item.meeting_id, item.item_id, item.change_key, None))
    assert store.get_item(store_id(item.item_id)).doc["subject"] == "Team sync" and mail(store, seq) == Counter()


def test_a_berlin_series_across_daylight_saving_round_trips_in_local_time(
    provider: GraphProvider, graph: GraphServer
) -> None:
    weekly = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), until=date(2027, 4, 27))
    item = create(provider, start=datetime(2026, 10, 20, 10, 0), end=datetime(2026, 10, 20, 11, 0), recurrence=weekly)
    body = writes(graph)[-1].json()
    assert body["recurrence"]["range"] == {
        "startDate": "2026-10-20",
        "recurrenceTimeZone": "W. Europe Standard Time",
        "type": "endDate",
        "endDate": "2027-04-27",
    }
    (listed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert (
        listed.fields
        == item.fields
        == fields(start=datetime(2026, 10, 20, 10, 0), end=datetime(2026, 10, 20, 11, 0), recurrence=weekly)
    )
    assert listed.starts_at_utc == datetime(2026, 10, 20, 8, 0, tzinfo=listed.starts_at_utc.tzinfo)  # CEST
    assert listed.ends_at_utc is not None and listed.ends_at_utc.hour == 9  # 11:00 on 27 April 2027 is CEST again


def test_a_zone_sharing_its_windows_name_reads_back_as_recorded_and_an_unrecorded_one_as_cldrs(
    provider: GraphProvider, store: MailboxStore
) -> None:
    amsterdam = create(provider, "team/ams", timezone="Europe/Amsterdam")
    assert to_json(amsterdam.fields)["timezone"] == "Europe/Amsterdam"
    doc = store.get_item(store_id(amsterdam.item_id)).doc
    store.create_item(ORGANIZER, {**doc, "extended": {NS: NAMESPACE, MID: "team/bare"}}, send=SendMode.NONE)
    bare = provider.find(ORGANIZER, NAMESPACE, "team/bare")
    assert bare is not None and (to_json(bare.fields)["timezone"], to_json(bare.fields)["start"]) == (
        "Europe/Berlin",
        "2026-12-01T10:00",
    )
    assert bare.last_applied is None


def test_an_all_day_meeting_and_a_monthly_series_round_trip(provider: GraphProvider) -> None:
    offsite = create(provider, "team/offsite", all_day=True, start=date(2026, 12, 14), end=date(2026, 12, 16))
    assert offsite.fields == fields("team/offsite", all_day=True, start=date(2026, 12, 14), end=date(2026, 12, 16))
    monthly = Recurrence(every=Every.MONTH, day_of_month=1, count=6)
    series = create(provider, "team/monthly", recurrence=monthly)
    assert to_json(series.fields)["recurrence"] == pattern_json(pattern_state(monthly))


def test_retry_after_is_honoured_on_429_and_the_create_goes_through_once(
    graph: GraphServer, store: MailboxStore, faults: FaultPlan
) -> None:
    provider = GraphProvider(graph.graph_url, trust_env=False)  # real sleeping
    try:
        faults.inject("graph", "create", "429", retry_after=1)
        started = time.monotonic()
        create(provider)
        assert time.monotonic() - started >= 1.0
    finally:
        provider.close()
    assert len(store.list_items(ORGANIZER)) == 1 and mail(store) == Counter({(a, "invitation"): 1 for a in EVERYONE})


def test_throttling_that_outlasts_the_retries_is_a_throttled_error(
    provider: GraphProvider, store: MailboxStore, sleeps: SleepRecorder, faults: FaultPlan
) -> None:
    faults.inject("graph", "list", "429", times=10, retry_after=2)
    with pytest.raises(ThrottledError, match=r"kept throttling lead@contoso\.com"):
        provider.list_managed(ORGANIZER, NAMESPACE)
    assert sleeps.delays == [2.0] * 5


def test_a_retry_after_longer_than_the_policy_allows_fails_at_once(
    graph: GraphServer, store: MailboxStore, faults: FaultPlan
) -> None:
    provider = GraphProvider(graph.graph_url, trust_env=False, retry=RetryPolicy(max_retry_after=30))
    try:
        faults.inject("graph", "list", "429", retry_after=300)
        with pytest.raises(ThrottledError):
            provider.list_managed(ORGANIZER, NAMESPACE)
    finally:
        provider.close()
    assert graph.app.stats.requests == 1


def test_503_is_retried_for_writes_and_5xx_and_dropped_connections_for_reads(
    provider: GraphProvider, store: MailboxStore, sleeps: SleepRecorder, faults: FaultPlan
) -> None:
    faults.inject("graph", "create", "503", retry_after=3)
    create(provider)
    faults.inject("graph", "list", "500")
    faults.inject("graph", "list", "drop")
    faults.inject("graph", "list", "504")
    assert len(provider.list_managed(ORGANIZER, NAMESPACE)) == 1
    assert sleeps.delays[0] == 3.0 and len(sleeps.delays) == 4


def test_a_create_whose_answer_is_lost_raises_transient_and_a_retry_with_the_same_transaction_id_adds_nothing(
    provider: GraphProvider, store: MailboxStore, faults: FaultPlan
) -> None:
    faults.inject("graph", "create", "504-after-commit")
    with pytest.raises(TransientError, match="whether the change was made is unknown") as raised:
        create(provider)
    assert raised.value.__cause__ is not None
    found = provider.find(ORGANIZER, NAMESPACE, "team/sync")
    assert found is not None
    again = create(provider)
    assert again.item_id == found.item_id and len(store.list_items(ORGANIZER)) == 1
    assert mail(store) == Counter({(a, "invitation"): 1 for a in EVERYONE})


def test_writes_are_not_repeated_after_a_dropped_connection(
    provider: GraphProvider, store: MailboxStore, faults: FaultPlan
) -> None:
    item = create(provider)
    faults.inject("graph", "update", "drop-after-commit")
    with pytest.raises(TransientError):
        update(provider, item, {"subject"}, subject="Once")
    assert [m.kind for m in store.mail()].count("update") == 3


def test_a_slow_answer_times_out_as_transient_for_a_write_and_is_retried_for_a_read(
    graph: GraphServer, store: MailboxStore, sleeps: SleepRecorder, faults: FaultPlan
) -> None:
    provider = GraphProvider(graph.graph_url, trust_env=False, timeout=0.3, sleep=sleeps)
    try:
        faults.inject("graph", "create", "delay", seconds=0.6)
        with pytest.raises(TransientError):
            create(provider)
        time.sleep(0.5)  # the emulator commits the slow create after the client gave up
        faults.inject("graph", "list", "delay", seconds=1.0)
        assert len(provider.list_managed(ORGANIZER, NAMESPACE)) == 1
    finally:
        provider.close()


def test_server_refusals_become_the_projects_errors_naming_the_meeting(
    provider: GraphProvider, store: MailboxStore, faults: FaultPlan
) -> None:
    with pytest.raises(RequestRejectedError, match=r"creating team/bad in lead@contoso\.com's calendar") as raised:
        create(provider, "team/bad", required=("not-an-address",))
    assert "ErrorInvalidRecipients" in str(raised.value) and str(raised.value).endswith(".")
    item = create(provider)
    store.delete_item(store_id(item.item_id), send_cancellations=False)
    with pytest.raises(NotFoundError, match="updating team/sync"):
        update(provider, item, {"subject"}, subject="Gone")
    faults.inject("graph", "list", "401")
    with pytest.raises(AuthError, match="InvalidAuthenticationToken"):
        provider.list_managed(ORGANIZER, NAMESPACE)
    faults.inject("graph", "cancel", "403")
    with pytest.raises(AuthError, match="ErrorAccessDenied"):
        provider.cancel(CancelRequest(ORGANIZER, "team/x", item.item_id, item.change_key, None))


def test_requests_from_many_threads_stay_within_four_per_mailbox(
    graph: GraphServer, store: MailboxStore, faults: FaultPlan
) -> None:
    provider = GraphProvider(graph.graph_url, trust_env=False)
    try:
        faults.inject("graph", "list", "delay", times=12, seconds=0.15)
        errors: list[BaseException] = []

        def look() -> None:
            try:
                provider.find(ORGANIZER, NAMESPACE, "team/sync")
            except ProviderError as error:
                errors.append(error)

        threads = [threading.Thread(target=look) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        provider.close()
    assert errors == [] and graph.app.stats.throttled == 0 and graph.app.stats.requests == 12


def test_a_provider_allowing_more_in_flight_would_be_throttled_by_the_mailbox_limit(
    graph: GraphServer, store: MailboxStore, sleeps: SleepRecorder, faults: FaultPlan
) -> None:
    provider = GraphProvider(graph.graph_url, trust_env=False, max_in_flight=8, sleep=sleeps)
    try:
        faults.inject("graph", "list", "delay", times=8, seconds=1.0)
        errors: list[ProviderError] = []

        def look() -> None:
            try:
                provider.find(ORGANIZER, NAMESPACE, "x")
            except ThrottledError as error:
                errors.append(error)

        threads = [threading.Thread(target=look) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        provider.close()
    assert graph.app.stats.throttled > 0 and errors


def test_using_a_closed_provider_is_a_provider_error(graph: GraphServer) -> None:
    provider = GraphProvider(graph.graph_url, trust_env=False)
    provider.close()
    provider.close()
    with pytest.raises(ProviderError, match="closed"):
        provider.list_managed(ORGANIZER, NAMESPACE)


def test_importing_the_graph_backend_does_not_import_the_sdk() -> None:
    probe = (
        "import sys, reconciler.providers.graph\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('msgraph', 'kiota_http', 'azure', 'httpx')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "[]"


def test_a_missing_or_closed_mailbox_is_reported_as_unavailable_not_as_a_missing_calendar_item(
    provider: GraphProvider, store: MailboxStore, faults: FaultPlan
) -> None:
    store.set_unavailable(ORGANIZER, UnavailableReason.MISSING)
    with pytest.raises(MailboxUnavailableError, match="ErrorInvalidUser") as raised:
        create(provider)
    assert raised.value.mailbox == ORGANIZER and "calendar item" not in str(raised.value)
    store.set_unavailable(ORGANIZER, UnavailableReason.DENIED)
    with pytest.raises(MailboxUnavailableError, match="Access to OData is disabled"):
        provider.list_managed(ORGANIZER, NAMESPACE)
    store.set_unavailable(ORGANIZER, None)
    faults.inject("graph", "list", "401")
    with pytest.raises(AuthError):  # a refused token concerns every mailbox: it is not one mailbox's problem
        provider.list_managed(ORGANIZER, NAMESPACE)


def test_a_read_that_keeps_failing_is_worded_as_a_read_not_as_a_write_of_unknown_outcome(
    graph: GraphServer, store: MailboxStore, faults: FaultPlan
) -> None:
    faults.inject("graph", "list", "503", times=99)
    provider = GraphProvider(graph.graph_url, trust_env=False, retry=RetryPolicy(max_attempts=2, backoff_base=0.0))
    try:
        with pytest.raises(TransientError) as raised:
            provider.list_managed(ORGANIZER, NAMESPACE)
    finally:
        provider.close()
    message = str(raised.value)
    assert "could not be read while listing" in message and "after 2 attempts" in message
    assert "nothing was changed" in message and "unknown" not in message
