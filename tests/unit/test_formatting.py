"""`meetings fmt`'s layout: canonical key order, durations and quotes, comments kept."""

from __future__ import annotations

from reconciler.formatting import format_text

MESSY = """\
# yaml-language-server: $schema=../schemas/meeting.schema.json
subject: 'Platform weekly sync'   # the title
id: platform/weekly-sync
duration: 90m
start: 2026-12-01T10:00
recurrence:
  on: [tuesday]
  every: week
  overrides:
    - subject: Kick-off
      date: 2027-01-05
      duration: 120m
  until: 2027-06-30
attendees:
  optional: [bob@contoso.com]   # Bob only if he can
  required: [alice@contoso.com, '@platform-team']
reminder: 60m
body: |
  Agenda:
  - one
organizer: lead@contoso.com
"""

CANONICAL = """\
# yaml-language-server: $schema=../schemas/meeting.schema.json
id: platform/weekly-sync
organizer: lead@contoso.com
subject: "Platform weekly sync"   # the title
start: 2026-12-01T10:00
duration: 1h30m
recurrence:
  every: week
  on: [tuesday]
  until: 2027-06-30
  overrides:
    - date: 2027-01-05
      duration: 2h
      subject: Kick-off
attendees:
  required: [alice@contoso.com, "@platform-team"]
  optional: [bob@contoso.com]   # Bob only if he can
body: |
  Agenda:
  - one
reminder: 1h
"""


def test_keys_durations_and_quotes_take_the_canonical_layout_and_comments_stay_with_their_lines() -> None:
    assert format_text(MESSY) == CANONICAL


def test_a_formatted_file_is_left_exactly_as_it_is() -> None:
    assert format_text(CANONICAL) == CANONICAL


def test_every_document_of_a_file_is_formatted_and_unknown_keys_keep_their_place_after_known_ones() -> None:
    text = "---\nsubject: A\nid: a/one\nstart: 2026-12-01\nx-note: kept\n---\nstart: 2026-12-02\nid: a/two\n"
    assert format_text(text) == (
        "---\nid: a/one\nsubject: A\nstart: 2026-12-01\nx-note: kept\n---\nid: a/two\nstart: 2026-12-02\n"
    )


def test_quoted_values_that_yaml_1_1_would_read_as_booleans_stay_quoted() -> None:
    text = 'id: a/b\nsubject: "yes"\nstart: 2026-12-01T10:00\ncategories: ["on", Ops]\n'
    assert format_text(text) == text
