"""`meetings import --drift`: edits people made in Outlook to managed meetings, written back into
the meeting files (ruamel.yaml round trip: comments, key order, quoting and layout of everything
else stay as they are), so the team accepts them in a pull request instead of reverting them.

The edits come from a plan made with `policy.drift: revert`: every field of a change listed in
`Change.drift` differs from git because someone changed it outside git, and its `before` is the
value the calendar holds now. Each such field becomes the smallest edit of the file:

* `subject`, `location`, `show_as`, `sensitivity`, `importance`, `online_meeting`,
  `response_requested`, `allow_new_time_proposals`, `hide_attendees`: the key's value (quoting kept);
* `start` / `end`: `start`, and `duration` or `end`, whichever the file uses;
* `required`, `optional`, `rooms`, `categories`: the list edited in place (entries that stay keep
  their place and spelling, a `@group` stays while all its members do, new entries go last);
* `reminder_minutes`: `reminder`.

Fields the file says in a shape that cannot be edited this simply (`body`, `timezone`, `all_day`,
`recurrence`, `skip`, `overrides`, `protect`) are not written back: they are reported, and the
plan still reverts them.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.formatting import round_trip_yaml
from reconciler.loading.values import format_minutes
from reconciler.model import Meeting
from reconciler.plan import Plan
from reconciler.state import FieldValue, wall_json

_SCALARS = {
    "subject": "subject",
    "location": "location",
    "show_as": "show_as",
    "sensitivity": "sensitivity",
    "importance": "importance",
    "online_meeting": "online_meeting",
    "response_requested": "response_requested",
    "allow_new_time_proposals": "allow_new_time_proposals",
    "hide_attendees": "hide_attendees",
}
_LISTS = {"required": ("attendees", "required"), "optional": ("attendees", "optional"), "rooms": ("rooms",)}
WRITABLE = frozenset({*_SCALARS, *_LISTS, "categories", "start", "end", "reminder_minutes"})
#: Where a key goes when the file does not have it yet: after the last of these it has.
_ORDER = ("id", "organizer", "subject", "all_day", "start", "duration", "end", "timezone", "recurrence",
          "attendees", "rooms", "location", "online_meeting", "body", "body_format", "reminder", "show_as",
          "sensitivity", "importance", "categories", "response_requested", "allow_new_time_proposals",
          "hide_attendees")  # fmt: skip


@dataclass(frozen=True)
class FileEdit:
    """A meeting file with Outlook's edits written in: its new text and what changed, by meeting."""

    path: Path
    text: str
    fields: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class NotWrittenBack:
    """Edits made outside git that the file cannot take this simply (the plan still reverts them)."""

    meeting_id: str
    fields: tuple[str, ...]


def drift_edits(
    plan: Plan, meetings: Sequence[Meeting], groups: Mapping[str, Sequence[str]], root: Path
) -> tuple[list[FileEdit], list[NotWrittenBack]]:
    """The file edits that take every writable drifted field of `plan` into git (meeting sources
    are relative to `root`, the repository's)."""
    by_id = {m.id: m for m in meetings}
    wanted: dict[Path, dict[str, dict[str, FieldValue]]] = {}
    skipped: list[NotWrittenBack] = []
    for change in plan.changes:
        meeting = by_id.get(change.meeting_id)
        if not change.drift or meeting is None or meeting.source is None:
            continue
        values = {f.name: f.before for f in change.fields if f.name in change.drift}
        rest = tuple(sorted(n for n in values if n not in WRITABLE))
        if rest:
            skipped.append(NotWrittenBack(change.meeting_id, rest))
        writable = {n: v for n, v in values.items() if n in WRITABLE}
        if writable:
            wanted.setdefault(root / meeting.source.path, {})[meeting.id] = writable
    edits = []
    for path, by_meeting in sorted(wanted.items()):
        text = edit_text(path.read_text(encoding="utf-8"), by_meeting, groups)
        edits.append(FileEdit(path, text, {i: tuple(sorted(v)) for i, v in by_meeting.items()}))
    return edits, skipped


def edit_text(
    text: str, by_meeting: Mapping[str, Mapping[str, FieldValue]], groups: Mapping[str, Sequence[str]]
) -> str:
    """`text` (one or more YAML documents) with the canonical `values` of each meeting id written in."""
    yaml = round_trip_yaml()
    documents = list(yaml.load_all(text))
    for document in documents:
        values = by_meeting.get(str(document.get("id"))) if hasattr(document, "get") else None
        if values:
            _edit(document, values, groups)
    out = io.StringIO()
    yaml.dump_all(documents, out)
    written = out.getvalue()
    if text.startswith("---") and not written.startswith("---"):
        written = "---\n" + written
    return written


def _edit(document: Any, values: Mapping[str, FieldValue], groups: Mapping[str, Sequence[str]]) -> None:
    for name, value in values.items():
        if name in _SCALARS:
            _set(document, _SCALARS[name], value)
        elif name in _LISTS and isinstance(value, tuple):
            *parents, key = _LISTS[name]
            holder = document
            for parent in parents:
                if parent not in holder:
                    from ruamel.yaml.comments import CommentedMap

                    _set(holder, parent, CommentedMap())
                holder = holder[parent]
            _set_list(holder, key, [str(a) for a in value], groups)
        elif name == "categories" and isinstance(value, tuple):
            _set_list(document, "categories", [str(c) for c in value], {})
        elif name == "reminder_minutes" and (value is None or isinstance(value, int)):
            _set(document, "reminder", "none" if value is None else format_minutes(value))
    if "start" in values or "end" in values:
        _times(document, values)


def _times(document: Any, values: Mapping[str, FieldValue]) -> None:
    """Write a moved start and end in the file's notation (`start` with `duration`, or with `end`)."""
    start = _file_time(values["start"]) if "start" in values else document.get("start")
    if "start" in values:
        _set(document, "start", start)
    if "end" not in values:
        return
    end = _file_time(values["end"])
    if "duration" in document and "T" in str(start):
        minutes = int((datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds() // 60)
        _set(document, "duration", format_minutes(minutes))
    else:
        _set(document, "end", end)


def _file_time(value: FieldValue) -> FieldValue:
    """A start or end as the file writes it: `2026-12-05T11:00`, or the date of an all-day meeting."""
    return wall_json(value) if isinstance(value, datetime) else value


def _set(mapping: Any, key: str, value: Any) -> None:
    """Set `key`, keeping the old value's quoting style; a new key goes in the file format's order."""
    old = mapping.get(key)
    if isinstance(value, str) and isinstance(old, str) and type(old) is not str:
        value = type(old)(value)  # a quoted scalar stays quoted the same way
    if key in mapping:
        mapping[key] = value
        return
    before = _ORDER[: _ORDER.index(key)] if key in _ORDER else tuple(mapping)
    position = max((i + 1 for i, k in enumerate(mapping) if k in before), default=len(mapping))
    mapping.insert(position, key, value)


def _set_list(mapping: Any, key: str, addresses: Iterable[str], groups: Mapping[str, Sequence[str]]) -> None:
    """Edit the list in place: entries that stay keep their place, new ones are appended."""
    new = [str(a) for a in addresses]
    wanted = {a.lower() for a in new}
    current = mapping.get(key)
    if current is None:
        _set(mapping, key, new)
        return
    covered: set[str] = set()
    for index in reversed(range(len(current))):
        entry = str(current[index])
        members = {m.lower() for m in groups.get(entry[1:], ())} if entry.startswith("@") else {entry.lower()}
        if members and members <= wanted:
            covered |= members
        else:
            del current[index]
    current.extend(a for a in new if a.lower() not in covered)
