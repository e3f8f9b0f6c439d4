"""The words of plan errors, warnings and effects (`render.notices`): one sentence per record, the
same in every renderer. The golden plans show most of them in context; these pin the rest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from reconciler.errors import Diagnostic
from reconciler.model import Action
from reconciler.notices import (
    AttendeeChanged,
    DriftKept,
    DuplicateItem,
    Effect,
    FileDeletedKept,
    FileNotRead,
    ForeignLookalike,
    ForeignLookalikes,
    InputFinding,
    LateChange,
    LateChanges,
    MarkerRemoval,
    Moved,
    Notice,
    OccurrenceChanged,
    OccurrenceRestored,
    OccurrencesDropped,
    OccurrencesRetimed,
    OnlineMeetingOff,
    ProtectedFileDeleted,
    RemovedOutsideGitKept,
    SeriesRewritten,
    Span,
    StaleReason,
    TextChanged,
    TooManyCancellations,
    ValueSet,
    Worded,
)
from reconciler.plan import Change
from reconciler.render.notices import duration, ordered, outcome_message, word, word_effect
from reconciler.report import Outcome, OutcomeStatus

NOTICES: list[tuple[Notice, str]] = [
    (
        TooManyCancellations(4, 3),
        "The plan cancels 4 meetings, more than policy.max_cancellations (3); pass --allow-mass-cancel if this is"
        " intended.",
    ),
    (
        LateChanges(("team/a", "team/b"), timedelta(hours=2)),
        "The plan changes or cancels 2 meetings starting within policy.min_notice (2h): team/a, team/b; attendees"
        " may not see the mail in time. Pass --allow-late if this is intended.",
    ),
    (
        LateChanges(("team/a",), timedelta(days=1)),
        "The plan changes or cancels 1 meeting starting within policy.min_notice (1d): team/a; attendees may not"
        " see the mail in time. Pass --allow-late if this is intended.",
    ),
    (
        ProtectedFileDeleted("team/sync"),
        "team/sync: the meeting file was deleted but the meeting is protected (protect: true); restore the file, or"
        " keep it with `cancelled:` to cancel the meeting on purpose.",
    ),
    (
        DriftKept("team/sync", ("location", "subject")),
        "team/sync: location, subject changed outside git; left as is (policy.drift: warn).",
    ),
    (
        FileDeletedKept("team/sync"),
        "team/sync: the meeting file was deleted; the meeting is left in the calendar (policy.prune is off).",
    ),
    (
        RemovedOutsideGitKept("team/sync"),
        "team/sync: the meeting was cancelled or deleted outside git after the last apply; left as is"
        " (policy.drift: warn).",
    ),
    (
        DuplicateItem("team/sync", datetime(2026, 12, 8, 9, 0, tzinfo=UTC)),
        "team/sync: a second calendar item (starting 2026-12-08 09:00 UTC) carries this id, left by two applies"
        " that ran at the same time or by a version without the apply lock; this copy is cancelled, so its"
        " attendees get one cancellation for it and no new invitation.",
    ),
    (
        OnlineMeetingOff("team/sync"),
        "team/sync: online_meeting turns off: the Teams join link is removed from the meeting, and attendees who"
        " kept the link can no longer join with it.",
    ),
    (
        LateChange("team/sync", datetime(2026, 11, 24, 9, 30, tzinfo=UTC), timedelta(minutes=90)),
        "team/sync: late change: the meeting starts at 2026-11-24 09:30 UTC, within policy.min_notice (90m).",
    ),
    (
        ForeignLookalike("team/sync", "lead@contoso.com", "contract", None),
        "team/sync: lead@contoso.com's calendar already holds a meeting with this subject and start under namespace"
        " 'contract' (no id); creating it invites everyone a second time.",
    ),
    (
        ForeignLookalikes(1, ("a", "b")),
        "1 meeting this plan creates looks identical to meetings of namespace 'a', 'b' in the same calendars. If"
        " this repository's namespace was renamed, list 'a', 'b' under previous_namespaces in reconciler.yaml: they"
        " are then adopted, not created again.",
    ),
    (FileNotRead("meetings/b.json"), "meetings/b.json is not read: only .yaml and .yml files are meeting files"),
    (
        InputFinding(Diagnostic("meetings/a.yaml", 9, 7, "skip date listed twice")),
        "meetings/a.yaml:9:7: skip date listed twice",
    ),
    (Worded("as saved"), "as saved"),
]


@pytest.mark.parametrize(("notice", "words"), NOTICES)
def test_each_notice_has_its_sentence(notice: Notice, words: str) -> None:
    assert word(notice) == words


EFFECTS: list[tuple[Effect, str]] = [
    (
        MarkerRemoval(silent=False),
        "The write removes our marker; the meeting stays in every calendar, no longer managed. This backend documents"
        " no silent way to change extended properties, so attendees may receive an update for it (listed below).",
    ),
    (
        OccurrencesDropped(("2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22", "2026-12-29", "2027-01-05")),
        "6 future occurrences no longer take place: Tue 2026-12-01, Tue 2026-12-08, Tue 2026-12-15, Tue 2026-12-22"
        " and 2 more",
    ),
    (OccurrencesDropped(("2026-12-01",)), "1 future occurrence no longer takes place: Tue 2026-12-01"),
    (
        OccurrencesRetimed(
            1, "2026-12-01", False, Span("2026-12-01T10:00", "2026-12-01T10:30"), Span("2026-12-01", "2026-12-02"), None
        ),
        "1 future occurrence moves from 10:00-10:30 to all day",
    ),
    (
        OccurrencesRetimed(
            9,
            "2026-12-01",
            True,
            Span("2026-12-01T10:00", "2026-12-01T10:30"),
            Span("2026-12-01T10:00", "2026-12-01T10:30"),
            ("Europe/Berlin", "Europe/London"),
        ),
        "every future occurrence (from Tue 2026-12-01) moves from 10:00-10:30 Europe/Berlin to 10:00-10:30"
        " Europe/London",
    ),
    (
        SeriesRewritten(cancelled=0, changed=1, total=1),
        "the series is written again, which drops its 1 changed occurrence in Exchange; it is re-applied",
    ),
    (
        OccurrenceRestored("2026-12-08", Span("2026-12-08T11:00", "2026-12-08T11:30")),
        "occurrence on Tue 2026-12-08 restored to the series (back at 11:00-11:30)",
    ),
    (
        OccurrenceChanged(
            "2026-12-08",
            True,
            (
                Moved(
                    Span("2026-12-08T10:00", "2026-12-08T10:30"), Span("2026-12-09T11:00", "2026-12-09T11:30"), False
                ),
                ValueSet("location", "Room 2"),
                TextChanged(),
                AttendeeChanged("dan@contoso.com", "optional", added=False),
            ),
        ),
        "occurrence on Tue 2026-12-08 changed again: moves from 10:00-10:30 to Wed 2026-12-09 11:00-11:30, location"
        ' "Room 2", new text, -dan@contoso.com (optional)',
    ),
]


@pytest.mark.parametrize(("effect", "words"), EFFECTS)
def test_each_effect_has_its_line(effect: Effect, words: str) -> None:
    assert word_effect(effect) == words


def test_the_loaders_findings_come_first_as_listed_and_the_planners_follow_sorted_by_their_words() -> None:
    late, early = OnlineMeetingOff("team/b"), DriftKept("team/a", ("subject",))
    found: list[Notice] = [FileNotRead("meetings/z.json"), InputFinding(Diagnostic("meetings/a.yaml", 10, 1, "x"))]
    assert ordered([late, found[0], early, found[1]]) == [word(found[0]), word(found[1]), word(early), word(late)]


@pytest.mark.parametrize(
    ("value", "written"),
    [(timedelta(days=2), "2d"), (timedelta(hours=36), "36h"), (timedelta(minutes=45), "45m"), (date.resolution, "1d")],
)
def test_a_policy_duration_is_written_as_in_the_configuration(value: timedelta, written: str) -> None:
    assert duration(value) == written


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        (StaleReason.CREATED_SINCE, "stale: created in the calendar after the plan was made; plan again."),
        (StaleReason.GONE, "stale: no longer in the calendar; plan again."),
        (StaleReason.CHANGED_BY_APPLY, "stale: changed by another apply after the plan was made; plan again."),
        (StaleReason.EDITED_IN_OUTLOOK, "stale: edited in Outlook after the plan was made; plan again."),
    ],
)
def test_a_change_refused_as_stale_says_why(reason: StaleReason, words: str) -> None:
    outcome = Outcome(Change(Action.UPDATE, "team/sync", "lead@contoso.com", "Sync"), OutcomeStatus.STALE, stale=reason)
    assert outcome_message(outcome) == words


def test_a_failed_change_shows_the_providers_sentence() -> None:
    change = Change(Action.CREATE, "team/sync", "lead@contoso.com", "Sync")
    assert outcome_message(Outcome(change, OutcomeStatus.FAILED, "The mailbox is full.")) == "The mailbox is full."
