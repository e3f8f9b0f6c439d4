"""`meetings import`: an unmanaged meeting as it was read (`port.UnmanagedMeeting`) -> one meeting
file in the project's own format (pure; the command in `cli` lists, filters, checks and writes).

This is the one module that maps the canonical meeting state (`ObservedMeeting.fields`, a mapping
today) to YAML; the only other readers of that shape added with it are `adoption.match_key` and
`adoption.with_file_body` (and `calendar_import`'s field-by-field check), so a typed state converts
here and in those two functions.

What a generated file holds (the loader reading it back yields the item's canonical fields, which
`cli` checks before writing, so a plan right after the import shows an `adopt` with no field
changes):

* `id` from the subject (lower-case words joined by `-`), made unique against the repository's
  ids and the files written in the same run (`-2`, `-3`, ...);
* the start in the meeting's own IANA zone, `duration` when the meeting starts and ends on the
  same wall-clock day (else `end`), `all_day` meetings as dates;
* `recurrence` with `skip` (cancelled occurrences) and `overrides` (changed ones);
* `@group` where a list of attendees is exactly a group of `reconciler.yaml`; rooms as `rooms`;
* the body as Markdown when it is simple HTML (paragraphs, line breaks, bold, italic, links and
  lists) whose text survives the round trip, else `body_format: html` (or `text`); a Teams join
  block that Exchange added is left out (it is the server's, see `ownership`);
* every other field only where it differs from what the loader would assume without it.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar

from reconciler.config import Defaults
from reconciler.loading.values import format_minutes
from reconciler.model import BodyFormat
from reconciler.ownership import body_fingerprint, join_block, render_text
from reconciler.port import UnmanagedMeeting
from reconciler.state import MeetingState, StateJson, to_json

#: A meeting file's YAML mapping as written (the file format; built from the state's JSON form).
YamlMapping = dict[str, Any]

_ENUM_DEFAULTS = {"show_as": "busy", "sensitivity": "normal", "importance": "normal"}
_FLAG_DEFAULTS = {"response_requested": True, "allow_new_time_proposals": True, "hide_attendees": False}


@dataclass(frozen=True)
class ImportFilter:
    """Which unmanaged meetings an import takes: all of them, narrowed by each option given."""

    since: date | None = None
    subject: re.Pattern[str] | None = None
    attendee: str | None = None
    series_only: bool = False

    def accepts(self, found: UnmanagedMeeting) -> bool:
        fields = found.meeting.fields
        if self.series_only and fields.recurrence is None:
            return False
        if self.subject is not None and self.subject.search(fields.subject) is None:
            return False
        if self.attendee is not None and self.attendee.lower() not in _people(fields):
            return False
        ends = found.meeting.ends_at_utc
        return self.since is None or ends is None or ends.date() >= self.since


@dataclass(frozen=True)
class ImportedMeeting:
    """One meeting file to write: its id, the file name, its YAML text and the item it describes."""

    meeting_id: str
    file_name: str
    text: str
    item_id: str


def _people(fields: MeetingState) -> frozenset[str]:
    return frozenset(a.lower() for a in (*fields.required, *fields.optional, *fields.rooms))


def slug(subject: str) -> str:
    """The id a subject suggests: lower-case ASCII words joined by `-` (`meeting` when none)."""
    words = re.findall(r"[a-z0-9]+", subject.lower())
    return "-".join(words)[:60].strip("-") or "meeting"


def unique_id(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... : the first not in `taken` (which then holds it)."""
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    taken.add(candidate)
    return candidate


def import_meetings(
    found: Iterable[UnmanagedMeeting],
    *,
    taken_ids: Iterable[str],
    groups: Mapping[str, Sequence[str]],
    defaults: Defaults,
    prefix: str = "",
) -> list[ImportedMeeting]:
    """One file per meeting, in start order; ids unique against `taken_ids` and each other."""
    taken = set(taken_ids)
    out = []
    for item in sorted(found, key=lambda f: (f.meeting.starts_at_utc, f.meeting.item_id)):
        meeting_id = unique_id(prefix + slug(item.meeting.fields.subject), taken)
        document = meeting_document(item, meeting_id, groups=groups, defaults=defaults)
        out.append(
            ImportedMeeting(meeting_id, meeting_id.replace("/", "-") + ".yaml", dump(document), item.meeting.item_id)
        )
    return out


def meeting_document(
    found: UnmanagedMeeting, meeting_id: str, *, groups: Mapping[str, Sequence[str]], defaults: Defaults
) -> YamlMapping:
    """The meeting file's mapping, keys in the file format's order (`formatting._MEETING_KEYS`).
    The file is written from the state's JSON form, which is the file format's own notation."""
    fields = to_json(found.meeting.fields)
    doc: YamlMapping = {"id": meeting_id, "organizer": found.meeting.organizer, "subject": fields["subject"]}
    doc.update(_times(fields["start"], fields["end"], bool(fields["all_day"])))
    doc["timezone"] = fields["timezone"]
    if fields.get("recurrence"):
        doc["recurrence"] = _recurrence(fields, groups)
    attendees = {key: _with_groups(fields[key], groups) for key in ("required", "optional") if fields.get(key)}
    if attendees:
        doc["attendees"] = attendees
    if fields.get("rooms"):
        doc["rooms"] = list(fields["rooms"])
    if fields.get("location"):
        doc["location"] = fields["location"]
    if bool(fields.get("online_meeting")) != defaults.online_meeting:
        doc["online_meeting"] = bool(fields.get("online_meeting"))
    doc.update(_body(found, defaults))
    if fields.get("reminder_minutes") != defaults.reminder_minutes:
        minutes = fields.get("reminder_minutes")
        doc["reminder"] = "none" if minutes is None else format_minutes(int(minutes))
    for key, default in _ENUM_DEFAULTS.items():
        if fields.get(key, default) != default:
            doc[key] = fields[key]
    if fields.get("categories"):
        doc["categories"] = list(fields["categories"])
    for key, flag in _FLAG_DEFAULTS.items():
        if bool(fields.get(key, flag)) != flag:
            doc[key] = bool(fields[key])
    return doc


def _times(start: str, end: str, all_day: bool) -> YamlMapping:
    """`start` with `duration` when start and end fall on one wall-clock day, else with `end`."""
    if all_day:
        times: YamlMapping = {"all_day": True, "start": date.fromisoformat(start[:10])}
        days = (date.fromisoformat(end[:10]) - date.fromisoformat(start[:10])).days
        return times | ({"duration": f"{days}d"} if days != 1 else {})
    begins, ends = datetime.fromisoformat(start), datetime.fromisoformat(end)
    if begins.date() == ends.date() and ends > begins:
        return {"start": start, "duration": format_minutes(int((ends - begins).total_seconds() // 60))}
    return {"start": start, "end": end}


def _recurrence(fields: StateJson, groups: Mapping[str, Sequence[str]]) -> YamlMapping:
    pattern = fields["recurrence"]
    out: YamlMapping = {"every": pattern["every"]}
    if pattern.get("interval", 1) != 1:
        out["interval"] = pattern["interval"]
    for key in ("on", "day_of_month", "week_of_month", "month", "until", "count"):
        if pattern.get(key) not in (None, []):
            out[key] = pattern[key]
    if pattern["every"] == "week" and pattern.get("first_day_of_week", "monday") != "monday":
        out["first_day_of_week"] = pattern["first_day_of_week"]
    if fields.get("skip"):
        out["skip"] = list(fields["skip"])
    overrides = [_override(o, bool(fields["all_day"]), groups) for o in fields.get("overrides") or []]
    if overrides:
        out["overrides"] = overrides
    return out


def _override(change: StateJson, all_day: bool, groups: Mapping[str, Sequence[str]]) -> YamlMapping:
    out: YamlMapping = {"date": change["date"]}
    if "start" in change:
        if all_day:
            out["start"], out["end"] = change["start"], change["end"]
        else:
            out.update(_times(change["start"], change["end"], False))
    for key in ("subject", "location", "body"):
        if key in change:
            out[key] = change[key]
    people = {key: _with_groups(change[key], groups) for key in ("required", "optional") if key in change}
    if people:
        out["attendees"] = people
    return out


def _with_groups(addresses: Sequence[str], groups: Mapping[str, Sequence[str]]) -> list[str]:
    """`["@name"]` when the list is exactly a configured group, else the addresses."""
    wanted = frozenset(a.lower() for a in addresses)
    for name, members in sorted(groups.items()):
        if frozenset(m.lower() for m in members) == wanted:
            return [f"@{name}"]
    return list(addresses)


def _body(found: UnmanagedMeeting, defaults: Defaults) -> YamlMapping:
    """The body keys: Markdown when the HTML is simple and its text survives, else html or text."""
    content = found.body
    if found.body_type != "html":
        text = content.strip()
        return {"body": text, "body_format": "text"} if text else {}
    block = join_block(content)
    inner = _inner_html(content.replace(block, "") if block else content)
    if not _visible(inner):
        return {}
    markdown = html_to_markdown(inner)
    if markdown is not None:
        rendered = render_text(markdown, BodyFormat.MARKDOWN)[1]
        if body_fingerprint(rendered) == body_fingerprint(inner):
            return {"body": markdown} | ({"body_format": "markdown"} if defaults.body_format != "markdown" else {})
    return {"body": inner, "body_format": "html"}


_BODY = re.compile(r"<body\b[^>]*>(.*)</body>", re.IGNORECASE | re.DOTALL)


def _inner_html(content: str) -> str:
    """What is inside `<body>` (the whole text when there is no body element), trimmed."""
    found = _BODY.search(content)
    return (found.group(1) if found else content).strip()


def _visible(content: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", content))).strip()


class _Markdown(HTMLParser):
    """Simple HTML -> Markdown; `simple` turns False at the first element it does not know."""

    _BLOCKS = frozenset({"p", "div"})
    _INLINE: ClassVar[dict[str, str]] = {"strong": "**", "b": "**", "em": "*", "i": "*"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.simple = True
        self.blocks: list[str] = []
        self.line: list[str] = []
        self.lists: list[str] = []
        self.href: str | None = None

    def _flush(self) -> None:
        text = "".join(self.line).strip()
        if text:
            self.blocks.append(text)
        self.line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS or tag in ("ul", "ol"):
            self._flush()
            if tag in ("ul", "ol"):
                self.lists.append(tag)
        elif tag == "li" and self.lists:
            self._flush()
            self.line.append("- " if self.lists[-1] == "ul" else "1. ")
        elif tag == "br":
            self.line.append("\\\n")
        elif tag in self._INLINE:
            self.line.append(self._INLINE[tag])
        elif tag == "a" and dict(attrs).get("href"):
            self.href = dict(attrs)["href"]
            self.line.append("[")
        elif tag != "span":
            self.simple = False

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCKS or tag == "li":
            self._flush()
        elif tag in ("ul", "ol") and self.lists:
            self._flush()
            self.lists.pop()
        elif tag in self._INLINE:
            self.line.append(self._INLINE[tag])
        elif tag == "a" and self.href is not None:
            self.line.append(f"]({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        text = re.sub(r"\s+", " ", data)
        if re.search(r"[\\`*_\[\]<>#]", text):
            self.simple = False
        self.line.append(text)


def _is_item(block: str) -> bool:
    return block.startswith(("- ", "1. "))


def html_to_markdown(content: str) -> str | None:
    """Markdown for simple HTML (see `_Markdown`), None when the HTML is not simple."""
    parser = _Markdown()
    parser.feed(content)
    parser.close()
    parser._flush()
    if not parser.simple:
        return None
    # List items are one block each: consecutive items join tightly, other blocks with a blank line.
    out: list[str] = []
    for previous, block in zip(["", *parser.blocks], parser.blocks, strict=False):
        if out:
            out.append("\n" if _is_item(previous) and _is_item(block) else "\n\n")
        out.append(block)
    return "".join(out) + "\n" if out else None


def dump(document: YamlMapping) -> str:
    """YAML text of one meeting document, in the layout `meetings fmt` writes."""
    from ruamel.yaml import YAML  # imported here: only import needs it
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    def node(value: Any, key: str = "") -> Any:
        if isinstance(value, Mapping):
            mapping = CommentedMap()
            for k, v in value.items():
                mapping[k] = node(v, k)
            return mapping
        if isinstance(value, list):
            seq = CommentedSeq(node(v) for v in value)
            if key in ("required", "optional", "rooms", "on", "skip", "categories") and all(
                isinstance(v, str) for v in value
            ):
                seq.fa.set_flow_style()
            return seq
        if isinstance(value, str) and "\n" in value:
            return LiteralScalarString(value)
        return value

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(node(document), out)
    return out.getvalue()
