"""IANA <-> Windows time zone names, through the CLDR mapping that `tzlocal` ships.

Meeting files name IANA zones (`Europe/Berlin`); Exchange speaks Windows names (`W. Europe Standard
Time`). CLDR's `windowsZones.xml` is the reference mapping: every Windows zone has one "golden" IANA
zone (territory 001), and most IANA zones map to exactly one Windows zone. A few IANA names are absent
from CLDR's table because they are links or legacy names; `_IANA_LINKS` closes those gaps by hand.
"""

from __future__ import annotations

import functools
import zoneinfo

from tzlocal.windows_tz import tz_win, win_tz

#: IANA names that CLDR leaves out (links, POSIX-style legacy zones), mapped to an IANA name it has.
_IANA_LINKS = {
    "GMT": "Etc/GMT",
    "CST6CDT": "America/Chicago",
    "EST5EDT": "America/New_York",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "US/East-Indiana": "America/Indiana/Indianapolis",
    "Europe/Uzhgorod": "Europe/Kyiv",
    "Europe/Zaporozhye": "Europe/Kyiv",
}

#: CLDR keeps some historical spellings as its golden zones; tzdata has since renamed them.
_MODERN_NAMES = {
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Europe/Kiev": "Europe/Kyiv",
}


@functools.cache
def _available() -> frozenset[str]:
    # "localtime" and "Factory" are artefacts of the system's tz database, not zones a meeting can use.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory"})


def is_valid_iana(name: str) -> bool:
    """True when `name` is an IANA zone known to this system's tz database."""
    return name in _available()


def iana_names() -> frozenset[str]:
    """Every IANA zone name `is_valid_iana` accepts (for did-you-mean suggestions)."""
    return _available()


def is_windows_zone(name: str) -> bool:
    """Whether `name` is a Windows zone name (some, like "UTC", are IANA names too)."""
    return name in win_tz


def to_windows(iana: str) -> str:
    """The Windows zone name Exchange uses for the IANA zone `iana`.

    A Windows name is returned unchanged, so callers may pass whatever a server sent back.
    Raises ValueError with a sentence when the name is unknown or has no Windows counterpart.
    """
    if iana in win_tz:
        return iana
    # tzlocal's table has one stray empty key; an empty name is simply unknown.
    windows = tz_win.get(_IANA_LINKS.get(iana, iana)) if iana else None
    if windows is None:
        if is_valid_iana(iana):
            raise ValueError(f'The time zone "{iana}" has no Windows equivalent that Exchange could use.')
        raise ValueError(f'"{iana}" is not a known IANA or Windows time zone name.')
    return windows


def to_iana(windows_or_iana: str) -> str:
    """The IANA zone for a Windows zone name (CLDR's golden zone, in today's tzdata spelling).

    An IANA name is returned unchanged. Raises ValueError with a sentence for an unknown name.
    Two IANA names can share one Windows zone (`Europe/Berlin`, `Europe/Rome`), so compare zones
    that came back from Exchange through `to_windows`, not through this function.
    """
    if is_valid_iana(windows_or_iana):  # first, so "UTC" (a name in both systems) stays "UTC"
        return windows_or_iana
    iana = win_tz.get(windows_or_iana)
    if iana is not None:
        modern = _MODERN_NAMES.get(iana, iana)
        return modern if is_valid_iana(modern) else iana
    raise ValueError(f'"{windows_or_iana}" is not a known Windows or IANA time zone name.')
