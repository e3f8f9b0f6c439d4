"""The pure mapping between canonical fields and Graph event JSON, and the SDK's body round trip."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from reconciler.model import Every, Recurrence, Weekday
from reconciler.providers.graph import wire
from reconciler.state import MeetingState, OverrideState, to_json
from tests.factories import ORGANIZER
from tests.graph.conftest import fields


def served(fields_: MeetingState, **overrides: Any) -> dict[str, Any]:
    """An event as Graph would answer for `fields_` (UTC times, default fills), with our properties."""
    body = wire.create_body("ns", "team/sync", fields_, "tx")
    event = {
        "id": "AAMkAD/x+y=",
        "changeKey": "ck",
        "originalStartTimeZone": body["start"]["timeZone"],
        "start": {"dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T09:30:00.0000000", "timeZone": "UTC"},
        "body": {"contentType": "html", "content": f"<html><head></head><body>{body['body']['content']}</body></html>"},
        "location": {"displayName": fields_.location, "locationType": "default"},
        **{k: v for k, v in body.items() if k not in ("start", "end", "body", "location", "transactionId")},
    }
    return event | overrides


def test_an_untouched_event_reads_back_exactly_as_the_fields_written() -> None:
    observed = wire.observe(served(fields()), ORGANIZER)
    assert observed.fields == fields() and observed.last_applied == fields()
    assert (observed.item_id, observed.change_key, observed.meeting_id) == ("AAMkAD/x+y=", "ck", "team/sync")


def test_enum_values_in_another_case_read_as_graphs_canonical_values() -> None:
    event = served(fields(), showAs="BUSY", sensitivity="Normal", importance="NORMAL")
    event["attendees"] = [{**a, "type": a["type"].upper()} for a in event["attendees"]]
    assert wire.observe(event, ORGANIZER).fields == fields()


def test_default_filled_recurrence_reads_back_as_the_canonical_pattern() -> None:
    weekly = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY, Weekday.THURSDAY), until=date(2027, 6, 30))
    expected = fields(recurrence=weekly)
    filled = {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": ["thursday", "tuesday"],
            "firstDayOfWeek": "monday",
            "index": "first",
        },
        "range": {
            "type": "endDate",
            "startDate": "2026-12-01",
            "endDate": "2027-06-30",
            "recurrenceTimeZone": "W. Europe Standard Time",
            "numberOfOccurrences": 0,
        },
    }
    event = served(expected, recurrence=filled, cancelledOccurrences=[], exceptionOccurrences=[])
    assert wire.observe(event, ORGANIZER).fields.recurrence == expected.recurrence


@pytest.mark.parametrize(
    ("original", "recorded", "zone"),
    [
        ("W. Europe Standard Time", "Europe/Amsterdam", "Europe/Amsterdam"),  # recorded, same Windows zone
        ("W. Europe Standard Time", "America/New_York", "Europe/Berlin"),  # moved in Outlook: CLDR's zone
        ("W. Europe Standard Time", None, "Europe/Berlin"),
        ("Eastern Standard Time", None, "America/New_York"),
        ("UTC", None, "UTC"),
        ("tzone://Microsoft/Custom", "Europe/Berlin", "Europe/Berlin"),  # a zone CLDR does not know
    ],
)
def test_the_observed_zone_is_the_recorded_one_while_it_still_matches(
    original: str, recorded: str | None, zone: str
) -> None:
    assert wire.observed_zone(original, recorded) == zone


def test_times_are_read_in_whatever_zone_the_answer_names_across_daylight_saving() -> None:
    assert (
        wire.local_time({"dateTime": "2026-10-20T08:00:00.0000000", "timeZone": "UTC"}, "Europe/Berlin", all_day=False)
        == "2026-10-20T10:00"
    )
    assert (
        wire.local_time({"dateTime": "2026-11-03T09:00:00.0000000", "timeZone": "UTC"}, "Europe/Berlin", all_day=False)
        == "2026-11-03T10:00"
    )
    pacific = {"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "Pacific Standard Time"}
    assert wire.local_time(pacific, "Europe/Berlin", all_day=False) == "2026-12-01T10:00"
    floating = {"dateTime": "2026-12-14T00:00:00.0000000", "timeZone": "UTC"}
    assert wire.local_time(floating, "Europe/Berlin", all_day=True) == "2026-12-14"


def test_writes_name_windows_zones_and_carry_only_the_properties_asked_for() -> None:
    desired = fields(reminder_minutes=None, online_meeting=True)
    body = wire.event_properties(desired, {"start", "end", "isAllDay", "isReminderOn", "isOnlineMeeting"})
    assert body == {
        "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-12-01T10:30:00", "timeZone": "W. Europe Standard Time"},
        "isAllDay": False,
        "isReminderOn": False,
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
    }


def test_removing_a_recurrence_writes_an_explicit_null_and_moving_a_series_rewrites_its_range() -> None:
    assert wire.event_properties(fields(), wire.graph_properties({"recurrence"}, fields())) == {"recurrence": None}
    series = fields(recurrence=Recurrence(every=Every.DAY, count=3))
    assert wire.graph_properties({"start"}, series) == {"start", "end", "isAllDay", "recurrence"}
    assert wire.graph_properties({"protect"}, series) == set()


def test_an_all_day_meeting_is_written_from_midnight_to_midnight() -> None:
    offsite = fields(all_day=True, start=date(2026, 12, 14), end=date(2026, 12, 16))
    body = wire.create_body("ns", "team/offsite", offsite, "tx")
    assert (body["isAllDay"], body["start"]["dateTime"], body["end"]["dateTime"]) == (
        True,
        "2026-12-14T00:00:00",
        "2026-12-16T00:00:00",
    )


def test_filters_quote_values_as_odata_literals() -> None:
    text = wire.property_filter(wire.MEETING_ID_PROPERTY, "team/o'neil")
    assert text.endswith("ep/value eq 'team/o''neil')")
    assert text.startswith("singleValueExtendedProperties/Any(ep: ep/id eq 'String {")


WEEKLY = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=6)


def exception(day_utc: str, start: str, end: str, **values: Any) -> dict[str, Any]:
    """A changed occurrence as Graph lists it in `exceptionOccurrences` (UTC times)."""
    base = {
        "id": f"AAMkAD-{day_utc}",
        "originalStart": f"{day_utc}T09:00:00Z",
        "type": "exception",
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
    }
    return base | values


def test_a_series_reads_its_skips_from_cancelled_occurrences_and_its_overrides_from_its_exceptions() -> None:
    series = fields(recurrence=WEEKLY)
    plain = served(series)
    moved = exception(
        "2026-12-08", "2026-12-08T13:00:00.0000000", "2026-12-08T13:30:00.0000000", **_shown(plain, subject="Moved")
    )
    people = [{"type": "required", "emailAddress": {"address": "Erin@Contoso.com"}}]
    invited = exception(
        "2026-12-15", "2026-12-15T09:00:00.0000000", "2026-12-15T09:30:00.0000000", **_shown(plain, attendees=people)
    )
    event = plain | {
        "cancelledOccurrences": ["OID.AAMkAD/x+y=.2026-12-22", "OID.AAMkAD/x+y=.2026-12-29"],
        "exceptionOccurrences": [moved, invited],
    }
    observed = wire.observe(event, ORGANIZER)
    assert to_json(observed.fields)["skip"] == ["2026-12-22", "2026-12-29"]
    assert to_json(observed.fields)["overrides"] == [
        {"date": "2026-12-08", "start": "2026-12-08T14:00", "end": "2026-12-08T14:30", "subject": "Moved"},
        {"date": "2026-12-15", "required": ["erin@contoso.com"], "optional": []},
    ]


def _shown(event: dict[str, Any], **values: Any) -> dict[str, Any]:
    """The properties an exception shows: the series' own, with `values` changed."""
    keys = ("subject", "location", "body", "attendees")
    return {key: event[key] for key in keys} | values


def test_a_series_master_without_occurrence_lists_reads_as_one_without_skips_or_overrides() -> None:
    # Graph may leave `cancelledOccurrences` and `exceptionOccurrences` out (its lists always do);
    # the provider reads every master again by id, so a missing list means an empty one.
    observed = wire.observe(served(fields(recurrence=WEEKLY)), ORGANIZER)
    assert (to_json(observed.fields)["skip"], to_json(observed.fields)["overrides"]) == ([], [])


@pytest.mark.parametrize(
    ("original_start", "all_day", "day"),
    [
        ("2026-10-27T09:00:00Z", False, "2026-10-27"),  # 10:00 in Berlin after daylight saving ended
        ("2026-10-27T23:30:00.0000000Z", False, "2026-10-28"),  # 00:30 the next day in Berlin
        ("2026-10-27T00:30:00+01:00", False, "2026-10-27"),
        ("2026-10-27T00:00:00Z", True, "2026-10-27"),  # all-day occurrences float
    ],
)
def test_an_occurrence_is_identified_by_its_original_date_in_the_series_zone(
    original_start: str, all_day: bool, day: str
) -> None:
    assert wire.original_date({"originalStart": original_start}, "Europe/Berlin", all_day=all_day) == day


def test_an_attendee_only_occurrence_change_patches_the_whole_attendee_list_alone() -> None:
    series = fields(recurrence=WEEKLY, rooms=("room-1@contoso.com",))
    body = wire.occurrence_body(series, OverrideState(date(2026, 12, 8), required=("erin@contoso.com",)))
    assert body == {
        "attendees": [
            {"type": "required", "emailAddress": {"address": "erin@contoso.com"}},
            {"type": "optional", "emailAddress": {"address": "carol@contoso.com"}},
            {"type": "resource", "emailAddress": {"address": "room-1@contoso.com"}},
        ]
    }


def test_other_occurrence_changes_patch_only_their_properties_in_the_series_zone() -> None:
    series = fields(recurrence=WEEKLY)
    values = OverrideState(
        date(2026, 12, 8),
        start=datetime(2026, 12, 8, 14, 0),
        end=datetime(2026, 12, 8, 14, 30),
        subject="Moved",
        body="*Short*",
    )
    assert wire.occurrence_body(series, values) == {
        "subject": "Moved",
        "body": {"contentType": "html", "content": "<p><em>Short</em></p>\n"},
        "start": {"dateTime": "2026-12-08T14:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-12-08T14:30:00", "timeZone": "W. Europe Standard Time"},
    }


def test_an_occurrence_is_looked_up_on_its_day_and_where_its_override_moved_it() -> None:
    series = fields(recurrence=WEEKLY)
    assert wire.occurrence_window(series, "2026-12-08", None) == ("2026-12-07T23:00:00Z", "2026-12-08T23:00:00Z")
    moved = OverrideState(date(2026, 12, 8), start=datetime(2026, 12, 10, 9, 0), end=datetime(2026, 12, 10, 10, 0))
    assert wire.occurrence_window(series, "2026-12-08", moved) == ("2026-12-07T23:00:00Z", "2026-12-10T09:00:00Z")


def test_select_names_every_property_observe_reads() -> None:
    assert {"originalStartTimeZone", "attendees", "recurrence", "body", "changeKey"} <= set(wire.SELECT)
