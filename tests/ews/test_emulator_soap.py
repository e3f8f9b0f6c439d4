"""The EWS emulator on the wire: raw SOAP in, Exchange's shapes and response codes out."""

from __future__ import annotations

import httpx
import pytest

from reconciler.emulator.ews.app import EwsApp
from reconciler.emulator.server import serve
from reconciler.emulator.store import MailboxStore
from tests.ews.conftest import (
    CALENDAR,
    PROPERTY,
    Emulator,
    M,
    S,
    T,
    calendar_item,
    code,
    create,
    find,
    messages,
    parse,
    post,
    update,
)
from tests.factories import ORGANIZER


def test_every_answer_carries_the_server_version_and_exchange_namespaces(emulator: Emulator) -> None:
    answer = post(
        emulator.url,
        '<m:ConvertId DestinationFormat="EntryId"><m:SourceIds>'
        '<t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="DUMMY"/></m:SourceIds></m:ConvertId>',
    )
    root = parse(answer)
    version = root.find(f"{{{S}}}Header/{{{T}}}ServerVersionInfo")
    assert version is not None and (version.get("MajorVersion"), version.get("MinorVersion")) == ("15", "2")
    (message,) = messages(answer)
    assert message.tag == f"{{{M}}}ConvertIdResponseMessage"
    assert (message.get("ResponseClass"), code(message)) == ("Error", "ErrorInvalidIdMalformed")
    assert answer.content.startswith(b'<?xml version="1.0" encoding="utf-8"?><s:Envelope')


def test_an_unknown_operation_is_answered_with_the_soap_fault_for_an_invalid_request(emulator: Emulator) -> None:
    answer = post(emulator.url, "<m:GetUserAvailability/>")
    assert answer.status_code == 500
    fault = parse(answer).find(f"{{{S}}}Body/{{{S}}}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == "a:ErrorInvalidRequest"
    assert fault.findtext("detail/{http://schemas.microsoft.com/exchange/services/2006/errors}ResponseCode") == (
        "ErrorInvalidRequest"
    )


def test_a_body_that_is_not_xml_fails_schema_validation(emulator: Emulator) -> None:
    answer = httpx.post(emulator.url, content=b"<s:Envelope", headers={"Content-Type": "text/xml"})
    assert answer.status_code == 500
    assert b"ErrorSchemaValidation" in answer.content


def test_get_folder_answers_the_calendar_as_a_calendar_folder_and_unknown_names_as_not_found(
    emulator: Emulator,
) -> None:
    answer = post(
        emulator.url,
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        '<t:FieldURI FieldURI="folder:FolderClass"/></t:AdditionalProperties></m:FolderShape><m:FolderIds>'
        f'{CALENDAR}<t:DistinguishedFolderId Id="nosuchfolder"/></m:FolderIds></m:GetFolder>',
    )
    calendar, unknown = messages(answer)
    folder = calendar.find(f"{{{M}}}Folders/{{{T}}}CalendarFolder")
    assert folder is not None and folder.findtext(f"{{{T}}}FolderClass") == "IPF.Appointment"
    assert folder.find(f"{{{T}}}FolderId") is not None
    assert (unknown.get("ResponseClass"), code(unknown)) == ("Error", "ErrorFolderNotFound")


def test_create_item_stores_the_meeting_in_wall_time_and_invites_every_attendee(emulator: Emulator) -> None:
    ((item_id, change_key),) = create(
        emulator.url, calendar_item(start="2026-12-01T09:00:00Z", end="2026-12-01T09:30:00Z")
    )
    item = emulator.store.get_item(item_id)
    assert (item.doc["start"], item.doc["end"], item.doc["timezone"]) == (
        "2026-12-01T10:00:00",
        "2026-12-01T10:30:00",
        "Europe/Berlin",
    )
    assert item.change_key == change_key
    assert item.doc["extended"] == {
        "String {8f3c6a52-5d1e-4d55-9a44-0b7a7e1c2f31} Name MeetingsAsCode.Namespace": "soap"
    }
    assert sorted((m.recipient, m.kind) for m in emulator.store.mail()) == [
        ("alice@contoso.com", "invitation"),
        ("bob@contoso.com", "invitation"),
    ]


def test_create_item_with_send_to_none_mails_nobody(emulator: Emulator) -> None:
    create(emulator.url, calendar_item(), send="SendToNone")
    assert emulator.store.mail() == []


def test_a_calendar_item_needs_send_meeting_invitations_and_an_end_after_its_start(emulator: Emulator) -> None:
    answer = post(
        emulator.url,
        f'<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId>{CALENDAR}</m:SavedItemFolderId>'
        f"<m:Items>{calendar_item()}</m:Items></m:CreateItem>",
    )
    assert [code(m) for m in messages(answer)] == ["ErrorSendMeetingInvitationsRequired"]
    answer = post(
        emulator.url,
        '<m:CreateItem MessageDisposition="SaveOnly" SendMeetingInvitations="SendToAllAndSaveCopy">'
        f"<m:Items>{calendar_item(end='2026-12-01T09:00:00+01:00')}</m:Items></m:CreateItem>",
    )
    assert [code(m) for m in messages(answer)] == ["ErrorCalendarEndDateIsEarlierThanStartDate"]
    assert emulator.store.list_items(ORGANIZER) == []


def test_find_item_pages_with_indexed_paging_attributes(emulator: Emulator) -> None:
    create(emulator.url, *(calendar_item(f"Meeting {n}") for n in range(5)))
    offsets, subjects = [], []
    offset = 0
    while True:
        answer = find(
            emulator.url,
            f'<m:IndexedPageItemView MaxEntriesReturned="2" Offset="{offset}" BasePoint="Beginning"/>',
            shape='<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties>',
        )
        root = messages(answer)[0].find(f"{{{M}}}RootFolder")
        assert root is not None and root.get("TotalItemsInView") == "5"
        subjects += [s.text for s in root.iter(f"{{{T}}}Subject")]
        offset = int(root.get("IndexedPagingOffset", "0"))
        offsets.append(offset)
        if root.get("IncludesLastItemInRange") == "true":
            break
    assert offsets == [2, 4, 5]
    assert subjects == [f"Meeting {n}" for n in range(5)]


def test_a_restricted_find_caps_each_page_at_250_items_and_reports_more(emulator: Emulator) -> None:
    create(emulator.url, *(calendar_item(f"Meeting {n}") for n in range(260)), send="SendToNone")
    restriction = (
        f'<m:Restriction><t:IsEqualTo>{PROPERTY}<t:FieldURIOrConstant><t:Constant Value="soap"/>'
        "</t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>"
    )
    answer = find(
        emulator.url, '<m:IndexedPageItemView MaxEntriesReturned="1000" Offset="0" BasePoint="Beginning"/>', restriction
    )
    root = messages(answer)[0].find(f"{{{M}}}RootFolder")
    assert root is not None
    assert (root.get("IndexedPagingOffset"), root.get("TotalItemsInView"), root.get("IncludesLastItemInRange")) == (
        "250",
        "260",
        "false",
    )
    assert len(root.findall(f"{{{T}}}Items/{{{T}}}CalendarItem")) == 250


def test_a_restriction_on_the_marker_matches_only_items_carrying_that_value(emulator: Emulator) -> None:
    create(
        emulator.url,
        calendar_item("ours", namespace="soap"),
        calendar_item("theirs", namespace="other"),
        calendar_item("unmarked", namespace=None),
        send="SendToNone",
    )
    shape = '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties>'
    view = '<m:IndexedPageItemView MaxEntriesReturned="100" Offset="0" BasePoint="Beginning"/>'

    def subjects(expression: str) -> list[str | None]:
        answer = find(emulator.url, view, f"<m:Restriction>{expression}</m:Restriction>", shape)
        return [s.text for s in messages(answer)[0].iter(f"{{{T}}}Subject")]

    equal = (
        f'<t:IsEqualTo>{PROPERTY}<t:FieldURIOrConstant><t:Constant Value="SOAP"/></t:FieldURIOrConstant></t:IsEqualTo>'
    )
    assert subjects(equal) == ["ours"]
    assert subjects(f"<t:Exists>{PROPERTY}</t:Exists>") == ["ours", "theirs"]
    assert subjects(f"<t:Not><t:Exists>{PROPERTY}</t:Exists></t:Not>") == ["unmarked"]


def test_a_calendar_view_with_a_restriction_is_refused_as_exchange_does(emulator: Emulator) -> None:
    answer = find(
        emulator.url,
        '<m:CalendarView StartDate="2026-12-01T00:00:00Z" EndDate="2026-12-31T00:00:00Z"/>',
        f"<m:Restriction><t:Exists>{PROPERTY}</t:Exists></m:Restriction>",
    )
    (message,) = messages(answer)
    assert code(message) == "ErrorInvalidOperation"
    assert (
        message.findtext(f"{{{M}}}MessageText")
        == "Restrictions and sort order may not be specified for a CalendarView."
    )


def test_a_calendar_view_expands_a_berlin_series_in_local_time_across_the_dst_change(emulator: Emulator) -> None:
    series = (
        "<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek>"
        "<t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence>"
        "<t:NumberedRecurrence><t:StartDate>2027-03-22</t:StartDate><t:NumberOfOccurrences>3</t:NumberOfOccurrences>"
        "</t:NumberedRecurrence></t:Recurrence>"
    )
    create(
        emulator.url,
        calendar_item(start="2027-03-22T10:00:00+01:00", end="2027-03-22T10:30:00+01:00", extra=series),
        send="SendToNone",
    )
    answer = find(
        emulator.url,
        '<m:CalendarView StartDate="2027-03-01T00:00:00Z" EndDate="2027-04-30T00:00:00Z"/>',
        shape='<t:AdditionalProperties><t:FieldURI FieldURI="calendar:Start"/>'
        '<t:FieldURI FieldURI="calendar:CalendarItemType"/></t:AdditionalProperties>',
    )
    root = messages(answer)[0].find(f"{{{M}}}RootFolder")
    assert root is not None and root.get("IndexedPagingOffset") is None
    starts = [s.text for s in root.iter(f"{{{T}}}Start")]
    assert starts == ["2027-03-22T09:00:00Z", "2027-03-29T08:00:00Z", "2027-04-05T08:00:00Z"]
    assert {k.text for k in root.iter(f"{{{T}}}CalendarItemType")} == {"Occurrence"}


def test_get_item_returns_requested_extended_properties_and_not_found_per_id(emulator: Emulator) -> None:
    ((item_id, _),) = create(emulator.url, calendar_item())
    shape = (
        "<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        f'<t:FieldURI FieldURI="calendar:StartTimeZone"/>{PROPERTY}</t:AdditionalProperties></m:ItemShape>'
    )
    answer = post(
        emulator.url,
        f'<m:GetItem>{shape}<m:ItemIds><t:ItemId Id="{item_id}"/>'
        '<t:ItemId Id="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="/></m:ItemIds></m:GetItem>',
    )
    found, missing = messages(answer)
    item = found.find(f"{{{M}}}Items/{{{T}}}CalendarItem")
    assert item is not None
    assert item.findtext(f"{{{T}}}ExtendedProperty/{{{T}}}Value") == "soap"
    zone = item.find(f"{{{T}}}StartTimeZone")
    assert zone is not None and zone.get("Id") == "W. Europe Standard Time"
    assert item.find(f"{{{T}}}Subject") is None  # not asked for
    assert code(missing) == "ErrorItemNotFound"


SET_SUBJECT = (
    '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Moved</t:Subject>'
    "</t:CalendarItem></t:SetItemField>"
)


def test_update_item_with_a_stale_change_key_and_never_overwrite_is_an_irresolvable_conflict(
    emulator: Emulator,
) -> None:
    ((item_id, stale),) = create(emulator.url, calendar_item())
    assert code(messages(update(emulator.url, item_id, stale, SET_SUBJECT, send="SendToNone"))[0]) == "NoError"
    seq = len(emulator.store.mail())
    (message,) = messages(update(emulator.url, item_id, stale, SET_SUBJECT.replace("Moved", "Again")))
    assert (message.get("ResponseClass"), code(message)) == ("Error", "ErrorIrresolvableConflict")
    assert emulator.store.get_item(item_id).doc["subject"] == "Moved"
    assert len(emulator.store.mail()) == seq


def test_update_item_needs_a_send_mode_for_calendar_items(emulator: Emulator) -> None:
    ((item_id, change_key),) = create(emulator.url, calendar_item())
    (message,) = messages(update(emulator.url, item_id, change_key, SET_SUBJECT, send=None))
    assert code(message) == "ErrorSendMeetingInvitationsOrCancellationsRequired"


def test_update_item_answers_the_same_id_with_a_new_change_key(emulator: Emulator) -> None:
    ((item_id, change_key),) = create(emulator.url, calendar_item())
    (message,) = messages(update(emulator.url, item_id, change_key, SET_SUBJECT))
    answered = message.find(f"{{{M}}}Items/{{{T}}}CalendarItem/{{{T}}}ItemId")
    assert answered is not None and answered.get("Id") == item_id
    assert answered.get("ChangeKey") == emulator.store.get_item(item_id).change_key != change_key
    assert message.findtext(f"{{{M}}}ConflictResults/{{{T}}}Count") == "0"


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        ("SendToChangedAndSaveCopy", [("carol@contoso.com", "invitation"), ("bob@contoso.com", "cancellation")]),
        ("SendOnlyToChanged", [("carol@contoso.com", "invitation"), ("bob@contoso.com", "cancellation")]),
        (
            "SendToAllAndSaveCopy",
            [("carol@contoso.com", "invitation"), ("bob@contoso.com", "cancellation"), ("alice@contoso.com", "update")],
        ),
        ("SendToNone", []),
    ],
)
def test_replacing_attendees_mails_per_the_send_mode(
    emulator: Emulator, send: str, expected: list[tuple[str, str]]
) -> None:
    ((item_id, change_key),) = create(emulator.url, calendar_item())
    seq = len(emulator.store.mail())
    attendees = (
        '<t:SetItemField><t:FieldURI FieldURI="calendar:RequiredAttendees"/><t:CalendarItem><t:RequiredAttendees>'
        "<t:Attendee><t:Mailbox><t:EmailAddress>alice@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee>"
        "<t:Attendee><t:Mailbox><t:EmailAddress>carol@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee>"
        "</t:RequiredAttendees></t:CalendarItem></t:SetItemField>"
    )
    assert code(messages(update(emulator.url, item_id, change_key, attendees, send=send))[0]) == "NoError"
    assert [(m.recipient, m.kind) for m in emulator.store.mail()[seq:]] == expected


def test_changing_only_the_time_zone_keeps_the_wall_time_and_moves_the_instant(emulator: Emulator) -> None:
    ((item_id, change_key),) = create(emulator.url, calendar_item())
    zone = (
        '<t:SetItemField><t:FieldURI FieldURI="calendar:StartTimeZone"/><t:CalendarItem>'
        '<t:StartTimeZone Id="GMT Standard Time"/></t:CalendarItem></t:SetItemField>'
    )
    assert code(messages(update(emulator.url, item_id, change_key, zone))[0]) == "NoError"
    doc = emulator.store.get_item(item_id).doc
    assert (doc["start"], doc["timezone"]) == ("2026-12-01T10:00:00", "Europe/London")


def test_delete_item_field_clears_optional_values_and_extended_properties(emulator: Emulator) -> None:
    ((item_id, change_key),) = create(emulator.url, calendar_item(extra="<t:Location>Room 1</t:Location>"))
    updates = (
        '<t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField>'
        f"<t:DeleteItemField>{PROPERTY}</t:DeleteItemField>"
    )
    assert code(messages(update(emulator.url, item_id, change_key, updates, send="SendToNone"))[0]) == "NoError"
    doc = emulator.store.get_item(item_id).doc
    assert (doc["location"], doc["extended"]) == ("", {})


def test_cancel_calendar_item_sends_the_new_body_content_and_removes_the_meeting(emulator: Emulator) -> None:
    ((item_id, change_key),) = create(emulator.url, calendar_item())
    cancel = (
        '<m:CreateItem MessageDisposition="SendAndSaveCopy" SendMeetingInvitations="SendToNone"><m:Items>'
        f'<t:CancelCalendarItem><t:ReferenceItemId Id="{item_id}" ChangeKey="{change_key}"/>'
        '<t:NewBodyContent BodyType="Text">Moved to Q1.</t:NewBodyContent></t:CancelCalendarItem>'
        "</m:Items></m:CreateItem>"
    )
    assert code(messages(post(emulator.url, cancel))[0]) == "NoError"
    cancellations = [(m.recipient, m.comment) for m in emulator.store.mail() if m.kind == "cancellation"]
    assert cancellations == [("alice@contoso.com", "Moved to Q1."), ("bob@contoso.com", "Moved to Q1.")]
    assert emulator.store.list_items(ORGANIZER) == []
    assert code(messages(post(emulator.url, cancel))[0]) == "ErrorItemNotFound"


def test_cancelling_with_a_stale_change_key_or_without_attendees_is_refused(emulator: Emulator) -> None:
    ((item_id, stale),) = create(emulator.url, calendar_item())
    update(emulator.url, item_id, stale, SET_SUBJECT, send="SendToNone")
    ((alone, alone_key),) = create(emulator.url, calendar_item(attendees=()))

    def cancel(target: str, key: str) -> str:
        body = (
            '<m:CreateItem MessageDisposition="SendAndSaveCopy" SendMeetingInvitations="SendToNone"><m:Items>'
            f'<t:CancelCalendarItem><t:ReferenceItemId Id="{target}" ChangeKey="{key}"/></t:CancelCalendarItem>'
            "</m:Items></m:CreateItem>"
        )
        return code(messages(post(emulator.url, body))[0])

    assert cancel(item_id, stale) == "ErrorStaleObject"
    assert cancel(alone, alone_key) == "ErrorInvalidRecipients"
    assert len(emulator.store.list_items(ORGANIZER)) == 2


def test_delete_item_needs_send_meeting_cancellations_and_sends_them_when_asked(emulator: Emulator) -> None:
    ((item_id, _),) = create(emulator.url, calendar_item())
    body = (
        '<m:DeleteItem DeleteType="HardDelete"{}><m:ItemIds><t:ItemId Id="' + item_id + '"/></m:ItemIds></m:DeleteItem>'
    )
    assert code(messages(post(emulator.url, body.format("")))[0]) == "ErrorSendMeetingCancellationsRequired"
    assert (
        code(messages(post(emulator.url, body.format(' SendMeetingCancellations="SendToAllAndSaveCopy"')))[0])
        == "NoError"
    )
    assert sorted(m.recipient for m in emulator.store.mail() if m.kind == "cancellation") == [
        "alice@contoso.com",
        "bob@contoso.com",
    ]


def test_an_injected_busy_fault_is_a_soap_fault_with_the_back_off_hint(emulator: Emulator) -> None:
    emulator.faults.inject("ews", "FindItem", "server-busy", back_off_ms=1500)
    answer = find(emulator.url, '<m:IndexedPageItemView Offset="0" BasePoint="Beginning"/>')
    assert answer.status_code == 500
    assert b"a:ErrorServerBusy" in answer.content
    assert b'<t:Value Name="BackOffMilliseconds">1500</t:Value>' in answer.content
    assert find(emulator.url, '<m:IndexedPageItemView Offset="0" BasePoint="Beginning"/>').status_code == 200


@pytest.mark.parametrize(("kind", "status"), [("http-503", 503), ("http-429", 429)])
def test_injected_http_throttling_answers_with_retry_after(emulator: Emulator, kind: str, status: int) -> None:
    emulator.faults.inject("ews", "*", kind, retry_after=7)
    answer = find(emulator.url, '<m:IndexedPageItemView Offset="0" BasePoint="Beginning"/>')
    assert (answer.status_code, answer.headers["Retry-After"]) == (status, "7")


def test_a_timeout_after_commit_creates_the_item_and_drops_the_answer(emulator: Emulator) -> None:
    emulator.faults.inject("ews", "CreateItem", "timeout-after-commit")
    with pytest.raises(httpx.TransportError):
        create(emulator.url, calendar_item())
    assert len(emulator.store.list_items(ORGANIZER)) == 1
    assert len(emulator.store.mail()) == 2


def test_with_users_configured_a_request_without_valid_basic_credentials_gets_a_401_challenge(
    store: MailboxStore,
) -> None:
    with serve(EwsApp(store, users={"svc@contoso.com": "secret"})) as running:
        url = running.base_url + "/EWS/Exchange.asmx"
        refused = post(url, "<m:GetFolder/>")
        assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"]
        assert "close" not in refused.headers.get("Connection", "")
        assert post(url, "<m:GetFolder/>", Authorization="Basic c3ZjQGNvbnRvc28uY29tOndyb25n").status_code == 401
        accepted = post(url, "<m:GetFolder/>", Authorization="Basic c3ZjQGNvbnRvc28uY29tOnNlY3JldA==")
        assert accepted.status_code == 200
