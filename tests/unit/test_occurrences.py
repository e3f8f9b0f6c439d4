"""How a series update is split into a master write and occurrence writes, and the mail each causes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from reconciler.model import Every, MailKind, Recurrence, Weekday
from reconciler.occurrences import EditKind, align_override_bodies, creation_edits, observe_overrides, series_edits
from reconciler.ownership import body_text, render_body
from reconciler.port import Capabilities
from reconciler.state import MeetingState, OverrideState, meeting_state
from tests.factories import declared_override, mail_for_create, mail_for_update, meeting

PEOPLE = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
MOVED = {"start": "2027-01-05T11:00", "end": "2027-01-05T11:30"}


def fields(skip: tuple[date, ...] = (), overrides: tuple[OverrideState, ...] = (), **changes: Any) -> MeetingState:
    """The sample meeting as a weekly Tuesday series until March 2027."""
    recurrence = Recurrence(
        every=Every.WEEK, on=(Weekday.TUESDAY,), until=date(2027, 3, 30), skip=skip, overrides=overrides
    )
    return meeting_state(meeting(recurrence=recurrence, **changes))


def test_a_new_skip_is_one_cancel_of_that_occurrence_without_touching_the_master() -> None:
    before, after = fields(), fields(skip=(date(2026, 12, 22),))
    edits = series_edits(before, after, {"skip"})
    assert not edits.regenerate
    assert edits.master_fields({"skip"}) == frozenset()
    assert [(e.kind, e.date) for e in edits.edits] == [(EditKind.CANCEL, "2026-12-22")]


def test_removing_an_override_writes_the_series_values_back_to_that_occurrence() -> None:
    before = fields(overrides=(declared_override(date(2027, 1, 5), {**MOVED, "subject": "Kick-off"}),))
    (edit,) = series_edits(before, fields(), {"overrides"}).edits
    assert edit.restores
    assert edit.values == OverrideState(
        date(2027, 1, 5), start=datetime(2027, 1, 5, 10, 0), end=datetime(2027, 1, 5, 10, 30), subject="Team sync"
    )


def test_narrowing_an_override_puts_back_only_what_it_no_longer_changes() -> None:
    before = fields(overrides=(declared_override(date(2027, 1, 5), {**MOVED, "subject": "Kick-off"}),))
    after = fields(overrides=(declared_override(date(2027, 1, 5), {"subject": "Kick-off"}),))
    (edit,) = series_edits(before, after, {"overrides"}).edits
    assert not edit.restores
    assert edit.values == OverrideState(
        date(2027, 1, 5), start=datetime(2027, 1, 5, 10, 0), end=datetime(2027, 1, 5, 10, 30), subject="Kick-off"
    )


def test_bringing_a_skip_back_regenerates_and_reapplies_every_other_change() -> None:
    override = declared_override(date(2027, 1, 5), MOVED)
    before = fields(skip=(date(2026, 12, 22), date(2026, 12, 29)), overrides=(override,))
    after = fields(skip=(date(2026, 12, 29),), overrides=(override,))
    edits = series_edits(before, after, {"skip"})
    assert edits.regenerate
    assert "recurrence" in edits.master_fields({"skip"})
    assert [(e.kind, e.date) for e in edits.edits] == [
        (EditKind.CANCEL, "2026-12-29"),
        (EditKind.CHANGE, "2027-01-05"),
    ]


def test_moving_the_series_regenerates_it() -> None:
    before = fields(skip=(date(2026, 12, 22),))
    after = fields(skip=(date(2026, 12, 22),), start=datetime(2026, 12, 1, 11), end=datetime(2026, 12, 1, 11, 30))
    assert series_edits(before, after, {"start", "end"}).regenerate


def test_a_subject_change_keeps_the_changed_occurrences_and_graph_mails_each_of_them_too() -> None:
    override = (declared_override(date(2027, 1, 5), MOVED),)
    before, after = fields(overrides=override), fields(overrides=override, subject="Renamed")
    edits = series_edits(before, after, {"subject"})
    assert not edits.regenerate and not edits.edits
    graph = Capabilities(silent_organizer_fields=False, series_update_mails_exceptions=True)
    mail = mail_for_update(before, after, {"subject"}, graph)
    assert [(n.kind, n.occurrence) for n in mail] == [(MailKind.UPDATE, None), (MailKind.UPDATE, "2027-01-05")]
    assert [(n.kind, n.occurrence) for n in mail_for_update(before, after, {"subject"}, Capabilities(True))] == [
        (MailKind.UPDATE, None)
    ]


def test_an_attendee_only_override_mails_only_the_people_added_and_removed_for_that_occurrence() -> None:
    after = fields(
        overrides=(declared_override(date(2027, 1, 5), {"required": ["alice@contoso.com", "dave@contoso.com"]}),)
    )
    mail = mail_for_update(fields(), after, {"overrides"}, Capabilities(True))
    assert [(n.kind, n.recipients, n.occurrence) for n in mail] == [
        (MailKind.INVITATION, ("dave@contoso.com",), "2027-01-05"),
        (MailKind.CANCELLATION, ("bob@contoso.com",), "2027-01-05"),
    ]


def test_a_new_series_with_a_skip_invites_everyone_then_cancels_that_occurrence() -> None:
    created = fields(skip=(date(2026, 12, 22),))
    assert [(e.kind, e.date) for e in creation_edits(created).edits] == [(EditKind.CANCEL, "2026-12-22")]
    assert [(n.kind, n.recipients, n.occurrence) for n in mail_for_create(created)] == [
        (MailKind.INVITATION, PEOPLE, None),
        (MailKind.CANCELLATION, PEOPLE, "2026-12-22"),
    ]


def test_observed_overrides_keep_only_what_differs_and_read_bodies_back_as_written() -> None:
    applied = fields(overrides=(declared_override(date(2027, 1, 5), {"body": "New *plans*."}),))
    series = fields()
    shown_body = "<html><body>" + render_body(replace(series, body="New *plans*."))[1] + "</body></html>"
    exceptions = {
        "2027-01-05": {
            "start": "2027-01-05T10:00",
            "end": "2027-01-05T10:30",
            "subject": "Team sync",
            "body": shown_body,
        },
        "2027-01-12": {"subject": "Team sync", "body": render_body(series)[1]},
    }
    assert observe_overrides(series, exceptions, applied) == (OverrideState(date(2027, 1, 5), body="New *plans*."),)


def test_an_override_body_read_back_as_plain_text_matches_the_markdown_it_renders_from() -> None:
    desired = fields(overrides=(declared_override(date(2027, 1, 5), {"body": "New *plans*."}),))
    shown = body_text(render_body(replace(desired, body="New *plans*."))[1])  # what observing reads back
    observed = fields(overrides=(declared_override(date(2027, 1, 5), {"body": shown}),))
    assert align_override_bodies(observed, desired) == desired
    edited = fields(overrides=(declared_override(date(2027, 1, 5), {"body": "Other plans."}),))
    assert align_override_bodies(edited, desired) == edited
