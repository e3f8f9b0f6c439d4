"""The Graph emulator's getSchedule and accept/decline answers have the documented shapes.

The samples are Microsoft's: the getSchedule request and answer of
microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/api/calendar-getschedule.md (commit
0062dd88; the answer's first schedule, shortened by its publisher as marked "truncated") and the
202 without body of api-reference/v1.0/api/event-accept.md (commit 0061138f). Values differ (the
emulator answers in UTC, `Prefer: outlook.timezone` is not applied, see docs/reference/people.md);
keys and value formats are compared.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx

from reconciler.emulator.graph import ids, instances
from reconciler.emulator.store import MailboxStore, SendMode, UnavailableReason

#: The documented request body, as published.
REQUEST: dict[str, Any] = {
    "schedules": ["adelev@contoso.onmicrosoft.com", "meganb@contoso.onmicrosoft.com"],
    "startTime": {"dateTime": "2019-03-15T09:00:00", "timeZone": "Pacific Standard Time"},
    "endTime": {"dateTime": "2019-03-15T18:00:00", "timeZone": "Pacific Standard Time"},
    "availabilityViewInterval": 60,
}
#: The documented answer's first schedule item, as published.
SCHEDULE_ITEM = {
    "isPrivate": False,
    "status": "busy",
    "subject": "Let's go for lunch",
    "location": "Harry's Bar",
    "start": {"dateTime": "2019-03-15T12:00:00.0000000", "timeZone": "Pacific Standard Time"},
    "end": {"dateTime": "2019-03-15T14:00:00.0000000", "timeZone": "Pacific Standard Time"},
}
_WALL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")


def lunch(store: MailboxStore) -> None:
    """Adele's lunch as the sample shows it: 12:00-14:00 Pacific on 2019-03-15, busy."""
    doc = {
        "subject": "Let's go for lunch",
        "start": "2019-03-15T12:00:00",
        "end": "2019-03-15T14:00:00",
        "timezone": "America/Los_Angeles",
        "show_as": "busy",
        "attendees": [],
    }
    store.create_item("adelev@contoso.onmicrosoft.com", doc, send=SendMode.NONE)


def test_get_schedule_answers_the_documented_keys_and_formats(store: MailboxStore, http: httpx.Client) -> None:
    lunch(store)
    answer = http.post("/users/adelev@contoso.onmicrosoft.com/calendar/getSchedule", json=REQUEST)
    assert answer.status_code == 200
    body = answer.json()
    assert body["@odata.context"].endswith("$metadata#Collection(microsoft.graph.scheduleInformation)")
    adele, megan = body["value"]
    assert (adele["scheduleId"], megan["scheduleId"]) == tuple(REQUEST["schedules"])
    assert set(adele) >= {"scheduleId", "availabilityView", "scheduleItems"}
    (item,) = adele["scheduleItems"]
    assert set(item) == set(SCHEDULE_ITEM)
    assert item["start"] == {"dateTime": "2019-03-15T19:00:00.0000000", "timeZone": "UTC"}
    assert all(_WALL_TIME.match(item[k]["dateTime"]) for k in ("start", "end"))
    # 09:00-18:00 in hours: free until noon, busy 12:00-14:00, free after (the sample's "000220000").
    assert adele["availabilityView"] == "000220000"
    assert (megan["availabilityView"], megan["scheduleItems"]) == ("000000000", [])


def test_a_schedule_that_cannot_be_read_carries_an_error_and_no_items(store: MailboxStore, http: httpx.Client) -> None:
    store.set_unavailable("meganb@contoso.onmicrosoft.com", UnavailableReason.DENIED)
    answer = http.post("/users/adelev@contoso.onmicrosoft.com/calendar/getSchedule", json=REQUEST)
    megan = answer.json()["value"][1]
    assert "scheduleItems" not in megan
    assert megan["error"] == {"message": "No free/busy access to the mailbox.", "responseCode": "ErrorNoFreeBusyAccess"}


def test_accept_on_the_attendees_copy_answers_202_without_body_and_the_organizer_sees_it(
    store: MailboxStore, http: httpx.Client
) -> None:
    doc: dict[str, Any] = {
        "subject": "Sync",
        "start": "2026-12-01T10:00:00",
        "end": "2026-12-01T10:30:00",
        "timezone": "UTC",
        "attendees": [{"email": "alice@contoso.com", "name": "Alice", "type": "required", "response": "none"}],
    }
    item = store.create_item("lead@contoso.com", doc)
    copy = ids.rest("alice@contoso.com", item.item_id)
    answer = http.post(
        f"/users/alice@contoso.com/events/{copy}/accept", json={"comment": "comment-value", "sendResponse": True}
    )
    assert (answer.status_code, answer.content) == (202, b"")
    assert store.get_item(item.item_id).doc["attendees"][0]["response"] == "accepted"
    assert store.get_item(item.item_id).change_key != item.change_key
    stranger = http.post(f"/users/zed@contoso.com/events/{ids.rest('zed@contoso.com', item.item_id)}/decline", json={})
    assert stranger.status_code == 404


def test_answering_one_occurrence_is_refused_and_leaves_the_series_as_it_was(
    store: MailboxStore, http: httpx.Client
) -> None:
    doc: dict[str, Any] = {
        "subject": "Weekly",
        "start": "2026-12-01T10:00:00",
        "end": "2026-12-01T10:30:00",
        "timezone": "UTC",
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 4},
        },
        "attendees": [{"email": "alice@contoso.com", "name": "Alice", "type": "required", "response": "none"}],
    }
    item = store.create_item("lead@contoso.com", doc)
    second = instances.occurrence_id(item.item_id, date(2026, 12, 8))
    # Through the organizer's mailbox, where the occurrence is found: once answered by cancelling it.
    answer = http.post(f"/users/lead@contoso.com/events/{ids.rest('lead@contoso.com', second)}/accept", json={})
    assert answer.status_code == 501
    after = store.get_item(item.item_id)
    assert after.change_key == item.change_key and not after.doc.get("cancelled_occurrences")
