"""EwsProvider (real exchangelib) writing and reading single occurrences of a series against the EWS
emulator: skips and overrides as created, changed, removed and read back, the mail each attendee
receives per occurrence, and the requests that carry them."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import pytest

from reconciler.emulator.store import SendMode
from reconciler.errors import RequestRejectedError
from reconciler.model import Every, Meeting, Recurrence, Weekday
from reconciler.providers.ews import EwsProvider
from reconciler.state import MeetingState, OverrideState, meeting_state, to_json
from tests.ews.conftest import NAMESPACE, Emulator, M, T, create_request, send_mode, set_fields, update_request
from tests.factories import ORGANIZER, declared_override, found, meeting, written

ATTENDEES = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
#: Tuesdays 1 to 29 December 2026 at 10:00 Berlin, six of them until 5 January.
WEEKLY = meeting(recurrence=Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=6))


def series(
    *, skip: tuple[date, ...] = (), overrides: tuple[OverrideState, ...] = (), base: Meeting = WEEKLY
) -> Meeting:
    assert base.recurrence is not None
    return dataclasses.replace(base, recurrence=dataclasses.replace(base.recurrence, skip=skip, overrides=overrides))


def named(meeting_id: str) -> Meeting:
    return dataclasses.replace(WEEKLY, id=meeting_id)


def override(day: date, **changes: Any) -> OverrideState:
    return declared_override(day, changes)


def occurrence_mail(emulator: Emulator, since: int = 0) -> list[tuple[str, str, str]]:
    """(recipient, kind, occurrence's original date or "" for the series) of each mail, sorted."""
    return sorted((m.recipient, m.kind, m.occurrence or "") for m in emulator.store.mail()[since:])


def to_everyone(kind: str, day: str = "") -> list[tuple[str, str, str]]:
    return [(a, kind, day) for a in ATTENDEES]


def listed(provider: EwsProvider) -> MeetingState:
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    return observed.fields


def instance_indexes(emulator: Emulator, operation: str) -> list[str]:
    """InstanceIndex of every OccurrenceItemId the last `operation` request named."""
    (root,) = emulator.recorder.bodies(operation)[-1:]
    return [element.get("InstanceIndex", "") for element in root.iter(f"{{{T}}}OccurrenceItemId")]


def apply(provider: EwsProvider, emulator: Emulator, before: Meeting, after: Meeting) -> int:
    """Update `before` (as created) to `after`; the mail log position before the update."""
    request = update_request(provider, before, after)
    seq = len(emulator.store.mail())
    emulator.recorder.clear()
    provider.update(request)
    return seq


# -- skips -----------------------------------------------------------------------------------------


def test_a_series_created_with_a_skip_cancels_that_occurrence_for_everyone_after_inviting(
    emulator: Emulator, provider: EwsProvider
) -> None:
    desired = series(skip=(date(2026, 12, 22),))
    observed = written(provider, create_request(desired))
    assert to_json(observed.fields)["skip"] == ["2026-12-22"]
    assert emulator.store.get_item(observed.item_id).doc["cancelled_occurrences"] == ["2026-12-22"]
    assert occurrence_mail(emulator) == sorted(to_everyone("invitation") + to_everyone("cancellation", "2026-12-22"))
    assert instance_indexes(emulator, "DeleteItem") == ["4"]
    assert listed(provider) == meeting_state(desired)


def test_skipping_the_first_date_keeps_the_series_start(emulator: Emulator, provider: EwsProvider) -> None:
    desired = series(skip=(date(2026, 12, 1),))
    provider.create(create_request(desired))
    assert instance_indexes(emulator, "DeleteItem") == ["1"]
    assert listed(provider) == meeting_state(desired)


def test_skipping_one_more_date_writes_only_the_record_silently_and_cancels_that_occurrence(
    emulator: Emulator, provider: EwsProvider
) -> None:
    before = series(skip=(date(2026, 12, 22),))
    provider.create(create_request(before))
    after = series(skip=(date(2026, 12, 22), date(2026, 12, 29)))
    seq = apply(provider, emulator, before, after)
    assert (send_mode(emulator), set_fields(emulator)) == ("SendToNone", ["MeetingsAsCode.LastApplied"])
    assert emulator.recorder.operations() == ["UpdateItem", "DeleteItem"]  # nothing read back
    assert instance_indexes(emulator, "DeleteItem") == ["5"]
    assert occurrence_mail(emulator, seq) == to_everyone("cancellation", "2026-12-29")
    assert listed(provider) == meeting_state(after)


def test_bringing_back_a_skipped_date_regenerates_the_series_and_cancels_the_other_skips_again(
    emulator: Emulator, provider: EwsProvider
) -> None:
    before = series(
        skip=(date(2026, 12, 8), date(2026, 12, 22)), overrides=(override(date(2026, 12, 15), subject="Review"),)
    )
    provider.create(create_request(before))
    after = series(skip=(date(2026, 12, 22),), overrides=(override(date(2026, 12, 15), subject="Review"),))
    seq = apply(provider, emulator, before, after)
    assert emulator.recorder.operations() == ["UpdateItem", "DeleteItem", "UpdateItem"]
    (master_write, occurrence_write) = emulator.recorder.bodies("UpdateItem")
    assert master_write.find(f".//{{{T}}}Recurrence") is not None
    assert [e.get("InstanceIndex") for e in occurrence_write.iter(f"{{{T}}}OccurrenceItemId")] == ["3"]
    assert instance_indexes(emulator, "DeleteItem") == ["4"]
    # The series' update reaches everyone, then each re-applied occurrence is announced again.
    assert occurrence_mail(emulator, seq) == sorted(
        to_everyone("update") + to_everyone("cancellation", "2026-12-22") + to_everyone("update", "2026-12-15")
    )
    assert listed(provider) == meeting_state(after)


def test_skipping_a_date_that_is_not_an_occurrence_is_refused_before_anything_is_written(
    emulator: Emulator, provider: EwsProvider
) -> None:
    with pytest.raises(RequestRejectedError, match="2026-12-23"):
        provider.create(create_request(series(skip=(date(2026, 12, 23),))))
    assert "CreateItem" not in emulator.recorder.operations()


# -- overrides -------------------------------------------------------------------------------------


def test_a_series_created_with_overrides_changes_those_occurrences_in_one_request_after_inviting(
    emulator: Emulator, provider: EwsProvider
) -> None:
    desired = series(
        overrides=(
            override(date(2026, 12, 8), start="2026-12-08T14:00", end="2026-12-08T15:00"),
            override(date(2026, 12, 15), subject="Quarterly review", location="Town hall", body="Slides *first*."),
        )
    )
    provider.create(create_request(desired))
    assert emulator.recorder.operations()[-2:] == ["CreateItem", "UpdateItem"]  # nothing read back
    created = found(provider, NAMESPACE, desired.id)
    assert instance_indexes(emulator, "UpdateItem") == ["2", "3"]
    (operation,) = emulator.recorder.bodies("UpdateItem")[0].iter(f"{{{M}}}UpdateItem")
    assert operation.get("SendMeetingInvitationsOrCancellations") == "SendToAllAndSaveCopy"
    assert occurrence_mail(emulator) == sorted(
        to_everyone("invitation") + to_everyone("update", "2026-12-08") + to_everyone("update", "2026-12-15")
    )
    exceptions = emulator.store.get_item(created.item_id).doc["exceptions"]
    assert exceptions["2026-12-08"] == {"start": "2026-12-08T14:00:00", "end": "2026-12-08T15:00:00"}
    assert (exceptions["2026-12-15"]["subject"], exceptions["2026-12-15"]["location"]) == (
        "Quarterly review",
        "Town hall",
    )
    assert "<em>first</em>" in exceptions["2026-12-15"]["body"]["content"]
    assert created.fields == meeting_state(desired)
    assert listed(provider) == meeting_state(desired)


def test_overriding_one_occurrences_subject_writes_only_its_subject_and_updates_only_that_occurrence(
    emulator: Emulator, provider: EwsProvider
) -> None:
    provider.create(create_request(WEEKLY))
    after = series(overrides=(override(date(2026, 12, 15), subject="Retro instead"),))
    seq = apply(provider, emulator, WEEKLY, after)
    assert emulator.recorder.operations() == ["UpdateItem", "UpdateItem"]
    assert send_mode(emulator) == "SendToAllAndSaveCopy"
    assert set_fields(emulator) == ["item:Subject"]
    assert instance_indexes(emulator, "UpdateItem") == ["3"]
    assert occurrence_mail(emulator, seq) == to_everyone("update", "2026-12-15")
    assert listed(provider) == meeting_state(after)


def test_moving_one_occurrence_writes_its_start_and_end_in_the_series_zone(
    emulator: Emulator, provider: EwsProvider
) -> None:
    created = written(provider, create_request(WEEKLY))
    after = series(overrides=(override(date(2026, 12, 29), start="2026-12-30T09:00", end="2026-12-30T09:30"),))
    apply(provider, emulator, WEEKLY, after)
    assert set_fields(emulator) == ["calendar:Start", "calendar:End", "calendar:StartTimeZone", "calendar:EndTimeZone"]
    exception = emulator.store.get_item(created.item_id).doc["exceptions"]["2026-12-29"]
    assert (exception["start"], exception["end"]) == ("2026-12-30T09:00:00", "2026-12-30T09:30:00")
    assert listed(provider) == meeting_state(after)


def test_removing_an_override_writes_the_series_values_back_and_reads_as_no_override(
    emulator: Emulator, provider: EwsProvider
) -> None:
    before = series(overrides=(override(date(2026, 12, 15), subject="Retro instead", body="Bring *notes*."),))
    created = written(provider, create_request(before))
    seq = apply(provider, emulator, before, WEEKLY)
    assert send_mode(emulator) == "SendToAllAndSaveCopy"
    assert set_fields(emulator) == ["item:Subject", "item:Body"]
    assert occurrence_mail(emulator, seq) == to_everyone("update", "2026-12-15")
    # With the series' values back it is a plain occurrence again (the store's modelling choice).
    assert "2026-12-15" not in emulator.store.get_item(created.item_id).doc["exceptions"]
    assert listed(provider) == meeting_state(WEEKLY)


def test_changing_the_series_time_regenerates_it_and_writes_its_overrides_again(
    emulator: Emulator, provider: EwsProvider
) -> None:
    before = series(overrides=(override(date(2026, 12, 15), subject="Retro instead"),), skip=(date(2026, 12, 22),))
    provider.create(create_request(before))
    after = dataclasses.replace(before, start=datetime(2026, 12, 1, 11, 0), end=datetime(2026, 12, 1, 11, 30))
    seq = apply(provider, emulator, before, after)
    assert emulator.recorder.operations() == ["UpdateItem", "DeleteItem", "UpdateItem"]
    assert occurrence_mail(emulator, seq) == sorted(
        to_everyone("update") + to_everyone("cancellation", "2026-12-22") + to_everyone("update", "2026-12-15")
    )
    assert listed(provider) == meeting_state(after)


def test_an_edit_made_to_one_occurrence_in_outlook_reads_as_an_override(
    emulator: Emulator, provider: EwsProvider
) -> None:
    created = written(provider, create_request(WEEKLY))
    emulator.store.update_occurrence(created.item_id, "2026-12-08", {"location": "Room 2"}, send=SendMode.NONE)
    assert to_json(listed(provider))["overrides"] == [{"date": "2026-12-08", "location": "Room 2"}]


def test_attendees_changed_on_one_occurrence_elsewhere_are_refused_before_anything_is_written(
    emulator: Emulator, provider: EwsProvider
) -> None:
    created = written(provider, create_request(WEEKLY))
    doc = emulator.store.get_item(created.item_id).doc
    extra = [*doc["attendees"], {"email": "dave@contoso.com", "name": "Dave", "type": "required", "response": "none"}]
    emulator.store.update_occurrence(created.item_id, "2026-12-08", {"attendees": extra}, send=SendMode.NONE)
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert to_json(observed.fields)["overrides"] == [
        {
            "date": "2026-12-08",
            "required": ["alice@contoso.com", "bob@contoso.com", "dave@contoso.com"],
            "optional": ["carol@contoso.com"],
        }
    ]
    request = dataclasses.replace(update_request(provider, WEEKLY, WEEKLY), changed=frozenset({"overrides"}))
    emulator.recorder.clear()
    with pytest.raises(RequestRejectedError, match="attendees of the 2026-12-08 occurrence"):
        provider.update(request)
    assert emulator.recorder.operations() == []


# -- reading ---------------------------------------------------------------------------------------


def test_series_without_changed_occurrences_are_listed_without_extra_requests(
    emulator: Emulator, provider: EwsProvider
) -> None:
    for index in range(3):
        provider.create(
            create_request(series(skip=(date(2026, 12, 8),), base=dataclasses.replace(WEEKLY, id=f"s{index}")))
        )
    emulator.recorder.clear()
    assert len(provider.list_managed(ORGANIZER, NAMESPACE)) == 3
    assert emulator.recorder.operations() == ["FindItem", "GetItem"]


def test_the_changed_occurrences_of_every_listed_series_are_read_in_one_request(
    emulator: Emulator, provider: EwsProvider
) -> None:
    desired = [
        series(
            overrides=(override(date(2026, 12, 8), subject=f"Special {index}"),),
            base=dataclasses.replace(WEEKLY, id=f"s{index}"),
        )
        for index in range(3)
    ]
    for item in desired:
        provider.create(create_request(item))
    emulator.recorder.clear()
    observed = {o.meeting_id: o.fields for o in provider.list_managed(ORGANIZER, NAMESPACE)}
    assert emulator.recorder.operations() == ["FindItem", "GetItem", "GetItem"]
    assert observed == {item.id: meeting_state(item) for item in desired}


def test_an_all_day_series_moves_one_occurrence_by_dates(emulator: Emulator, provider: EwsProvider) -> None:
    offsite = meeting(
        all_day=True,
        start=date(2026, 12, 7),
        end=date(2026, 12, 8),
        recurrence=Recurrence(
            every=Every.WEEK,
            on=(Weekday.MONDAY,),
            count=4,
            skip=(date(2026, 12, 28),),
            overrides=(override(date(2026, 12, 14), start="2026-12-15", end="2026-12-17", subject="Two days"),),
        ),
    )
    created = written(provider, create_request(offsite))
    exception = emulator.store.get_item(created.item_id).doc["exceptions"]["2026-12-14"]
    assert (exception["start"], exception["end"], exception["subject"]) == (
        "2026-12-15T00:00:00",
        "2026-12-17T00:00:00",
        "Two days",
    )
    assert listed(provider) == meeting_state(offsite)
