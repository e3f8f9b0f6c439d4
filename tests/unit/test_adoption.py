"""Adopting unmanaged items (`adoption`, the planner's rule) and writing them as files (`importing`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from reconciler.config import Defaults
from reconciler.importing import html_to_markdown, import_meetings, slug, unique_id
from reconciler.model import Action, BodyFormat, Meeting, ObservedMeeting
from reconciler.notices import AdoptedUnmanaged, AdoptMailNeeded
from reconciler.ownership import body_text, render_body
from reconciler.plan import Plan, PlanPolicy, build_plan
from reconciler.port import UNMANAGED, Capabilities, UnmanagedMeeting
from reconciler.render.notices import word
from reconciler.state import meeting_state, to_json
from tests.unit.test_plan_rules import LOUD, NOW, SILENT, item, meeting


def unmanaged(number: int = 1, **changes: Any) -> ObservedMeeting:
    """An item made in Outlook: no meeting id, no record, the body read as its visible text."""
    seen = item(meeting(**changes), number, record=False)
    body = body_text(render_body(seen.fields)[1])
    return replace(seen, meeting_id="", fields=replace(seen.fields, body=body, body_format=BodyFormat.TEXT))


def plan_with(
    desired: list[Meeting],
    found: list[ObservedMeeting],
    capabilities: Capabilities = SILENT,
    *,
    allow_adopt_mail: bool = False,
) -> Plan:
    return build_plan(
        desired,
        [],
        now=NOW,
        policy=PlanPolicy(),
        capabilities=capabilities,
        backend="sandbox",
        namespace="team",
        unmanaged=found,
        allow_adopt_mail=allow_adopt_mail,
    )


def test_a_file_matching_one_unmanaged_item_adopts_it_without_field_changes_and_names_the_item() -> None:
    (change,) = plan_with([meeting(body="Agenda:\n\n- *status*")], [unmanaged(body="Agenda:\n\n- *status*")]).changes
    assert change.action is Action.ADOPT and change.previous_namespace == UNMANAGED
    assert change.fields == () and change.notifications == ()
    (warning,) = change.warnings
    assert isinstance(warning, AdoptedUnmanaged) and warning.item.item_id == "item-1"


def test_a_file_that_differs_in_start_subject_or_attendees_is_created_not_adopted() -> None:
    later = meeting(start=datetime(2026, 12, 1, 11, 0), end=datetime(2026, 12, 1, 11, 30))
    for desired in (later, meeting(subject="Other"), meeting(optional=())):
        assert [c.action for c in plan_with([desired], [unmanaged()]).changes] == [Action.CREATE]


def test_two_files_matching_one_item_are_a_plan_error_and_nothing_is_guessed() -> None:
    result = plan_with([meeting("a"), meeting("b")], [unmanaged()])
    assert tuple(word(e) for e in result.errors) == (
        "a, b: these meeting files all match the unmanaged calendar item 'Team sync' starting 2026-12-01 09:00 UTC"
        " in lead@contoso.com's calendar; give each file its own subject, start or attendees, or delete all but one.",
    )


def test_an_adoption_that_only_writes_the_marker_needs_allow_adopt_mail_where_that_may_mail_everyone() -> None:
    assert any(isinstance(e, AdoptMailNeeded) for e in plan_with([meeting()], [unmanaged()], LOUD).errors)
    allowed = plan_with([meeting()], [unmanaged()], LOUD, allow_adopt_mail=True)
    assert not allowed.errors and allowed.changes[0].notifications


def test_a_managed_item_with_the_files_id_wins_over_an_unmanaged_lookalike() -> None:
    own = item(meeting())
    result = build_plan(
        [meeting()],
        [own],
        now=NOW,
        policy=PlanPolicy(),
        capabilities=SILENT,
        backend="sandbox",
        namespace="team",
        unmanaged=[unmanaged(2)],
    )
    assert result.changes == () and result.unchanged == 1


def test_simple_html_becomes_markdown_and_anything_else_is_refused() -> None:
    assert html_to_markdown("<p>Agenda:</p>\n<ul>\n<li><em>status</em></li>\n<li>risks</li>\n</ul>") == (
        "Agenda:\n\n- *status*\n- risks\n"
    )
    assert html_to_markdown('<p>See <a href="https://example.com/x">the notes</a><br>and <b>bring</b> them</p>') == (
        "See [the notes](https://example.com/x)\\\nand **bring** them\n"
    )
    assert html_to_markdown("<table><tr><td>1</td></tr></table>") is None
    assert html_to_markdown("<p>a * b</p>") is None


def test_ids_come_from_subjects_and_never_collide() -> None:
    assert slug("Platform: Weekly Sync (Berlin)") == "platform-weekly-sync-berlin"
    assert slug("???") == "meeting"
    taken = {"sync"}
    assert [unique_id("sync", taken), unique_id("sync", taken)] == ["sync-2", "sync-3"]


def test_an_attendee_list_equal_to_a_group_is_written_as_the_group_and_html_bodies_that_are_not_simple_stay_html() -> (
    None
):
    seen = item(meeting(required=("dora@contoso.com", "erik@contoso.com")), record=False)
    found = UnmanagedMeeting(
        replace(seen, meeting_id=""), "html", "<html><body><table><tr><td>x</td></tr></table></body></html>"
    )
    (file,) = import_meetings(
        [found], taken_ids=(), groups={"review": ("erik@contoso.com", "dora@contoso.com")}, defaults=Defaults()
    )
    assert "  required: ['@review']\n" in file.text or '  required: ["@review"]\n' in file.text
    assert "body_format: html\n" in file.text
    assert "duration: 30m\n" in file.text and "timezone: Europe/Berlin\n" in file.text
    assert file.meeting_id == "team-sync" and file.item_id == "item-1"
    assert to_json(meeting_state(meeting()))["start"] in file.text
