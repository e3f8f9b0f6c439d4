"""Plan warnings for series whose start moves for attendees in other time zones across daylight saving.

Dates used: in 2026 the EU leaves summer time on 25 October and the US on 1 November; in 2027 the US
enters it on 14 March and the EU on 28 March, and they leave it on 31 October (EU) and 7 November (US).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from reconciler.dst import dst_warnings
from reconciler.model import Every, Recurrence, Weekday
from reconciler.notices import DstShift, TimeRun
from reconciler.render.notices import word
from reconciler.state import MeetingState, meeting_state
from tests.factories import meeting

NOW = datetime(2026, 11, 15, tzinfo=UTC)


def said(meeting_id: str, fields: MeetingState, zones: list[str], now: datetime, **options: int) -> list[str]:
    """The DST warnings for `fields`, worded as every renderer shows them."""
    return [word(w) for w in dst_warnings(meeting_id, fields, zones, now, **options)]


def tuesdays(
    first: str = "2026-12-01", *, at: str = "10:00", until: date | None = None, skip: tuple[date, ...] = ()
) -> MeetingState:
    """The canonical state of a weekly Tuesday series at `at` Europe/Berlin from `first`."""
    start = datetime.fromisoformat(f"{first}T{at}")
    recurrence = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), until=until, skip=skip)
    series = meeting("platform/weekly-sync", start=start, end=start.replace(minute=30), recurrence=recurrence)
    return meeting_state(series)


SPRING_2027 = tuesdays(until=date(2027, 6, 30))


NEW_YORK = (
    "platform/weekly-sync: 10:00 Europe/Berlin is 04:00 in America/New_York, "
    "but 05:00 from 2027-03-16 to 2027-03-23 (daylight-saving changes on different dates)"
)
KOLKATA = (
    "platform/weekly-sync: 10:00 Europe/Berlin is 14:30 in Asia/Kolkata, "
    "but 13:30 from 2027-03-30 to 2027-06-29 (Europe/Berlin changes for daylight saving, Asia/Kolkata does not)"
)


def test_a_berlin_series_moves_an_hour_for_new_york_while_only_the_us_is_on_summer_time() -> None:
    assert said("platform/weekly-sync", SPRING_2027, ["America/New_York"], NOW) == [NEW_YORK]


def test_the_warning_carries_the_facts_the_words_are_made_of() -> None:
    assert dst_warnings("platform/weekly-sync", SPRING_2027, ["Asia/Kolkata"], NOW) == [
        DstShift(
            "platform/weekly-sync",
            "10:00",
            "Europe/Berlin",
            "Asia/Kolkata",
            "14:30",
            (TimeRun("13:30", date(2027, 3, 30), date(2027, 6, 29)),),
            steady_zone="Asia/Kolkata",
        )
    ]


def test_a_zone_without_daylight_saving_sees_the_series_move_for_the_whole_summer() -> None:
    assert said("platform/weekly-sync", SPRING_2027, ["Asia/Kolkata"], NOW) == [KOLKATA]


@pytest.mark.parametrize("zones", [[], ["Europe/Berlin"], ["Europe/Paris"], ["Europe/Paris", "Europe/Berlin"]])
def test_zones_that_change_with_the_series_zone_give_no_warning_whatever_their_name(zones: list[str]) -> None:
    assert said("platform/weekly-sync", SPRING_2027, zones, NOW) == []


def test_the_series_zone_gives_no_warning_when_an_occurrence_falls_in_the_hour_skipped_in_spring() -> None:
    # 02:30 does not exist on 28 March 2027 in Berlin, so that occurrence starts at 03:30 local time.
    start = datetime(2027, 3, 21, 2, 30)
    series = meeting(start=start, end=start.replace(hour=3), recurrence=Recurrence(every=Every.DAY, count=14))
    assert said("team/sync", meeting_state(series), ["Europe/Berlin", "Europe/Paris"], NOW) == []


def test_one_warning_per_zone_sorted_by_zone_name_even_when_a_zone_is_listed_twice() -> None:
    zones = ["Asia/Kolkata", "Europe/Paris", "America/New_York", "Asia/Kolkata"]
    assert said("platform/weekly-sync", SPRING_2027, zones, NOW) == [NEW_YORK, KOLKATA]


def test_dates_are_the_attendees_own_and_every_other_time_gets_its_own_period() -> None:
    # 18:00 on Tuesday in Berlin is Wednesday morning in Sydney, whose summer is the northern winter.
    fields = tuesdays(at="18:00", until=date(2027, 6, 30))
    assert said("platform/weekly-sync", fields, ["Australia/Sydney"], NOW) == [
        "platform/weekly-sync: 18:00 Europe/Berlin is 04:00 in Australia/Sydney, "
        "but 03:00 on 2027-03-31 and 02:00 from 2027-04-07 to 2027-06-30 (daylight-saving changes on different dates)"
    ]


def test_a_series_entirely_in_winter_gives_no_warning() -> None:
    fields = tuesdays(until=date(2027, 2, 28))
    assert said("platform/weekly-sync", fields, ["America/New_York", "Asia/Kolkata"], NOW) == []


def test_skipped_occurrences_do_not_count() -> None:
    fields = tuesdays(until=date(2027, 6, 30), skip=(date(2027, 3, 16), date(2027, 3, 23)))
    assert said("platform/weekly-sync", fields, ["America/New_York"], NOW) == []


def test_a_single_meeting_gives_no_warning() -> None:
    start = datetime(2027, 3, 16, 10, 0)
    fields = meeting_state(meeting(start=start, end=start.replace(minute=30)))
    assert said("team/sync", fields, ["America/New_York"], NOW) == []


def test_an_all_day_series_gives_no_warning() -> None:
    recurrence = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), until=date(2027, 6, 30))
    series = meeting(start=date(2026, 12, 1), end=date(2026, 12, 2), all_day=True, recurrence=recurrence)
    assert said("team/sync", meeting_state(series), ["America/New_York"], NOW) == []


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 10, 1, tzinfo=UTC), ["05:00 on 2026-10-27"]),
        (datetime(2026, 10, 27, 9, 0, tzinfo=UTC), ["05:00 on 2026-10-27"]),  # starting right now counts
        (datetime(2026, 10, 27, 9, 1, tzinfo=UTC), []),
    ],
)
def test_occurrences_that_started_before_now_are_ignored(now: datetime, expected: list[str]) -> None:
    fields = tuesdays("2026-10-06", until=date(2027, 3, 9))
    assert said("platform/weekly-sync", fields, ["America/New_York"], now) == [
        f"platform/weekly-sync: 10:00 Europe/Berlin is 04:00 in America/New_York, but {period} "
        "(daylight-saving changes on different dates)"
        for period in expected
    ]


@pytest.mark.parametrize(
    ("horizon_days", "expected"),
    [
        (105, []),  # ends at 2027-03-16T00:00Z, before that day's 09:00Z occurrence
        (106, ["05:00 on 2027-03-16"]),
        (400, ["05:00 from 2027-03-16 to 2027-03-23 and 05:00 on 2027-11-02"]),
    ],
)
def test_only_occurrences_before_the_horizon_count_so_a_series_without_end_is_cut_off(
    horizon_days: int, expected: list[str]
) -> None:
    fields = tuesdays()  # no end
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert said("platform/weekly-sync", fields, ["America/New_York"], now, horizon_days=horizon_days) == [
        f"platform/weekly-sync: 10:00 Europe/Berlin is 04:00 in America/New_York, but {period} "
        "(daylight-saving changes on different dates)"
        for period in expected
    ]


@pytest.mark.parametrize(
    ("horizon_days", "rest"),
    [(700, "and 1 more period"), (800, "and 2 more periods")],
)
def test_at_most_three_periods_are_named_and_the_rest_counted(horizon_days: int, rest: str) -> None:
    now = datetime(2026, 10, 1, tzinfo=UTC)
    warnings = said(
        "platform/weekly-sync", tuesdays("2026-10-06"), ["America/New_York"], now, horizon_days=horizon_days
    )
    assert warnings == [
        "platform/weekly-sync: 10:00 Europe/Berlin is 04:00 in America/New_York, but 05:00 on 2026-10-27, "
        f"05:00 from 2027-03-16 to 2027-03-23, 05:00 on 2027-11-02 {rest} (daylight-saving changes on different dates)"
    ]
