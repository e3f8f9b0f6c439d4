"""Importing and adopting the meetings a team already has, on every backend.

The calendar is filled "in Outlook" (`backends/outlook.py`: the real SDK, none of our
properties); `meetings import` (its shell, `calendar_import.run_import`) writes the files; the plan
adopts each item without field changes; apply writes only our marker (mailing what the plan
announced); the next plan is empty.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.calendar_import import run_import
from reconciler.config import Config
from reconciler.emulator.store import SendMode
from reconciler.importing import ImportFilter
from reconciler.loading import load_meetings
from reconciler.model import Action, Every, Meeting, Recurrence, Weekday
from reconciler.notices import AdoptedUnmanaged, AdoptMailNeeded, AmbiguousItems
from reconciler.plan import Plan, PlanPolicy
from reconciler.port import UNMANAGED
from reconciler.reconcile import apply_plan, make_plan
from reconciler.state import meeting_state
from tests.contract.backends.harness import Backend
from tests.contract.test_contract import NAMESPACE, NOW, announced, last_seq, mail_since
from tests.factories import ORGANIZER, meeting

GROUP = ("dora@contoso.com", "erik@contoso.com")


def plan_of(backend: Backend, meetings: list[Meeting], **options: Any) -> Plan:
    return make_plan(
        meetings,
        backend.provider,
        namespace=NAMESPACE,
        policy=PlanPolicy(),
        now=NOW,
        extra_organizers=[ORGANIZER],
        **options,
    )


def outlook_meetings(backend: Backend) -> list[tuple[Meeting, list[str], list[tuple[str, str, str]]]]:
    """30 meetings (the meeting, skipped dates, moved occurrences) of every kind the backend holds."""
    weekly = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=10)
    start = datetime(2026, 12, 1, 10, 0)
    made: list[tuple[Meeting, list[str], list[tuple[str, str, str]]]] = []
    for n in range(12):  # singles, some with rooms, some with plain-text-like bodies, a group
        at = start + timedelta(days=n, hours=n % 3)
        single = meeting(
            f"x/{n}",
            subject=f"Review {n}",
            start=at,
            end=at + timedelta(minutes=45),
            rooms=("room-berlin-3@contoso.com",) if n % 4 == 0 else (),
            required=GROUP if n % 5 == 0 else ("alice@contoso.com", "bob@contoso.com"),
            body="Quick check-in." if n % 2 else "Agenda:\n\n- *status*\n- risks & plans",
        )
        made.append((single, [], []))
    for n in range(10):  # weekly series, every other one with a skipped and a moved occurrence
        at = start + timedelta(hours=n % 6, minutes=30 * (n % 2))
        series = meeting(f"s/{n}", subject=f"Weekly {n}", start=at, end=at + timedelta(minutes=30), recurrence=weekly)
        if n % 2:
            moved = (at + timedelta(days=14, hours=2)).isoformat(timespec="minutes")
            back = (at + timedelta(days=14, hours=2, minutes=30)).isoformat(timespec="minutes")
            made.append((series, ["2026-12-08"], [("2026-12-15", moved, back)]))
        else:
            made.append((series, [], []))
    for n in range(5):  # all-day meetings
        day = datetime(2027, 1, 4 + n)
        made.append(
            (
                meeting(
                    f"a/{n}",
                    subject=f"Offsite day {n}",
                    all_day=True,
                    start=day,
                    end=day + timedelta(days=1 + n % 2),
                    body="",
                ),
                [],
                [],
            )
        )
    for n in range(3):  # Teams meetings where the backend can make them, else with a location only
        at = start + timedelta(days=20 + n)
        online = backend.provider.capabilities.online_meetings
        made.append(
            (
                meeting(
                    f"t/{n}", subject=f"Teams call {n}", start=at, end=at + timedelta(hours=1), online_meeting=online
                ),
                [],
                [],
            )
        )
    return made


def fill_in_outlook(backend: Backend) -> int:
    """Make the 30 meetings in Outlook; returns how many."""
    assert backend.outlook is not None
    made = outlook_meetings(backend)
    for spec, skips, moves in made:
        item_id = backend.outlook.create(ORGANIZER, meeting_state(spec))
        for day in skips:
            backend.outlook.skip(ORGANIZER, item_id, day)
        for day, begins, ends in moves:
            backend.outlook.move(ORGANIZER, item_id, day, begins, ends)
    return len(made)


def repository(tmp_path: Path) -> Config:
    (tmp_path / "meetings").mkdir(exist_ok=True)
    return Config(root=tmp_path, meetings_dir=tmp_path / "meetings", groups={"review-team": GROUP})


def write(config: Config, files: Any) -> None:
    for file in files:
        (config.meetings_dir / file.file_name).write_text(file.text, encoding="utf-8")


def test_thirty_meetings_made_in_outlook_are_imported_adopted_without_changes_and_then_left_alone(
    backend: Backend, tmp_path: Path
) -> None:
    count = fill_in_outlook(backend)
    # Neither an invitation the organizer only received nor another namespace's item is imported.
    received = meeting_state(meeting(subject="Invited elsewhere"))
    from reconciler.providers.sandbox import to_document

    backend.store.create_item(ORGANIZER, to_document(received) | {"organizer": "boss@contoso.com"}, send=SendMode.NONE)
    config = repository(tmp_path)

    result = run_import(backend.provider, config, [], ORGANIZER, ImportFilter())
    assert [s.reason for s in result.skipped] == []
    assert len(result.files) == count
    write(config, result.files)
    meetings = list(load_meetings(config).meetings)
    assert len({m.id for m in meetings}) == count
    assert any("@review-team" in f.text for f in result.files)
    assert any("skip:" in f.text and "overrides:" in f.text for f in result.files)

    seq = last_seq(backend)
    plan = plan_of(backend, meetings, allow_adopt_mail=True)
    assert not plan.errors
    assert [c.action for c in plan.changes] == [Action.ADOPT] * count
    assert all(c.fields == () and c.previous_namespace == UNMANAGED for c in plan.changes), [
        (c.meeting_id, [f.name for f in c.fields]) for c in plan.changes if c.fields
    ]
    report = apply_plan(plan, backend.provider)
    assert report.ok, [o.message for o in report.outcomes]
    assert mail_since(backend, seq) == announced(plan)
    if backend.provider.capabilities.silent_organizer_fields:
        assert announced(plan) == Counter()

    again = plan_of(backend, meetings)
    assert again.changes == () and not again.errors
    assert len(backend.provider.list_managed(ORGANIZER, NAMESPACE)) == count
    # Importing again writes nothing: every meeting is managed now.
    assert run_import(backend.provider, config, meetings, ORGANIZER, ImportFilter()).files == ()


def test_importing_twice_before_applying_writes_no_second_file(backend: Backend, tmp_path: Path) -> None:
    assert backend.outlook is not None
    backend.outlook.create(ORGANIZER, meeting_state(meeting()))
    config = repository(tmp_path)
    first = run_import(backend.provider, config, [], ORGANIZER, ImportFilter())
    write(config, first.files)
    second = run_import(backend.provider, config, load_meetings(config).meetings, ORGANIZER, ImportFilter())
    assert second.files == ()
    assert [s.reason for s in second.skipped] == [f"already in the repository as {first.files[0].meeting_id}"]


def test_a_file_written_by_hand_for_an_outlook_meeting_is_adopted_with_a_warning_naming_the_item(
    backend: Backend,
) -> None:
    assert backend.outlook is not None
    backend.outlook.create(ORGANIZER, meeting_state(meeting()))
    plan = plan_of(backend, [meeting("team/by-hand")], allow_adopt_mail=True)
    (change,) = plan.changes
    assert change.action is Action.ADOPT
    assert any(isinstance(w, AdoptedUnmanaged) and w.item.subject == "Team sync" for w in change.warnings)


def test_two_identical_outlook_meetings_make_the_adoption_a_plan_error(backend: Backend) -> None:
    assert backend.outlook is not None
    for _ in range(2):
        backend.outlook.create(ORGANIZER, meeting_state(meeting()))
    plan = plan_of(backend, [meeting()], allow_adopt_mail=True)
    assert any(isinstance(e, AmbiguousItems) and len(e.item_ids) == 2 for e in plan.errors)


def test_on_graph_an_adoption_that_changes_nothing_else_needs_allow_adopt_mail(backend: Backend) -> None:
    assert backend.outlook is not None
    backend.outlook.create(ORGANIZER, meeting_state(meeting()))
    plan = plan_of(backend, [meeting()])
    needs_flag = not backend.provider.capabilities.silent_organizer_fields
    assert any(isinstance(e, AdoptMailNeeded) for e in plan.errors) == needs_flag
    # With a real change in the file the marker goes with that update: no flag needed.
    changed = plan_of(backend, [dataclasses.replace(meeting(), location="Room 2")])
    assert not changed.errors
    (change,) = changed.changes
    assert change.action is Action.ADOPT and [f.name for f in change.fields] == ["location"]


@pytest.mark.parametrize(
    "choose",
    [
        ImportFilter(series_only=True),
        ImportFilter(since=date(2027, 1, 1)),
        ImportFilter(subject=re.compile("^Week")),
        ImportFilter(attendee="Dora@contoso.com"),
    ],
    ids=["series-only", "since", "subject", "attendee"],
)
def test_import_options_narrow_what_is_imported(backend: Backend, tmp_path: Path, choose: ImportFilter) -> None:
    assert backend.outlook is not None
    backend.outlook.create(ORGANIZER, meeting_state(meeting()))
    weekly = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), until=date(2027, 3, 30))
    weekly_meeting = meeting(subject="Weekly", recurrence=weekly, optional=("dora@contoso.com",))
    backend.outlook.create(ORGANIZER, meeting_state(weekly_meeting))
    result = run_import(backend.provider, repository(tmp_path), [], ORGANIZER, choose)
    assert [f.meeting_id for f in result.files] == ["weekly"]


DRIFT_FILES = {
    "planning.yaml": """\
# Quarterly planning: keep this comment.
id: team/planning
organizer: lead@contoso.com
subject: "Planning"   # the subject people see
start: 2026-12-03T10:00
duration: 1h
timezone: Europe/Berlin
attendees:
  required: ["@review-team", alice@contoso.com]
location: Room 1
""",
    "retro.yaml": """\
id: team/retro
organizer: lead@contoso.com
subject: Retro
start: 2026-12-04T15:00
end: 2026-12-04T16:00
timezone: Europe/Berlin
attendees:
  required: [bob@contoso.com]
location: Room 2
---
# A second meeting in the same file.
id: team/demo
organizer: lead@contoso.com
subject: Demo
start: 2026-12-05T11:00
duration: 30m
timezone: Europe/Berlin
attendees:
  required: [carol@contoso.com]
""",
}


def changed_lines(config: Config, name: str) -> tuple[list[str], list[str]]:
    """(lines removed, lines added) between the file as written in DRIFT_FILES and as it is now."""
    import difflib

    now = (config.meetings_dir / name).read_text(encoding="utf-8").splitlines()
    diff = list(difflib.ndiff(DRIFT_FILES[name].splitlines(), now))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def test_edits_made_in_outlook_are_written_back_into_the_files_with_a_minimal_diff_and_the_plan_is_then_empty(
    backend: Backend, tmp_path: Path
) -> None:
    from reconciler.writeback import drift_edits

    assert backend.outlook is not None
    config = repository(tmp_path)
    for name, text in DRIFT_FILES.items():
        (config.meetings_dir / name).write_text(text, encoding="utf-8")
    meetings = list(load_meetings(config).meetings)
    apply_plan(plan_of(backend, meetings), backend.provider)
    items = {o.meeting_id: o.item_id for o in backend.provider.list_managed(ORGANIZER, NAMESPACE)}
    backend.outlook.edit(ORGANIZER, items["team/planning"], {"subject": "Q1 planning"})
    backend.outlook.edit(ORGANIZER, items["team/retro"], {"location": "Room 9"})
    backend.outlook.edit(ORGANIZER, items["team/demo"], {"subject": "Demo day", "location": "Hall"})

    drifted = plan_of(backend, meetings)
    assert sorted(c.meeting_id for c in drifted.changes if c.drift) == ["team/demo", "team/planning", "team/retro"]
    edits, skipped = drift_edits(drifted, meetings, config.groups, config.root)
    assert skipped == []
    for edit in edits:
        edit.path.write_text(edit.text, encoding="utf-8")

    assert changed_lines(config, "planning.yaml") == (
        ['subject: "Planning"   # the subject people see'],
        ['subject: "Q1 planning" # the subject people see'],
    )
    assert changed_lines(config, "retro.yaml") == (
        ["location: Room 2", "subject: Demo"],
        ["location: Room 9", "subject: Demo day", "location: Hall"],
    )
    assert plan_of(backend, list(load_meetings(config).meetings)).changes == ()
