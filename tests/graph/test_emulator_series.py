"""The Graph emulator's series on the wire: `/instances` and `calendarView` windows, occurrence ids,
writes to one occurrence (exceptions, cancellations), the master's cancelled and changed
occurrences, and the mail each request sends (reference/graph.md A.5, B.3, B.4, B.7, B.8, D)."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from reconciler.emulator.graph import GraphServer
from reconciler.emulator.store import MailboxStore

ORG = "lead@contoso.com"
EVENTS = f"/users/{ORG}/events"
BERLIN = "W. Europe Standard Time"
ATTENDEES = ("alice@contoso.com", "bob@contoso.com")
#: Tuesdays 20 October to 10 November 2026; daylight saving time ends in Berlin on 25 October.
AUTUMN = {"startDateTime": "2026-10-19T00:00:00Z", "endDateTime": "2026-11-11T00:00:00Z"}


def weekly(
    http: httpx.Client,
    *,
    start: str = "2026-10-20T10:00:00",
    end: str = "2026-10-20T11:00:00",
    until: str = "2026-11-10",
    days: tuple[str, ...] = ("tuesday",),
    **extra: Any,
) -> dict[str, Any]:
    """Create a weekly Berlin series with two attendees; its JSON as created."""
    body = {
        "subject": "Weekly",
        "start": {"dateTime": start, "timeZone": BERLIN},
        "end": {"dateTime": end, "timeZone": BERLIN},
        "attendees": [{"type": "required", "emailAddress": {"address": a}} for a in ATTENDEES],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": list(days), "firstDayOfWeek": "monday"},
            "range": {"type": "endDate", "startDate": start[:10], "endDate": until},
        },
    } | extra
    answer = http.post(EVENTS, json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def at(event_id: str, suffix: str = "") -> str:
    return f"{EVENTS}/{quote(event_id, safe='')}{suffix}"


def listed(http: httpx.Client, url: str, params: dict[str, str] | None = None, **headers: str) -> list[dict[str, Any]]:
    """Every event of a paged collection, following `@odata.nextLink`."""
    page = http.get(url, params=params, headers=headers).json()
    events = list(page["value"])
    while "@odata.nextLink" in page:
        page = http.get(page["@odata.nextLink"], headers=headers).json()
        events += page["value"]
    return events


def instances(http: httpx.Client, master: dict[str, Any], **headers: str) -> list[dict[str, Any]]:
    return listed(http, at(master["id"], "/instances"), AUTUMN, **headers)


def occurrence_on(http: httpx.Client, master: dict[str, Any], day: str) -> dict[str, Any]:
    (found,) = [o for o in instances(http, master) if o["occurrenceId"].endswith(f".{day}")]
    return found


def mail_since(store: MailboxStore, seq: int) -> Counter[tuple[str, str, str | None]]:
    return Counter((m.recipient, m.kind, m.occurrence) for m in store.mail() if m.seq > seq)


def last_seq(store: MailboxStore) -> int:
    return max((m.seq for m in store.mail()), default=0)


def test_a_weekly_berlin_series_stays_at_ten_local_time_across_the_end_of_daylight_saving(
    http: httpx.Client,
) -> None:
    master = weekly(http)
    # originalStart comes only when selected (the captured calendarView answers have none).
    utc = listed(
        http,
        at(master["id"], "/instances"),
        {**AUTUMN, "$select": "start,originalStart,type,recurrence,seriesMasterId,iCalUId"},
    )
    assert [o["start"]["dateTime"] for o in utc] == [
        "2026-10-20T08:00:00.0000000",
        "2026-10-27T09:00:00.0000000",
        "2026-11-03T09:00:00.0000000",
        "2026-11-10T09:00:00.0000000",
    ]
    assert [o["originalStart"] for o in utc] == [
        "2026-10-20T08:00:00Z",
        "2026-10-27T09:00:00Z",
        "2026-11-03T09:00:00Z",
        "2026-11-10T09:00:00Z",
    ]
    local = instances(http, master, Prefer=f'outlook.timezone="{BERLIN}"')
    assert {(o["start"]["dateTime"][11:], o["start"]["timeZone"]) for o in local} == {("10:00:00.0000000", BERLIN)}
    first = utc[0]
    assert (first["type"], first["recurrence"], first["seriesMasterId"]) == ("occurrence", None, master["id"])
    assert first["@odata.etag"] == master["@odata.etag"] and len({o["id"] for o in utc}) == 4
    assert len({o["iCalUId"] for o in utc}) == 4 and master["id"] not in {o["id"] for o in utc}


def test_instances_page_with_absolute_next_links_that_keep_the_window_and_select(
    http: httpx.Client, graph: GraphServer
) -> None:
    master = weekly(http)
    page = http.get(at(master["id"], "/instances"), params={**AUTUMN, "$top": "3", "$select": "subject"}).json()
    assert len(page["value"]) == 3 and set(page["value"][0]) == {"@odata.etag", "id", "subject"}
    link = page["@odata.nextLink"]
    assert link.startswith(graph.graph_url) and "startDateTime=2026-10-19" in link and "$skip=3" in link
    rest = http.get(link).json()
    assert len(rest["value"]) == 1 and "@odata.nextLink" not in rest


@pytest.mark.parametrize(
    "window", [{}, {"startDateTime": "", "endDateTime": ""}, {"startDateTime": AUTUMN["startDateTime"]}]
)
def test_instances_and_calendar_view_need_a_time_window(http: httpx.Client, window: dict[str, str]) -> None:
    master = weekly(http)
    for url in (at(master["id"], "/instances"), f"/users/{ORG}/calendarView"):
        answer = http.get(url, params=window)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "ErrorInvalidParameter"
        assert "StartDateTime and EndDateTime" in answer.json()["error"]["message"]


def test_calendar_view_returns_singles_occurrences_and_exceptions_by_start_and_never_masters(
    http: httpx.Client,
) -> None:
    master = weekly(http)
    single = http.post(
        EVENTS,
        json={
            "subject": "Single",
            "start": {"dateTime": "2026-10-28T12:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-10-28T13:00:00", "timeZone": "UTC"},
        },
    ).json()
    outside = {"start": {"dateTime": "2027-01-05T12:00:00", "timeZone": "UTC"}}
    http.post(
        EVENTS, json={"subject": "Later", **outside, "end": {"dateTime": "2027-01-05T13:00:00", "timeZone": "UTC"}}
    )
    moved = occurrence_on(http, master, "2026-11-03")
    http.patch(at(moved["id"]), json={"subject": "Moved on"})
    view = listed(http, f"/users/{ORG}/calendarView", {**AUTUMN, "$top": "2"})
    assert [(e["subject"], e["type"]) for e in view] == [
        ("Weekly", "occurrence"),
        ("Weekly", "occurrence"),
        ("Single", "singleInstance"),
        ("Moved on", "exception"),
        ("Weekly", "occurrence"),
    ]
    assert view[2]["id"] == single["id"] and view[3]["id"] == moved["id"]
    assert all("cancelledOccurrences" not in e for e in view)


def test_an_occurrence_is_read_by_its_own_id_and_keeps_it_when_it_becomes_an_exception(
    http: httpx.Client, store: MailboxStore
) -> None:
    master = weekly(http)
    occurrence = occurrence_on(http, master, "2026-10-27")
    got = http.get(at(occurrence["id"]), params={"$select": "originalStart"})
    assert got.status_code == 200 and got.json()["originalStart"] == "2026-10-27T09:00:00Z"
    seq = last_seq(store)
    patched = http.patch(at(occurrence["id"]), json={"subject": "Planning instead"})
    assert patched.status_code == 200
    assert (patched.json()["id"], patched.json()["type"]) == (occurrence["id"], "exception")
    assert mail_since(store, seq) == Counter({(a, "update", "2026-10-27"): 1 for a in ATTENDEES})
    again = occurrence_on(http, master, "2026-10-27")
    assert (again["id"], again["type"], again["subject"]) == (occurrence["id"], "exception", "Planning instead")
    assert patched.json()["changeKey"] == http.get(at(master["id"])).json()["changeKey"] != master["changeKey"]
    assert http.get(at(master["id"])).json()["subject"] == "Weekly"


def test_an_attendee_only_patch_of_an_occurrence_mails_only_the_added_and_removed_about_it(
    http: httpx.Client, store: MailboxStore
) -> None:
    master = weekly(http)
    occurrence = occurrence_on(http, master, "2026-10-27")
    seq = last_seq(store)
    attendees = [
        {"type": "required", "emailAddress": {"address": a}} for a in ("alice@contoso.com", "erin@contoso.com")
    ]
    assert http.patch(at(occurrence["id"]), json={"attendees": attendees}).status_code == 200
    assert mail_since(store, seq) == Counter(
        {("erin@contoso.com", "invitation", "2026-10-27"): 1, ("bob@contoso.com", "cancellation", "2026-10-27"): 1}
    )
    others = {
        a["emailAddress"]["address"]
        for o in instances(http, master)
        if o["type"] == "occurrence"
        for a in o["attendees"]
    }
    assert others == set(ATTENDEES)


def test_moving_an_occurrence_onto_its_neighbours_day_is_refused(http: httpx.Client, store: MailboxStore) -> None:
    master = weekly(http, days=("tuesday", "thursday"), start="2026-10-20T10:00:00", end="2026-10-20T11:00:00")
    tuesday = occurrence_on(http, master, "2026-10-27")
    seq = last_seq(store)

    def move(day: str) -> httpx.Response:
        times = {
            "start": {"dateTime": f"{day}T10:00:00", "timeZone": BERLIN},
            "end": {"dateTime": f"{day}T11:00:00", "timeZone": BERLIN},
        }
        return http.patch(at(tuesday["id"]), json=times)

    for day in ("2026-10-29", "2026-10-30", "2026-10-22"):  # the next Thursday, past it, the last Thursday
        refused = move(day)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "ErrorOccurrenceCrossingBoundary")
    assert mail_since(store, seq) == Counter()
    moved = move("2026-10-28")
    assert moved.status_code == 200 and moved.json()["start"]["dateTime"] == "2026-10-28T09:00:00.0000000"
    assert moved.json()["occurrenceId"].endswith(".2026-10-27")


def test_the_recurrence_of_an_occurrence_cannot_be_patched(http: httpx.Client) -> None:
    master = weekly(http)
    occurrence = occurrence_on(http, master, "2026-10-27")
    answer = http.patch(at(occurrence["id"]), json={"recurrence": master["recurrence"]})
    assert answer.status_code == 400 and "recurrence" in answer.json()["error"]["message"]


def test_a_cancelled_occurrence_mails_its_attendees_leaves_the_views_and_is_listed_on_the_master(
    http: httpx.Client, store: MailboxStore
) -> None:
    master = weekly(http)
    occurrence = occurrence_on(http, master, "2026-11-03")
    seq = last_seq(store)
    assert http.post(at(occurrence["id"], "/cancel"), json={"Comment": "Holiday."}).status_code == 202
    assert [(m.recipient, m.kind, m.occurrence, m.comment) for m in store.mail() if m.seq > seq] == [
        (a, "cancellation", "2026-11-03", "Holiday.") for a in ATTENDEES
    ]
    assert "2026-11-03" not in {o["occurrenceId"][-10:] for o in instances(http, master)}
    assert http.get(at(occurrence["id"])).status_code == 404
    assert http.post(at(occurrence["id"], "/cancel"), json={}).status_code == 404
    selected = http.get(at(master["id"]), params={"$select": "subject,cancelledOccurrences"}).json()
    assert selected["cancelledOccurrences"] == [f"OID.{master['id']}.2026-11-03"]
    assert "cancelledOccurrences" not in http.get(at(master["id"])).json()
    in_list = http.get(EVENTS, params={"$select": "subject,cancelledOccurrences"}).json()["value"][0]
    assert "cancelledOccurrences" not in in_list


def test_deleting_an_occurrence_cancels_it_without_a_comment(http: httpx.Client, store: MailboxStore) -> None:
    master = weekly(http)
    occurrence = occurrence_on(http, master, "2026-10-20")
    seq = last_seq(store)
    assert http.delete(at(occurrence["id"])).status_code == 204
    assert [(m.kind, m.occurrence, m.comment) for m in store.mail() if m.seq > seq] == [
        ("cancellation", "2026-10-20", None)
    ] * 2
    assert len(instances(http, master)) == 3 and http.get(at(master["id"])).status_code == 200


def test_occurrence_writes_compare_if_match_with_the_masters_change_key(http: httpx.Client) -> None:
    master = weekly(http)
    occurrence = occurrence_on(http, master, "2026-10-27")
    stale = http.patch(at(occurrence["id"]), json={"subject": "x"}, headers={"If-Match": 'W/"stale"'})
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "ErrorIrresolvableConflict")
    fresh = http.patch(at(occurrence["id"]), json={"subject": "x"}, headers={"If-Match": occurrence["@odata.etag"]})
    assert fresh.status_code == 200
    again = http.post(at(occurrence["id"], "/cancel"), json={}, headers={"If-Match": occurrence["@odata.etag"]})
    assert again.status_code == 412
    current = http.get(at(master["id"])).json()["@odata.etag"]
    assert http.post(at(occurrence["id"], "/cancel"), json={}, headers={"If-Match": current}).status_code == 202


def test_exception_occurrences_come_with_the_master_only_when_selected_and_expanded(http: httpx.Client) -> None:
    master = weekly(http)
    occurrence = occurrence_on(http, master, "2026-10-27")
    http.patch(at(occurrence["id"]), json={"subject": "Changed", "location": {"displayName": "Room 2"}})
    params = {"$select": "subject,originalStart,exceptionOccurrences", "$expand": "exceptionOccurrences"}
    (exception,) = http.get(at(master["id"]), params=params).json()["exceptionOccurrences"]
    assert exception == {"id": occurrence["id"], "subject": "Changed", "originalStart": "2026-10-27T09:00:00Z"}
    assert "exceptionOccurrences" not in http.get(at(master["id"]), params={"$select": params["$select"]}).json()
    assert "exceptionOccurrences" not in http.get(at(master["id"]), params={"$expand": params["$expand"]}).json()


def test_a_master_update_mails_each_kept_exception_and_a_new_pattern_drops_them(
    http: httpx.Client, store: MailboxStore
) -> None:
    master = weekly(http)
    changed = occurrence_on(http, master, "2026-10-27")
    attendees = [
        {"type": "required", "emailAddress": {"address": a}} for a in ("alice@contoso.com", "erin@contoso.com")
    ]
    http.patch(at(changed["id"]), json={"subject": "Own", "attendees": attendees})
    http.post(at(occurrence_on(http, master, "2026-11-03")["id"], "/cancel"), json={})
    seq = last_seq(store)
    assert http.patch(at(master["id"]), json={"location": {"displayName": "Room 7"}}).status_code == 200
    assert mail_since(store, seq) == Counter(
        {(a, "update", None): 1 for a in ATTENDEES}
        | {("alice@contoso.com", "update", "2026-10-27"): 1, ("erin@contoso.com", "update", "2026-10-27"): 1}
    )
    seq = last_seq(store)
    new_attendees = [{"type": "required", "emailAddress": {"address": "alice@contoso.com"}}]
    http.patch(at(master["id"]), json={"attendees": new_attendees})  # attendees only: no update to anyone
    assert mail_since(store, seq) == Counter({("bob@contoso.com", "cancellation", None): 1})
    seq = last_seq(store)
    later = {
        "start": {"dateTime": "2026-10-20T11:00:00", "timeZone": BERLIN},
        "end": {"dateTime": "2026-10-20T12:00:00", "timeZone": BERLIN},
    }
    assert http.patch(at(master["id"]), json=later).status_code == 200  # the pattern is rewritten
    assert mail_since(store, seq) == Counter({("alice@contoso.com", "update", None): 1})
    regenerated = instances(http, master)
    assert len(regenerated) == 4 and {o["type"] for o in regenerated} == {"occurrence"}
    selected = http.get(at(master["id"]), params={"$select": "cancelledOccurrences"}).json()
    assert selected["cancelledOccurrences"] == []
