"""Series arithmetic: pattern mapping, expansion and spans."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reconciler.recurrence import from_patterned, has_ended, local, occurrence_starts, span_utc, to_patterned
from reconciler.state import MeetingState, from_json, meeting_state, to_json
from tests.factories import meeting

_SAMPLE = to_json(meeting_state(meeting()))


def series(**recurrence: Any) -> MeetingState:
    """The sample meeting as a series, its pattern given in JSON form (weekly on Tuesdays by default)."""
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
    return from_json(
        _SAMPLE
        | {
            "start": "2026-12-01T10:00",
            "end": "2026-12-01T10:30",
            "timezone": "Europe/Berlin",
            "recurrence": base | recurrence,
            "skip": [],
        }
    )


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
    assert fields.recurrence is not None
    patterned = to_patterned(fields.recurrence, fields.start, fields.timezone)
    assert from_patterned(patterned, fields.start) == fields.recurrence


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
    assert from_patterned(filled, fields.start) == fields.recurrence


def test_a_series_keeps_its_local_time_across_daylight_saving() -> None:
    starts = list(occurrence_starts(series(count=30)))
    assert {s.hour for s in starts} == {10}
    assert span_utc(series(count=30))[1] == datetime(2027, 6, 22, 8, 30, tzinfo=UTC)  # CEST: UTC+2


def test_skipped_dates_are_not_occurrences() -> None:
    fields = replace(series(count=3), skip=(date(2026, 12, 8),))
    assert [s.date().isoformat() for s in occurrence_starts(fields)] == ["2026-12-01", "2026-12-15"]


def test_a_series_without_end_never_ends() -> None:
    assert span_utc(series())[1] is None
    assert not has_ended(series(), datetime(2040, 1, 1, tzinfo=UTC))


def test_a_series_ends_with_its_last_occurrence() -> None:
    fields = series(until="2026-12-20")
    assert span_utc(fields)[1] == datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
    assert has_ended(fields, datetime(2026, 12, 15, 9, 30, tzinfo=UTC))


def _expanded_span(fields: MeetingState) -> tuple[datetime, datetime]:
    """The span by brute force: every occurrence listed (the slow way span_utc must agree with)."""
    starts = list(occurrence_starts(replace(fields, skip=())))
    start, end = local(fields.start), local(fields.end)
    zone = ZoneInfo(fields.timezone)
    last = starts[-1] if starts else start
    return start.replace(tzinfo=zone).astimezone(UTC), (last + (end - start)).replace(tzinfo=zone).astimezone(UTC)


_PATTERNS = [
    {"every": "day", "interval": 3, "on": []},
    {"every": "week", "interval": 1, "on": ["tuesday"]},
    {"every": "week", "interval": 2, "on": ["monday", "thursday", "sunday"], "first_day_of_week": "sunday"},
    {"every": "week", "interval": 3, "on": ["saturday", "wednesday"]},
    {"every": "month", "interval": 1, "on": [], "day_of_month": 31},
    {"every": "month", "interval": 5, "on": [], "day_of_month": 29},
    {"every": "month", "interval": 2, "on": ["friday"], "week_of_month": "last"},
    {"every": "month", "interval": 1, "on": ["monday", "tuesday"], "week_of_month": "second"},
    {"every": "year", "interval": 1, "on": [], "day_of_month": 29, "month": 2},
    {"every": "year", "interval": 1, "on": ["thursday"], "week_of_month": "fourth", "month": 11},
]


@pytest.mark.parametrize("pattern", _PATTERNS, ids=lambda p: f"{p['every']}-{p['interval']}")
@pytest.mark.parametrize("start", ["2026-12-01T10:00", "2027-01-31T23:30", "2028-02-29T00:15"])
@pytest.mark.parametrize("end_rule", [{"count": 1}, {"count": 7}, {"count": 120}, {"until": "2031-03-30"}])
def test_the_span_found_arithmetically_equals_the_span_of_the_expanded_series(
    pattern: dict[str, Any], start: str, end_rule: dict[str, Any]
) -> None:
    fields = series(**pattern, **end_rule)
    end = start[:11] + "23:59" if start[11:] < "23:59" else start
    fields = replace(fields, start=datetime.fromisoformat(start), end=datetime.fromisoformat(end))
    assert span_utc(fields) == _expanded_span(fields)


_WEEKLY = [p for p in _PATTERNS if p["every"] == "week"] + [
    {"every": "week", "interval": 4, "on": ["friday", "monday"], "first_day_of_week": "wednesday"},
    {"every": "week", "interval": 1, "on": ["sunday", "saturday"], "first_day_of_week": "saturday"},
]


@pytest.mark.parametrize("pattern", _WEEKLY, ids=lambda p: f"{p['interval']}-{'-'.join(p['on'])}")
def test_a_weekly_cycle_expanded_once_per_week_day_holds_for_every_start(pattern: dict[str, Any]) -> None:
    """The weekly cycle is remembered per pattern and week day: every start, whatever its week, year
    (2032 has 53 ISO weeks) or time of day, still spans as its own expansion does."""
    first_days = [datetime(2026, 12, 24, 9, 30), datetime(2032, 12, 24, 23, 45), datetime(2027, 2, 22, 0, 0)]
    for first_day in first_days:
        for day in range(15):
            start = first_day + timedelta(days=day)
            for end_rule in ({"count": 5}, {"count": 53}, {"until": (start + timedelta(days=400)).date().isoformat()}):
                fields = replace(series(**pattern, **end_rule), start=start, end=start + timedelta(minutes=30))
                if pattern["on"] and start.strftime("%A").lower() not in pattern["on"]:
                    continue  # the loader requires the start to be an occurrence
                assert span_utc(fields) == _expanded_span(fields), (start, end_rule)


def test_a_series_ending_in_year_9999_or_after_a_million_occurrences_is_spanned_without_expanding_it() -> None:
    daily = series(every="day", on=[], until="9999-12-31")
    assert span_utc(daily)[1] == datetime(9999, 12, 31, 9, 30, tzinfo=UTC)
    assert not has_ended(daily, datetime(2030, 1, 1, tzinfo=UTC))
    counted = series(every="day", on=[], count=999_999)
    # The 999,999th daily occurrence is 999,998 days after the first (10:30 Berlin is 09:30 UTC).
    assert span_utc(counted)[1] == datetime(2026, 12, 1, 9, 30, tzinfo=UTC) + timedelta(days=999_998)
