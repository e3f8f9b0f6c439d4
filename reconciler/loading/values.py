"""Small value parsers and message helpers shared by the meeting files and reconciler.yaml."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email

from reconciler.loading.yamldoc import NodePath
from reconciler.timezones import iana_names, is_valid_iana, to_windows

_DURATION = re.compile(r"(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
MINUTES_PER_DAY = 24 * 60


def parse_minutes(text: str) -> int | None:
    """Minutes of a duration such as 30m, 1h30m or 2d; None when `text` is not one."""
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return (days * 24 + hours) * 60 + minutes


def format_minutes(minutes: int) -> str:
    """The shortest duration text for `minutes` (90 -> 1h30m)."""
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    hours, mins = divmod(rest, 60)
    text = (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{mins}m" if mins else "")
    return text or "0m"


@functools.lru_cache(maxsize=65536)
def normalize_address(text: str) -> str | None:
    """The lower-cased form of an e-mail address, or None when it is not a valid address.

    Cached: a repository names the same people in many files, and validation costs tens of µs.
    """
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`; did you mean "x"?` for the closest option, or "" when none is close."""
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f'; did you mean "{matches[0]}"?' if matches else ""


def quote(text: str, limit: int = 60) -> str:
    """`text` in double quotes, shortened when long, for messages."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def describe(value: Any) -> str:
    """How a YAML value reads in a message: `"yes"`, `5`, `true`, `empty`, `a list`, `a mapping`."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "empty"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)


def label(path: NodePath) -> str:
    """A value's path as written in messages: `recurrence.overrides[0].start`, in quotes."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return f'"{text}"'


def join_or(options: Iterable[str]) -> str:
    """`a, b or c`."""
    items = list(options)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def timezone_problem(name: str) -> str | None:
    """Why `name` cannot be a meeting's time zone, or None when it can."""
    if not is_valid_iana(name):
        return f"unknown time zone {quote(name)}{did_you_mean(name, iana_names())}"
    try:
        to_windows(name)
    except ValueError:
        return f"time zone {quote(name)} has no Windows equivalent, so Exchange cannot use it"
    return None


def local_time_problem(value: datetime, timezone: str) -> str | None:
    """Why the wall time `value` is doubtful in `timezone` (a valid IANA name), or None.

    On the day daylight saving starts some wall times do not exist (the clocks jump over them);
    on the day it ends some happen twice. Exchange then decides which instant is meant, which a
    reviewer cannot see in the plan.
    """
    zone = ZoneInfo(timezone)
    first, second = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    before, after = first.utcoffset(), second.utcoffset()
    if before is None or after is None or before == after:
        return None
    shift = format_minutes(abs(int((after - before).total_seconds() // 60)))
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        return f"does not exist in {timezone}: daylight saving moves the clocks forward by {shift} at that time"
    return f"happens twice in {timezone}: daylight saving moves the clocks back by {shift} at that time"
