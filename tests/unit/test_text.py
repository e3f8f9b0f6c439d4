"""User text reaches reviewers' terminals and comments visible, never interpreted."""

from __future__ import annotations

import pytest

from reconciler.text import hidden_characters, visible


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("X\x07\x1b[31mRED", "X\\x07\\x1b[31mRED"),
        ("a\x1b]0;title\x07b", "a\\x1b]0;title\\x07b"),
        ("invoice\u202egnp.exe", "invoice\\u202egnp.exe"),
        ("one\u2028two\u2029three\x85four", "one\\u2028two\\u2029three\\x85four"),
        ("tab\there\rcr", "tab\\x09here\\x0dcr"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
    ],
)
def test_controls_escapes_bidi_overrides_and_line_separators_are_written_as_escapes(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_ordinary_text_in_any_script_and_line_breaks_are_left_alone() -> None:
    text = "Réunion d'équipe 週例会 — Agenda:\n- item ✓"
    assert visible(text) == text
    assert hidden_characters(text) == []


def test_the_hidden_characters_of_a_value_are_listed_once_each_in_order() -> None:
    assert hidden_characters("a\x1b[1m\x1b[0m\u202e") == ["\\x1b", "\\u202e"]
