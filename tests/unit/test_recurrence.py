"""Series arithmetic: pattern mapping, expansion and spans."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.recurrence import from_patterned, has_ended, occurrence_starts, span_utc, to_patterned


def series(**recurrence: Any) -> dict[str, Any]:
    base = {
        "every": "week",
        "interval": 1,
        "on": ["tuesday"],
        "day_of_month": None,
        "week_of_month": None,
        "month": None,
        "until": None,
        "count": None,
        "first_day_of_week": "monday",
    }
    return {
        "start": "2026-12-01T10:00",
        "end": "2026-12-01T10:30",
        "timezone": "Europe/Berlin",
        "recurrence": base | recurrence,
        "skip": [],
    }


@pytest.mark.parametrize(
    "recurrence",
    [
        {"every": "day", "on": []},
        {"every": "week", "on": ["monday", "thursday"], "interval": 2, "until": "2027-03-01"},
        {"every": "month", "on": [], "day_of_month": 15, "count": 10},
        {"every": "month", "on": ["tuesday"], "week_of_month": "first"},
        {"every": "year", "on": [], "day_of_month": 1, "month": 12},
        {"every": "year", "on": ["friday"], "week_of_month": "last", "month": 3},
    ],
)
def test_every_pattern_survives_the_trip_through_graphs_patterned_recurrence(
    recurrence: dict[str, Any],
) -> None:
    fields = series(**recurrence)
    patterned = to_patterned(fields["recurrence"], fields["start"], fields["timezone"])
    assert from_patterned(patterned, fields["start"]) == fields["recurrence"]


def test_graphs_default_filled_response_reads_back_as_the_same_pattern() -> None:
    fields = series(until="2027-06-30")
    filled = {
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
            "type": "endDate",
            "startDate": "2026-12-01",
            "endDate": "2027-06-30",
            "recurrenceTimeZone": "W. Europe Standard Time",
            "numberOfOccurrences": 0,
        },
    }
    assert from_patterned(filled, fields["start"]) == fields["recurrence"]


def test_a_series_keeps_its_local_time_across_daylight_saving() -> None:
    starts = list(occurrence_starts(series(count=30)))
    assert {s.hour for s in starts} == {10}
    assert span_utc(series(count=30))[1] == datetime(2027, 6, 22, 8, 30, tzinfo=UTC)  # CEST: UTC+2


def test_skipped_dates_are_not_occurrences() -> None:
    fields = series(count=3) | {"skip": ["2026-12-08"]}
    assert [s.date().isoformat() for s in occurrence_starts(fields)] == ["2026-12-01", "2026-12-15"]


def test_a_series_without_end_never_ends() -> None:
    assert span_utc(series())[1] is None
    assert not has_ended(series(), datetime(2040, 1, 1, tzinfo=UTC))


def test_a_series_ends_with_its_last_occurrence() -> None:
    fields = series(until="2026-12-20")
    assert span_utc(fields)[1] == datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
    assert has_ended(fields, datetime(2026, 12, 15, 9, 30, tzinfo=UTC))
