"""The ownership marker, the last-applied record and fingerprints of lossy fields (pure).

Every managed item carries three single-value string properties (see `model.PROP_*`): our
namespace, the meeting id and the last-applied record. The record is canonical JSON of the fields
we wrote plus fingerprints of lossy fields. Exchange hands bodies back rewritten (wrapped in an
HTML document, entities and whitespace changed), so a body is compared by the fingerprint of its
normalised text: if the server's body still has the fingerprint we recorded, nobody changed it and
it reads back as the exact text of the file; otherwise it was edited outside git (drift).

Fingerprints are computed from what we send, not read back after the write: reading back would
need a second write to store them, and on Graph any write may mail every attendee.

An online (Teams) meeting's body also holds a join block that Exchange appends to it: the join
link, dial-in numbers and conference id between two rules of underscores (the documented markup is
in `tests/wire/real/graph/create-online-meeting-teams.json`). That block is the server's, not ours:
`body_text` leaves it out, so neither the fingerprint nor the drift text sees it, and
`keep_join_block` carries it over into a body we write, since removing it disables the meeting's
join information.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from reconciler.model import PROP_LAST_APPLIED, PROP_MEETING_ID, PROP_NAMESPACE, BodyFormat
from reconciler.state import MeetingState, StateJson, from_json, to_json

RECORD_VERSION = 1
_TRANSACTION_NAMESPACE = uuid.UUID("6b1f4c0e-22c7-4d8e-9a0b-5d3f2e9a7c41")


def marker_properties(namespace: str, meeting_id: str, state: MeetingState) -> dict[str, str]:
    """The three ownership properties, by name, for an item holding `state`."""
    return {
        PROP_NAMESPACE: namespace,
        PROP_MEETING_ID: meeting_id,
        PROP_LAST_APPLIED: encode_record(state),
    }


def encode_record(state: MeetingState) -> str:
    """Canonical JSON of the last-applied record for `state` (its JSON form, `state.to_json`)."""
    record = {
        "v": RECORD_VERSION,
        "fields": to_json(state),
        "fingerprints": {"body": body_fingerprint(render_body(state)[1])},
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode_record(text: str | None) -> tuple[MeetingState | None, dict[str, str]]:
    """(state, fingerprints) of a record; (None, {}) when missing, unreadable (its fields are not a
    meeting state, `state.from_json`) or of a newer version."""
    found = _read_record(text) if text else None
    return (found.state, dict(found.fingerprints)) if found is not None else (None, {})


@dataclass(frozen=True)
class _Record:
    """A readable record: its fields as written (JSON), as a state, and its fingerprints."""

    fields: StateJson
    state: MeetingState
    fingerprints: Mapping[str, str]


@functools.lru_cache(maxsize=64)
def _read_record(text: str) -> _Record | None:
    """The record in `text`, None when it is unreadable. Cached: a provider reads the record of
    each item twice (its time zone first, then the fields), and only the text identifies it."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("v") != RECORD_VERSION or not isinstance(record.get("fields"), dict):
        return None
    # A field added after a record was written reads as its default, so such records still read.
    fields = _DEFAULTED_FIELDS | record["fields"]
    try:
        state = from_json(fields)
    except ValueError:
        return None
    fingerprints = record.get("fingerprints")
    return _Record(fields, state, dict(fingerprints) if isinstance(fingerprints, dict) else {})


#: The JSON of every field with a default (all but subject, start, end and timezone), as defaulted.
_DEFAULTED_FIELDS: StateJson = {
    name: value
    for name, value in to_json(
        MeetingState(subject="", start=date(2000, 1, 1), end=date(2000, 1, 2), timezone="UTC")
    ).items()
    if name not in ("subject", "start", "end", "timezone")
}


def render_body(state: MeetingState) -> tuple[str, str]:
    """(content type `text`|`html`, content) to send for the state's body."""
    return render_text(state.body, state.body_format)


@functools.lru_cache(maxsize=256)
def render_text(body: str, body_format: BodyFormat) -> tuple[str, str]:
    """(content type `text`|`html`, content) to send for `body` written in `body_format`.

    Remembered for the last bodies: a write renders its body for the item and again for the
    record's fingerprint, and Markdown rendering is most of a sandbox create's own time.
    """
    if body_format is BodyFormat.TEXT:
        return "text", body
    if body_format is BodyFormat.HTML:
        return "html", body
    return "html", _markdown().render(body) if body else ""


@functools.cache
def _markdown() -> Any:
    """The CommonMark renderer, built once: building one costs more than rendering a body."""
    from markdown_it import MarkdownIt  # imported here: only writes need it

    return MarkdownIt("commonmark")


_HEAD = re.compile(r"<head\b.*?</head>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
#: The join block in visible text: from a rule of underscores to the last one, naming Teams.
_JOIN_TEXT = re.compile(r"_{30,}.*_{30,}", re.DOTALL)
_JOIN_MARK = re.compile(r"Microsoft Teams|teams\.microsoft\.com", re.IGNORECASE)
#: The join block in HTML: the elements holding the first and the last rule, and all between.
_JOIN_RULE = r"<div\b[^>]*>\s*<span\b[^>]*>\s*_{30,}\s*</span>\s*</div>"
_JOIN_HTML = re.compile(_JOIN_RULE + r".*" + _JOIN_RULE, re.IGNORECASE | re.DOTALL)


def _without_join_block(text: str) -> str:
    block = _JOIN_TEXT.search(text)
    if block is None or _JOIN_MARK.search(block.group()) is None:
        return text
    return text[: block.start()] + " " + text[block.end() :]


def body_text(content: str) -> str:
    """The visible text of a body, HTML or plain: tags dropped, entities decoded, whitespace
    collapsed, and a server-added Teams join block left out."""
    without_head = _HEAD.sub(" ", content)
    text = html.unescape(_TAG.sub(" ", without_head))
    return _SPACE.sub(" ", _without_join_block(text)).strip()


def join_block(server_body: str) -> str | None:
    """The HTML of the Teams join block in a body as the server holds it, None when it has none."""
    found = _JOIN_HTML.search(server_body)
    if found is None or _JOIN_MARK.search(found.group()) is None:
        return None
    return found.group()


def keep_join_block(content_type: str, content: str, server_body: str) -> tuple[str, str]:
    """(content type, content) to write so that the server's join block survives a body change:
    our content followed by the block (a text body becomes HTML to carry it). Unchanged when the
    server's body has no block. The visible text, hence the fingerprint, stays that of `content`."""
    block = join_block(server_body)
    if block is None:
        return content_type, content
    if content_type == "text":
        content = html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return "html", f"{content}\r\n{block}"


def body_fingerprint(content: str) -> str:
    """A short stable hash of a body's visible text."""
    return hashlib.sha256(body_text(content).encode()).hexdigest()[:16]


def resolve_observed(
    raw: StateJson, server_body: str, record_text: str | None
) -> tuple[MeetingState, MeetingState | None]:
    """Canonical observed state and the last-applied state of an item.

    `raw` is the wire JSON (`state.to_json` form) of every canonical field the provider could read
    from the server except `body`, `body_format` and `protect`; those come from the record when the
    server's body still has the recorded fingerprint, and from the server's text otherwise (the
    body was edited elsewhere).
    """
    found = _read_record(record_text) if record_text else None
    applied = found.state if found is not None else None
    fields: StateJson = dict(raw)
    if found is not None and found.fingerprints.get("body") == body_fingerprint(server_body):
        fields["body"], fields["body_format"] = found.state.body, found.state.body_format.value
    else:
        fields["body"], fields["body_format"] = body_text(server_body), BodyFormat.TEXT.value
    fields["protect"] = applied.protect if applied is not None else False
    if found is not None and fields == found.fields:
        return found.state, found.state  # untouched since our last write (the common case): parsed once
    return from_json(fields), applied


def transaction_id(namespace: str, organizer: str, meeting_id: str, salt: str) -> str:
    """A deterministic create id: the same plan retrying the same create sends the same id."""
    return str(uuid.uuid5(_TRANSACTION_NAMESPACE, f"{namespace}\n{organizer}\n{meeting_id}\n{salt}"))
