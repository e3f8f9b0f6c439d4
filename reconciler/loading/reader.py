"""Reading values out of one schema-checked meeting document, reporting problems where they are.

`DocumentReader` is the shared toolkit of the meeting rules (`meetings`) and the series rules
(`series`): access that stays silent about values the schema already rejected, and the parsers of
times, durations and attendee lists, each reporting its own problems.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reconciler.errors import Diagnostic
from reconciler.loading.values import MINUTES_PER_DAY, did_you_mean, label, normalize_address, parse_minutes, quote
from reconciler.loading.yamldoc import Document, NodePath

if TYPE_CHECKING:
    from reconciler.config import Config

#: Returned for values that are absent (without a default) or were already reported as invalid.
MISSING: Any = object()
_WHEN = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")


def iso(value: datetime | date) -> str:
    """The canonical text of a start or end: `2026-12-01T10:00`, or `2026-12-01` for a date."""
    return value.strftime("%Y-%m-%dT%H:%M") if isinstance(value, datetime) else value.isoformat()


class DocumentReader:
    """One document's values and the problems found in them (`diagnostics`)."""

    def __init__(self, document: Document, display: str, config: Config) -> None:
        self.document, self.display, self.config = document, display, config
        self.raw: dict[str, Any] = document.value if isinstance(document.value, dict) else {}
        self.diagnostics: list[Diagnostic] = []
        #: Located findings that do not make the document invalid.
        self.warnings: list[Diagnostic] = []
        self.bad: set[NodePath] = set(document.unusable)  # paths already reported

    def error(self, path: NodePath, message: str, *, at_key: bool = False) -> None:
        """Report a problem at the value at `path` (or at its key)."""
        pos = self.document.key_pos(path) if at_key else self.document.value_pos(path)
        self.diagnostics.append(Diagnostic(self.display, pos.line, pos.column, message))

    def warn(self, path: NodePath, message: str) -> None:
        """Report a finding at the value at `path` that does not make the document invalid."""
        pos = self.document.value_pos(path)
        self.warnings.append(Diagnostic(self.display, pos.line, pos.column, message))

    def _walk(self, path: NodePath) -> Any:
        node: Any = self.raw
        for part in path:
            in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
            if in_dict or (isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)):
                node = node[part]
            else:
                return MISSING
        return node

    def has(self, *path: str | int) -> bool:
        """Whether the document writes a value at `path`, valid or not."""
        if len(path) == 1:
            return path[0] in self.raw
        return self._walk(path) is not MISSING

    def is_bad(self, path: NodePath) -> bool:
        """Whether the value at `path` (or around it) was already reported as invalid."""
        return bool(self.bad) and any(path[:i] in self.bad for i in range(1, len(path) + 1))

    def get(self, *path: str | int, default: Any = MISSING) -> Any:
        """The value at `path`; `default` when absent, MISSING when already reported as invalid."""
        if not self.bad and len(path) == 1:
            return self.raw.get(str(path[0]), default)
        if self.is_bad(path):
            return MISSING
        node = self._walk(path)
        return default if node is MISSING else node

    def list_at(self, *path: str | int) -> list[Any]:
        """The list at `path`, or an empty one when absent or invalid."""
        value = self.get(*path)
        return value if isinstance(value, list) else []

    # -- time -----------------------------------------------------------------------------------

    def date_at(self, path: NodePath) -> date | None:
        """A `YYYY-MM-DD` value (the schema checked its shape) as a date."""
        text = self.get(*path)
        if not isinstance(text, str):
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.error(path, f"{quote(text)} is not a valid date")
            return None

    def when(self, path: NodePath, all_day: bool) -> datetime | date | None:
        """A start/end value: a date when `all_day`, else a naive minute-precision datetime."""
        text = self.get(*path)
        match = _WHEN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            return None
        year, month, day, hour, minute, second = match.groups()
        try:
            if hour is None:
                value: datetime | date = date(int(year), int(month), int(day))
            else:
                value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
        except ValueError:
            self.error(path, f"{quote(text)} is not a valid {'date' if hour is None else 'date and time'}")
            return None
        if isinstance(value, datetime) and value.second:
            self.error(path, f"{quote(text)} has seconds; use whole minutes like {iso(value)}")
        elif all_day and isinstance(value, datetime):
            self.error(
                path, f"{label(path)} of an all-day meeting must be a date like {value.date()}, not {quote(text)}"
            )
        elif not all_day and not isinstance(value, datetime):
            self.error(path, f"{label(path)} must include a time of day, like {value}T10:00, unless all_day is true")
        else:
            return value
        return None

    def end_at(
        self, base: NodePath, start: datetime | date | None, all_day: bool, default: timedelta | None
    ) -> datetime | date | None:
        """The end given by `end` or `duration` under `base`, else `start + default`; checked against `start`."""
        if self.has(*base, "end") and self.has(*base, "duration"):
            self.error((*base, "duration"), 'give either "end" or "duration", not both', at_key=True)
            return None
        if self.has(*base, "end"):
            end = self.when((*base, "end"), all_day)
            if start is None or end is None:
                return None
            if end <= start:
                relation = "is before" if end < start else "is not after"
                hint = "; the end date of an all-day meeting is exclusive" if all_day and end == start else ""
                self.error((*base, "end"), f"end {iso(end)} {relation} start {iso(start)}{hint}")
                return None
            return end
        length = default
        if self.has(*base, "duration"):
            path = (*base, "duration")
            text = self.get(*path)
            minutes = parse_minutes(text) if isinstance(text, str) else None
            if minutes is None:
                return None
            if minutes == 0:
                self.error(path, f"{label(path)} must be longer than 0 minutes")
                return None
            if all_day and minutes % MINUTES_PER_DAY:
                self.error(path, f"{label(path)} of an all-day meeting must be whole days like 1d, not {quote(text)}")
                return None
            length = timedelta(minutes=minutes)
        if start is None or length is None:
            return None
        try:
            return start + length
        except OverflowError:
            self.error(
                (*base, "start") if self.has(*base, "start") else ("start",), "the meeting ends after the year 9999"
            )
            return None

    # -- people ---------------------------------------------------------------------------------

    def people(self, path: NodePath, organizer: str | None, *, groups_allowed: bool = True) -> list[str] | None:
        """The addresses of one list (groups expanded, lower-cased, checked); None when absent.

        The organizer is exempt from `policy.allowed_domains`: the meeting drops it from its attendees.
        """
        items = self.get(*path)
        if not isinstance(items, list):
            return None
        groups = self.config.groups
        allowed = self.config.policy.allowed_domains
        found: list[str] = []
        for index, item in enumerate(items):
            item_path = (*path, index)
            if self.is_bad(item_path):
                continue
            if item.startswith("@") and groups_allowed:
                members = groups.get(item[1:])
                if members is None:
                    names = [f"@{name}" for name in groups]
                    self.error(item_path, f"unknown group {quote(item)}{did_you_mean(item, names)}")
                    continue
                via = f" (of group {quote(item)})"
            elif item.startswith("@"):
                self.error(item_path, f"{quote(item)} is a group; list room mailboxes here")
                continue
            else:
                address = normalize_address(item)
                if address is None:
                    self.error(item_path, f"{quote(item)} is not a valid e-mail address")
                    continue
                members, via = (address,), ""
            for address in members:
                if allowed and address != organizer and address.rpartition("@")[2] not in allowed:
                    domains = ", ".join(allowed)
                    self.error(item_path, f"{quote(address)}{via} is outside the allowed domains ({domains})")
                found.append(address)
        return found
