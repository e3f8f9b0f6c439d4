"""The Graph emulator's answers have the shapes of real ones (tests/wire/real/graph, SOURCES.md).

Each captured request is sent, adapted to the emulator's mailbox and ids, to the emulator over
loopback, and the answer's SHAPE is compared with the captured answer's: the keys (every key of
the captured object must be in the emulator's), and per value its kind and format (timestamps with
7 fractional digits, wall times without offset, `W/"..."` etags, ids in Graph's URL-safe alphabet,
camelCase enum values). Values themselves differ (ids, times, names) and are not compared, except
error codes and messages. Documentation samples are marked "may be truncated", so the emulator may
answer more keys than they show; against the untruncated real capture (a calendarView occurrence)
the key sets must be equal. Every known, accepted difference is in `KNOWN_DIFFERENCES`, with why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.store import MailboxStore, SendMode

CAPTURES = Path(__file__).parent / "graph"
MAILBOX = "lead@contoso.com"
EVENTS = f"/users/{MAILBOX}/events"

#: (capture, path in the answer) -> why the emulator's answer may differ there. Paths are
#: dot-joined keys, `[]` for list items; a path covers everything below it.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("*", "@odata.context"): "the emulator names its own host and the mailbox by address, not by object id",
    ("*", "iCalUId"): "formats vary in the samples (shortened in some docs); the emulator makes Outlook's 112 hex",
    ("create-event-recurring-weekly", "OnlineMeeting"): "the doc sample's capitalised key, a typo of onlineMeeting",
    ("create-event-multiple-locations", "locations[].address"): "the emulator keeps one location, not three",
    ("create-event-multiple-locations", "locations[].coordinates"): "the emulator keeps one location, not three",
    ("create-event-multiple-locations", "locations[].uniqueId"): "the emulator keeps one location, not three",
    ("update-enable-online-meeting", "location.locationType"): "the sample's room was resolved from the directory",
    ("update-enable-online-meeting", "location.uniqueIdType"): "the sample's room was resolved from the directory",
    ("update-enable-online-meeting", "locations[].locationType"): "the sample's room was resolved from the directory",
    ("update-enable-online-meeting", "locations[].uniqueIdType"): "the sample's room was resolved from the directory",
    ("get-series-master-exceptions-cancelled", "iCalUId"): "the doc sample shortens it (`040000008200E00074=`)",
    ("get-series-master-exceptions-cancelled", "uid"): "the doc sample shortens it",
    ("get-series-master-exceptions-cancelled", "exceptionOccurrences[].Subject"): "the doc's capitalised key",
    ("get-series-master-exceptions-cancelled", "exceptionOccurrences[].id"): "the doc sample shortens it",
    ("get-series-master-exceptions-cancelled", "cancelledOccurrences[]"): "the doc sample shortens the master id",
    ("calendarview-room-occurrence", "originalEndTimeZone"): "the capture's end zone was written as UTC by its client",
    ("calendarview-room-occurrence", "attendees[].emailAddress.name"): "the room's display name from the directory",
    ("calendarview-room-occurrence", "uid"): (
        "the emulator answers uid (in the current event-get sample); the 2024 capture predates it [INFER]"
    ),
    ("error-429-throttled-retry-after", "headers.Retry-After"): (
        "the doc sample's decimal 2.128; the emulator sends integer seconds (the SDK ignores decimals)"
    ),
    ("error-429-throttled-retry-after", "error.code"): "the generic Graph sample; Outlook answers ApplicationThrottled",
    ("error-429-throttled-retry-after", "error.message"): "the generic Graph sample; Outlook's message differs",
    ("error-429-throttled-retry-after", "error.innerError.code"): "only in the generic sample",
    ("error-429-throttled-retry-after", "error.innerError.message"): "only in the generic sample",
    ("error-429-throttled-retry-after", "error.innerError.status"): "only in the generic sample",
    ("error-404-item-not-found", "error.message"): (
        "the capture (Outlook REST) adds a second sentence; Graph's usual message is the first alone"
    ),
}

_WALL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ETAG = re.compile(r'^W/"[A-Za-z0-9+/]+=*"$')
_REST_ID = re.compile(r"^AAMkA[A-Za-z0-9_-]+=*$")
_OID = re.compile(r"^OID\.AAMkA[A-Za-z0-9_-]+=*\.\d{4}-\d{2}-\d{2}$")
_ENUM_KEYS = frozenset(
    {"type", "showAs", "importance", "sensitivity", "response", "onlineMeetingProvider", "contentType"}
    | {"locationType", "uniqueIdType", "firstDayOfWeek", "index", "daysOfWeek"}
)
_ID_KEYS = frozenset({"id", "seriesMasterId"})


def _format(key: str, value: str) -> str:
    if key in _ID_KEYS:
        return "rest-id" if _REST_ID.match(value) else f"id?{value[:8]}"
    if key == "occurrenceId":
        return "occurrence-id" if _OID.match(value) else "str"
    for name, pattern in (("wall-7", _WALL), ("instant", _INSTANT), ("date", _DATE), ("etag", _ETAG)):
        if pattern.match(value):
            return name
    if key in _ENUM_KEYS:
        return "enum:camelCase" if value[:1].islower() else f"enum:{value}"
    return "str"


def shape(value: Any, key: str = "") -> Any:
    """The shape of a JSON value: dicts by key, lists by their first item, strings by format."""
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0], key)] if value else []
    if isinstance(value, str):
        return _format(key, value)
    return type(value).__name__


def differences(name: str, captured: Any, served: Any, *, exact_keys: bool = False, path: str = "") -> list[str]:
    """Where `served` does not have the shape of `captured`, minus the known differences."""
    if any(k in KNOWN_DIFFERENCES for k in ((name, path), ("*", path))):
        return []
    if isinstance(captured, dict) and isinstance(served, dict):
        found = []
        keys = set(captured) | set(served) if exact_keys else set(captured)
        for key in sorted(keys):
            below = f"{path}.{key}" if path else key
            if key not in served or key not in captured:
                if not any(k in KNOWN_DIFFERENCES for k in ((name, below), ("*", below))):
                    found.append(f"{below}: {'missing' if key not in served else 'not in the capture'}")
                continue
            found += differences(name, captured[key], served[key], exact_keys=exact_keys, path=below)
        return found
    if isinstance(captured, list) and isinstance(served, list):
        if captured and served:
            return differences(name, captured[0], served[0], exact_keys=exact_keys, path=f"{path}[]")
        return [] if not captured else [f"{path}: empty in the emulator's answer"]
    return [] if captured == served else [f"{path}: {captured!r} captured, {served!r} served"]


def capture(name: str) -> dict[str, Any]:
    captured: dict[str, Any] = json.loads((CAPTURES / f"{name}.json").read_text(encoding="utf-8"))
    return captured


def adapted(body: dict[str, Any], year: int = 2026) -> dict[str, Any]:
    """A captured request body for the emulator: dates moved into the future, nothing else changed."""
    text = json.dumps(body)
    moved: dict[str, Any] = json.loads(re.sub(r'"20(1\d)-', lambda m: f'"{year}-', text))
    return moved


def post(http: httpx.Client, name: str) -> httpx.Response:
    request = capture(name)["request"]
    headers = {k: v for k, v in request["headers"].items() if k.lower() == "prefer"}
    return http.post(EVENTS, json=adapted(request["body"]), headers=headers)


def assert_same_shape(name: str, served: Any, *, exact_keys: bool = False) -> None:
    captured = capture(name)["response"]["body"]
    assert differences(name, shape(captured), shape(served), exact_keys=exact_keys) == []


@pytest.mark.parametrize(
    "name",
    [
        "create-event-prefer-timezone",
        "create-event-multiple-locations",
        "create-event-recurring-weekly",
        "create-online-meeting-teams",
    ],
)
def test_a_create_answers_201_with_the_shape_of_the_captured_event(http: httpx.Client, name: str) -> None:
    answer = post(http, name)
    assert answer.status_code == capture(name)["response"]["status"] == 201
    assert_same_shape(name, answer.json())
    assert answer.headers["content-type"].startswith("application/json")


def test_turning_an_event_online_answers_the_shape_of_the_captured_update(http: httpx.Client) -> None:
    name = "update-enable-online-meeting"
    created = http.post(
        EVENTS,
        json={
            "subject": "Price strategy",
            "body": {"contentType": "html", "content": "<div>Let's define our strategy.</div>"},
            "start": {"dateTime": "2026-11-18T15:00:00", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2026-11-18T16:00:00", "timeZone": "Pacific Standard Time"},
            "location": {"displayName": "Conf Room Baker"},
            "attendees": [{"emailAddress": {"address": "AdeleV@contoso.OnMicrosoft.com"}, "type": "required"}],
        },
    ).json()
    answer = http.patch(f"{EVENTS}/{created['id']}", json=capture(name)["request"]["body"])
    assert answer.status_code == 200
    assert_same_shape(name, answer.json())


def test_selecting_the_online_meeting_properties_answers_only_those(http: httpx.Client) -> None:
    created = post(http, "create-online-meeting-teams").json()
    select = {"$select": "isOnlineMeeting,onlineMeetingProvider,onlineMeeting"}
    answer = http.get(f"{EVENTS}/{created['id']}", params=select)
    assert_same_shape("get-online-meeting-select", answer.json(), exact_keys=True)


def test_a_series_master_read_with_its_occurrences_answers_the_shape_of_the_captured_one(
    http: httpx.Client, store: MailboxStore
) -> None:
    daily = {
        "subject": "Daily stand-up",
        "start": {"dateTime": "2026-04-23T11:30:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-04-23T12:00:00", "timeZone": "UTC"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["thursday"]},
            "range": {"type": "numbered", "startDate": "2026-04-23", "numberOfOccurrences": 6},
        },
    }
    master = http.post(EVENTS, json=daily).json()
    (item,) = store.list_items(MAILBOX)
    store.cancel_occurrence(item.item_id, "2026-04-30", comment=None, send=False)
    store.update_occurrence(item.item_id, "2026-05-21", {"subject": "SM update 24"}, send=SendMode.NONE)
    query = {
        "$select": "subject,start,end,occurrenceId,exceptionOccurrences,cancelledOccurrences",
        "$expand": "exceptionOccurrences",
    }
    answer = http.get(f"{EVENTS}/{master['id']}", params=query).json()
    assert_same_shape("get-series-master-exceptions-cancelled", answer)
    assert answer["cancelledOccurrences"] == [f"OID.{master['id']}.2026-04-30"]
    assert answer["exceptionOccurrences"][0]["occurrenceId"] == f"OID.{master['id']}.2026-05-21"


def test_a_calendar_view_occurrence_has_exactly_the_keys_and_formats_of_the_real_capture(http: httpx.Client) -> None:
    weekly = {
        "subject": "Seminar",
        "body": {"contentType": "text", "content": "Seminar"},
        "start": {"dateTime": "2026-03-07T09:15:00", "timeZone": "Central Europe Standard Time"},
        "end": {"dateTime": "2026-03-07T10:45:00", "timeZone": "Central Europe Standard Time"},
        "location": {"displayName": "TH:A-1455"},
        "attendees": [{"emailAddress": {"address": "tha1455@contoso.com", "name": "TH:A-1455"}, "type": "required"}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["saturday"]},
            "range": {"type": "numbered", "startDate": "2026-03-07", "numberOfOccurrences": 3},
        },
    }
    http.post(EVENTS, json=weekly)
    window = {"startDateTime": "2026-03-14T00:00:00Z", "endDateTime": "2026-03-15T00:00:00Z"}
    headers = {"Prefer": 'outlook.timezone="Central Europe Standard Time"'}
    answer = http.get(f"/users/{MAILBOX}/calendarView", params=window, headers=headers)
    (occurrence,) = answer.json()["value"]
    (captured,) = capture("calendarview-room-occurrence")["response"]["body"]["value"]
    found = differences("calendarview-room-occurrence", shape(captured), shape(occurrence), exact_keys=True)
    assert found == []
    assert occurrence["start"]["timeZone"] == "Central Europe Standard Time"
    assert answer.headers["preference-applied"] == 'outlook.timezone="Central Europe Standard Time"'


def error_shape(name: str, answer: httpx.Response) -> None:
    response = capture(name)["response"]
    assert answer.status_code == response["status"]
    captured: dict[str, Any] = {
        "headers": {k: v for k, v in response["headers"].items() if k == "Retry-After"},
        **response["body"],
    }
    served: dict[str, Any] = {"headers": {"Retry-After": answer.headers["retry-after"]} if captured["headers"] else {}}
    served |= answer.json()
    compared = {**captured, "error": {k: v for k, v in captured["error"].items() if k != "innerError"}}
    assert differences(name, compared, {**served, "error": {**served["error"]}}) == []
    inner = served["error"]["innerError"]
    assert sorted(inner) == ["client-request-id", "date", "request-id"]
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$", inner["date"])  # no fraction, no offset


def test_a_throttled_request_answers_429_with_an_integer_retry_after(http: httpx.Client, faults: FaultPlan) -> None:
    faults.inject("graph", "list", "429", retry_after=3)
    answer = http.get(EVENTS)
    error_shape("error-429-throttled-retry-after", answer)
    assert answer.headers["retry-after"] == "3"
    assert answer.json()["error"] == {
        "code": "ApplicationThrottled",
        "message": "Application is over its MailboxConcurrency limit.",
        "innerError": answer.json()["error"]["innerError"],
    }  # the Outlook capture's code and message (error-429-mailbox-concurrency)


def test_an_unknown_event_answers_404_error_item_not_found(http: httpx.Client) -> None:
    created = post(http, "create-event-prefer-timezone").json()
    http.delete(f"{EVENTS}/{created['id']}")
    answer = http.get(f"{EVENTS}/{created['id']}")
    error_shape("error-404-item-not-found", answer)
    assert answer.json()["error"]["message"] == "The specified object was not found in the store."


def test_a_stale_change_key_answers_412_with_the_captured_code_and_message(http: httpx.Client) -> None:
    created = post(http, "create-event-prefer-timezone").json()
    http.patch(f"{EVENTS}/{created['id']}", json={"subject": "Moved on"})
    answer = http.patch(
        f"{EVENTS}/{created['id']}", json={"subject": "Stale"}, headers={"If-Match": created["@odata.etag"]}
    )
    assert answer.status_code == 412
    captured = capture("error-412-irresolvable-conflict")["response"]["body"]
    assert {k: answer.json()["error"][k] for k in ("code", "message")} == captured


def test_an_unsupported_time_zone_answers_the_captured_error(http: httpx.Client) -> None:
    name = "error-400-timezone-not-supported"
    answer = http.post(EVENTS, json=adapted(capture(name)["request"]["body"]))
    error_shape(name, answer)
