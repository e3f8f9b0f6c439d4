"""The EWS emulator's single occurrences on the wire: CalendarView expansion, occurrence ids and
OccurrenceItemId, changed and deleted occurrences on the master, their mail, and Exchange's refusals."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.ews.conftest import Emulator, M, T, calendar_item, code, create, find, messages, post, update

ATTENDEES = ("alice@contoso.com", "bob@contoso.com")
OCCURRENCE_FIELDS = (
    "calendar:Start",
    "calendar:End",
    "calendar:OriginalStart",
    "calendar:CalendarItemType",
    "item:Subject",
    "calendar:ModifiedOccurrences",
    "calendar:DeletedOccurrences",
)


def weekly(start: str, day: str, count: int) -> str:
    return (
        "<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval>"
        f"<t:DaysOfWeek>{day}</t:DaysOfWeek><t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence>"
        f"<t:NumberedRecurrence><t:StartDate>{start}</t:StartDate>"
        f"<t:NumberOfOccurrences>{count}</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>"
    )


#: Tuesdays 1, 8, 15 and 22 December 2026 at 10:00 Berlin (09:00 UTC).
WEEKLY = weekly("2026-12-01", "Tuesday", 4)


def series(emulator: Emulator, item: str = calendar_item(extra=WEEKLY)) -> str:
    """Create a series (`item`, without mail); its master id."""
    ((master, _),) = create(emulator.url, item, send="SendToNone")
    return master


def by_index(master: str, index: int) -> str:
    return f'<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="{index}"/>'


def by_id(item_id: str, change_key: str = "") -> str:
    return f'<t:ItemId Id="{item_id}" ChangeKey="{change_key}"/>' if change_key else f'<t:ItemId Id="{item_id}"/>'


def change(url: str, target: str, updates: str, *, send: str = "SendToAllAndSaveCopy") -> ET.Element:
    """UpdateItem of one item (AutoResolve, as exchangelib sends it); the response message."""
    answer = post(
        url,
        f'<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly" '
        f'SendMeetingInvitationsOrCancellations="{send}"><m:ItemChanges><t:ItemChange>{target}'
        f"<t:Updates>{updates}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>",
    )
    (message,) = messages(answer)
    return message


def delete(url: str, target: str, *, send: str = "SendToAllAndSaveCopy") -> str:
    body = (
        f'<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="{send}">'
        f"<m:ItemIds>{target}</m:ItemIds></m:DeleteItem>"
    )
    (message,) = messages(post(url, body))
    return code(message)


def move(start: str, end: str) -> str:
    return (
        f'<t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>{start}</t:Start>'
        '</t:CalendarItem></t:SetItemField><t:SetItemField><t:FieldURI FieldURI="calendar:End"/>'
        f"<t:CalendarItem><t:End>{end}</t:End></t:CalendarItem></t:SetItemField>"
    )


def retitle(subject: str) -> str:
    return (
        '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem>'
        f"<t:Subject>{subject}</t:Subject></t:CalendarItem></t:SetItemField>"
    )


def get(url: str, *targets: str) -> list[ET.Element | str]:
    """GetItem with the occurrence-related fields: each answer's CalendarItem, or its error code."""
    fields = "".join(f'<t:FieldURI FieldURI="{f}"/>' for f in OCCURRENCE_FIELDS)
    answer = post(
        url,
        f"<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>{fields}"
        f"</t:AdditionalProperties></m:ItemShape><m:ItemIds>{''.join(targets)}</m:ItemIds></m:GetItem>",
    )
    found: list[ET.Element | str] = []
    for message in messages(answer):
        item = message.find(f"{{{M}}}Items/{{{T}}}CalendarItem")
        found.append(item if item is not None else code(message))
    return found


def item(url: str, target: str) -> ET.Element:
    (found,) = get(url, target)
    assert isinstance(found, ET.Element), found
    return found


def calendar_view(url: str, start: str, end: str) -> list[tuple[str, str, str, str]]:
    """(id, CalendarItemType, Start, Subject) of each item a CalendarView returns."""
    fields = "".join(f'<t:FieldURI FieldURI="{f}"/>' for f in (*OCCURRENCE_FIELDS[:4], "item:Subject"))
    answer = find(
        url,
        f'<m:CalendarView StartDate="{start}" EndDate="{end}"/>',
        shape=f"<t:AdditionalProperties>{fields}</t:AdditionalProperties>",
    )
    root = messages(answer)[0].find(f"{{{M}}}RootFolder")
    assert root is not None
    return [
        (
            element.findall(f"{{{T}}}ItemId")[0].get("Id", ""),
            element.findtext(f"{{{T}}}CalendarItemType") or "",
            element.findtext(f"{{{T}}}Start") or "",
            element.findtext(f"{{{T}}}Subject") or "",
        )
        for element in root.iter(f"{{{T}}}CalendarItem")
    ]


def occurrence_mail(emulator: Emulator) -> list[tuple[str, str, str | None, str | None]]:
    return sorted((m.recipient, m.kind, m.occurrence, m.comment) for m in emulator.store.mail())


# -- expansion and ids -----------------------------------------------------------------------------


def test_a_calendar_view_keeps_a_berlin_series_at_ten_local_across_dst_with_its_exception_and_without_its_deletion(
    emulator: Emulator,
) -> None:
    # Mondays 15, 22 and 29 March and 5 April 2027; Berlin moves to summer time on 28 March.
    recurrence = weekly("2027-03-15", "Monday", 4)
    master = series(
        emulator, calendar_item(extra=recurrence, start="2027-03-15T10:00:00+01:00", end="2027-03-15T10:30:00+01:00")
    )
    assert delete(emulator.url, by_index(master, 2), send="SendToNone") == "NoError"
    moved = change(emulator.url, by_index(master, 3), move("2027-03-29T14:00:00+02:00", "2027-03-29T14:30:00+02:00"))
    assert code(moved) == "NoError"
    view = calendar_view(emulator.url, "2027-03-01T00:00:00Z", "2027-04-30T00:00:00Z")
    assert [(kind, start) for _, kind, start, _ in view] == [
        ("Occurrence", "2027-03-15T09:00:00Z"),
        ("Exception", "2027-03-29T12:00:00Z"),
        ("Occurrence", "2027-04-05T08:00:00Z"),
    ]


def test_an_occurrence_keeps_its_id_when_it_becomes_an_exception_and_the_master_lists_it(emulator: Emulator) -> None:
    master = series(emulator)
    (before,) = [row for row in calendar_view(emulator.url, "2026-12-08T00:00:00Z", "2026-12-09T00:00:00Z")]
    answer = change(emulator.url, by_id(before[0]), retitle("Sync (moved room)"))
    assert code(answer) == "NoError"
    returned = answer.find(f"{{{M}}}Items/{{{T}}}CalendarItem/{{{T}}}ItemId")
    assert returned is not None and returned.get("Id") == before[0]
    (after,) = calendar_view(emulator.url, "2026-12-08T00:00:00Z", "2026-12-09T00:00:00Z")
    assert after == (before[0], "Exception", "2026-12-08T09:00:00Z", "Sync (moved room)")
    listed = item(emulator.url, by_id(master)).find(f"{{{T}}}ModifiedOccurrences/{{{T}}}Occurrence/{{{T}}}ItemId")
    assert listed is not None and listed.get("Id") == before[0]
    # The same id still addresses it after the change, and so does its index.
    assert code(change(emulator.url, by_id(before[0]), retitle("Sync (again)"))) == "NoError"
    assert item(emulator.url, by_index(master, 2)).findtext(f"{{{T}}}Subject") == "Sync (again)"


def test_a_master_lists_modified_and_deleted_occurrences_with_original_starts_only_when_it_has_them(
    emulator: Emulator,
) -> None:
    master = series(emulator)
    untouched = item(emulator.url, by_id(master))
    assert untouched.find(f"{{{T}}}ModifiedOccurrences") is None
    assert untouched.find(f"{{{T}}}DeletedOccurrences") is None
    assert delete(emulator.url, by_index(master, 3), send="SendToNone") == "NoError"
    moved = move("2026-12-09T15:00:00+01:00", "2026-12-09T16:00:00+01:00")
    assert code(change(emulator.url, by_index(master, 2), moved, send="SendToNone")) == "NoError"
    shown = item(emulator.url, by_id(master))
    (modified,) = shown.iterfind(f"{{{T}}}ModifiedOccurrences/{{{T}}}Occurrence")
    assert [modified.findtext(f"{{{T}}}{name}") for name in ("Start", "End", "OriginalStart")] == [
        "2026-12-09T14:00:00Z",
        "2026-12-09T15:00:00Z",
        "2026-12-08T09:00:00Z",
    ]
    assert [e.text for e in shown.iterfind(f"{{{T}}}DeletedOccurrences/{{{T}}}DeletedOccurrence/{{{T}}}Start")] == [
        "2026-12-15T09:00:00Z"
    ]
    assert shown.findtext(f"{{{T}}}CalendarItemType") == "RecurringMaster"


def test_occurrence_indexes_count_deleted_occurrences_and_outside_or_deleted_ones_are_refused(
    emulator: Emulator,
) -> None:
    master = series(emulator)
    assert delete(emulator.url, by_index(master, 3), send="SendToNone") == "NoError"
    assert emulator.store.get_item(master).doc["cancelled_occurrences"] == ["2026-12-15"]
    assert emulator.store.mail() == []
    assert [
        found if isinstance(found, str) else found.findtext(f"{{{T}}}Start")
        for found in get(
            emulator.url, by_index(master, 1), by_index(master, 3), by_index(master, 4), by_index(master, 5)
        )
    ] == [
        "2026-12-01T09:00:00Z",
        "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
        "2026-12-22T09:00:00Z",
        "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
    ]
    assert delete(emulator.url, by_index(master, 3)) == "ErrorCalendarOccurrenceIsDeletedFromRecurrence"


# -- writes and their mail -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("send", "kinds"),
    [("SendToAllAndSaveCopy", ["update", "update"]), ("SendToChangedAndSaveCopy", []), ("SendToNone", [])],
)
def test_changing_an_occurrence_mails_its_attendees_per_the_send_mode(
    emulator: Emulator, send: str, kinds: list[str]
) -> None:
    master = series(emulator)
    assert code(change(emulator.url, by_index(master, 2), retitle("Moved"), send=send)) == "NoError"
    assert [(kind, day) for _, kind, day, _ in occurrence_mail(emulator)] == [(k, "2026-12-08") for k in kinds]
    assert emulator.store.get_item(master).doc["exceptions"] == {"2026-12-08": {"subject": "Moved"}}


def test_deleting_an_occurrence_with_cancellations_cancels_that_occurrence_for_each_attendee(
    emulator: Emulator,
) -> None:
    master = series(emulator)
    assert delete(emulator.url, by_index(master, 2)) == "NoError"
    assert occurrence_mail(emulator) == [(a, "cancellation", "2026-12-08", None) for a in ATTENDEES]
    assert emulator.store.get_item(master).doc["cancelled_occurrences"] == ["2026-12-08"]


def test_cancel_calendar_item_on_an_occurrence_id_cancels_only_that_occurrence_with_the_text(
    emulator: Emulator,
) -> None:
    series(emulator)
    ((occurrence, *_),) = calendar_view(emulator.url, "2026-12-15T00:00:00Z", "2026-12-16T00:00:00Z")
    answer = post(
        emulator.url,
        '<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:CancelCalendarItem>'
        f'<t:ReferenceItemId Id="{occurrence}"/><t:NewBodyContent BodyType="Text">Holiday</t:NewBodyContent>'
        "</t:CancelCalendarItem></m:Items></m:CreateItem>",
    )
    assert code(messages(answer)[0]) == "NoError"
    assert occurrence_mail(emulator) == [(a, "cancellation", "2026-12-15", "Holiday") for a in ATTENDEES]
    assert [row[2] for row in calendar_view(emulator.url, "2026-12-01T00:00:00Z", "2026-12-31T00:00:00Z")] == [
        "2026-12-01T09:00:00Z",
        "2026-12-08T09:00:00Z",
        "2026-12-22T09:00:00Z",
    ]
    assert get(emulator.url, by_id(occurrence)) == ["ErrorCalendarOccurrenceIsDeletedFromRecurrence"]


def test_saving_the_same_pattern_again_regenerates_the_series(emulator: Emulator) -> None:
    master = series(emulator)
    assert delete(emulator.url, by_index(master, 2), send="SendToNone") == "NoError"
    assert code(change(emulator.url, by_index(master, 3), retitle("Moved"), send="SendToNone")) == "NoError"
    key = emulator.store.get_item(master).change_key
    rewrite = (
        f'<t:SetItemField><t:FieldURI FieldURI="calendar:Recurrence"/><t:CalendarItem>{WEEKLY}</t:CalendarItem>'
        "</t:SetItemField>"
    )
    assert code(messages(update(emulator.url, master, key, rewrite, send="SendToNone"))[0]) == "NoError"
    doc = emulator.store.get_item(master).doc
    assert (doc["cancelled_occurrences"], doc["exceptions"]) == ([], {})
    shown = item(emulator.url, by_id(master))
    assert shown.find(f"{{{T}}}ModifiedOccurrences") is None and shown.find(f"{{{T}}}DeletedOccurrences") is None


# -- refusals --------------------------------------------------------------------------------------

SET_ATTENDEES = (
    '<t:SetItemField><t:FieldURI FieldURI="calendar:RequiredAttendees"/><t:CalendarItem><t:RequiredAttendees>'
    "<t:Attendee><t:Mailbox><t:EmailAddress>x@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee>"
    "</t:RequiredAttendees></t:CalendarItem></t:SetItemField>"
)
DELETE_ATTENDEES = '<t:DeleteItemField><t:FieldURI FieldURI="calendar:OptionalAttendees"/></t:DeleteItemField>'


@pytest.mark.parametrize(
    ("updates", "expected"),
    [(SET_ATTENDEES, "ErrorInvalidPropertySet"), (DELETE_ATTENDEES, "ErrorInvalidPropertyDelete")],
    ids=["set", "delete"],
)
def test_the_attendees_of_one_occurrence_cannot_be_changed(emulator: Emulator, updates: str, expected: str) -> None:
    master = series(emulator)
    answer = change(emulator.url, by_index(master, 2), retitle("Moved") + updates)
    assert code(answer) == expected
    action = "Set" if expected == "ErrorInvalidPropertySet" else "Delete"
    assert answer.findtext(f"{{{M}}}MessageText") == f"{action} action is invalid for property."
    assert emulator.store.get_item(master).doc["exceptions"] == {}
    assert emulator.store.mail() == []


@pytest.mark.parametrize(
    "start",
    [
        "2026-12-01T15:00:00+01:00",
        "2026-11-30T10:00:00+01:00",
        "2026-12-15T09:00:00+01:00",
        "2026-12-16T10:00:00+01:00",
    ],
    ids=["previous-day", "before-previous", "next-day", "past-next"],
)
def test_moving_an_occurrence_to_or_past_a_neighbours_day_is_refused(emulator: Emulator, start: str) -> None:
    master = series(emulator)
    end = start.replace(start[11:13], f"{int(start[11:13]) + 1:02d}", 1)
    answer = change(emulator.url, by_index(master, 2), move(start, end))
    assert code(answer) == "ErrorOccurrenceCrossingBoundary"
    assert (
        answer.findtext(f"{{{M}}}MessageText") == "Modified occurrence is crossing or overlapping adjacent occurrence."
    )
    assert emulator.store.get_item(master).doc["exceptions"] == {}
    assert emulator.store.mail() == []


def test_a_deleted_neighbour_still_bounds_a_move_and_moves_between_neighbours_are_allowed(emulator: Emulator) -> None:
    master = series(emulator)
    assert delete(emulator.url, by_index(master, 3), send="SendToNone") == "NoError"
    onto_deleted = move("2026-12-15T10:00:00+01:00", "2026-12-15T10:30:00+01:00")
    assert code(change(emulator.url, by_index(master, 2), onto_deleted)) == "ErrorOccurrenceCrossingBoundary"
    within = move("2026-12-14T10:00:00+01:00", "2026-12-14T10:30:00+01:00")
    assert code(change(emulator.url, by_index(master, 2), within)) == "NoError"
    assert emulator.store.get_item(master).doc["exceptions"]["2026-12-08"]["start"] == "2026-12-14T10:00:00"


def test_an_occurrence_id_cannot_be_used_as_a_recurring_master_id(emulator: Emulator) -> None:
    series(emulator)
    ((occurrence, *_),) = calendar_view(emulator.url, "2026-12-08T00:00:00Z", "2026-12-09T00:00:00Z")
    assert get(emulator.url, by_index(occurrence, 1)) == ["ErrorCalendarCannotUseIdForOccurrenceId"]
