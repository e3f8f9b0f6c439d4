"""The typed canonical state and its one JSON form (`reconciler.state`)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any

import pytest

from reconciler.model import FIELD_ORDER, BodyFormat, Every, Recurrence, Weekday, WeekOfMonth
from reconciler.state import (
    MeetingState,
    OverrideState,
    PatternState,
    from_json,
    meeting_state,
    to_json,
    value_from_json,
    value_json,
)
from tests.factories import declared_override, meeting

SERIES = meeting(
    recurrence=Recurrence(
        every=Every.WEEK,
        on=(Weekday.THURSDAY, Weekday.TUESDAY),
        until=date(2027, 3, 30),
        skip=(date(2026, 12, 29), date(2026, 12, 24)),
        overrides=(
            declared_override(
                date(2027, 1, 7), {"subject": "Kick-off", "required": ["dave@contoso.com"], "optional": []}
            ),
            declared_override(date(2027, 1, 5), {"start": "2027-01-05T11:00", "end": "2027-01-05T11:30"}),
        ),
    ),
    categories=("Team", "Ops"),
)


def test_field_order_is_the_state_s_attributes() -> None:
    assert tuple(f.name for f in dataclasses.fields(MeetingState)) == FIELD_ORDER


def test_json_form_is_the_canonical_mapping() -> None:
    state = meeting_state(SERIES)
    assert state.start == datetime(2026, 12, 1, 10, 0)
    assert state.recurrence == PatternState(
        every=Every.WEEK, on=(Weekday.TUESDAY, Weekday.THURSDAY), until=date(2027, 3, 30)
    )
    assert state.skip == (date(2026, 12, 24), date(2026, 12, 29))
    assert state.overrides == (
        OverrideState(date(2027, 1, 5), start=datetime(2027, 1, 5, 11), end=datetime(2027, 1, 5, 11, 30)),
        OverrideState(date(2027, 1, 7), subject="Kick-off", required=("dave@contoso.com",), optional=()),
    )
    assert to_json(state) == {
        "subject": "Team sync",
        "start": "2026-12-01T10:00",
        "end": "2026-12-01T10:30",
        "timezone": "Europe/Berlin",
        "all_day": False,
        "recurrence": {
            "every": "week",
            "interval": 1,
            "on": ["tuesday", "thursday"],
            "day_of_month": None,
            "week_of_month": None,
            "month": None,
            "until": "2027-03-30",
            "count": None,
            "first_day_of_week": "monday",
        },
        "skip": ["2026-12-24", "2026-12-29"],
        "overrides": [
            {"date": "2027-01-05", "start": "2027-01-05T11:00", "end": "2027-01-05T11:30"},
            {"date": "2027-01-07", "subject": "Kick-off", "required": ["dave@contoso.com"], "optional": []},
        ],
        "required": ["alice@contoso.com", "bob@contoso.com"],
        "optional": ["carol@contoso.com"],
        "rooms": [],
        "location": "Berlin 3.14",
        "online_meeting": False,
        "body": "Agenda:\n\n- *status*\n- risks & plans",
        "body_format": "markdown",
        "reminder_minutes": 15,
        "show_as": "busy",
        "sensitivity": "normal",
        "importance": "normal",
        "categories": ["Ops", "Team"],
        "response_requested": True,
        "allow_new_time_proposals": True,
        "hide_attendees": False,
        "protect": False,
    }
    assert list(to_json(state)) == list(FIELD_ORDER)


@pytest.mark.parametrize(
    "state",
    [
        meeting_state(SERIES),
        meeting_state(meeting()),
        meeting_state(
            meeting(
                all_day=True,
                start=date(2026, 12, 1),
                end=date(2026, 12, 2),
                reminder_minutes=None,
                body_format=BodyFormat.TEXT,
                recurrence=Recurrence(
                    every=Every.MONTH, week_of_month=WeekOfMonth.LAST, on=(Weekday.FRIDAY,), count=12
                ),
            )
        ),
    ],
)
def test_json_round_trip(state: MeetingState) -> None:
    assert from_json(json.loads(json.dumps(to_json(state)))) == state


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start": "2026-12-01T10:00:30"}, "minute-precision"),
        ({"start": 5}, "wall time must be a string"),
        ({"show_as": "away"}, "'away' is not a valid ShowAs"),
        ({"required": "alice@contoso.com"}, "expected a list"),
        ({"protect": "yes"}, "expected true or false"),
        ({"overrides": [{"date": "2027-01-05", "rooms": []}]}, "an override cannot set rooms"),
        ({"recurrence": {"every": "fortnight"}}, "(recurrence)"),
    ],
)
def test_a_state_that_does_not_parse_names_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="does not parse") as caught:
        from_json(to_json(meeting_state(SERIES)) | change)
    assert message in str(caught.value)


def test_a_state_lacking_fields_does_not_parse() -> None:
    document = to_json(meeting_state(SERIES))
    del document["rooms"], document["protect"]
    with pytest.raises(ValueError, match="lacks rooms, protect"):
        from_json(document)
    with pytest.raises(ValueError, match="JSON object"):
        from_json(["subject"])


@pytest.mark.parametrize("name", FIELD_ORDER)
def test_each_field_s_value_round_trips_alone_as_a_plan_file_carries_it(name: str) -> None:
    state = meeting_state(SERIES)
    value = state.value_of(name)
    assert value_json(name, value) == to_json(state)[name]
    assert value_from_json(name, json.loads(json.dumps(value_json(name, value)))) == value
    assert value_from_json(name, None) is None  # a create's `before`
