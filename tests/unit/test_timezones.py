"""IANA <-> Windows time zone names through the CLDR mapping."""

from __future__ import annotations

import pytest

from reconciler.timezones import is_valid_iana, to_iana, to_windows


@pytest.mark.parametrize(
    ("iana", "windows"),
    [
        ("Europe/Berlin", "W. Europe Standard Time"),
        ("Europe/Rome", "W. Europe Standard Time"),
        ("America/New_York", "Eastern Standard Time"),
        ("Asia/Kolkata", "India Standard Time"),
        ("Asia/Calcutta", "India Standard Time"),
        ("UTC", "UTC"),
        ("Etc/GMT+12", "Dateline Standard Time"),
        ("EST5EDT", "Eastern Standard Time"),
        ("Europe/Zaporozhye", "FLE Standard Time"),
    ],
)
def test_an_iana_zone_maps_to_the_windows_zone_exchange_uses(iana: str, windows: str) -> None:
    assert to_windows(iana) == windows


def test_a_windows_name_passed_to_to_windows_comes_back_unchanged() -> None:
    assert to_windows("W. Europe Standard Time") == "W. Europe Standard Time"


@pytest.mark.parametrize(
    ("windows", "iana"),
    [
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("India Standard Time", "Asia/Kolkata"),
        ("FLE Standard Time", "Europe/Kyiv"),
        ("UTC", "UTC"),
    ],
)
def test_a_windows_zone_maps_to_its_golden_iana_zone_in_todays_spelling(windows: str, iana: str) -> None:
    assert to_iana(windows) == iana


def test_an_iana_name_passed_to_to_iana_comes_back_unchanged() -> None:
    assert to_iana("Europe/Amsterdam") == "Europe/Amsterdam"


def test_every_iana_zone_round_trips_to_the_same_windows_zone() -> None:
    for windows in ("W. Europe Standard Time", "Eastern Standard Time", "Tokyo Standard Time", "UTC+12"):
        assert to_windows(to_iana(windows)) == windows


def test_an_unknown_name_is_a_value_error_with_a_sentence() -> None:
    with pytest.raises(ValueError, match=r'^"Mars/Olympus" is not a known IANA or Windows time zone name\.$'):
        to_windows("Mars/Olympus")
    with pytest.raises(ValueError, match=r'^"Mars/Olympus" is not a known Windows or IANA time zone name\.$'):
        to_iana("Mars/Olympus")


def test_a_valid_zone_without_a_windows_counterpart_says_so() -> None:
    with pytest.raises(ValueError, match=r'^The time zone "Antarctica/Troll" has no Windows equivalent'):
        to_windows("Antarctica/Troll")


def test_an_empty_name_is_unknown_rather_than_a_stray_table_entry() -> None:
    with pytest.raises(ValueError, match="is not a known IANA or Windows time zone name"):
        to_windows("")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Europe/Berlin", True),
        ("UTC", True),
        ("Europe/Berln", False),
        ("W. Europe Standard Time", False),
        ("localtime", False),
        ("", False),
    ],
)
def test_is_valid_iana_accepts_only_zones_of_the_tz_database(name: str, valid: bool) -> None:
    assert is_valid_iana(name) is valid
