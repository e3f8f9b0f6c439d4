"""Meeting files -> validated meetings, or every problem of every file as file:line:col: message.

Diagnostics are asserted as complete lists of exact texts: a message is part of the user interface.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler import model
from reconciler.config import Config, Defaults, Policy, load_config
from reconciler.errors import ConfigError, InputError
from reconciler.loading import load_meetings
from reconciler.loading.schema import SCHEMAS_DIR, SchemaCheck, schema_check
from reconciler.loading.yamldoc import parse_yaml, parser_names
from reconciler.notices import FileNotRead, Notice
from reconciler.render.notices import word
from reconciler.state import meeting_state, pattern_json, pattern_state, to_json
from tests.factories import declared_changes, declared_override

GROUPS = {
    "platform-team": ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com"),
    "leads": ("dave@contoso.com",),
    "partners": ("eve@fabrikam.com",),
}


def said(warnings: tuple[Notice, ...]) -> tuple[str, ...]:
    """The loader's warnings as validate and plan show them."""
    return tuple(word(w) for w in warnings)


def make_config(tmp_path: Path, **changes: Any) -> Config:
    """A repository at tmp_path with a default organizer and zone, groups, and any other setting."""
    settings: dict[str, Any] = {
        "root": tmp_path,
        "meetings_dir": tmp_path / "meetings",
        "defaults": Defaults(organizer="lead@contoso.com", timezone="Europe/Berlin"),
        "groups": GROUPS,
    }
    return Config(**(settings | changes))


def write(tmp_path: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        path = tmp_path / "meetings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    (tmp_path / "meetings").mkdir(exist_ok=True)


def load(tmp_path: Path, files: Mapping[str, str | bytes], **changes: Any) -> list[model.Meeting]:
    write(tmp_path, files)
    return list(load_meetings(make_config(tmp_path, **changes)).meetings)


def problems(tmp_path: Path, files: Mapping[str, str | bytes], **changes: Any) -> list[str]:
    write(tmp_path, files)
    with pytest.raises(InputError) as caught:
        load_meetings(make_config(tmp_path, **changes))
    return [str(d) for d in caught.value.diagnostics]


def one(tmp_path: Path, text: str, **changes: Any) -> model.Meeting:
    (meeting,) = load(tmp_path, {"m.yaml": text}, **changes)
    return meeting


def fields(meeting: model.Meeting) -> dict[str, Any]:
    return to_json(meeting_state(meeting))


MINIMAL = "id: team/sync\nsubject: Sync\nstart: 2026-12-01T10:00\n"

#: Every key a meeting can have, each with a non-default value (the README's reference without `release`).
FULL_EXAMPLE = """\
id: platform/weekly-sync          # required, unique in the repo: [a-z0-9][a-z0-9._/-]*
organizer: lead@contoso.com       # the mailbox that owns the meeting (default from reconciler.yaml)
subject: Platform weekly sync
start: 2026-12-01T10:00           # local wall time in `timezone`; a date when all_day
duration: 30m                     # or end: 2026-12-01T10:30
timezone: Europe/Berlin           # IANA name (default from reconciler.yaml)
recurrence:                       # optional
  every: week                     # day | week | month | year
  interval: 1
  on: [tuesday]                   # week days (week; month/year with week_of_month)
  until: 2027-06-30               # or count: 20; neither = no end
  skip: [2026-12-22]              # occurrences cancelled by original date
  overrides:                      # occurrences changed by original date
    - date: 2027-01-05
      start: 2027-01-05T11:00
attendees:
  required: [alice@contoso.com, "@platform-team"]   # @name expands a group from reconciler.yaml
  optional: [bob@contoso.com]
rooms: [room-berlin-3@contoso.com]
location: Berlin 3.14
online_meeting: true              # Teams where the backend can make one
body: |
  Agenda in Markdown.
body_format: markdown             # markdown (rendered to HTML) | html | text
reminder: 15m
show_as: busy                     # free | tentative | busy | oof | workingElsewhere
sensitivity: normal
importance: normal
categories: [Platform]
response_requested: true
allow_new_time_proposals: true
hide_attendees: true
protect: true                     # never cancelled unless the file says `cancelled:`
cancelled: "Replaced by the Q1 planning series."   # tombstone: cancel with this text to attendees
moved_from: [platform/sync]       # earlier ids: same meeting, no cancel and re-invite
"""


# -- what a valid repository becomes -------------------------------------------------------------


def test_the_full_example_becomes_one_fully_explicit_meeting(tmp_path: Path) -> None:
    meeting = one(tmp_path, FULL_EXAMPLE)
    assert meeting == model.Meeting(
        id="platform/weekly-sync",
        organizer="lead@contoso.com",
        subject="Platform weekly sync",
        start=datetime(2026, 12, 1, 10, 0),
        end=datetime(2026, 12, 1, 10, 30),
        timezone="Europe/Berlin",
        recurrence=model.Recurrence(
            every=model.Every.WEEK,
            on=(model.Weekday.TUESDAY,),
            until=date(2027, 6, 30),
            skip=(date(2026, 12, 22),),
            overrides=(declared_override(date(2027, 1, 5), {"start": "2027-01-05T11:00", "end": "2027-01-05T11:30"}),),
        ),
        required=("alice@contoso.com", "bob@contoso.com", "carol@contoso.com"),
        rooms=("room-berlin-3@contoso.com",),
        location="Berlin 3.14",
        online_meeting=True,
        body="Agenda in Markdown.\n",
        reminder_minutes=15,
        categories=("Platform",),
        hide_attendees=True,
        protect=True,
        cancelled="Replaced by the Q1 planning series.",
        moved_from=("platform/sync",),
    )
    assert meeting.source == model.SourceLocation("meetings/m.yaml", 1, 1)


def test_the_repository_examples_load(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    meetings = load_meetings(load_config(repo / "reconciler.yaml", env={}, cwd=repo)).meetings
    assert meetings
    assert all(m.source is not None and m.source.path.startswith("meetings/") for m in meetings)


def test_defaults_of_the_configuration_fill_what_the_file_leaves_out(tmp_path: Path) -> None:
    defaults = Defaults(
        organizer="boss@contoso.com",
        timezone="America/New_York",
        duration_minutes=45,
        reminder_minutes=None,
        online_meeting=True,
        body_format="text",
    )
    meeting = one(tmp_path, MINIMAL, defaults=defaults)
    assert (meeting.organizer, meeting.timezone, meeting.end) == (
        "boss@contoso.com",
        "America/New_York",
        datetime(2026, 12, 1, 10, 45),
    )
    assert (meeting.reminder_minutes, meeting.online_meeting, meeting.body_format) == (
        None,
        True,
        model.BodyFormat.TEXT,
    )
    assert (meeting.show_as, meeting.sensitivity, meeting.importance) == (
        model.ShowAs.BUSY,
        model.Sensitivity.NORMAL,
        model.Importance.NORMAL,
    )
    assert (meeting.response_requested, meeting.allow_new_time_proposals, meeting.protect) == (True, True, False)
    assert meeting.hide_attendees is False
    assert (meeting.location, meeting.body, meeting.cancelled, meeting.recurrence) == ("", "", None, None)


def test_the_file_overrides_every_default(tmp_path: Path) -> None:
    meeting = one(
        tmp_path,
        MINIMAL
        + "organizer: Boss@Contoso.com\ntimezone: Asia/Tokyo\nend: 2026-12-01T12:15\nreminder: 1h30m\n"
        + "online_meeting: false\nbody_format: html\nshow_as: tentative\nsensitivity: private\n"
        + "importance: high\nresponse_requested: false\nallow_new_time_proposals: false\n",
        defaults=Defaults(organizer="lead@contoso.com", online_meeting=True),
    )
    assert (meeting.organizer, meeting.timezone, meeting.end, meeting.reminder_minutes) == (
        "boss@contoso.com",
        "Asia/Tokyo",
        datetime(2026, 12, 1, 12, 15),
        90,
    )
    assert (meeting.online_meeting, meeting.body_format, meeting.show_as) == (
        False,
        model.BodyFormat.HTML,
        model.ShowAs.TENTATIVE,
    )
    assert (meeting.sensitivity, meeting.importance) == (model.Sensitivity.PRIVATE, model.Importance.HIGH)
    assert (meeting.response_requested, meeting.allow_new_time_proposals) == (False, False)


@pytest.mark.parametrize(
    "start",
    ["2026-12-01T10:00", '"2026-12-01T10:00"', "2026-12-01 10:00", "2026-12-01T10:00:00", "'2026-12-01 10:00:00'"],
)
def test_a_start_is_read_the_same_however_yaml_types_it(tmp_path: Path, start: str) -> None:
    meeting = one(tmp_path, f"id: a\nsubject: A\nstart: {start}\n")
    assert (meeting.start, meeting.end) == (datetime(2026, 12, 1, 10, 0), datetime(2026, 12, 1, 10, 30))


@pytest.mark.parametrize(("duration", "minutes"), [("30m", 30), ("1h", 60), ("1h30m", 90), ("1d2h", 1560)])
def test_durations_combine_days_hours_and_minutes(tmp_path: Path, duration: str, minutes: int) -> None:
    meeting = one(tmp_path, MINIMAL + f"duration: {duration}\n")
    assert isinstance(meeting.end, datetime) and isinstance(meeting.start, datetime)
    assert meeting.end - meeting.start == timedelta(minutes=minutes)


def test_an_all_day_meeting_has_dates_with_an_exclusive_end(tmp_path: Path) -> None:
    (default, two_days, explicit) = load(
        tmp_path,
        {
            "a.yaml": "id: a\nsubject: A\nall_day: true\nstart: 2027-03-10\n",
            "b.yaml": "id: b\nsubject: B\nall_day: true\nstart: 2027-03-10\nduration: 2d\n",
            "c.yaml": "id: c\nsubject: C\nall_day: true\nstart: 2027-03-10\nend: 2027-03-13\n",
        },
    )
    assert (default.all_day, default.start, default.end) == (True, date(2027, 3, 10), date(2027, 3, 11))
    assert (two_days.start, two_days.end) == (date(2027, 3, 10), date(2027, 3, 12))
    assert (explicit.start, explicit.end) == (date(2027, 3, 10), date(2027, 3, 13))
    assert fields(explicit)["start"] == "2027-03-10"


def test_attendees_are_expanded_lower_cased_sorted_and_each_listed_once(tmp_path: Path) -> None:
    meeting = one(
        tmp_path,
        MINIMAL
        + "organizer: Lead@Contoso.com\n"
        + "attendees:\n"
        + '  required: [Zoe@Contoso.com, "@platform-team", lead@contoso.com, zoe@contoso.com]\n'
        + '  optional: [BOB@contoso.com, "@leads", frank@contoso.com, frank@contoso.com]\n'
        + "rooms: [Room-1@Contoso.com, room-1@contoso.com]\n",
    )
    assert meeting.organizer == "lead@contoso.com"
    assert meeting.required == ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "zoe@contoso.com")
    assert meeting.optional == ("dave@contoso.com", "frank@contoso.com")
    assert meeting.rooms == ("room-1@contoso.com",)


def test_the_remaining_fields_are_read_as_written(tmp_path: Path) -> None:
    meeting = one(
        tmp_path,
        MINIMAL
        + "location: Room 1\nbody: Hello\ncategories: [Platform, Ops, Platform]\nprotect: true\n"
        + "cancelled: true\nmoved_from: [team/old-sync, team/older-sync, team/old-sync]\nreminder: none\n",
    )
    assert (meeting.location, meeting.body, meeting.categories) == ("Room 1", "Hello", ("Platform", "Ops"))
    assert (meeting.protect, meeting.cancelled, meeting.reminder_minutes) == (True, "", None)
    assert meeting.moved_from == ("team/old-sync", "team/older-sync")


@pytest.mark.parametrize(("value", "expected"), [("false", None), ('"Moved to Friday."', "Moved to Friday.")])
def test_cancelled_carries_the_text_for_attendees(tmp_path: Path, value: str, expected: str | None) -> None:
    assert one(tmp_path, MINIMAL + f"cancelled: {value}\n").cancelled == expected


@pytest.mark.parametrize("value", ["~", "none", ""])
def test_an_empty_or_none_reminder_means_no_reminder(tmp_path: Path, value: str) -> None:
    assert one(tmp_path, MINIMAL + f"reminder: {value}\n").reminder_minutes is None


def test_meetings_come_sorted_by_organizer_then_id_from_every_file_and_document(tmp_path: Path) -> None:
    meetings = load(
        tmp_path,
        {
            "b.yaml": MINIMAL.replace("team/sync", "b/one") + "---\n" + MINIMAL.replace("team/sync", "a/two"),
            "nested/deeper/c.yml": MINIMAL.replace("team/sync", "c/three") + "organizer: aaron@contoso.com\n",
            "a.yaml": MINIMAL.replace("team/sync", "z/four"),
        },
    )
    assert [(m.organizer, m.id) for m in meetings] == [
        ("aaron@contoso.com", "c/three"),
        ("lead@contoso.com", "a/two"),
        ("lead@contoso.com", "b/one"),
        ("lead@contoso.com", "z/four"),
    ]
    assert [m.source for m in meetings] == [
        model.SourceLocation("meetings/nested/deeper/c.yml", 1, 1),
        model.SourceLocation("meetings/b.yaml", 5, 1),
        model.SourceLocation("meetings/b.yaml", 1, 1),
        model.SourceLocation("meetings/a.yaml", 1, 1),
    ]


def test_hidden_files_hidden_directories_and_other_extensions_are_ignored(tmp_path: Path) -> None:
    meetings = load(
        tmp_path,
        {
            "a.yaml": MINIMAL,
            ".draft.yaml": "garbage: [",
            ".archive/old.yaml": "garbage: [",
            "notes.md": "garbage: [",
            "b.YAML": MINIMAL.replace("team/sync", "team/b"),
        },
    )
    assert [m.id for m in meetings] == ["team/b", "team/sync"]


def test_an_empty_or_comments_only_file_is_an_error_not_a_cancellation(tmp_path: Path) -> None:
    fix = "the file declares no meeting (it is empty or only comments); delete the file to cancel the meeting, or "
    fix += "write the meeting with `cancelled: <text>`"
    assert problems(tmp_path, {"empty.yaml": "", "comments.yaml": "# nothing yet\n", "ok.yaml": MINIMAL}) == [
        f"meetings/comments.yaml:1:1: {fix}",
        f"meetings/empty.yaml:1:1: {fix}",
    ]


def test_an_empty_document_between_separators_is_an_error_where_it_starts(tmp_path: Path) -> None:
    fix = "delete it and its --- line to cancel the meeting, or write the meeting with `cancelled: <text>`"
    text = "---\n# was team/old\n---\n" + MINIMAL + "---\n~\n---\n"
    assert problems(tmp_path, {"docs.yaml": text}) == [
        f"meetings/docs.yaml:1:1: this YAML document is empty; {fix}",
        f"meetings/docs.yaml:7:1: this YAML document is empty; {fix}",
        f"meetings/docs.yaml:9:1: this YAML document is empty; {fix}",
    ]


def test_files_that_are_not_read_are_named_in_warnings_and_docs_and_hidden_files_are_not(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.yaml": MINIMAL,
            "a.yaml~": MINIMAL,
            "b.json": "{}",
            "team/TODO": "x",
            "team/b.yaml.bak": MINIMAL,
            "README.md": "# Meetings",
            ".gitkeep": "",
            ".drafts/c.yaml": "garbage: [",
        },
    )
    loaded = load_meetings(make_config(tmp_path))
    assert [m.id for m in loaded.meetings] == ["team/sync"]
    assert loaded.warnings == (
        FileNotRead("meetings/a.yaml~"),
        FileNotRead("meetings/b.json"),
        FileNotRead("meetings/team/TODO"),
        FileNotRead("meetings/team/b.yaml.bak"),
    )


def test_hidden_characters_in_a_value_are_a_located_warning_and_ordinary_text_is_not(tmp_path: Path) -> None:
    text = MINIMAL.replace("subject: Sync", 'subject: "X\\x07\\x1b[31mRED"') + (
        'location: "Room\\u202e1"\nbody: "Agenda:\\n\\tindented\\n"\ncategories: ["Ünïcode ✓"]\n'
    )
    write(tmp_path, {"a.yaml": text})
    loaded = load_meetings(make_config(tmp_path))
    assert [m.subject for m in loaded.meetings] == ["X\x07\x1b[31mRED"]
    assert said(loaded.warnings) == (
        'meetings/a.yaml:2:10: "subject" contains hidden characters (\\x07, \\x1b): plans show them escaped;'
        " remove them unless they are intended",
        'meetings/a.yaml:4:11: "location" contains hidden characters (\\u202e): plans show them escaped;'
        " remove them unless they are intended",
    )


def test_a_directory_named_like_a_meeting_file_is_read_as_a_directory(tmp_path: Path) -> None:
    write(tmp_path, {"x.yaml/a.yaml": MINIMAL})
    loaded = load_meetings(make_config(tmp_path))
    assert ([m.id for m in loaded.meetings], loaded.warnings) == (["team/sync"], ())


def test_a_symlinked_directory_under_meetings_is_read_and_shown_through_the_link(tmp_path: Path) -> None:
    (tmp_path / "shared" / "team").mkdir(parents=True)
    (tmp_path / "shared" / "team" / "a.yaml").write_text(MINIMAL + "organizer: nobody\n", encoding="utf-8")
    write(tmp_path, {"b.yaml": MINIMAL.replace("team/sync", "team/b")})
    (tmp_path / "meetings" / "shared").symlink_to(tmp_path / "shared", target_is_directory=True)
    assert problems(tmp_path, {}) == ['meetings/shared/team/a.yaml:4:12: "nobody" is not a valid e-mail address']
    (tmp_path / "shared" / "team" / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    assert [m.id for m in load(tmp_path, {})] == ["team/b", "team/sync"]


def test_a_symlinked_meeting_file_inside_the_repository_is_read(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "sync.yaml").write_text(MINIMAL, encoding="utf-8")
    write(tmp_path, {})
    (tmp_path / "meetings" / "sync.yaml").symlink_to(tmp_path / "templates" / "sync.yaml")
    assert [m.id for m in load(tmp_path, {})] == ["team/sync"]


def test_a_symlink_loop_is_a_located_error_not_a_hang(tmp_path: Path) -> None:
    write(tmp_path, {"team/a.yaml": MINIMAL})
    (tmp_path / "meetings" / "team" / "back").symlink_to("..", target_is_directory=True)
    (tmp_path / "meetings" / "team" / "root").symlink_to(tmp_path, target_is_directory=True)
    assert problems(tmp_path, {}) == [
        "meetings/team/back:1:1: symbolic link loop: it points to meetings, which contains the link",
        "meetings/team/root:1:1: symbolic link loop: it points to ., which contains the link",
    ]


def test_a_link_to_a_directory_read_already_is_an_error_naming_where_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    write(tmp_path, {"team/b.yaml": MINIMAL.replace("team/sync", "team/b")})
    (tmp_path / "meetings" / "again").symlink_to(tmp_path / "meetings" / "team", target_is_directory=True)
    (tmp_path / "meetings" / "one").symlink_to(tmp_path / "shared", target_is_directory=True)
    (tmp_path / "meetings" / "two").symlink_to(tmp_path / "shared", target_is_directory=True)
    assert problems(tmp_path, {}) == [
        "meetings/again:1:1: symbolic link to meetings/team, whose meeting files are read already as meetings;"
        " remove the link",
        "meetings/two:1:1: symbolic link to shared, whose meeting files are read already as meetings/one;"
        " remove the link",
    ]


def test_a_broken_link_and_a_link_out_of_the_repository_are_errors_not_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "team").mkdir(parents=True)
    (outside / "team" / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    repo = tmp_path / "repo"
    (repo / "meetings").mkdir(parents=True)
    (repo / "meetings" / "gone.yaml").symlink_to(repo / "nowhere.yaml")
    (repo / "meetings" / "team").symlink_to(outside / "team", target_is_directory=True)
    (repo / "meetings" / "a.yaml").symlink_to(outside / "team" / "a.yaml")
    with pytest.raises(InputError) as caught:
        load_meetings(make_config(repo))
    real = os.path.realpath(outside)
    fix = "move the files into the repository (a CI checkout holds only those)"
    assert [str(d) for d in caught.value.diagnostics] == [
        f"meetings/a.yaml:1:1: symbolic link to {real}/team/a.yaml, outside the repository; {fix}",
        f"meetings/gone.yaml:1:1: broken symbolic link: {repo}/nowhere.yaml does not exist",
        f"meetings/team:1:1: symbolic link to {real}/team, outside the repository; {fix}",
    ]


def test_a_missing_meetings_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"The meetings directory \".*/nowhere\" does not exist; create it or set"):
        load_meetings(make_config(tmp_path, meetings_dir=tmp_path / "nowhere"))


def test_an_empty_meetings_directory_declares_no_meetings(tmp_path: Path) -> None:
    assert load(tmp_path, {}) == []


# -- every problem, located ------------------------------------------------------------------------


def test_every_problem_of_every_file_is_reported_in_one_run(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        {
            "a.yaml": """\
id: platform/weekly-sync
subjekt: Weekly
start: 2026-12-01T10:00
end: 2026-12-01T09:00
timezone: Europe/Berln
attendees:
  required: [bob@, "@platfrom-team"]
  optionl: [x@contoso.com]
rooms: ["@leads"]
show_as: bussy
online_meeting: yes
foo: 1
""",
            "b.yaml": "id: Platform Sync\nsubject: 2026\nstart: 2026-12-01\n",
            "c.yaml": "id: platform/weekly-sync\nsubject: Dup\nstart: 2026-12-01T10:00\n"
            "---\nsubject: No id\nstart: 2026-12-01T10:00\n",
            "d.yaml": "id: broken\nsubject: [\n",
        },
    ) == [
        'meetings/a.yaml:1:1: missing required key "subject"',
        'meetings/a.yaml:2:1: unknown key "subjekt"; did you mean "subject"?',
        "meetings/a.yaml:4:6: end 2026-12-01T09:00 is before start 2026-12-01T10:00",
        'meetings/a.yaml:5:11: unknown time zone "Europe/Berln"; did you mean "Europe/Berlin"?',
        'meetings/a.yaml:7:14: "bob@" is not a valid e-mail address',
        'meetings/a.yaml:7:20: unknown group "@platfrom-team"; did you mean "@platform-team"?',
        'meetings/a.yaml:8:3: unknown key "optionl"; did you mean "optional"?',
        'meetings/a.yaml:9:9: "@leads" is a group; list room mailboxes here',
        'meetings/a.yaml:10:10: "show_as" must be one of free, tentative, busy, oof or workingElsewhere, '
        'not "bussy"; did you mean "busy"?',
        'meetings/a.yaml:11:17: "online_meeting" must be true or false, not "yes"',
        'meetings/a.yaml:12:1: unknown key "foo"',
        'meetings/b.yaml:1:5: "id" must be lower-case letters, digits, ".", "_", "/" and "-", '
        'starting with a letter or digit, not "Platform Sync"',
        'meetings/b.yaml:2:10: "subject" must be a string, not 2026; put it in quotes',
        'meetings/b.yaml:3:8: "start" must include a time of day, like 2026-12-01T10:00, unless all_day is true',
        'meetings/c.yaml:1:5: duplicate meeting id "platform/weekly-sync" (also declared at meetings/a.yaml:1:5)',
        'meetings/c.yaml:5:1: missing required key "id"',
        "meetings/d.yaml:3:1: invalid YAML: expected the node content, but found '<stream end>' "
        "(while parsing a flow node)",
    ]


def test_a_meeting_without_organizer_needs_a_default_one(tmp_path: Path) -> None:
    assert problems(tmp_path, {"a.yaml": MINIMAL}, defaults=Defaults()) == [
        'meetings/a.yaml:1:1: missing "organizer"; set it here or defaults.organizer in reconciler.yaml'
    ]


def test_an_invalid_organizer_is_reported_at_its_value(tmp_path: Path) -> None:
    assert problems(tmp_path, {"a.yaml": MINIMAL + "organizer: lead@@contoso.com\n"}) == [
        'meetings/a.yaml:4:12: "lead@@contoso.com" is not a valid e-mail address'
    ]


def test_times_are_checked_for_form_calendar_and_order(tmp_path: Path) -> None:
    documents = [
        "id: t\nsubject: T\nstart: 2026-02-30T10:00\nend: 2026-12-01T10:00:30\n",
        "id: u\nsubject: U\nstart: 2026-12-01T10:00Z\nduration: 90x\n",
        "id: v\nsubject: V\nall_day: true\nstart: 2026-12-01T10:00\nend: 2026-12-01\n",
        "id: w\nsubject: W\nall_day: true\nstart: 2026-12-01\nend: 2026-12-01\n",
        "id: x\nsubject: X\nall_day: true\nstart: 2026-12-01\nduration: 1h\n",
        "id: y\nsubject: Y\nstart: 2026-12-01T10:00\nduration: 0m\n",
        "id: z\nsubject: Z\nstart: 2026-12-01T10:00\nend: 2026-12-01T10:00\nduration: 30m\n",
        "id: zz\nsubject: ZZ\nstart: 2026-12-01T10:00\nend: 2026-12-01T10:00\n",
        "id: zzz\nsubject: ZZZ\nstart: 9999-12-31T23:00\nduration: 2h\nreminder: 15 minutes\n",
    ]
    assert problems(tmp_path, {"t.yaml": "---\n".join(documents)}) == [
        'meetings/t.yaml:3:8: "2026-02-30T10:00" is not a valid date and time',
        'meetings/t.yaml:4:6: "2026-12-01T10:00:30" has seconds; use whole minutes like 2026-12-01T10:00',
        'meetings/t.yaml:8:8: "start" must be a local date and time like 2026-12-01T10:00 '
        '(or a date like 2026-12-01 when all_day is true), not "2026-12-01T10:00Z"',
        'meetings/t.yaml:9:11: "duration" must be a duration like 30m, 1h, 1h30m or 2d, not "90x"',
        'meetings/t.yaml:14:8: "start" of an all-day meeting must be a date like 2026-12-01, not "2026-12-01T10:00"',
        "meetings/t.yaml:21:6: end 2026-12-01 is not after start 2026-12-01; "
        "the end date of an all-day meeting is exclusive",
        'meetings/t.yaml:27:11: "duration" of an all-day meeting must be whole days like 1d, not "1h"',
        'meetings/t.yaml:32:11: "duration" must be longer than 0 minutes',
        'meetings/t.yaml:38:1: give either "end" or "duration", not both',
        "meetings/t.yaml:43:6: end 2026-12-01T10:00 is not after start 2026-12-01T10:00",
        "meetings/t.yaml:47:8: the meeting ends after the year 9999",
        'meetings/t.yaml:49:11: "reminder" must be a duration like 15m, 1h or 1d, or none, not "15 minutes"',
    ]


def test_a_time_zone_must_exist_and_have_a_windows_equivalent(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        {
            "a.yaml": MINIMAL + "timezone: Europe/Berln\n",
            "b.yaml": MINIMAL.replace("team/sync", "team/b") + "timezone: Antarctica/Troll\n",
        },
    ) == [
        'meetings/a.yaml:4:11: unknown time zone "Europe/Berln"; did you mean "Europe/Berlin"?',
        'meetings/b.yaml:4:11: time zone "Antarctica/Troll" has no Windows equivalent, so Exchange cannot use it',
    ]


# -- series --------------------------------------------------------------------------------------------

TUESDAY = "subject: S\nstart: 2026-12-01T10:00\n"  # 2026-12-01 is a Tuesday


def recurrence_of(tmp_path: Path, recurrence: str, start: str = "2026-12-01T10:00") -> model.Recurrence:
    meeting = one(tmp_path, f"id: r\nsubject: R\nstart: {start}\nrecurrence: {recurrence}\n")
    assert meeting.recurrence is not None
    return meeting.recurrence


def test_a_weekly_series_without_days_repeats_on_the_start_weekday(tmp_path: Path) -> None:
    assert recurrence_of(tmp_path, "{every: week}") == model.Recurrence(
        every=model.Every.WEEK, on=(model.Weekday.TUESDAY,)
    )


def test_monthly_and_yearly_series_get_their_day_and_month_from_the_start(tmp_path: Path) -> None:
    assert recurrence_of(tmp_path, "{every: month, interval: 2}") == model.Recurrence(
        every=model.Every.MONTH, interval=2, day_of_month=1
    )
    assert recurrence_of(tmp_path, "{every: year, count: 5}") == model.Recurrence(
        every=model.Every.YEAR, day_of_month=1, month=12, count=5
    )


def test_a_relative_series_keeps_its_week_days_and_week_of_the_month(tmp_path: Path) -> None:
    recurrence = recurrence_of(tmp_path, "{every: month, week_of_month: first, on: [tuesday]}")
    assert recurrence == model.Recurrence(
        every=model.Every.MONTH, on=(model.Weekday.TUESDAY,), week_of_month=model.WeekOfMonth.FIRST
    )
    yearly = recurrence_of(
        tmp_path, "{every: year, week_of_month: last, on: [friday], month: 12}", start="2026-12-25T10:00"
    )
    assert (yearly.on, yearly.week_of_month, yearly.month, yearly.day_of_month) == (
        (model.Weekday.FRIDAY,),
        model.WeekOfMonth.LAST,
        12,
        None,
    )


def test_explicit_pattern_values_are_kept(tmp_path: Path) -> None:
    recurrence = recurrence_of(
        tmp_path,
        "{every: week, interval: 2, on: [thursday, tuesday, tuesday], until: 2027-06-30, first_day_of_week: sunday}",
    )
    assert recurrence == model.Recurrence(
        every=model.Every.WEEK,
        interval=2,
        on=(model.Weekday.THURSDAY, model.Weekday.TUESDAY),
        until=date(2027, 6, 30),
        first_day_of_week=model.Weekday.SUNDAY,
    )
    assert pattern_json(pattern_state(recurrence))["on"] == ["tuesday", "thursday"]


def test_a_daily_all_day_series_is_read(tmp_path: Path) -> None:
    meeting = one(tmp_path, "id: d\nsubject: D\nall_day: true\nstart: 2026-12-01\nrecurrence: {every: day}\n")
    assert meeting.recurrence == model.Recurrence(every=model.Every.DAY)
    assert (meeting.start, meeting.end) == (date(2026, 12, 1), date(2026, 12, 2))


def test_overrides_are_explicit_and_start_and_end_move_together(tmp_path: Path) -> None:
    meeting = one(
        tmp_path,
        f"""\
id: o
{TUESDAY}duration: 1h
attendees:
  required: [alice@contoso.com]
  optional: [frank@contoso.com]
recurrence:
  every: week
  skip: [2027-01-05, 2026-12-29, 2027-01-05]
  overrides:
    - date: 2026-12-22
      start: 2026-12-23T08:00
      duration: 15m
      subject: Moved
      location: Elsewhere
      body: Different
    - date: 2026-12-08
      start: 2026-12-08T09:00
    - date: 2026-12-15
      end: 2026-12-15T12:00
    - date: 2027-01-12
      attendees:
        optional: ["@leads", lead@contoso.com, alice@contoso.com]
""",
    )
    assert meeting.recurrence is not None
    assert meeting.recurrence.skip == (date(2026, 12, 29), date(2027, 1, 5))
    assert [(o.date, declared_changes(o)) for o in meeting.recurrence.overrides] == [
        (date(2026, 12, 8), {"start": "2026-12-08T09:00", "end": "2026-12-08T10:00"}),
        (date(2026, 12, 15), {"start": "2026-12-15T10:00", "end": "2026-12-15T12:00"}),
        (
            date(2026, 12, 22),
            {
                "start": "2026-12-23T08:00",
                "end": "2026-12-23T08:15",
                "subject": "Moved",
                "location": "Elsewhere",
                "body": "Different",
            },
        ),
        (date(2027, 1, 12), {"required": ["alice@contoso.com"], "optional": ["dave@contoso.com"]}),
    ]
    assert fields(meeting)["skip"] == ["2026-12-29", "2027-01-05"]


def test_an_override_date_may_be_written_in_a_flow_mapping_with_times(tmp_path: Path) -> None:
    meeting = one(
        tmp_path,
        f"id: f\n{TUESDAY}recurrence:\n  every: week\n  overrides: [{{date: 2026-12-08, start: 2026-12-08T11:00}}]\n",
    )
    assert meeting.recurrence is not None
    assert declared_changes(meeting.recurrence.overrides[0]) == {"start": "2026-12-08T11:00", "end": "2026-12-08T11:30"}


def test_every_inconsistent_pattern_is_reported_at_the_key_in_question(tmp_path: Path) -> None:
    documents = [
        "id: r1\n" + TUESDAY + "recurrence: {every: day, on: [monday], week_of_month: first, day_of_month: 3, "
        "month: 2, first_day_of_week: sunday}\n",
        "id: r2\n" + TUESDAY + "recurrence: {every: month, on: [tuesday]}\n",
        "id: r3\n" + TUESDAY + "recurrence: {every: month, week_of_month: first}\n",
        "id: r4\n" + TUESDAY + "recurrence: {every: year, week_of_month: first, on: [tuesday], day_of_month: 1}\n",
        "id: r5\n" + TUESDAY + "recurrence: {every: week, until: 2026-11-30, count: 3}\n",
        "id: r6\n" + TUESDAY + "recurrence: {every: week, on: [monday]}\n",
        "id: r7\n" + TUESDAY + "recurrence: {every: year, month: 2, day_of_month: 30}\n",
        "id: r8\n" + TUESDAY + "recurrence: {every: weekly, interval: 0, on: [tuesdy], count: 0, month: 13}\n",
        "id: r9\n" + TUESDAY + "recurrence: {interval: 1, ever: week}\n",
    ]
    assert problems(tmp_path, {"r.yaml": "---\n".join(documents)}) == [
        'meetings/r.yaml:4:26: "on" is only allowed with every: week, '
        "or with every: month or year together with week_of_month",
        'meetings/r.yaml:4:40: "week_of_month" is only allowed with every: month or year',
        'meetings/r.yaml:4:62: "day_of_month" is only allowed with every: month or year',
        'meetings/r.yaml:4:79: "month" is only allowed with every: year',
        'meetings/r.yaml:4:89: "first_day_of_week" is only allowed with every: week',
        'meetings/r.yaml:9:28: "on" is only allowed with every: week, '
        "or with every: month or year together with week_of_month",
        'meetings/r.yaml:14:28: "week_of_month" needs "on" to name the week day, like on: [friday]',
        'meetings/r.yaml:19:64: "day_of_month" cannot be combined with "week_of_month"',
        "meetings/r.yaml:24:34: until 2026-11-30 is before the start date 2026-12-01",
        'meetings/r.yaml:24:46: give either "until" or "count", not both',
        "meetings/r.yaml:28:8: start 2026-12-01 is not an occurrence of the recurrence; "
        "its first occurrence is 2026-12-07",
        "meetings/r.yaml:34:51: day_of_month 30 never occurs in month 2",
        'meetings/r.yaml:39:21: "recurrence.every" must be one of day, week, month or year, not "weekly"; '
        'did you mean "week"?',
        'meetings/r.yaml:39:39: "recurrence.interval" must be at least 1, not 0',
        'meetings/r.yaml:39:47: "recurrence.on[0]" must be one of monday, tuesday, wednesday, thursday, friday, '
        'saturday or sunday, not "tuesdy"; did you mean "tuesday"?',
        'meetings/r.yaml:39:63: "recurrence.count" must be at least 1, not 0',
        'meetings/r.yaml:39:73: "recurrence.month" must be at most 12, not 13',
        'meetings/r.yaml:44:13: missing required key "every"',
        'meetings/r.yaml:44:27: unknown key "ever"; did you mean "every"?',
    ]


def test_skip_and_override_dates_must_be_occurrences_of_the_series(tmp_path: Path) -> None:
    text = f"""\
id: s
{TUESDAY}recurrence:
  every: week
  count: 3
  skip: [2026-12-08, 2026-12-09, 2026-12-22, 2026-11-24, 2026-02-30]
  overrides:
    - date: 2026-12-08
      subject: moved
    - date: 2026-12-15
      start: 2026-12-15T12:00
    - date: 2026-12-15
      subject: again
    - date: 2026-12-16
      subject: no
    - date: 2026-12-15T10:00
    - start: 2026-12-15T10:00
    - date: 2026-12-01
    - date: 2026-12-01
      end: 2026-12-01T09:00
      duration: 1h
      sujbect: x
"""
    assert problems(tmp_path, {"s.yaml": text}) == [
        "meetings/s.yaml:7:22: skip date 2026-12-09 is not an occurrence of the series",
        "meetings/s.yaml:7:34: skip date 2026-12-22 is not an occurrence of the series",
        "meetings/s.yaml:7:46: skip date 2026-11-24 is not an occurrence of the series",
        'meetings/s.yaml:7:58: "2026-02-30" is not a valid date',
        "meetings/s.yaml:9:13: 2026-12-08 is both skipped and overridden; keep it in one of skip and overrides",
        "meetings/s.yaml:13:13: 2026-12-15 is already overridden at line 11",
        "meetings/s.yaml:15:13: override date 2026-12-16 is not an occurrence of the series",
        'meetings/s.yaml:17:13: "recurrence.overrides[4].date" must be a date like 2026-12-01, not "2026-12-15T10:00"',
        'meetings/s.yaml:18:7: missing required key "date"',
        "meetings/s.yaml:19:7: the override of 2026-12-01 changes nothing; add start, end, subject or other values",
        "meetings/s.yaml:20:13: 2026-12-01 is already overridden at line 19",
        'meetings/s.yaml:22:7: give either "end" or "duration", not both',
        'meetings/s.yaml:23:7: unknown key "sujbect"; did you mean "subject"?',
    ]


def test_an_overrides_values_are_checked_like_the_meetings(tmp_path: Path) -> None:
    text = f"""\
id: o
{TUESDAY}recurrence:
  every: week
  overrides:
    - date: 2026-12-08
      end: 2026-12-08T09:00
    - date: 2026-12-15
      start: 2026-12-15
    - date: 2026-12-22
      attendees:
        required: [bad@, "@nope"]
"""
    assert problems(tmp_path, {"o.yaml": text}) == [
        "meetings/o.yaml:8:12: end 2026-12-08T09:00 is before start 2026-12-08T10:00",
        'meetings/o.yaml:10:14: "recurrence.overrides[1].start" must include a time of day, like 2026-12-15T10:00, '
        "unless all_day is true",
        'meetings/o.yaml:13:20: "bad@" is not a valid e-mail address',
        'meetings/o.yaml:13:26: unknown group "@nope"',
    ]


def test_a_far_skip_date_of_an_endless_daily_series_is_checked_quickly(tmp_path: Path) -> None:
    began = time.perf_counter()
    meeting = one(tmp_path, f"id: d\n{TUESDAY}recurrence: {{every: day, skip: [2099-12-31]}}\n")
    assert meeting.recurrence is not None and meeting.recurrence.skip == (date(2099, 12, 31),)
    assert time.perf_counter() - began < 2


# -- policy and identity across files ------------------------------------------------------------------


def test_attendees_outside_the_allowed_domains_are_reported_and_the_organizer_is_exempt(tmp_path: Path) -> None:
    text = f"""\
id: p
{TUESDAY}organizer: boss@outside.org
attendees:
  required: [alice@contoso.com, mallory@evil.com, "@partners", boss@outside.org]
rooms: [room@contoso.com]
"""
    assert problems(tmp_path, {"p.yaml": text}, policy=Policy(allowed_domains=("contoso.com",))) == [
        'meetings/p.yaml:6:33: "mallory@evil.com" is outside the allowed domains (contoso.com)',
        'meetings/p.yaml:6:51: "eve@fabrikam.com" (of group "@partners") is outside the allowed domains (contoso.com)',
    ]


def test_more_attendees_than_the_policy_allows_is_reported(tmp_path: Path) -> None:
    text = f"""\
id: p
{TUESDAY}attendees:
  required: ["@platform-team", lead@contoso.com]
  optional: [alice@contoso.com, frank@contoso.com]
rooms: [room@contoso.com]
"""
    assert problems(tmp_path, {"p.yaml": text}, policy=Policy(max_attendees=4)) == [
        "meetings/p.yaml:4:1: the meeting has 5 attendees, more than policy.max_attendees allows (4)"
    ]
    assert [m.attendees for m in load(tmp_path, {}, policy=Policy(max_attendees=5))] == [
        ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "frank@contoso.com", "room@contoso.com")
    ]


def test_moved_from_must_name_ids_that_are_gone_and_claimed_once(tmp_path: Path) -> None:
    text = f"""\
id: a
{TUESDAY}moved_from: [a, b, old]
---
id: b
{TUESDAY}moved_from: [old]
---
id: c
{TUESDAY}moved_from: [Bad Id]
"""
    assert problems(tmp_path, {"m.yaml": text}) == [
        'meetings/m.yaml:4:14: moved_from lists the meeting\'s own id "a"',
        'meetings/m.yaml:4:17: moved_from "b" is still declared as a meeting at meetings/m.yaml:6:5',
        'meetings/m.yaml:9:14: moved_from "old" is also claimed by "a" at meetings/m.yaml:4:20',
        'meetings/m.yaml:14:14: "moved_from[0]" must be lower-case letters, digits, ".", "_", "/" and "-", '
        'starting with a letter or digit, not "Bad Id"',
    ]


# -- garbage in, one clear sentence out ----------------------------------------------------------------


def test_a_yaml_syntax_error_is_reported_at_the_parsers_mark(tmp_path: Path) -> None:
    assert problems(tmp_path, {"a.yaml": "id: a\nsubject\nstart: 2026-12-01T10:00\n"}) == [
        "meetings/a.yaml:3:1: invalid YAML: could not find expected ':' (while scanning a simple key)"
    ]


def test_tabs_used_for_indentation_are_named_as_such(tmp_path: Path) -> None:
    assert problems(tmp_path, {"a.yaml": MINIMAL + "attendees:\n\trequired: [alice@contoso.com]\n"}) == [
        "meetings/a.yaml:5:1: tab characters are not allowed for indentation; use spaces"
    ]


def test_binary_and_non_utf8_files_are_reported_not_decoded(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        {
            "binary.yaml": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "latin1.yaml": b"id: a\nsubject: Caf\xe9\n",
            "utf16.yaml": "id: a\n".encode("utf-16"),
            "control.yaml": b"id: a\nsubject: bell\x07\n",
        },
    ) == [
        "meetings/binary.yaml:3:1: file is binary (it contains NUL bytes), not YAML text",
        "meetings/control.yaml:2:14: control character U+0007 is not allowed in YAML",
        "meetings/latin1.yaml:2:13: file is not UTF-8 text (invalid byte 0xe9)",
        "meetings/utf16.yaml:1:1: file is UTF-16 encoded; save it as UTF-8",
    ]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    assert [m.id for m in load(tmp_path, {"a.yaml": b"\xef\xbb\xbf" + MINIMAL.encode()})] == ["team/sync"]


def test_a_file_larger_than_one_mebibyte_is_refused_unread(tmp_path: Path) -> None:
    big = MINIMAL + "body: |\n" + ("  " + "x" * 1022 + "\n") * 1025
    assert problems(tmp_path, {"big.yaml": big}) == ["meetings/big.yaml:1:1: file is larger than 1 MiB"]


def test_a_document_that_is_not_a_mapping_is_reported(tmp_path: Path) -> None:
    assert problems(tmp_path, {"list.yaml": "- id: x\n", "text.yaml": "just text\n", "number.yaml": "42\n"}) == [
        "meetings/list.yaml:1:1: a meeting must be a mapping of keys such as id, subject and start, not a list",
        "meetings/number.yaml:1:1: a meeting must be a mapping of keys such as id, subject and start, not the value 42",
        "meetings/text.yaml:1:1: a meeting must be a mapping of keys such as id, subject and start, "
        'not the value "just text"',
    ]


def test_ten_thousand_nested_lists_give_one_diagnostic_and_no_recursion_error(tmp_path: Path) -> None:
    deep = "body: " + "[" * 10_000 + "]" * 10_000 + "\n"
    block = "body:\n" + "".join("  " * depth + "- \n" for depth in range(1, 100))
    files = {"flow.yaml": MINIMAL + deep, "block.yaml": MINIMAL.replace("team/sync", "team/block") + block}
    assert problems(tmp_path, files) == [
        "meetings/block.yaml:24:41: the document is nested more than 20 levels deep",
        "meetings/flow.yaml:4:26: the document is nested more than 20 levels deep",
    ]


def test_duplicate_keys_are_reported_at_the_duplicate(tmp_path: Path) -> None:
    assert problems(tmp_path, {"a.yaml": MINIMAL + "subject: Again\nrecurrence: {every: week, every: day}\n"}) == [
        'meetings/a.yaml:4:1: duplicate key "subject" (already defined at line 2)',
        'meetings/a.yaml:5:27: duplicate key "every" (already defined at line 5)',
    ]


def test_yaml_tags_are_refused_and_never_construct_objects(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + "location: !!python/object/apply:os.system [echo pwned]\n"
        + "body: !include secrets.txt\n"
        + "categories: !!set {a, b}\n"
        + "importance: !!str normal\n"
    )
    assert problems(tmp_path, {"a.yaml": text}) == [
        'meetings/a.yaml:4:11: "location" must be a string, not a list',
        "meetings/a.yaml:4:11: YAML tags are not allowed",
        "meetings/a.yaml:5:7: YAML tags are not allowed",
        'meetings/a.yaml:6:13: "categories" must be a list, not a mapping',
        "meetings/a.yaml:6:13: YAML tags are not allowed",
        "meetings/a.yaml:7:13: YAML tags are not allowed",
    ]


def test_aliases_are_refused_so_a_billion_laughs_stays_small_and_fast(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    began = time.perf_counter()
    messages = problems(tmp_path, {"bomb.yaml": "\n".join(lines) + "\n"})
    assert time.perf_counter() - began < 2
    assert len(messages) == 3 + 10 + 90  # three missing keys, ten unknown keys, one per alias
    assert messages[:5] == [
        'meetings/bomb.yaml:1:1: missing required key "id"',
        'meetings/bomb.yaml:1:1: missing required key "start"',
        'meetings/bomb.yaml:1:1: missing required key "subject"',
        'meetings/bomb.yaml:1:1: unknown key "a0"',
        'meetings/bomb.yaml:2:1: unknown key "a1"',
    ]
    assert messages[5] == "meetings/bomb.yaml:2:10: YAML aliases are not allowed; write the value out"


def test_a_merge_key_is_an_alias_and_refused(tmp_path: Path) -> None:
    text = "base: &base {subject: S}\n" + MINIMAL + "<<: *base\n"
    assert problems(tmp_path, {"a.yaml": text}) == [
        'meetings/a.yaml:1:1: unknown key "base"',
        "meetings/a.yaml:5:5: YAML aliases are not allowed; write the value out",
    ]


def test_mapping_keys_must_be_plain_strings(tmp_path: Path) -> None:
    assert problems(tmp_path, {"a.yaml": MINIMAL + "? [a, b]\n: value\n"}) == [
        "meetings/a.yaml:4:3: mapping keys must be plain strings, not lists or mappings"
    ]


def test_a_number_written_as_a_key_is_an_unknown_key(tmp_path: Path) -> None:
    assert problems(tmp_path, {"a.yaml": MINIMAL + "1: one\n"}) == ['meetings/a.yaml:4:1: unknown key "1"']


GARBAGE = [
    b"",
    b"id: a\nsubject\n",
    b"{[}",
    b"- [a, b\n",
    b"a: 'unterminated\n",
    b'a: "bad escape \\q"\n',
    b"a: b: c\n",
    b"  - a\n - b\n",
    b"%YAML 1.1\n---\na: yes\n",
    b"%TAG ! tag:example.com,2000:\n---\na: !x 1\n",
    b"a: &x 1\nb: *y\n",
    b"? a\n? b\n",
    b"--- |\n  literal\n--- >\n  folded\n",
    b"a: [1, 2]: 3\n",
    b"\xef\xbb\xbf\xef\xbb\xbfa: 1\n",
    "ключ: значение\n".encode(),
    b"a: " + b"9" * 5000 + b"\n",
    b"[" * 100 + b"]" * 100,
    b"{a: " * 30 + b"1" + b"}" * 30,
    b"a: 0x\nb: 0o\nc: .inf\nd: -.INF\ne: .NaN\nf: 1e5\ng: +12\nh: ~\n",
]


def _summary(data: bytes, parser: str) -> tuple[list[Any], list[str]]:
    """What a parser made of `data`, comparable across parsers (positions instead of mark objects)."""
    source = parse_yaml(data, "g.yaml", parser=parser)

    def positions(marks: dict[Any, Any]) -> dict[Any, tuple[int, int]]:
        return {path: (mark.line, mark.column) for path, mark in marks.items()}

    documents = [(repr(d.value), d.start, positions(d.values), positions(d.keys), d.unusable) for d in source.documents]
    return documents, [str(d) for d in source.diagnostics]


FLOW_OVERRIDE = b"id: f\nrecurrence: {every: week, overrides: [{date: 2026-12-08, start: 2026-12-08T11:00}]}\n"


@pytest.mark.parametrize("data", [*GARBAGE, FULL_EXAMPLE.encode(), FLOW_OVERRIDE], ids=range(len(GARBAGE) + 2))
def test_garbage_never_raises_and_every_parser_reads_it_alike(data: bytes) -> None:
    results = [_summary(data, parser) for parser in parser_names()]
    assert all(result == results[0] for result in results)


def test_garbage_files_never_stop_the_other_files_from_being_checked(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"g{i:02}.yaml": data for i, data in enumerate(GARBAGE)}
    files["valid.yaml"] = MINIMAL
    files["invalid.yaml"] = MINIMAL.replace("team/sync", "team/other") + "organizer: nobody\n"
    messages = problems(tmp_path, files)
    assert 'meetings/invalid.yaml:4:12: "nobody" is not a valid e-mail address' in messages
    assert {m.split(":")[0] for m in messages} >= {"meetings/g01.yaml", "meetings/g02.yaml", "meetings/invalid.yaml"}


def test_plain_scalars_follow_the_yaml_1_2_core_schema() -> None:
    source = parse_yaml(
        b"a: [~, null, '', true, False, yes, on, 12, -3, 0x1F, 0o17, 1.5, 1e3, .inf, 2026-12-01, '12', 0x]\n",
        "t.yaml",
    )
    (document,) = source.documents
    value = document.value["a"]
    assert value[:12] == [None, None, "", True, False, "yes", "on", 12, -3, 31, 15, 1.5]
    assert value[12:] == [1000.0, float("inf"), "2026-12-01", "12", "0x"]


# -- the schemas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["meeting", "config"])
def test_each_schema_is_valid_json_schema_2020_12_and_documents_its_keys(name: str) -> None:
    schema = json.loads((SCHEMAS_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    undocumented = []

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if "description" not in sub and "$ref" not in sub:
                    undocumented.append(f"{where}.{key}")
                visit(sub, f"{where}.{key}")
            for key, sub in node.items():
                if key != "properties":
                    visit(sub, where)

    visit(schema, name)
    assert undocumented == []


def _mutations(value: Any, rng: random.Random) -> Any:
    """`value` with one random part replaced by something of another shape."""
    replacements = [None, True, 0, -1, 1.5, "", "x", "monday", "30m", "2026-12-01", [], ["x"], {}, {"x": 1}]
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(sorted(value))
        return {**value, key: _mutations(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        return [*value[:index], _mutations(value[index], rng), *value[index + 1 :]]
    if isinstance(value, dict) and rng.random() < 0.3:
        return {**value, rng.choice(["subjekt", "every", "date", "on"]): rng.choice(replacements)}
    return rng.choice(replacements)


@pytest.mark.parametrize("name", ["meeting", "config"])
def test_the_fast_validity_check_agrees_with_jsonschema(name: str, tmp_path: Path) -> None:
    check = schema_check(name)
    validator = Draft202012Validator(check.schema)
    if name == "meeting":
        (document,) = parse_yaml(FULL_EXAMPLE.encode(), "x").documents
    else:
        text = (Path(__file__).resolve().parents[2] / "reconciler.yaml").read_text(encoding="utf-8")
        (document,) = parse_yaml(text, "x").documents
    rng = random.Random(20261201)
    verdicts = set()
    for _ in range(3000):
        value = _mutations(document.value, rng)
        verdict = bool(validator.is_valid(value))
        assert check.is_valid(value) is verdict, value
        verdicts.add(verdict)
    assert verdicts == {True, False}


def test_unique_items_are_judged_as_jsonschema_judges_them() -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "array", "uniqueItems": True}
    check, validator = SchemaCheck(schema), Draft202012Validator(schema)
    values: list[Any] = [
        ["a", "b"],
        ["a", "a"],
        [1, 1.0],
        [True, 1],
        [False, 0, None],
        [None, None],
        [{"x": 1, "y": [2]}, {"y": [2], "x": 1}],
        [{"x": 1}, {"x": 2}],
        [[1, "a"], [1, "a"]],
        [[1, "a"], ["a", 1]],
        [],
    ]
    assert [check.is_valid(v) for v in values] == [validator.is_valid(v) for v in values]
    assert check._fast is not None  # judged by the compiled check, not by falling back


def test_a_schema_keyword_the_fast_check_does_not_know_falls_back_to_jsonschema() -> None:
    check = SchemaCheck({"$schema": "https://json-schema.org/draft/2020-12/schema", "oneOf": [{"type": "string"}]})
    assert (check.is_valid("x"), check.is_valid(1)) == (True, False)


def test_an_all_day_series_overrides_with_dates(tmp_path: Path) -> None:
    meeting = one(
        tmp_path,
        "id: v\nsubject: Vacation\nall_day: true\nstart: 2026-12-07\nduration: 2d\n"
        "recurrence:\n  every: week\n  overrides:\n    - date: 2026-12-14\n      start: 2026-12-15\n",
    )
    assert meeting.recurrence is not None
    assert declared_changes(meeting.recurrence.overrides[0]) == {"start": "2026-12-15", "end": "2026-12-17"}


def test_a_meetings_directory_outside_the_root_is_shown_relative_to_the_root(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "team").mkdir(parents=True)
    (shared / "team" / "a.yaml").write_text(MINIMAL + "organizer: nobody\n", encoding="utf-8")
    (tmp_path / "repo").mkdir()
    config = make_config(tmp_path / "repo", meetings_dir=shared)
    with pytest.raises(InputError) as caught:
        load_meetings(config)
    assert [str(d) for d in caught.value.diagnostics] == [
        '../shared/team/a.yaml:4:12: "nobody" is not a valid e-mail address'
    ]


def test_a_series_that_ends_before_its_first_occurrence_is_reported(tmp_path: Path) -> None:
    text = f"id: n\n{TUESDAY}recurrence: {{every: week, on: [monday], until: 2026-12-02}}\n"
    assert problems(tmp_path, {"n.yaml": text}) == [
        "meetings/n.yaml:4:1: the recurrence has no occurrence on or after the start"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("online_meeting: true", "EWS cannot create Teams meetings (backend: ews); remove online_meeting"),
        ("hide_attendees: true", "EWS cannot hide attendees from each other (backend: ews); remove hide_attendees"),
    ],
)
def test_what_ews_cannot_store_is_an_error_naming_the_backend_that_can(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "reconciler.yaml").write_text("backend: ews\ndefaults:\n  organizer: lead@contoso.com\n")
    (tmp_path / "meetings").mkdir()
    (tmp_path / "meetings" / "m.yaml").write_text(f"id: team/sync\nsubject: Sync\nstart: 2026-12-01T10:00\n{line}\n")
    config = load_config(None, env={}, cwd=tmp_path)
    with pytest.raises(InputError) as raised:
        load_meetings(config)
    assert [str(d) for d in raised.value.diagnostics] == [f"meetings/m.yaml:4:17: {message} or use backend: graph"]


EWS_SERIES = (
    "id: team/sync\nsubject: Sync\nstart: 2026-12-01T10:00\nattendees:\n  required: [alice@contoso.com]\n"
    "recurrence:\n  every: week\n  count: 4\n  overrides:\n    - date: 2026-12-08\n      subject: Moved\n"
    "    - date: 2026-12-15\n      attendees:\n        required: [bob@contoso.com]\n"
)


def test_an_override_changing_attendees_is_an_error_naming_the_ews_backend(tmp_path: Path) -> None:
    assert problems(tmp_path, {"m.yaml": EWS_SERIES}, backend="ews") == [
        "meetings/m.yaml:13:7: EWS cannot change the attendees of a single occurrence (backend: ews);"
        " remove attendees from this override or use backend: graph"
    ]


def test_an_override_changing_attendees_is_accepted_on_graph_and_the_sandbox(tmp_path: Path) -> None:
    for backend in ("graph", "sandbox"):
        meeting = one(tmp_path, EWS_SERIES, backend=backend)
        assert meeting.recurrence is not None
        assert declared_changes(meeting.recurrence.overrides[1]) == {"required": ["bob@contoso.com"], "optional": []}


@pytest.mark.parametrize(
    ("days", "start"),
    [
        ("[monday, tuesday, wednesday, thursday, friday]", "2026-12-31"),
        ("[sunday, saturday]", "2026-12-27"),
        ("[friday]", "2026-12-25"),
        ("[friday, friday]", "2026-12-25"),
        ("[monday, tuesday, wednesday, thursday, friday, saturday, sunday]", "2026-12-31"),
    ],
    ids=["weekday", "weekend-day", "one-day", "one-day-twice", "day"],
)
def test_a_relative_pattern_on_one_day_or_an_ews_day_group_loads_on_the_ews_backend(
    tmp_path: Path, days: str, start: str
) -> None:
    text = f"id: m\nsubject: S\nstart: {start}T10:00\nrecurrence: {{every: month, week_of_month: last, on: {days}}}\n"
    meeting = one(tmp_path, text, backend="ews")
    assert meeting.recurrence is not None and meeting.recurrence.week_of_month is model.WeekOfMonth.LAST


def test_a_relative_pattern_on_several_days_outside_the_ews_groups_is_an_error_naming_the_backend(
    tmp_path: Path,
) -> None:
    text = "id: m\nsubject: S\nstart: 2026-12-02T10:00\nrecurrence:\n  every: month\n  week_of_month: first\n"
    text += "  on: [wednesday, monday]\n"
    assert problems(tmp_path, {"m.yaml": text}, backend="ews") == [
        "meetings/m.yaml:7:7: EWS cannot repeat on the first of several week days (monday, wednesday) unless they"
        " are monday to friday, saturday and sunday, or all seven (backend: ews); name one day or use backend: graph"
    ]
    assert one(tmp_path, text, backend="graph").recurrence is not None


def test_pattern_limits_of_ews_are_errors_naming_the_backend(tmp_path: Path) -> None:
    text = "id: m\nsubject: S\nstart: 2026-12-02T10:00\nrecurrence:\n  every: year\n  interval: 2\n  count: 1000\n"
    assert problems(tmp_path, {"m.yaml": text}, backend="ews") == [
        "meetings/m.yaml:6:13: EWS cannot repeat a meeting every 2 years, only every year (backend: ews);"
        " use backend: graph, or one meeting per year",
        "meetings/m.yaml:7:10: EWS allows at most 999 occurrences in a counted series (backend: ews)",
    ]
    assert one(tmp_path, text, backend="graph").recurrence is not None


@pytest.mark.parametrize("every", ["week", "month"])
def test_a_weekly_or_monthly_interval_above_99_is_an_error_naming_the_ews_backend(tmp_path: Path, every: str) -> None:
    text = f"id: m\nsubject: S\nstart: 2026-12-02T10:00\nrecurrence:\n  every: {every}\n  interval: 100\n"
    assert problems(tmp_path, {"m.yaml": text}, backend="ews") == [
        f"meetings/m.yaml:6:13: EWS allows an interval of at most 99 with every: {every} (backend: ews)"
    ]
    assert one(tmp_path, text.replace("100", "99"), backend="ews").recurrence is not None
    assert one(tmp_path, text, backend="graph").recurrence is not None


@pytest.mark.parametrize("backend", ["graph", "ews"])
def test_an_organizer_missing_from_organizers_is_an_error_where_mailboxes_cannot_be_listed(
    tmp_path: Path, backend: str
) -> None:
    files = {"a.yaml": MINIMAL + "organizer: Office@Contoso.com\n", "b.yaml": MINIMAL.replace("team/sync", "team/b")}
    assert problems(tmp_path, files, backend=backend) == [
        f"meetings/a.yaml:4:12: office@contoso.com is not listed in organizers: (backend {backend} finds meetings "
        "only in listed mailboxes, so deleting this organizer's last file would cancel nothing); "
        "add office@contoso.com to organizers: in reconciler.yaml"
    ]


@pytest.mark.parametrize("backend", ["graph", "ews"])
def test_organizers_listed_in_the_configuration_or_the_default_organizer_are_accepted(
    tmp_path: Path, backend: str
) -> None:
    files = {
        "a.yaml": MINIMAL + "organizer: office@contoso.com\n",
        "b.yaml": MINIMAL.replace("team/sync", "team/b") + "organizer: lead@contoso.com\n",
        "c.yaml": MINIMAL.replace("team/sync", "team/c"),
    }
    meetings = load(tmp_path, files, backend=backend, organizers=("office@contoso.com",))
    assert [(m.id, m.organizer) for m in meetings] == [
        ("team/b", "lead@contoso.com"),
        ("team/c", "lead@contoso.com"),
        ("team/sync", "office@contoso.com"),
    ]


def test_the_sandbox_accepts_any_organizer_because_it_lists_every_mailbox(tmp_path: Path) -> None:
    assert one(tmp_path, MINIMAL + "organizer: office@contoso.com\n").organizer == "office@contoso.com"


def test_release_is_read_and_cannot_be_combined_with_cancelled(tmp_path: Path) -> None:
    assert one(tmp_path, MINIMAL + "release: true\n").release
    assert not one(tmp_path, MINIMAL).release
    assert problems(tmp_path, {"m.yaml": MINIMAL + "release: true\ncancelled: Gone.\n"}) == [
        "meetings/m.yaml:4:1: release: true keeps the meeting in the calendars; it cannot also be cancelled:"
    ]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_unicode_line_separators_are_content_as_yaml_1_2_says_so_later_lines_keep_their_numbers(
    tmp_path: Path, separator: str
) -> None:
    text = (
        f'id: team/sync\nsubject: "A{separator}B"\n# a comment {separator} that goes on\n'
        "start: 2026-12-01T10:00\nbogus: 1\n"
    )
    assert problems(tmp_path, {"a.yaml": text}) == ['meetings/a.yaml:5:1: unknown key "bogus"']
    write(tmp_path, {"a.yaml": text.replace("bogus: 1\n", "")})
    assert load_meetings(make_config(tmp_path)).meetings[0].subject == f"A{separator}B"


def test_a_local_time_that_daylight_saving_skips_or_repeats_is_a_located_warning(tmp_path: Path) -> None:
    text = (
        "id: team/sync\nsubject: Sync\ntimezone: Europe/Berlin\nstart: 2027-03-28T02:30\nrecurrence:\n"
        "  every: day\n  count: 250\n  overrides:\n    - date: 2027-10-31\n      start: 2027-10-31T02:15\n"
    )
    write(tmp_path, {"a.yaml": text})
    assert said(load_meetings(make_config(tmp_path)).warnings) == (
        'meetings/a.yaml:4:8: "start" 2027-03-28T02:30 does not exist in Europe/Berlin: daylight saving moves the'
        " clocks forward by 1h at that time; write a time outside the change to be sure",
        'meetings/a.yaml:10:14: "recurrence.overrides[0].start" 2027-10-31T02:15 happens twice in Europe/Berlin:'
        " daylight saving moves the clocks back by 1h at that time; write a time outside the change to be sure",
    )
    write(tmp_path, {"a.yaml": text.replace("02:30", "03:30").replace("02:15", "03:15")})
    assert load_meetings(make_config(tmp_path)).warnings == ()


def test_a_skip_date_listed_twice_is_a_warning_naming_the_first(tmp_path: Path) -> None:
    text = "id: team/sync\nsubject: Sync\nstart: 2026-12-01T10:00\nrecurrence:\n  every: week\n"
    text += "  skip:\n    - 2026-12-08\n    - 2026-12-15\n    - 2026-12-08\n"
    write(tmp_path, {"a.yaml": text})
    loaded = load_meetings(make_config(tmp_path))
    assert said(loaded.warnings) == ("meetings/a.yaml:9:7: skip date 2026-12-08 is already listed at line 7",)
    assert loaded.meetings[0].recurrence is not None
    assert loaded.meetings[0].recurrence.skip == (date(2026, 12, 8), date(2026, 12, 15))
