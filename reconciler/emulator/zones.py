"""Time-zone names as Exchange knows them: Windows ids on the wire, IANA inside the store.

Uses the CLDR windowsZones mapping shipped by `tzlocal` (the emulator keeps its own copy of this
concern because it must not import the client's modules).
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from tzlocal.windows_tz import tz_win, win_tz


class UnknownTimeZone(ValueError):
    """Neither a Windows zone id nor an IANA name Exchange accepts."""


@cache
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


def to_iana(name: str) -> str:
    """A zone as sent by a client (Windows id, IANA name or UTC) -> the IANA name the store keeps."""
    if name in ("UTC", "tzone://Microsoft/Utc"):
        return "UTC"
    if name in win_tz:
        return str(win_tz[name])
    if name in _iana_names():
        return name
    raise UnknownTimeZone(name)


def to_windows(iana: str) -> str:
    """The Windows id Exchange reports for an IANA zone the store keeps."""
    if iana == "UTC":
        return "UTC"
    try:
        return str(tz_win[iana])
    except KeyError as error:
        raise UnknownTimeZone(iana) from error


def zone(iana: str) -> ZoneInfo:
    return ZoneInfo(iana)
