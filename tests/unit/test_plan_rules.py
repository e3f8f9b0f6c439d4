"""The planner's rules (docs/architecture.md section 9), one behaviour per test, on plain values."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reconciler.model import (
    Action,
    Every,
    MailKind,
    Meeting,
    ObservedMeeting,
    Recurrence,
    Weekday,
)
from reconciler.notices import (
    AlreadyEnded,
    DriftKept,
    DuplicateItem,
    FileDeletedKept,
    FileMayBeDeleted,
    LateChange,
    LateChanges,
    MarkerRemoval,
    NamespaceRewrite,
    NothingToRelease,
    OnlineMeetingOff,
    OrganizerChanged,
    PreviousNamespaceItemLeft,
    PreviousNamespaceTwin,
    ProtectedFileDeleted,
    Recreated,
    RemovedOutsideGitKept,
    SeriesEnded,
    TooManyCancellations,
)
from reconciler.plan import Change, Plan, PlanPolicy, build_plan
from reconciler.port import Capabilities
from reconciler.recurrence import span_utc
from reconciler.state import from_json, meeting_state, to_json

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday
SILENT = Capabilities(silent_organizer_fields=True)
LOUD = Capabilities(silent_organizer_fields=False)
EVERYONE = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "room-1@contoso.com")


def meeting(meeting_id: str = "team/sync", **changes: Any) -> Meeting:
    values: dict[str, Any] = {
        "id": meeting_id,
        "organizer": "lead@contoso.com",
        "subject": "Team sync",
        "start": datetime(2026, 12, 1, 10, 0),
        "end": datetime(2026, 12, 1, 10, 30),
        "timezone": "Europe/Berlin",
        "required": ("alice@contoso.com", "bob@contoso.com"),
        "optional": ("carol@contoso.com",),
        "rooms": ("room-1@contoso.com",),
        "location": "Room 1",
    }
    return Meeting(**(values | changes))


def weekly(
    meeting_id: str, first: date, until: date | None = None, count: int | None = None, **changes: Any
) -> Meeting:
    return meeting(
        meeting_id,
        start=datetime(first.year, first.month, first.day, 10, 0),
        end=datetime(first.year, first.month, first.day, 10, 30),
        recurrence=Recurrence(Every.WEEK, on=(Weekday(first.strftime("%A").lower()),), until=until, count=count),
        **changes,
    )


def item(
    of: Meeting,
    number: int = 1,
    *,
    meeting_id: str | None = None,
    organizer: str | None = None,
    edits: Mapping[str, Any] | None = None,
    record: bool = True,
) -> ObservedMeeting:
    """The calendar item we wrote for `of`, optionally edited in Outlook since (`edits`)."""
    written = meeting_state(of)
    fields = from_json(to_json(written) | dict(edits or {}))
    starts, ends = span_utc(fields)
    return ObservedMeeting(
        item_id=f"item-{number}",
        change_key=f"ck-{number}",
        organizer=organizer or of.organizer,
        meeting_id=meeting_id or of.id,
        fields=fields,
        last_applied=written if record else None,
        ends_at_utc=ends,
        starts_at_utc=starts,
    )


def plan(
    desired: Sequence[Meeting],
    observed: Sequence[ObservedMeeting] = (),
    *,
    capabilities: Capabilities = SILENT,
    allow_mass_cancel: bool = False,
    **policy: Any,
) -> Plan:
    return build_plan(
        desired,
        observed,
        now=NOW,
        policy=PlanPolicy(**policy),
        capabilities=capabilities,
        backend="sandbox",
        namespace="team",
        allow_mass_cancel=allow_mass_cancel,
    )


def only(result: Plan) -> Change:
    assert len(result.changes) == 1, result.changes
    return result.changes[0]


def mail(change: Change) -> dict[MailKind, tuple[str, ...]]:
    return {n.kind: n.recipients for n in change.notifications}


# -- create -----------------------------------------------------------------------------------------


def test_a_new_meeting_is_created_and_every_attendee_optional_attendee_and_room_is_invited() -> None:
    change = only(plan([meeting()]))
    assert change.action is Action.CREATE
    assert mail(change) == {MailKind.INVITATION: EVERYONE}
    assert change.item_id is None and change.change_key is None
    assert change.desired == meeting_state(meeting())


def test_a_create_lists_every_field_with_a_value_and_nothing_empty() -> None:
    names = [f.name for f in only(plan([meeting()])).fields]
    assert names[:4] == ["subject", "start", "end", "timezone"]
    assert "recurrence" not in names and "body" not in names and "categories" not in names
    assert all(f.before is None for f in only(plan([meeting()])).fields)


def test_a_meeting_without_attendees_is_created_without_mail() -> None:
    change = only(plan([meeting(required=(), optional=(), rooms=())]))
    assert change.action is Action.CREATE
    assert change.notifications == ()


def test_a_meeting_that_already_ended_is_not_created_and_says_why() -> None:
    result = plan([meeting(start=datetime(2026, 11, 10, 10, 0), end=datetime(2026, 11, 10, 11, 0))])
    assert result.changes == ()
    assert result.count(Action.NOOP) == 1
    assert result.warnings == (AlreadyEnded("team/sync"),)


def test_the_source_location_of_the_file_is_carried_on_the_change() -> None:
    from reconciler.model import SourceLocation

    change = only(plan([meeting(source=SourceLocation("meetings/sync.yaml", 3))]))
    assert change.source == "meetings/sync.yaml:3"


# -- update -----------------------------------------------------------------------------------------


def test_a_meeting_that_matches_its_item_is_unchanged() -> None:
    result = plan([meeting()], [item(meeting())])
    assert result.changes == ()
    assert result.count(Action.NOOP) == 1
    assert not result.has_changes


def test_a_changed_subject_is_written_alone_and_every_attendee_gets_an_update() -> None:
    change = only(plan([meeting(subject="Team weekly")], [item(meeting())]))
    assert change.action is Action.UPDATE
    assert [(f.name, f.before, f.after) for f in change.fields] == [("subject", "Team sync", "Team weekly")]
    assert mail(change) == {MailKind.UPDATE: EVERYONE}
    assert (change.item_id, change.change_key) == ("item-1", "ck-1")


def test_a_moved_time_changes_start_and_end_only() -> None:
    moved = meeting(start=datetime(2026, 12, 1, 11, 0), end=datetime(2026, 12, 1, 11, 30))
    change = only(plan([moved], [item(meeting())]))
    assert change.changed_names == {"start", "end"}
    assert mail(change) == {MailKind.UPDATE: EVERYONE}


def test_an_attendee_only_change_invites_the_added_and_cancels_for_the_removed_only() -> None:
    desired = meeting(required=("alice@contoso.com", "dave@contoso.com"))
    change = only(plan([desired], [item(meeting())]))
    assert change.changed_names == {"required"}
    assert mail(change) == {MailKind.INVITATION: ("dave@contoso.com",), MailKind.CANCELLATION: ("bob@contoso.com",)}


def test_an_attendee_change_with_a_visible_change_updates_those_who_stay() -> None:
    desired = meeting(required=("alice@contoso.com", "dave@contoso.com"), subject="Team weekly")
    change = only(plan([desired], [item(meeting())]))
    assert mail(change) == {
        MailKind.INVITATION: ("dave@contoso.com",),
        MailKind.UPDATE: ("alice@contoso.com", "carol@contoso.com", "room-1@contoso.com"),
        MailKind.CANCELLATION: ("bob@contoso.com",),
    }


def test_an_organizer_only_change_sends_no_mail_where_the_backend_writes_it_silently() -> None:
    desired = meeting(reminder_minutes=5, categories=("Team",))
    change = only(plan([desired], [item(meeting())], capabilities=SILENT))
    assert change.changed_names == {"reminder_minutes", "categories"}
    assert change.notifications == ()


def test_an_organizer_only_change_updates_everyone_where_the_backend_cannot_write_it_silently() -> None:
    desired = meeting(reminder_minutes=5, categories=("Team",))
    change = only(plan([desired], [item(meeting())], capabilities=LOUD))
    assert mail(change) == {MailKind.UPDATE: EVERYONE}


def test_a_changed_organizer_is_a_plan_error_because_exchange_cannot_move_a_meeting_between_mailboxes() -> None:
    result = plan([meeting(organizer="new@contoso.com")], [item(meeting())])
    assert result.changes == ()
    assert result.errors == (OrganizerChanged("team/sync", "lead@contoso.com", "new@contoso.com"),)


def test_a_meeting_that_already_ended_is_never_changed() -> None:
    past = meeting(start=datetime(2026, 11, 10, 10, 0), end=datetime(2026, 11, 10, 11, 0))
    result = plan([replace(past, subject="Renamed afterwards")], [item(past)])
    assert result.changes == ()
    assert result.count(Action.NOOP) == 1


def test_a_meeting_in_progress_can_still_be_changed() -> None:
    running = meeting(start=datetime(2026, 11, 24, 9, 30), end=datetime(2026, 11, 24, 11, 0))  # 08:30-10:00 UTC
    change = only(plan([replace(running, subject="Running late")], [item(running)]))
    assert change.action is Action.UPDATE


# -- drift ------------------------------------------------------------------------------------------


def test_a_field_edited_in_outlook_is_reported_as_drift_and_changed_back() -> None:
    change = only(plan([meeting()], [item(meeting(), edits={"location": "Room 9"})]))
    assert change.action is Action.UPDATE
    assert change.drift == ("location",)
    assert [(f.name, f.before, f.after) for f in change.fields] == [("location", "Room 9", "Room 1")]


def test_a_change_made_in_git_is_not_drift() -> None:
    change = only(plan([meeting(location="Room 2")], [item(meeting())]))
    assert change.drift == ()


def test_without_a_last_applied_record_nothing_is_called_drift() -> None:
    change = only(plan([meeting()], [item(meeting(), edits={"location": "Room 9"}, record=False)]))
    assert change.drift == ()
    assert change.changed_names == {"location"}


def test_with_drift_policy_warn_drifted_fields_are_left_alone_and_reported() -> None:
    observed = item(meeting(), edits={"location": "Room 9"})
    change = only(plan([meeting(subject="Team weekly")], [observed], drift="warn"))
    assert change.changed_names == {"subject"}
    assert change.warnings == (DriftKept("team/sync", ("location",)),)


def test_with_drift_policy_warn_a_meeting_with_only_drift_is_unchanged_with_a_plan_warning() -> None:
    result = plan([meeting()], [item(meeting(), edits={"location": "Room 9"})], drift="warn")
    assert result.changes == ()
    assert result.count(Action.NOOP) == 1
    assert result.warnings == (DriftKept("team/sync", ("location",)),)


# -- deleted files, tombstones, protection ----------------------------------------------------------


def test_a_deleted_file_cancels_the_meeting_and_every_attendee_gets_a_cancellation() -> None:
    change = only(plan([], [item(meeting())]))
    assert change.action is Action.CANCEL
    assert (change.item_id, change.change_key, change.comment) == ("item-1", "ck-1", None)
    assert mail(change) == {MailKind.CANCELLATION: EVERYONE}
    assert change.desired is None and change.fields == ()


def test_a_deleted_file_of_a_protected_meeting_is_a_plan_error_and_nothing_is_cancelled() -> None:
    result = plan([], [item(meeting(protect=True))])
    assert result.changes == ()
    assert result.errors == (ProtectedFileDeleted("team/sync"),)


def test_without_prune_a_deleted_file_releases_the_meeting_with_a_warning() -> None:
    result = plan([], [item(meeting())], prune=False)
    assert result.changes == () and result.errors == ()
    assert result.warnings == (FileDeletedKept("team/sync"),)


def test_a_tombstone_cancels_with_its_reason_as_the_message_to_attendees() -> None:
    reason = "Replaced by the Q1 planning series."
    change = only(plan([meeting(cancelled=reason)], [item(meeting())]))
    assert change.action is Action.CANCEL
    assert change.comment == reason
    assert [(n.kind, n.recipients, n.comment) for n in change.notifications] == [
        (MailKind.CANCELLATION, EVERYONE, reason)
    ]


def test_a_tombstone_of_a_protected_meeting_cancels_it_on_purpose() -> None:
    change = only(plan([meeting(protect=True, cancelled="Done.")], [item(meeting(protect=True))]))
    assert change.action is Action.CANCEL


def test_a_tombstone_whose_meeting_is_already_gone_changes_nothing() -> None:
    result = plan([meeting(cancelled="Done.")])
    assert result.changes == () and result.errors == ()


def test_a_tombstone_of_a_meeting_that_already_ended_changes_nothing() -> None:
    past = meeting(start=datetime(2026, 11, 10, 10, 0), end=datetime(2026, 11, 10, 11, 0))
    assert plan([replace(past, cancelled="Done.")], [item(past)]).changes == ()


def test_a_tombstone_cancels_the_item_in_the_mailbox_that_holds_it() -> None:
    # The organizer-change error tells the user to keep the file with `cancelled:`; if the file
    # still names the new organizer, the cancel must address the mailbox that holds the item
    # (or be refused), never the other one.
    result = plan([meeting(organizer="new@contoso.com", cancelled="Moving.")], [item(meeting())])
    assert [(c.action, c.organizer) for c in result.changes] in ([(Action.CANCEL, "lead@contoso.com")], [])


def test_an_item_whose_meeting_ended_is_not_cancelled_when_its_file_is_deleted() -> None:
    past = meeting(start=datetime(2026, 11, 10, 10, 0), end=datetime(2026, 11, 10, 11, 0))
    result = plan([], [item(past)])
    assert result.changes == () and result.errors == () and result.warnings == ()


def test_a_removed_series_that_has_started_is_ended_after_its_last_started_occurrence() -> None:
    series = weekly("team/monday", date(2026, 11, 2), until=date(2027, 3, 29))
    change = only(plan([], [item(series)]))
    assert change.action is Action.UPDATE
    assert change.changed_names == {"recurrence"}
    assert change.desired is not None
    assert to_json(change.desired)["recurrence"]["until"] == "2026-11-23"
    assert to_json(change.desired)["recurrence"]["count"] is None
    assert change.warnings == (SeriesEnded("team/monday", date(2026, 11, 23)),)
    assert mail(change) == {MailKind.UPDATE: EVERYONE}


def test_a_removed_series_ending_by_count_is_ended_by_date_instead() -> None:
    series = weekly("team/monday", date(2026, 11, 2), count=20)
    change = only(plan([], [item(series)]))
    assert change.desired is not None
    desired = to_json(change.desired)
    assert (desired["recurrence"]["until"], desired["recurrence"]["count"]) == ("2026-11-23", None)


def test_a_removed_series_that_has_not_started_is_cancelled() -> None:
    series = weekly("team/monday", date(2026, 11, 30), until=date(2027, 3, 29))
    assert only(plan([], [item(series)])).action is Action.CANCEL


def test_ending_a_started_series_does_not_count_as_a_cancellation() -> None:
    series = [weekly(f"team/s{k}", date(2026, 11, 2), until=date(2027, 3, 29)) for k in range(3)]
    result = plan([], [item(s, k) for k, s in enumerate(series)], max_cancellations=1)
    assert result.errors == ()
    assert result.count(Action.CANCEL) == 0 and result.count(Action.UPDATE) == 3


# -- mass cancellation ------------------------------------------------------------------------------


def deleted(n: int) -> list[ObservedMeeting]:
    return [item(meeting(f"team/m{k}"), k) for k in range(n)]


def test_more_cancellations_than_the_policy_allows_is_a_plan_error() -> None:
    result = plan([], deleted(4), max_cancellations=3)
    assert result.count(Action.CANCEL) == 4
    assert result.errors == (TooManyCancellations(4, 3),)


def test_exactly_as_many_cancellations_as_the_policy_allows_is_fine() -> None:
    assert plan([], deleted(3), max_cancellations=3).errors == ()


def test_the_override_flag_allows_a_mass_cancellation() -> None:
    result = plan([], deleted(4), max_cancellations=3, allow_mass_cancel=True)
    assert result.errors == () and result.count(Action.CANCEL) == 4


# -- moves and duplicates ---------------------------------------------------------------------------


def test_a_meeting_with_moved_from_keeps_the_old_item_without_cancelling_or_reinviting() -> None:
    result = plan([meeting("team/weekly", moved_from=("team/sync",))], [item(meeting("team/sync"))])
    change = only(result)
    assert change.action is Action.MOVE
    assert (change.meeting_id, change.previous_id, change.item_id) == ("team/weekly", "team/sync", "item-1")
    assert change.fields == ()
    assert change.notifications == ()  # on a backend that rewrites our record silently


def test_a_move_that_also_changes_a_field_writes_that_field() -> None:
    desired = meeting("team/weekly", moved_from=("team/sync",), subject="Team weekly")
    change = only(plan([desired], [item(meeting("team/sync"))]))
    assert change.action is Action.MOVE
    assert change.changed_names == {"subject"}
    assert mail(change) == {MailKind.UPDATE: EVERYONE}


def test_a_moved_meeting_whose_new_id_already_has_an_item_keeps_that_one_and_cancels_the_old() -> None:
    desired = meeting("team/weekly", moved_from=("team/sync",))
    result = plan([desired], [item(meeting("team/weekly"), 1), item(meeting("team/sync"), 2)])
    assert [(c.action, c.meeting_id, c.item_id) for c in result.changes] == [(Action.CANCEL, "team/sync", "item-2")]


def test_a_second_item_carrying_the_same_id_is_cancelled_and_the_first_is_kept() -> None:
    later = meeting(start=datetime(2026, 12, 8, 10, 0), end=datetime(2026, 12, 8, 10, 30))
    result = plan([meeting()], [item(later, 2), item(meeting(), 1)])
    change = only(result)
    assert (change.action, change.item_id) == (Action.CANCEL, "item-2")
    assert change.warnings == (DuplicateItem("team/sync", datetime(2026, 12, 8, 9, 0, tzinfo=UTC)),)
    assert result.count(Action.NOOP) == 1


# -- determinism ------------------------------------------------------------------------------------


def mixed_inputs() -> tuple[list[Meeting], list[ObservedMeeting]]:
    desired = [
        meeting("zeta/one", organizer="zed@contoso.com"),
        meeting("alpha/two", organizer="amy@contoso.com", required=("zoe@contoso.com", "adam@contoso.com")),
        meeting("alpha/one", organizer="amy@contoso.com", subject="Renamed"),
        meeting("beta/one", organizer="amy@contoso.com"),
    ]
    observed = [
        item(meeting("alpha/one", organizer="amy@contoso.com"), 1),
        item(meeting("gone/one", organizer="bob@contoso.com"), 2),
        item(meeting("gone/two", organizer="amy@contoso.com"), 3),
    ]
    return desired, observed


def test_changes_are_sorted_by_organizer_then_id() -> None:
    desired, observed = mixed_inputs()
    keys = [(c.organizer, c.meeting_id) for c in plan(desired, observed).changes]
    assert keys == sorted(keys)
    assert keys[0] == ("amy@contoso.com", "alpha/one")


def test_recipients_are_sorted() -> None:
    desired, observed = mixed_inputs()
    for change in plan(desired, observed).changes:
        for notice in change.notifications:
            assert list(notice.recipients) == sorted(set(notice.recipients))


def test_the_plan_does_not_depend_on_the_order_of_observed_items() -> None:
    desired, observed = mixed_inputs()
    first = plan(desired, observed)
    for seed in range(5):
        shuffled = list(observed)
        random.Random(seed).shuffle(shuffled)
        assert plan(desired, shuffled) == first


def test_the_changes_do_not_depend_on_the_order_of_the_meeting_files() -> None:
    desired, observed = mixed_inputs()
    first = plan(desired, observed)
    for seed in range(5):
        shuffled = list(desired)
        random.Random(seed).shuffle(shuffled)
        assert plan(shuffled, observed).changes == first.changes


def test_warnings_and_errors_do_not_depend_on_the_order_of_the_meeting_files() -> None:
    past = [
        meeting(f"team/past-{k}", start=datetime(2026, 11, k, 10, 0), end=datetime(2026, 11, k, 11, 0)) for k in (1, 2)
    ]
    assert plan(past).warnings == plan(list(reversed(past))).warnings


def test_an_item_is_matched_by_its_own_id_before_any_moved_from() -> None:
    old, new = meeting("team/sync"), meeting("team/weekly", moved_from=("team/sync",))
    observed = [item(old)]
    assert plan([new, old], observed) == plan([old, new], observed)
    assert [c.action for c in plan([new, old], observed).changes] == [Action.CREATE]


def test_the_plan_records_when_it_was_made() -> None:
    assert plan([]).created_at == "2026-11-24T09:00:00+00:00"


def test_the_plan_counts_mail_per_kind_and_the_people_who_receive_any() -> None:
    desired = [meeting("team/a"), meeting("team/b", required=("dave@contoso.com",), optional=(), rooms=())]
    result = plan(desired, [item(meeting("team/gone"), 9)])
    assert result.mail_count(MailKind.INVITATION) == 5
    assert result.mail_count(MailKind.CANCELLATION) == 4
    assert result.recipients() == frozenset({*EVERYONE, "dave@contoso.com"})


# -- online meetings --------------------------------------------------------------------------------


def test_turning_an_online_meeting_off_warns_that_the_join_link_goes_away() -> None:
    online = meeting(online_meeting=True)
    change = only(plan([meeting(online_meeting=False)], [item(online)]))
    assert change.warnings == (OnlineMeetingOff("team/sync"),)


def test_turning_an_online_meeting_on_or_editing_its_body_gives_no_join_link_warning() -> None:
    assert only(plan([meeting(online_meeting=True)], [item(meeting())])).warnings == ()
    online = meeting(online_meeting=True)
    assert only(plan([meeting(online_meeting=True, body="New agenda")], [item(online)])).warnings == ()


# -- unreadable mailboxes -------------------------------------------------------------------------

OFFICE = "office@contoso.com"
GONE = {OFFICE: "Microsoft Graph cannot use office@contoso.com's mailbox (ErrorInvalidUser)."}


def test_a_meeting_of_an_unreadable_mailbox_is_neither_created_nor_counted_and_the_plan_lists_it() -> None:
    result = build_plan(
        [meeting(), meeting("office/offsite", organizer=OFFICE)],
        [],
        now=NOW,
        policy=PlanPolicy(),
        capabilities=SILENT,
        backend="graph",
        namespace="team",
        unavailable=GONE,
    )
    assert [(c.action, c.meeting_id) for c in result.changes] == [(Action.CREATE, "team/sync")]
    (held,) = result.unavailable
    assert (held.mailbox, held.reason, held.meeting_ids) == (OFFICE, GONE[OFFICE], ("office/offsite",))
    assert result.unchanged == 0 and result.errors == ()


def test_an_item_elsewhere_carrying_the_id_of_a_held_back_meeting_is_not_cancelled_as_if_its_file_was_deleted() -> None:
    moved = meeting("office/offsite", organizer=OFFICE)
    result = build_plan(
        [moved],
        [item(meeting("office/offsite"))],  # still in lead's calendar: the file moved it to office
        now=NOW,
        policy=PlanPolicy(max_cancellations=0),
        capabilities=SILENT,
        backend="graph",
        namespace="team",
        unavailable=GONE,
    )
    assert result.changes == () and result.errors == ()


# -- late changes -----------------------------------------------------------------------------------

SOON = meeting(start=datetime(2026, 11, 24, 10, 30), end=datetime(2026, 11, 24, 11, 0))  # 09:30 UTC, in 30 min


def test_a_change_that_mails_attendees_of_a_meeting_starting_within_min_notice_is_late_and_needs_allow_late() -> None:
    result = plan([replace(SOON, subject="Moved agenda")], [item(SOON)], min_notice=timedelta(hours=2))
    change = only(result)
    starts = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert change.late and change.warnings == (LateChange("team/sync", starts, timedelta(hours=2)),)
    assert result.errors == (LateChanges(("team/sync",), timedelta(hours=2)),)


def test_allow_late_applies_a_late_change_and_still_marks_it() -> None:
    result = build_plan(
        [replace(SOON, subject="Moved agenda")],
        [item(SOON)],
        now=NOW,
        policy=PlanPolicy(min_notice=timedelta(hours=2)),
        capabilities=SILENT,
        backend="sandbox",
        namespace="team",
        allow_late=True,
    )
    assert result.errors == () and only(result).late


def test_a_late_cancellation_needs_allow_late_too() -> None:
    result = plan([replace(SOON, cancelled="Sorry")], [item(SOON)], min_notice=timedelta(hours=2))
    assert only(result).action is Action.CANCEL and only(result).late and result.errors


def test_a_change_that_mails_nobody_is_never_late() -> None:
    result = plan([replace(SOON, reminder_minutes=5)], [item(SOON)], min_notice=timedelta(hours=2))
    assert not only(result).late and result.errors == ()


def test_a_meeting_starting_after_min_notice_is_not_late_and_without_min_notice_nothing_is() -> None:
    later = meeting(start=datetime(2026, 11, 24, 14, 0), end=datetime(2026, 11, 24, 14, 30))
    assert not only(plan([replace(later, subject="x")], [item(later)], min_notice=timedelta(hours=2))).late
    assert not only(plan([replace(SOON, subject="x")], [item(SOON)])).late


def test_moving_a_meeting_to_start_within_min_notice_is_late() -> None:
    later = meeting(start=datetime(2026, 11, 30, 14, 0), end=datetime(2026, 11, 30, 14, 30))
    result = plan([replace(later, start=SOON.start, end=SOON.end)], [item(later)], min_notice=timedelta(hours=2))
    assert only(result).late and result.errors


# -- release ------------------------------------------------------------------------------------------


def test_release_removes_the_marker_without_mail_where_the_backend_writes_it_silently() -> None:
    change = only(plan([meeting(release=True)], [item(meeting())]))
    assert (change.action, change.item_id, change.change_key, change.notifications) == (
        Action.RELEASE,
        "item-1",
        "ck-1",
        (),
    )
    assert change.fields == () and change.desired is None
    assert change.effects == (MarkerRemoval(silent=True), FileMayBeDeleted())


def test_release_on_a_backend_without_silent_writes_announces_the_update_it_may_send() -> None:
    change = only(plan([meeting(release=True)], [item(meeting())], capabilities=LOUD))
    assert mail(change) == {MailKind.UPDATE: EVERYONE}
    assert change.effects == (MarkerRemoval(silent=False), FileMayBeDeleted())


def test_release_of_a_meeting_without_item_does_nothing_and_says_so() -> None:
    result = plan([meeting(release=True)])
    assert result.changes == () and result.warnings == (NothingToRelease("team/sync"),)


# -- previous namespaces ------------------------------------------------------------------------------


def adopt_plan(desired: Sequence[Meeting], earlier: Sequence[ObservedMeeting], **kwargs: Any) -> Plan:
    return build_plan(
        desired,
        [],
        now=NOW,
        policy=PlanPolicy(),
        capabilities=kwargs.pop("capabilities", SILENT),
        backend="sandbox",
        namespace="team",
        previous={"old-team": earlier},
        **kwargs,
    )


def test_an_item_of_a_previous_namespace_is_adopted_instead_of_created_again() -> None:
    change = only(adopt_plan([meeting()], [item(meeting())]))
    assert (change.action, change.item_id, change.previous_namespace) == (Action.ADOPT, "item-1", "old-team")
    assert change.notifications == () and change.fields == ()
    assert change.effects == (NamespaceRewrite("old-team", silent=True),)


def test_an_adoption_also_writes_what_the_file_changed() -> None:
    change = only(adopt_plan([meeting(subject="Renamed")], [item(meeting())]))
    assert change.action is Action.ADOPT and [f.name for f in change.fields] == ["subject"]
    assert mail(change) == {MailKind.UPDATE: EVERYONE}


def test_an_item_of_a_previous_namespace_without_a_file_is_left_alone_and_reported() -> None:
    result = adopt_plan([], [item(meeting())])
    assert result.changes == ()
    assert result.warnings == (PreviousNamespaceItemLeft("team/sync", "old-team", "lead@contoso.com"),)


def test_a_new_meeting_identical_to_an_unclaimed_item_of_a_previous_namespace_is_warned_about() -> None:
    result = adopt_plan([meeting("team/sync-2")], [item(meeting())])
    assert only(result).action is Action.CREATE
    assert PreviousNamespaceTwin("team/sync-2", "old-team", "team/sync") in result.warnings


# -- meetings removed outside git ------------------------------------------------------------------


def test_a_meeting_the_last_apply_left_but_now_missing_is_created_again_and_marked_as_removed_outside_git() -> None:
    result = build_plan(
        [meeting(), meeting("team/new")],
        [],
        now=NOW,
        policy=PlanPolicy(),
        capabilities=SILENT,
        backend="graph",
        namespace="team",
        recorded={"lead@contoso.com": frozenset({"team/sync"})},
    )
    new, recreated = result.changes  # sorted by id
    assert (recreated.meeting_id, recreated.action, recreated.recreated) == ("team/sync", Action.CREATE, True)
    assert recreated.warnings == (Recreated("team/sync"),)
    assert set(mail(recreated)[MailKind.INVITATION]) == set(EVERYONE)
    assert (new.meeting_id, new.recreated, new.warnings) == ("team/new", False, ())


def test_with_drift_policy_warn_a_meeting_removed_outside_git_is_left_removed_and_reported() -> None:
    result = build_plan(
        [meeting()],
        [],
        now=NOW,
        policy=PlanPolicy(drift="warn"),
        capabilities=SILENT,
        backend="graph",
        namespace="team",
        recorded={"lead@contoso.com": frozenset({"team/sync"})},
    )
    assert result.changes == () and result.drift_kept == ("team/sync",)
    assert result.warnings == (RemovedOutsideGitKept("team/sync"),)
