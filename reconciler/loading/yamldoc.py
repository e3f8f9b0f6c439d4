"""Safe YAML reading that keeps the position of every key and value.

We compose documents ourselves from ruamel.yaml's parser events instead of using a loader, because the
input is untrusted and every problem must be reported with its line and column:

- no object is ever constructed from a tag: any explicit tag is reported ("YAML tags are not allowed");
- aliases are reported instead of expanded, which rules out "billion laughs" documents;
- nesting deeper than `MAX_DEPTH` is reported once and ends the reading of that file, without recursion;
- duplicate keys are reported at the duplicate and the first value is kept;
- plain scalars resolve by the YAML 1.2 core schema (null, booleans, integers, floats); everything
  else, dates included, stays a string, which is also what editors validating with the JSON Schema see.

ruamel.yaml's C parser (`ruamel.yaml.clib`) is used when installed: it is about 25 times faster than the
pure-Python parser, which matters for repositories with thousands of meeting files.
"""

from __future__ import annotations

import importlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from reconciler.errors import Diagnostic

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 20  # meeting files nest five levels; the pure scanner slows with flow depth

#: Where a value sits in a document: mapping keys and list indexes from the root.
NodePath = tuple[str | int, ...]


class Pos(NamedTuple):
    """A 1-based line and column."""

    line: int
    column: int


def _pos(mark: Any) -> Pos:
    return Pos(mark.line + 1, mark.column + 1)


@dataclass
class Document:
    """One YAML document as plain values, with the position of each value and each key.

    `values[path]` marks where the value at `path` starts; `keys[path]` where the key naming it starts
    (parser marks: 0-based, read through `value_pos` / `key_pos`). `unusable` holds paths whose value
    was replaced by None after a reported problem (an alias, an over-deep structure), so later checks
    stay silent about them.
    """

    value: Any
    start_mark: Any
    values: dict[NodePath, Any] = field(default_factory=dict)
    keys: dict[NodePath, Any] = field(default_factory=dict)
    unusable: set[NodePath] = field(default_factory=set)

    @property
    def start(self) -> Pos:
        """Where the document's content starts."""
        return _pos(self.start_mark)

    def value_pos(self, path: NodePath) -> Pos:
        """Where the value at `path` is, or its nearest written ancestor."""
        while path not in self.values and path:
            path = path[:-1]
        mark = self.values.get(path)
        return _pos(mark) if mark is not None else self.start

    def key_pos(self, path: NodePath) -> Pos:
        """Where the key naming the value at `path` is (the value itself for list items)."""
        mark = self.keys.get(path)
        return _pos(mark) if mark is not None else self.value_pos(path)


@dataclass
class Source:
    """What one file holds: its non-empty documents, where each empty one starts (nothing, only
    comments, or a bare null between `---` lines), and the problems found while reading it."""

    documents: list[Document] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    empty: list[Pos] = field(default_factory=list)
    #: The text holds something besides printable ASCII, tabs and line breaks (so a value may hold a
    #: hidden character worth a warning; most files are plain ASCII and need no closer look).
    beyond_ascii: bool = False


def read_yaml(file: str | Path, display: str) -> Source:
    """Read and compose every document of `file`; `display` is the path written in diagnostics."""
    try:
        # One open, then questions to the open file: a path looked up once, no buffered stream.
        # O_NONBLOCK: opening a FIFO does not wait for a writer (it is refused below).
        descriptor = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
                return _problem(display, 1, 1, "file is not a regular file")
            if status.st_size > MAX_FILE_BYTES:
                return _problem(display, 1, 1, "file is larger than 1 MiB")
            data = _read_all(descriptor, status.st_size)
        finally:
            os.close(descriptor)
    except OSError as error:
        return _problem(display, 1, 1, f"file cannot be read: {error.strerror or error}")
    return parse_yaml(data, display)


def _read_all(descriptor: int, size: int) -> bytes:
    """The file's bytes: one read when it still has the size `fstat` gave; when it has grown, more
    reads until its end or past MAX_FILE_BYTES (which parse_yaml then refuses)."""
    data = os.read(descriptor, size + 1)
    if len(data) <= size:
        return data
    parts, total = [data], len(data)
    while total <= MAX_FILE_BYTES:
        more = os.read(descriptor, MAX_FILE_BYTES + 1 - total)
        if not more:
            break
        parts.append(more)
        total += len(more)
    return b"".join(parts)


def parse_yaml(data: bytes | str, display: str, *, parser: str = "c") -> Source:
    """Compose every document of `data` (bytes are checked to be UTF-8 text first).

    `parser` picks the event source: "pure", ruamel.yaml's YAML 1.2 parser, is the reference; "c" (the
    default) is libyaml through ruamel.yaml.clib, about 25 times faster, used when installed for every
    file it parses without a syntax error; a file it rejects is parsed again by "pure".
    """
    if isinstance(data, bytes):
        if len(data) > MAX_FILE_BYTES:
            return _problem(display, 1, 1, "file is larger than 1 MiB")
        text_or_source = _decode(data, display)
        if isinstance(text_or_source, Source):
            return text_or_source
        text = text_or_source
    else:
        text = data
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line, column = _line_col(text, bad.start())
        code = ord(bad.group())
        return _problem(display, line, column, f"control character U+{code:04X} is not allowed in YAML")
    beyond_ascii = _BEYOND_ASCII.search(text) is not None
    text, restore = _shield_unicode_breaks(text)
    source = Source(beyond_ascii=beyond_ascii)
    if _Composer(text, display, source, parser, restore).run() == "syntax error" and parser == "c" and _C_PARSER:
        # libyaml follows YAML 1.1 in places (a ":" inside a flow-style plain scalar is an error there, as
        # in {start: 2026-12-01T10:00}); the pure parser is the YAML 1.2 reference and has the last word.
        source = Source(beyond_ascii=beyond_ascii)
        _Composer(text, display, source, "pure", restore).run()
    return source


_BEYOND_ASCII = re.compile(r"[^\t\n\r\x20-\x7e]")

#: Line breaks of YAML 1.1 that YAML 1.2 (section 5.4) reads as ordinary characters.
_UNICODE_BREAKS = "\x85\u2028\u2029"


def _shield_unicode_breaks(text: str) -> tuple[str, dict[int, str] | None]:
    """`text` with NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR replaced by private-use characters
    absent from it, and the table that puts them back into scalars (None when there are none).

    Both parsers still break lines at them as YAML 1.1 did, which shifts every later line number and
    can end a comment in the middle; YAML 1.2 says they are content, and so does this.
    """
    present = [c for c in _UNICODE_BREAKS if c in text]
    if not present:
        return text, None
    spare = (chr(code) for code in range(0xF8FF, 0xE000, -1) if chr(code) not in text)
    placeholders = {char: next(spare) for char in present}
    shielded = text.translate({ord(char): stand_in for char, stand_in in placeholders.items()})
    return shielded, {ord(stand_in): char for char, stand_in in placeholders.items()}


def _problem(display: str, line: int, column: int, message: str) -> Source:
    return Source(diagnostics=[Diagnostic(display, line, column, message)])


def _decode(data: bytes, display: str) -> str | Source:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _problem(display, 1, 1, "file is UTF-16 encoded; save it as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        return _problem(display, line, 1, "file is binary (it contains NUL bytes), not YAML text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", "replace")) + 1
        return _problem(display, line, column, f"file is not UTF-8 text (invalid byte 0x{data[error.start]:02x})")


# Characters outside YAML's printable set (YAML 1.2, section 5.1). The BOM is allowed.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _line_col(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _c_parser() -> Callable[[str], Any] | None:
    for module in ("_ruamel_yaml", "_ruamel_yaml_clibz"):
        try:
            parser: Callable[[str], Any] = importlib.import_module(module).CParser
        except ImportError:
            continue
        return parser
    return None


_C_PARSER = _c_parser()
_PURE_YAML = YAML(typ="safe", pure=True)


def parser_names() -> tuple[str, ...]:
    """The event sources available here, fastest first ("c" when ruamel.yaml.clib is installed)."""
    return ("c", "pure") if _C_PARSER is not None else ("pure",)


def _event_source(text: str, parser: str) -> Callable[[], Any]:
    """A function returning the next parser event of `text`, None after the last."""
    if parser == "c" and _C_PARSER is not None:
        get_event: Callable[[], Any] = _C_PARSER(text).get_event  # returns None after StreamEndEvent
        return get_event
    events = _PURE_YAML.parse(text)
    return lambda: next(events, None)


_EXPECT_KEY: Any = object()  # a mapping frame waiting for its next key
_DISCARD: Any = object()  # the next value of this mapping is dropped (duplicate or invalid key)
_PLAIN_STYLES = (None, "")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}


_RESOLVABLE_FIRST = frozenset("0123456789+-.~nNtTfF")


def resolve_plain(value: str) -> Any:
    """A plain scalar's value under the YAML 1.2 core schema; anything else is the string itself."""
    if not value:
        return None
    if value[0] not in _RESOLVABLE_FIRST:  # most scalars: words, addresses
        return value
    if value in _NULLS:
        return None
    boolean = _BOOLS.get(value)
    if boolean is not None:
        return boolean
    try:
        if _INT.fullmatch(value):
            return int(value)
        if value.startswith("0o") and len(value) > 2:
            return int(value[2:], 8)
        if value.startswith("0x") and len(value) > 2:
            return int(value[2:], 16)
        if _FLOAT.fullmatch(value):
            return float(value)
    except ValueError:  # too many digits for int(), or a malformed 0x/0o literal
        return value
    special = _SPECIAL_FLOATS.get(value.lower())
    return float(special) if special else value


class _Frame:
    __slots__ = ("container", "key", "path")

    def __init__(self, container: dict[str, Any] | list[Any], path: NodePath | None) -> None:
        self.container = container
        self.path = path  # None: a detached node (a duplicate's value or a complex key), not recorded
        self.key: Any = _EXPECT_KEY if isinstance(container, dict) else None  # lists take no keys


class _Composer:
    """Turns the event stream of one file into Documents: one flat loop with an explicit stack.

    The loop is written for speed (it runs for every event of every file) and never recurses.
    Positions are kept as the parser's marks and turned into `Pos` only when asked for.
    """

    def __init__(
        self, text: str, display: str, source: Source, parser: str, restore: dict[int, str] | None = None
    ) -> None:
        self.text, self.display, self.source, self.parser = text, display, source, parser
        #: Puts back the characters `_shield_unicode_breaks` stood in for, in every scalar.
        self.restore = restore

    def _report(self, mark: Any, message: str) -> None:
        self.source.diagnostics.append(Diagnostic(self.display, mark.line + 1, mark.column + 1, message))

    def run(self) -> str:
        """Compose the stream: "done", or why it stopped early ("syntax error", "too deep"), reported."""
        next_event = _event_source(self.text, self.parser)
        stack: list[_Frame] = []
        document: Document | None = None
        document_mark: Any = None
        values: dict[NodePath, Any] = {}
        keys: dict[NodePath, Any] = {}
        while True:
            try:
                event = next_event()
            except YAMLError as error:
                self._syntax_error(error)
                return "syntax error"
            except Exception as error:  # a parser crash on garbage must not become a traceback
                message = f"the YAML parser failed on this file ({type(error).__name__})"
                self.source.diagnostics.append(Diagnostic(self.display, 1, 1, message))
                return "syntax error"
            if event is None:
                return "done"
            kind = type(event)
            if kind is ScalarEvent or kind is AliasEvent:
                mark = event.start_mark
                if kind is AliasEvent:
                    self._report(mark, "YAML aliases are not allowed; write the value out")
                    value: Any = None
                else:
                    value = event.value if self.restore is None else event.value.translate(self.restore)
                    if event.tag is not None:
                        self._report(mark, "YAML tags are not allowed")
                    elif event.style in _PLAIN_STYLES:
                        value = resolve_plain(value)
                if not stack:
                    if document is not None:
                        document.value, document.start_mark = value, mark
                        values[()] = mark
                        if kind is AliasEvent:
                            document.unusable.add(())
                    continue
                frame = stack[-1]
                key = frame.key
                if key is _EXPECT_KEY:  # this scalar is a mapping key
                    if kind is AliasEvent:
                        frame.key = _DISCARD
                        continue
                    key = str(event.value)
                    if key in frame.container:
                        first = keys.get((*frame.path, key)) if frame.path is not None else None
                        where = f" (already defined at line {first.line + 1})" if first is not None else ""
                        self._report(mark, f'duplicate key "{key}"{where}')
                        frame.key = _DISCARD
                    else:
                        frame.key = key
                        if frame.path is not None:
                            keys[(*frame.path, key)] = mark
                    continue
                path = self._attach(frame, value)
                if path is not None:
                    values[path] = mark
                    if kind is AliasEvent and document is not None:
                        document.unusable.add(path)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                mark = event.start_mark
                if event.tag is not None:
                    self._report(mark, "YAML tags are not allowed")
                container: Any = {} if kind is MappingStartEvent else []
                if len(stack) >= MAX_DEPTH:
                    # Stop reading the file: the pure parser's scanner slows down quadratically with
                    # flow nesting, and anything said about the remains would be noise.
                    self._report(mark, f"the document is nested more than {MAX_DEPTH} levels deep")
                    return "too deep"
                frame_or_none = stack[-1] if stack else None
                if frame_or_none is None:
                    if document is not None:
                        document.value, document.start_mark = container, mark
                        values[()] = mark
                    path = ()
                elif frame_or_none.key is _EXPECT_KEY:
                    self._report(mark, "mapping keys must be plain strings, not lists or mappings")
                    frame_or_none.key = _DISCARD
                    path = None
                else:
                    path = self._attach(frame_or_none, container)
                    if path is not None:
                        values[path] = mark
                stack.append(_Frame(container, path))
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                stack.pop()
            elif kind is DocumentStartEvent:
                values, keys = {}, {}
                document = Document(value=None, start_mark=event.end_mark, values=values, keys=keys)
                document_mark = event.start_mark
            elif kind is DocumentEndEvent:
                if document is not None and document.value is not None:
                    self.source.documents.append(document)
                elif document is not None and () not in document.unusable:  # an alias was reported
                    self.source.empty.append(_pos(document_mark))
                document = None

    @staticmethod
    def _attach(frame: _Frame, value: Any) -> NodePath | None:
        """Put `value` into the frame's container; its path, or None when the frame is detached."""
        container, parent = frame.container, frame.path
        if isinstance(container, list):
            if parent is None:
                return None
            container.append(value)
            return (*parent, len(container) - 1)
        key, frame.key = frame.key, _EXPECT_KEY
        if key is _DISCARD or parent is None:
            return None
        container[key] = value
        return (*parent, key)

    def _syntax_error(self, error: YAMLError) -> None:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        if mark is None:
            position = getattr(error, "position", 0)
            line, column = _line_col(self.text, position if isinstance(position, int) else 0)
        else:
            line, column = mark.line + 1, mark.column + 1
        lines = self.text.split("\n")
        text_line = lines[line - 1] if line <= len(lines) else ""
        indentation = text_line[: len(text_line) - len(text_line.lstrip(" \t"))]
        if "\t" in indentation and column <= len(indentation) + 1:
            message = "tab characters are not allowed for indentation; use spaces"
        else:
            problem = str(getattr(error, "problem", None) or error).strip()
            context = getattr(error, "context", None)
            message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
        self.source.diagnostics.append(Diagnostic(self.display, line, column, message))
