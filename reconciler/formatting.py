"""`meetings fmt`: meeting files rewritten into the canonical layout, comments kept.

The canonical layout of a meeting document (what `format_text` produces):

* keys in the order of the file format (docs/architecture.md section 8 and `schemas/meeting.schema.json`): `id`,
  `organizer`, `subject`, the time keys, `recurrence`, people, place, body, organizer-only fields,
  lifecycle keys; inside `recurrence`, `attendees` and each override likewise; a key the format does
  not know keeps its place after the known ones (validation reports it anyway);
* durations (`duration`, `reminder`) in their shortest form: `90m` -> `1h30m`, `60m` -> `1h`;
* quoting: single-quoted strings become double-quoted, other quotes are kept as written (a quoted
  `"yes"` stays quoted for YAML 1.1 readers); indentation two spaces, list items under their key;
* comments stay attached to the line they follow, so a comment moves with its key.

It is a ruamel.yaml round trip: flow lists stay flow lists, block scalars stay block scalars.
`format_files` also proves that the layout changed no meaning: it loads the formatted files with the
real loader and compares every meeting with the meeting the original files declare, and raises
`FormatError` when anything differs, so a formatter bug can never reach a calendar.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import MeetingsError
from reconciler.loading.values import format_minutes, parse_minutes

if TYPE_CHECKING:
    from reconciler.config import Config
    from reconciler.model import Meeting

_MEETING_KEYS = (
    "id",
    "organizer",
    "subject",
    "all_day",
    "start",
    "duration",
    "end",
    "timezone",
    "recurrence",
    "attendees",
    "rooms",
    "location",
    "online_meeting",
    "body",
    "body_format",
    "reminder",
    "show_as",
    "sensitivity",
    "importance",
    "categories",
    "response_requested",
    "allow_new_time_proposals",
    "hide_attendees",
    "protect",
    "release",
    "cancelled",
    "moved_from",
)
_RECURRENCE_KEYS = (
    "every",
    "interval",
    "on",
    "day_of_month",
    "week_of_month",
    "month",
    "until",
    "count",
    "first_day_of_week",
    "skip",
    "overrides",
)
_OVERRIDE_KEYS = ("date", "start", "duration", "end", "subject", "location", "body", "attendees")
_ATTENDEE_KEYS = ("required", "optional")
_DURATION_KEYS = frozenset({"duration", "reminder"})


class FormatError(MeetingsError):
    """Formatting would change what a file means (a bug in the formatter, never the user's)."""


@dataclass(frozen=True)
class FormattedFile:
    """One meeting file: where it is, as shown to the user, its text now and formatted."""

    path: Path
    display: str
    original: str
    formatted: str

    @property
    def changed(self) -> bool:
        return self.original != self.formatted


def round_trip_yaml() -> Any:
    """The ruamel.yaml round-trip loader and dumper of meeting files (also used by `writeback`)."""
    from ruamel.yaml import YAML  # imported here: only fmt needs the round-trip loader

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long subject onto a second line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def format_text(text: str) -> str:
    """`text` (one or more YAML documents) in the canonical layout described in the module docstring."""
    yaml = round_trip_yaml()
    documents = list(yaml.load_all(text))
    for document in documents:
        _arrange(document, _MEETING_KEYS)
    out = io.StringIO()
    yaml.dump_all(documents, out)
    formatted = out.getvalue()
    if text.startswith("---") and not formatted.startswith("---"):
        formatted = "---\n" + formatted
    return formatted


def _arrange(node: Any, order: Sequence[str]) -> None:
    """Put a mapping's keys in `order` (unknown keys after, in their order) and normalise values."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if not isinstance(node, CommentedMap):
        return
    known = [k for k in order if k in node]
    for key in known + [k for k in list(node) if k not in order]:
        node.move_to_end(key)
    for key in list(node):
        value = node[key]
        if isinstance(value, SingleQuotedScalarString):
            node[key] = value = DoubleQuotedScalarString(str(value))
        if key in _DURATION_KEYS and isinstance(value, str) and (minutes := parse_minutes(value)) is not None:
            node[key] = format_minutes(minutes) if type(value) is str else type(value)(format_minutes(minutes))
        elif key == "recurrence":
            _arrange(value, _RECURRENCE_KEYS)
            overrides = value.get("overrides") if isinstance(value, CommentedMap) else None
            for override in overrides if isinstance(overrides, CommentedSeq) else ():
                _arrange(override, _OVERRIDE_KEYS)
                if isinstance(override, CommentedMap) and "attendees" in override:
                    _arrange(override["attendees"], _ATTENDEE_KEYS)
        elif key == "attendees":
            _arrange(value, _ATTENDEE_KEYS)
        if isinstance(value, CommentedSeq):
            for index, item in enumerate(value):
                if isinstance(item, SingleQuotedScalarString):
                    value[index] = DoubleQuotedScalarString(str(item))


def format_files(files: Iterable[tuple[str, str]], config: Config) -> list[FormattedFile]:
    """Every meeting file `(path, display)` formatted, after proving the result means the same.

    `config` is the repository's `Config`; the proof loads the formatted files with the real loader
    (in a temporary copy) and compares each meeting, field by field, with the original's.
    """
    from reconciler.loading import load_meetings

    results = []
    for path, display in files:
        original = Path(path).read_text(encoding="utf-8")
        results.append(FormattedFile(Path(path), display, original, format_text(original)))
    changed = [f for f in results if f.changed]
    if changed:
        before = _meanings(load_meetings(config).meetings)
        with tempfile.TemporaryDirectory(prefix="meetings-fmt-") as scratch:
            root = Path(scratch)
            copy = root / "meetings"
            shutil.copytree(config.meetings_dir, copy, symlinks=False)
            for file in changed:  # listed paths run through links, as the copy does
                (copy / os.path.relpath(file.path, config.meetings_dir)).write_text(file.formatted, encoding="utf-8")
            after = _meanings(load_meetings(replace(config, meetings_dir=copy, root=root)).meetings)
        if after != before:
            differing = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
            raise FormatError(
                f"Formatting would change what {', '.join(differing)} mean(s); no file was written. This is a"
                " bug in meetings fmt: please report it with the file."
            )
    return results


def _meanings(meetings: Iterable[Meeting]) -> dict[str, Meeting]:
    """Each meeting by id, without where it was written (the only thing formatting may move)."""
    return {m.id: replace(m, source=None) for m in meetings}
