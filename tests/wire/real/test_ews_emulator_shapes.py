"""The captured EWS requests, adapted to the emulator's mailbox and ids, sent to the EWS emulator
over loopback: its answers must have the shape of the captured answers (element names in order,
attribute names, ResponseClass and ResponseCode, ConflictResults counts, namespaces). Values that
name things (ids, change keys, subjects, times) are the emulator's own. The only differences
allowed are listed in `KNOWN_DIFFERENCES`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from reconciler.emulator.ews.app import ENDPOINT_PATH, EwsApp
from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.server import serve
from reconciler.emulator.store import MailboxStore
from tests.wire.real.ews_corpus import M, T, captured

MAILBOX = "lead@contoso.com"
#: Text values that are part of the shape: they say what happened, not what is called what.
SIGNIFICANT = {f"{{{M}}}ResponseCode", f"{{{T}}}Count", f"{{{T}}}CalendarItemType"}
#: Attributes whose values are part of the shape (the others only have to be present).
SIGNIFICANT_ATTRIBUTES = {"ResponseClass", "IncludesLastItemInRange"}
#: Where the emulator's answers differ from the captured ones, and why that is harmless -- the one
#: list. None of these is a shape difference (the comparison below would catch that).
KNOWN_DIFFERENCES = (
    (
        "ServerVersionInfo attribute values",
        "The samples come from Exchange 2007 (8.0.602) and 2013 (15.0.x, Version V2_3..V2_10); the emulator "
        "reports Exchange 2019 (15.2.2562.17), the build exchangelib is configured for, so exchangelib never "
        "switches request shapes (reference/ews.md A.4).",
    ),
    (
        "ItemId/FolderId Id and ChangeKey values",
        "Opaque to clients; the emulator's are base64 of its own routing data, the samples' are shortened by "
        "Microsoft's editors.",
    ),
)


def shape(element: ET.Element, path: str = "") -> list[str]:
    """The element's shape, depth first: `path {attributes}` lines, with significant values."""
    name = element.tag
    here = f"{path}/{name.rsplit('}', 1)[-1]}" if path else name.rsplit("}", 1)[-1]
    attributes = [
        f"{key}={value}" if key in SIGNIFICANT_ATTRIBUTES else key for key, value in sorted(element.attrib.items())
    ]
    text = f" = {(element.text or '').strip()}" if name in SIGNIFICANT else ""
    lines = [f"{name.split('}')[0].lstrip('{')} {here} [{' '.join(attributes)}]{text}"]
    for item in element:
        lines.extend(shape(item, here))
    return lines


@pytest.fixture
def url(tmp_path: object) -> Iterator[str]:
    from pathlib import Path

    store = MailboxStore(Path(str(tmp_path)) / "store.db")
    with serve(EwsApp(store)) as running:
        yield running.base_url + ENDPOINT_PATH
    store.close()


def send(url: str, request: str, replacements: dict[str, str] | None = None) -> ET.Element:
    body = captured(request).decode()
    for found, used in (replacements or {}).items():
        assert found in body, f"{found!r} is not in {request}"
        body = body.replace(found, used)
    answer = httpx.post(url, content=body.encode(), headers={"Content-Type": "text/xml; charset=utf-8",
                                                             "X-AnchorMailbox": MAILBOX}, timeout=10)  # fmt: skip
    assert answer.headers["content-type"].startswith("text/xml")
    return ET.fromstring(answer.content)


def assert_same_shape(answer: ET.Element, response: str) -> None:
    assert shape(answer) == shape(ET.fromstring(captured(response)))


def created_id(answer: ET.Element) -> tuple[str, str]:
    item_id = answer.find(f".//{{{T}}}ItemId")
    assert item_id is not None
    return item_id.get("Id", ""), item_id.get("ChangeKey", "")


def create_meeting(
    url: str, start: str = "2013-09-21T16:00:00.000Z", end: str = "2013-09-21T20:00:00.000Z"
) -> tuple[str, str]:
    answer = send(
        url, "createitem-meeting.request", {"2013-09-21T16:00:00.000Z": start, "2013-09-21T20:00:00.000Z": end}
    )
    return created_id(answer)


def test_create_item_of_a_meeting_answers_like_exchange(url: str) -> None:
    assert_same_shape(send(url, "createitem-meeting.request"), "createitem-meeting.response")


def test_get_item_of_the_subject_answers_like_exchange(url: str) -> None:
    item_id, change_key = create_meeting(url)
    answer = send(
        url, "getitem-meeting.request", {'Id="AAMkA" ChangeKey="DwAAA"': f'Id="{item_id}" ChangeKey="{change_key}"'}
    )
    assert_same_shape(answer, "getitem-meeting.response")


def test_update_item_of_subject_location_attendees_and_resources_answers_like_exchange(url: str) -> None:
    item_id, change_key = create_meeting(url)
    answer = send(
        url, "updateitem-meeting.request", {'Id="AAMkA" ChangeKey="DwAAA"': f'Id="{item_id}" ChangeKey="{change_key}"'}
    )
    assert_same_shape(answer, "updateitem-meeting.response")


def test_get_folder_of_the_calendar_with_an_id_only_shape_answers_only_its_id_like_exchange(url: str) -> None:
    assert_same_shape(send(url, "getfolder-calendar.request"), "getfolder-calendar.response")


def test_a_calendar_view_cut_at_max_entries_answers_like_exchange(url: str) -> None:
    for day in range(22, 28):  # six meetings in the window, one more than MaxEntriesReturned
        create_meeting(url, f"2013-08-{day}T16:00:00.000Z", f"2013-08-{day}T17:00:00.000Z")
    folder = send(url, "getfolder-calendar.request").find(f".//{{{T}}}FolderId")
    assert folder is not None
    folder_id = f'<t:FolderId Id="{folder.get("Id")}" ChangeKey="{folder.get("ChangeKey")}" />'
    answer = send(
        url,
        "finditem-calendarview.request",
        {'<t:FolderId Id="AAMk" ChangeKey="AgAA" />': folder_id},
    )
    assert_same_shape(answer, "finditem-calendarview.response")


def test_cancel_calendar_item_answers_like_exchange(url: str) -> None:
    item_id, change_key = create_meeting(url)
    answer = send(
        url, "cancelcalendaritem.request", {'Id="AAMkA" ChangeKey="DwAAA"': f'Id="{item_id}" ChangeKey="{change_key}"'}
    )
    assert_same_shape(answer, "cancelcalendaritem.response")


def test_delete_item_answers_like_exchange_and_a_second_delete_answers_item_not_found(url: str) -> None:
    item_id, change_key = create_meeting(url)
    ids = {'Id="AAMkA" ChangeKey="DwAAA"': f'Id="{item_id}" ChangeKey="{change_key}"'}
    assert_same_shape(send(url, "deleteitem.request", ids), "deleteitem.response")

    again = send(url, "deleteitem.request", ids)
    captured_error = ET.fromstring(captured("deleteitem-batch-notfound.response"))
    first = captured_error.find(f".//{{{M}}}DeleteItemResponseMessage")
    mine = again.find(f".//{{{M}}}DeleteItemResponseMessage")
    assert first is not None and mine is not None
    assert shape(mine) == shape(first)
    assert mine.findtext(f"{{{M}}}MessageText") == first.findtext(f"{{{M}}}MessageText")


def test_a_weekly_numbered_series_is_created_and_its_master_read_like_exchange(url: str) -> None:
    created = send(url, "createitem-recurring.request")
    assert_same_shape(created, "createitem-recurring.response")
    item_id, change_key = created_id(created)
    answer = send(
        url,
        "getitem-recurring-master.request",
        {'Id="AAMkAD" ChangeKey="DwAAAB"': f'Id="{item_id}" ChangeKey="{change_key}"'},
    )
    assert_same_shape(answer, "getitem-recurring-master.response")


def test_the_throttling_fault_has_exchanges_shape(tmp_path: object) -> None:
    from pathlib import Path

    store = MailboxStore(Path(str(tmp_path)) / "busy.db")
    faults = FaultPlan()
    faults.inject("ews", "GetFolder", "server-busy", back_off_ms=297749)
    with serve(EwsApp(store, faults=faults)) as running:
        answer = httpx.post(running.base_url + ENDPOINT_PATH, content=captured("getfolder-calendar.request"),
                            headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=10)  # fmt: skip
    store.close()
    assert answer.status_code == 500
    fault = ET.fromstring(answer.content)
    expected = ET.fromstring(captured("error-serverbusy-fault.response"))
    assert shape(fault) == shape(expected)
    assert [re.sub(r"\s+", " ", e.text or "").strip() for e in fault.iter()] == [
        re.sub(r"\s+", " ", e.text or "").strip() for e in expected.iter()
    ]
