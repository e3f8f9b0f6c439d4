"""Text that is safe to show: user values made visible instead of interpreted (pure).

A meeting file is written by whoever opens a pull request, and its values reach reviewers'
terminals, pull-request comments and GitHub annotations. A control character, a terminal escape
sequence (`\\x1b[31m` recolours, `\\x1b[2J` clears the screen, `\\x1b]0;...\\x07` retitles the
window), a bidirectional override (U+202E reverses what follows) or a Unicode line separator could
hide or forge plan lines. Every renderer passes user text through `visible`, which writes such
characters as Python-style escapes, so the reviewer sees exactly what is in the file.
"""

from __future__ import annotations

import re
import unicodedata

#: Unicode categories never shown raw: controls, format characters (bidi overrides, zero-width
#: characters), line and paragraph separators, unassigned and private-use code points.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cn", "Co", "Cs"})
_CANDIDATES = re.compile(r"[^\x20-\x7e\n]")


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` with every hidden character (see `_HIDDEN_CATEGORIES`, and tabs) escaped; line breaks
    (`\\n`, and `\\r\\n` as one) are kept as `\\n` for multi-line values, which each renderer lays
    out itself."""
    return _CANDIDATES.sub(
        lambda m: _escape(m.group()) if unicodedata.category(m.group()) in _HIDDEN_CATEGORIES else m.group(),
        text.replace("\r\n", "\n"),
    )


def hidden_characters(text: str) -> list[str]:
    """The escaped forms of the hidden characters in `text`, in order of first appearance; line
    breaks and tabs (ordinary in a body) are not counted."""
    found = (m.group() for m in _CANDIDATES.finditer(text))  # printable ASCII needs no look-up
    hidden = [_escape(c) for c in found if c != "\t" and unicodedata.category(c) in _HIDDEN_CATEGORIES]
    return list(dict.fromkeys(hidden))
