"""The Graph emulator on the wire: raw HTTP requests against the served app, asserting the shapes
Graph answers with (reference/graph.md), its errors, paging, filters, concurrency control,
transaction de-duplication, throttling, faults, and the mail each request sends."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.graph import GraphApp, GraphLimits, GraphServer, serve_graph
from reconciler.emulator.server import Request
from reconciler.emulator.store import MailboxStore
from reconciler.model import PROP_MEETING_ID, PROP_NAMESPACE, extended_property_id

ORG = "lead@contoso.com"
EVENTS = f"/users/{ORG}/events"
NS = extended_property_id(PROP_NAMESPACE)
MID = extended_property_id(PROP_MEETING_ID)
SEVEN_DIGITS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$")


def event(
    subject: str = "Sync",
    *,
    attendees: tuple[str, ...] = ("alice@contoso.com", "bob@contoso.com"),
    namespace: str | None = "ns",
    meeting_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": subject,
        "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-12-01T10:30:00", "timeZone": "W. Europe Standard Time"},
        "attendees": [{"type": "required", "emailAddress": {"address": a}} for a in attendees],
    }
    props = []
    if namespace is not None:
        props.append({"id": NS, "value": namespace})
    if meeting_id is not None:
        props.append({"id": MID, "value": meeting_id})
    if props:
        body["singleValueExtendedProperties"] = props
    return body | extra


def at(event_id: str) -> str:
    """The URL of one event: ids are base64 with `/`, `+` and `=`, so they are percent-encoded."""
    return f"{EVENTS}/{quote(event_id, safe='')}"


def ns_filter(value: str) -> str:
    return f"singleValueExtendedProperties/Any(ep: ep/id eq '{NS}' and ep/value eq '{value}')"


def mail(store: MailboxStore) -> Counter[tuple[str, str]]:
    return Counter((m.recipient, m.kind) for m in store.mail())


def test_a_created_event_comes_back_in_graphs_canonical_shape(http: httpx.Client) -> None:
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "monday"},
        "range": {"type": "noEnd", "startDate": "2026-12-01"},
    }
    answer = http.post(EVENTS, json=event(body={"contentType": "text", "content": "a & b\nc"}, recurrence=weekly))
    assert answer.status_code == 201
    created = answer.json()
    assert created["@odata.etag"] == f'W/"{created["changeKey"]}"' == answer.headers["etag"]
    assert created["start"] == {"dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "UTC"}
    assert SEVEN_DIGITS.match(created["end"]["dateTime"])
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$", created["createdDateTime"])
    assert created["originalStartTimeZone"] == "W. Europe Standard Time"
    assert (created["type"], created["showAs"], created["sensitivity"]) == ("seriesMaster", "busy", "normal")
    assert created["responseStatus"] == {"response": "organizer", "time": "0001-01-01T00:00:00Z"}
    assert created["body"]["contentType"] == "html"
    assert created["body"]["content"].startswith("<html>") and "a &amp; b<br>" in created["body"]["content"]
    assert created["recurrence"] == {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": ["tuesday"],
            "firstDayOfWeek": "monday",
            "index": "first",
        },
        "range": {
            "type": "noEnd",
            "startDate": "2026-12-01",
            "endDate": "0001-01-01",
            "recurrenceTimeZone": "W. Europe Standard Time",
            "numberOfOccurrences": 0,
        },
    }
    assert created["attendees"][0] == {
        "type": "required",
        "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
        "emailAddress": {"name": "alice@contoso.com", "address": "alice@contoso.com"},
    }
    assert "singleValueExtendedProperties" not in created
    assert answer.headers["content-type"].startswith("application/json")


def test_property_names_and_enum_values_are_read_in_any_case_and_answered_in_camel_case(http: httpx.Client) -> None:
    body = event(ShowAs="WORKINGELSEWHERE", Importance="High", IsReminderOn=False)
    body["attendees"] = [{"Type": "Optional", "EmailAddress": {"Address": "dave@contoso.com"}}]
    created = http.post(EVENTS, json=body).json()
    assert (created["showAs"], created["importance"], created["isReminderOn"]) == ("workingElsewhere", "high", False)
    assert created["attendees"][0]["type"] == "optional"


def test_odata_annotations_and_read_only_properties_in_a_body_are_ignored(http: httpx.Client) -> None:
    ignored: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.event",
        "id": "made-up",
        "changeKey": "x",
        "isOrganizer": True,
    }
    body = event(**ignored)
    assert http.post(EVENTS, json=body).status_code == 201


def test_an_unknown_property_is_refused_with_request_body_read_in_the_odata_error_shape(http: httpx.Client) -> None:
    answer = http.post(EVENTS, json=event(colour="blue"))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "RequestBodyRead"
    assert "'colour' does not exist on type 'microsoft.graph.event'" in error["message"]
    assert error["innerError"]["request-id"] == answer.headers["request-id"]
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}


def test_an_enum_value_graph_does_not_know_is_refused(http: httpx.Client) -> None:
    answer = http.post(EVENTS, json=event(showAs="asleep"))
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "RequestBodyRead")


def test_windows_zones_and_graphs_listed_iana_zones_are_accepted_and_others_refused(http: httpx.Client) -> None:
    def create_in(zone: str) -> httpx.Response:
        times: dict[str, Any] = {
            "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": zone},
            "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": zone},
        }
        return http.post(EVENTS, json=event(**times))

    assert create_in("Europe/Berlin").json()["start"]["dateTime"] == "2026-12-01T09:00:00.0000000"
    assert create_in("Pacific Standard Time").json()["start"]["dateTime"] == "2026-12-01T18:00:00.0000000"
    refused = create_in("Europe/Amsterdam")
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "TimeZoneNotSupportedException")
    assert "'Europe/Amsterdam'" in refused.json()["error"]["message"]


def test_reads_honour_the_preferred_time_zone_and_body_type_and_say_so(http: httpx.Client) -> None:
    created = http.post(EVENTS, json=event(body={"contentType": "html", "content": "<p>Hi &amp; bye</p>"})).json()
    prefer = 'outlook.timezone="Pacific Standard Time", outlook.body-content-type="text"'
    answer = http.get(at(created["id"]), headers={"Prefer": prefer})
    assert answer.json()["start"] == {"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "Pacific Standard Time"}
    assert answer.json()["body"] == {"contentType": "text", "content": "Hi & bye"}
    assert 'outlook.timezone="Pacific Standard Time"' in answer.headers["preference-applied"]
    assert 'outlook.body-content-type="text"' in answer.headers["preference-applied"]


def test_select_returns_only_the_selected_properties_with_id_and_etag(http: httpx.Client) -> None:
    created = http.post(EVENTS, json=event()).json()
    got = http.get(at(created["id"]), params={"$select": "subject,start"}).json()
    assert set(got) == {"@odata.etag", "id", "subject", "start"}
    refused = http.get(at(created["id"]), params={"$select": "subject,flavour"})
    assert refused.status_code == 400 and "flavour" in refused.json()["error"]["message"]


def test_lists_page_by_ten_with_absolute_next_links_on_the_emulators_own_host(
    http: httpx.Client, graph: GraphServer
) -> None:
    for index in range(23):
        http.post(EVENTS, json=event(f"Meeting {index}"))
    subjects, url, pages = [], f"{graph.graph_url}{EVENTS}", 0
    while url:
        page = http.get(url).json()
        pages += 1
        subjects += [e["subject"] for e in page["value"]]
        url = page.get("@odata.nextLink")
        if url:
            assert urlsplit(url).netloc == urlsplit(graph.graph_url).netloc and "$skip=" in url
    assert pages == 3
    assert subjects == [f"Meeting {index}" for index in range(23)]
    top = http.get(EVENTS, params={"$top": "20"}).json()
    assert len(top["value"]) == 20 and "$top=20" in top["@odata.nextLink"]


def test_the_extended_property_filter_lists_only_that_namespace_and_expand_returns_only_the_named_values(
    http: httpx.Client,
) -> None:
    http.post(EVENTS, json=event("Ours", meeting_id="a"))
    http.post(EVENTS, json=event("Theirs", namespace="other", meeting_id="b"))
    http.post(EVENTS, json=event("Unmarked", namespace=None))
    params = {"$filter": ns_filter("NS"), "$expand": f"singleValueExtendedProperties($filter=id eq '{MID}')"}
    listed = http.get(EVENTS, params=params).json()["value"]
    assert [e["subject"] for e in listed] == ["Ours"]  # values compare case-insensitively
    assert listed[0]["singleValueExtendedProperties"] == [{"id": MID, "value": "a"}]
    both = f"{ns_filter('ns')} or {ns_filter('other')}"
    assert len(http.get(EVENTS, params={"$filter": both}).json()["value"]) == 2
    bare = http.get(EVENTS, params={"$filter": ns_filter("ns"), "$expand": "singleValueExtendedProperties"}).json()
    assert bare["value"][0]["singleValueExtendedProperties"] == []


def test_the_property_name_in_a_filter_is_case_sensitive_and_the_guid_is_not(http: httpx.Client) -> None:
    http.post(EVENTS, json=event("Ours"))
    upper_guid = NS.replace("8f3c6a52", "8F3C6A52")
    assert len(http.get(EVENTS, params={"$filter": ns_filter("ns").replace(NS, upper_guid)}).json()["value"]) == 1
    lower_name = NS.replace("MeetingsAsCode", "meetingsascode")
    assert http.get(EVENTS, params={"$filter": ns_filter("ns").replace(NS, lower_name)}).json()["value"] == []


@pytest.mark.parametrize(
    ("filter_text", "code"),
    [
        ("singleValueExtendedProperties/Any(ep: ep/id eq 'x' and", "BadRequest"),
        ("singleValueExtendedProperties/Any(ep: ep/value eq 'ns')", "ErrorInvalidProperty"),
        ("subject eq 'Sync'", "ErrorInvalidUrlQueryFilter"),
    ],
)
def test_filters_outside_the_supported_subset_are_refused_with_graphs_codes(
    http: httpx.Client, filter_text: str, code: str
) -> None:
    answer = http.get(EVENTS, params={"$filter": filter_text})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)


def test_a_stale_if_match_is_refused_with_412_and_writes_nothing(http: httpx.Client, store: MailboxStore) -> None:
    created = http.post(EVENTS, json=event()).json()
    before = mail(store)
    stale = http.patch(at(created["id"]), json={"subject": "New"}, headers={"If-Match": 'W/"stale"'})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "ErrorIrresolvableConflict"
    assert store.list_items(ORG)[0].doc["subject"] == "Sync" and mail(store) == before
    fresh = http.patch(at(created["id"]), json={"subject": "New"}, headers={"If-Match": created["@odata.etag"]})
    assert fresh.status_code == 200 and fresh.json()["changeKey"] != created["changeKey"]
    cancel = http.post(
        at(created["id"]) + "/cancel", json={"Comment": "x"}, headers={"If-Match": created["@odata.etag"]}
    )
    assert cancel.status_code == 412


def test_every_write_gives_the_event_a_new_change_key(http: httpx.Client) -> None:
    created = http.post(EVENTS, json=event()).json()
    keys = {created["changeKey"]}
    for subject in ("One", "Two"):
        keys.add(http.patch(at(created["id"]), json={"subject": subject}).json()["changeKey"])
    assert len(keys) == 3


def test_a_repeated_create_with_the_same_transaction_id_creates_and_invites_once(
    http: httpx.Client, store: MailboxStore
) -> None:
    first = http.post(EVENTS, json=event(transactionId="tx-1"))
    again = http.post(EVENTS, json=event(transactionId="tx-1"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"] and again.json()["transactionId"] == "tx-1"
    assert len(store.list_items(ORG)) == 1
    assert mail(store) == Counter({("alice@contoso.com", "invitation"): 1, ("bob@contoso.com", "invitation"): 1})


def test_mail_follows_graphs_notification_table(http: httpx.Client, store: MailboxStore) -> None:
    created = http.post(EVENTS, json=event()).json()
    url = at(created["id"])
    assert mail(store) == Counter({("alice@contoso.com", "invitation"): 1, ("bob@contoso.com", "invitation"): 1})
    seq = store.mail()[-1].seq

    def since() -> Counter[tuple[str, str]]:
        nonlocal seq
        sent = Counter((m.recipient, m.kind) for m in store.mail() if m.seq > seq)
        seq = max([seq, *(m.seq for m in store.mail())])
        return sent

    attendees = [
        {"type": "required", "emailAddress": {"address": a}} for a in ("alice@contoso.com", "erin@contoso.com")
    ]
    http.patch(url, json={"attendees": attendees})  # only attendees: only the changed people hear
    assert since() == Counter({("erin@contoso.com", "invitation"): 1, ("bob@contoso.com", "cancellation"): 1})
    http.patch(url, json={"subject": "Moved"})
    assert since() == Counter({("alice@contoso.com", "update"): 1, ("erin@contoso.com", "update"): 1})
    http.patch(url, json={"singleValueExtendedProperties": [{"id": NS, "value": "ns2"}]})  # the conservative default
    assert since() == Counter({("alice@contoso.com", "update"): 1, ("erin@contoso.com", "update"): 1})
    http.patch(url, json={"categories": ["Blue"], "reminderMinutesBeforeStart": 5})
    assert since() == Counter({("alice@contoso.com", "update"): 1, ("erin@contoso.com", "update"): 1})
    assert http.post(f"{url}/cancel", json={"Comment": "Not needed."}).status_code == 202
    assert since() == Counter({("alice@contoso.com", "cancellation"): 1, ("erin@contoso.com", "cancellation"): 1})
    assert {m.comment for m in store.mail()[-2:]} == {"Not needed."}
    assert http.get(url).status_code == 404


def test_deleting_a_meeting_sends_cancellations_without_comment(http: httpx.Client, store: MailboxStore) -> None:
    created = http.post(EVENTS, json=event()).json()
    assert http.delete(at(created["id"])).status_code == 204
    assert [(m.kind, m.comment) for m in store.mail()[-2:]] == [("cancellation", None)] * 2
    assert store.list_items(ORG) == []


def test_unknown_and_malformed_ids_get_graphs_errors(http: httpx.Client) -> None:
    missing = http.get(f"{EVENTS}/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ErrorItemNotFound")
    malformed = http.get(f"{EVENTS}/not*an*id")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "ErrorInvalidIdMalformed")


def test_immutable_and_default_ids_differ_and_both_address_the_event(http: httpx.Client) -> None:
    immutable = http.post(EVENTS, json=event(), headers={"Prefer": 'IdType="ImmutableId"'}).json()["id"]
    default = http.get(EVENTS).json()["value"][0]["id"]
    assert immutable != default
    assert http.get(at(immutable)).json()["id"] == default
    both = {http.get(at(i), headers={"Prefer": 'IdType="ImmutableId"'}).json()["id"] for i in (immutable, default)}
    assert both == {immutable}


def test_ids_with_slashes_and_upns_are_percent_decoded_and_upns_are_case_insensitive(http: httpx.Client) -> None:
    created = http.post("/users/Lead%40Contoso.com/events", json=event()).json()
    encoded = created["id"].replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")
    assert http.get(f"/users/LEAD%40contoso.com/events/{encoded}").status_code == 200


def test_recurrences_and_all_day_events_are_validated(http: httpx.Client) -> None:
    def refused(**extra: Any) -> str:
        answer = http.post(EVENTS, json=event(**extra))
        assert answer.status_code == 400
        return str(answer.json()["error"]["message"])

    shifted = {"pattern": {"type": "daily", "interval": 1}, "range": {"type": "noEnd", "startDate": "2026-12-02"}}
    assert "start on the date" in refused(recurrence=shifted)
    no_days = {"pattern": {"type": "weekly", "interval": 1}, "range": {"type": "noEnd", "startDate": "2026-12-01"}}
    assert "daysOfWeek" in refused(recurrence=no_days)
    assert "midnight" in refused(isAllDay=True)
    day: dict[str, Any] = {
        "start": {"dateTime": "2026-12-01T00:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-02T00:00:00", "timeZone": "UTC"},
    }
    assert http.post(EVENTS, json=event(isAllDay=True, **day)).status_code == 201


def test_all_day_events_float_in_whatever_zone_is_preferred(http: httpx.Client) -> None:
    day: dict[str, Any] = {
        "start": {"dateTime": "2026-12-14T00:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-12-16T00:00:00", "timeZone": "W. Europe Standard Time"},
    }
    created = http.post(EVENTS, json=event(isAllDay=True, **day)).json()
    got = http.get(at(created["id"]), headers={"Prefer": 'outlook.timezone="Tokyo Standard Time"'}).json()
    assert got["start"] == {"dateTime": "2026-12-14T00:00:00.0000000", "timeZone": "Tokyo Standard Time"}


def test_too_many_requests_in_the_window_are_throttled_with_an_integer_retry_after(store: MailboxStore) -> None:
    now = [datetime(2026, 11, 24, 12, 0, tzinfo=UTC)]
    app = GraphApp(store, clock=lambda: now[0], limits=GraphLimits(max_requests=3, window_seconds=600))
    request = Request("GET", f"/v1.0{EVENTS}", {"host": "127.0.0.1"}, b"")
    assert [app.handle(request).status for _ in range(3)] == [200, 200, 200]
    now[0] += timedelta(seconds=100)
    throttled = app.handle(request)
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "500"
    assert b"ApplicationThrottled" in throttled.body
    now[0] += timedelta(seconds=501)
    assert app.handle(request).status == 200
    other_mailbox = Request("GET", "/v1.0/users/someone@contoso.com/events", {"host": "127.0.0.1"}, b"")
    assert app.handle(other_mailbox).status == 200


def test_a_fifth_concurrent_request_to_one_mailbox_is_throttled(
    graph: GraphServer, store: MailboxStore, faults: FaultPlan
) -> None:
    faults.inject("graph", "list", "delay", times=4, seconds=0.6)
    answers: list[int] = []

    def get() -> None:
        with httpx.Client(trust_env=False) as client:
            answers.append(client.get(f"{graph.graph_url}{EVENTS}").status_code)

    threads = [threading.Thread(target=get) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    with httpx.Client(trust_env=False) as client:
        fifth = client.get(f"{graph.graph_url}{EVENTS}")
    for thread in threads:
        thread.join()
    assert (
        fifth.status_code == 429
        and fifth.json()["error"]["message"] == "Application is over its MailboxConcurrency limit."
    )
    assert fifth.headers["retry-after"].isdigit()
    assert sorted(answers) == [200] * 4


def test_injected_faults_answer_as_graph_and_504_after_commit_keeps_the_write(
    http: httpx.Client, store: MailboxStore, faults: FaultPlan
) -> None:
    faults.inject("graph", "create", "429", retry_after=7)
    throttled = http.post(EVENTS, json=event())
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "7"
    faults.inject("graph", "create", "504")
    assert http.post(EVENTS, json=event()).status_code == 504
    assert store.list_items(ORG) == []
    faults.inject("graph", "create", "504-after-commit")
    assert http.post(EVENTS, json=event()).status_code == 504
    assert len(store.list_items(ORG)) == 1 and len(store.mail()) == 2
    faults.inject("graph", "create", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(EVENTS, json=event("Dropped"))
    assert [i.doc["subject"] for i in store.list_items(ORG)] == ["Sync"]


def test_a_random_failure_rate_is_reproducible_from_its_seed(store: MailboxStore) -> None:
    def statuses(seed: int) -> list[int]:
        app = GraphApp(store, failure_rate=0.3, seed=seed, failure_kinds=("429", "503"))
        request = Request("GET", f"/v1.0{EVENTS}", {"host": "127.0.0.1"}, b"")
        return [app.handle(request).status for _ in range(40)]

    first = statuses(11)
    assert first == statuses(11)
    assert {429, 503} <= set(first) and 200 in first


def test_me_and_other_versions_and_unknown_segments_are_refused(http: httpx.Client, graph: GraphServer) -> None:
    root = graph.base_url
    assert http.get(f"{root}/beta/users/{ORG}/events").json()["error"]["message"] == "Invalid version: beta"
    assert "delegated" in http.get("/me/events").json()["error"]["message"]
    assert http.get(f"/users/{ORG}/mailFolders").status_code == 400


def test_graph_is_served_under_v1_0_on_loopback(store: MailboxStore) -> None:
    with serve_graph(store) as server:
        assert re.match(r"^http://127\.0\.0\.1:\d+$", server.base_url)
        assert server.graph_url == f"{server.base_url}/v1.0"
        with httpx.Client(trust_env=False) as client:
            zones = client.get(f"{server.graph_url}/users/{ORG}/outlook/supportedTimeZones").json()["value"]
    assert {"alias": "W. Europe Standard Time", "displayName": "W. Europe Standard Time"} in zones
