"""The provider contract, run against every backend (sandbox, Graph over HTTP, EWS over HTTP).

Every test drives the real reconcile shell (observe -> plan -> apply) and asserts on the plan, on
the calendar as the provider and the store see it, and on the store's sent-mail log. The central
promise: after an apply, planning again finds nothing to do, and the mail Exchange sent is exactly
the mail the plan announced.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest

from reconciler.emulator.store import SendMode, UnavailableReason
from reconciler.errors import ConflictError
from reconciler.model import (
    PROP_MEETING_ID,
    PROP_NAMESPACE,
    Action,
    Every,
    Meeting,
    Recurrence,
    ShowAs,
    Weekday,
    extended_property_id,
)
from reconciler.occurrences import NO_EDITS
from reconciler.plan import Plan, PlanPolicy
from reconciler.port import UpdateRequest
from reconciler.reconcile import apply_plan, make_plan
from reconciler.state import to_json
from tests.contract.backends.harness import Backend
from tests.factories import ORGANIZER, meeting

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NAMESPACE = "contract"

Mail = Counter[tuple[str, str, str]]


def plan_for(backend: Backend, meetings: list[Meeting], policy: PlanPolicy | None = None) -> Plan:
    return make_plan(
        meetings,
        backend.provider,
        namespace=NAMESPACE,
        policy=policy or PlanPolicy(),
        now=NOW,
        extra_organizers=[ORGANIZER],
    )


def mail_since(backend: Backend, seq: int) -> Mail:
    return Counter(
        (m.recipient, m.kind, m.extended.get(extended_property_id(PROP_MEETING_ID), ""))
        for m in backend.store.mail()
        if m.seq > seq
    )


def last_seq(backend: Backend) -> int:
    mail = backend.store.mail()
    return mail[-1].seq if mail else 0


def announced(plan: Plan) -> Mail:
    return Counter((r, n.kind.value, c.meeting_id) for c in plan.changes for n in c.notifications for r in n.recipients)


def converge(backend: Backend, meetings: list[Meeting], policy: PlanPolicy | None = None) -> tuple[Plan, Mail]:
    """Plan, apply, and check the contract: the mail sent is the mail announced, and a second plan
    has nothing to do. Returns the plan and the mail."""
    seq = last_seq(backend)
    plan = plan_for(backend, meetings, policy)
    assert not plan.errors
    report = apply_plan(plan, backend.provider)
    assert report.ok, [o.message for o in report.outcomes if o.status != "applied"]
    sent = mail_since(backend, seq)
    assert sent == announced(plan)
    again = plan_for(backend, meetings, policy)
    assert again.changes == (), [(c.meeting_id, c.action, c.fields) for c in again.changes]
    return plan, sent


def test_apply_then_plan_again_is_a_no_op_and_every_attendee_got_one_invitation(backend: Backend) -> None:
    meetings = [
        meeting(),
        meeting("team/retro", subject="Retro", required=("dave@contoso.com",), optional=()),
    ]
    plan, sent = converge(backend, meetings)
    assert [c.action for c in plan.changes] == [Action.CREATE, Action.CREATE]
    assert sent == Counter(
        {
            ("alice@contoso.com", "invitation", "team/sync"): 1,
            ("bob@contoso.com", "invitation", "team/sync"): 1,
            ("carol@contoso.com", "invitation", "team/sync"): 1,
            ("dave@contoso.com", "invitation", "team/retro"): 1,
        }
    )
    listed = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    assert sorted(o.meeting_id for o in listed) == ["team/retro", "team/sync"]


def test_changing_the_subject_and_time_sends_one_update_to_every_attendee(backend: Backend) -> None:
    converge(backend, [meeting()])
    changed = meeting(
        subject="Team sync (moved)", start=datetime(2026, 12, 1, 11, 0), end=datetime(2026, 12, 1, 11, 45)
    )
    plan, sent = converge(backend, [changed])
    assert [f.name for f in plan.changes[0].fields] == ["subject", "start", "end"]
    assert sent == Counter(
        {(a, "update", "team/sync"): 1 for a in ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")}
    )


def test_adding_an_attendee_invites_only_that_attendee(backend: Backend) -> None:
    converge(backend, [meeting()])
    _, sent = converge(backend, [meeting(required=("alice@contoso.com", "bob@contoso.com", "erin@contoso.com"))])
    assert sent == Counter({("erin@contoso.com", "invitation", "team/sync"): 1})


def test_removing_an_attendee_cancels_only_for_that_attendee(backend: Backend) -> None:
    converge(backend, [meeting()])
    _, sent = converge(backend, [meeting(required=("alice@contoso.com",))])
    assert sent == Counter({("bob@contoso.com", "cancellation", "team/sync"): 1})


def test_a_field_attendees_do_not_see_sends_mail_only_where_the_backend_cannot_avoid_it(
    backend: Backend,
) -> None:
    converge(backend, [meeting()])
    _, sent = converge(backend, [meeting(categories=("Platform",), reminder_minutes=5)])
    if backend.provider.capabilities.silent_organizer_fields:
        assert sent == Counter()
    else:
        assert set(sent) == {
            (a, "update", "team/sync") for a in ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
        }


def test_deleting_a_meeting_file_cancels_it_once_for_every_attendee(backend: Backend) -> None:
    converge(backend, [meeting(), meeting("team/retro", subject="Retro")])
    plan, sent = converge(backend, [meeting()])
    assert [(c.action, c.meeting_id) for c in plan.changes] == [(Action.CANCEL, "team/retro")]
    assert sent == Counter(
        {(a, "cancellation", "team/retro"): 1 for a in ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")}
    )
    assert [o.meeting_id for o in backend.provider.list_managed(ORGANIZER, NAMESPACE)] == ["team/sync"]


def test_a_cancelled_tombstone_cancels_with_its_text(backend: Backend) -> None:
    converge(backend, [meeting()])
    converge(backend, [meeting(cancelled="Replaced by the Q1 planning series.")])
    comments = {m.recipient: m.comment for m in backend.store.mail() if m.kind == "cancellation"}
    assert comments == {
        a: "Replaced by the Q1 planning series." for a in ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
    }


def test_moved_from_keeps_the_same_calendar_item_without_cancellation_or_invitation(backend: Backend) -> None:
    converge(backend, [meeting("team/old-sync")])
    (before,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    plan, sent = converge(backend, [meeting("team/sync", moved_from=("team/old-sync",))])
    assert [c.action for c in plan.changes] == [Action.MOVE]
    assert not {kind for _, kind, _ in sent} & {"invitation", "cancellation"}
    (after,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    assert (after.item_id, after.meeting_id) == (before.item_id, "team/sync")


def test_items_without_our_marker_or_with_another_namespace_are_never_touched(backend: Backend) -> None:
    other = meeting("team/sync", subject="Someone else's")
    converge(backend, [other])  # created in our namespace first, then re-labelled as another team's
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    backend.store.update_item(
        backend.store_id(item.item_id),
        {},
        send=SendMode.NONE,
        extended={extended_property_id(PROP_NAMESPACE): "other-team"},
    )
    backend.store.create_item(
        ORGANIZER, {**backend.store.get_item(backend.store_id(item.item_id)).doc, "extended": {}}, send=SendMode.NONE
    )
    seq = last_seq(backend)
    plan, _ = converge(backend, [])
    assert plan.changes == ()
    assert mail_since(backend, seq) == Counter()
    assert len(backend.store.list_items(ORGANIZER)) == 2


def test_an_edit_made_in_outlook_is_planned_back_to_git_and_marked_as_drift(backend: Backend) -> None:
    converge(backend, [meeting()])
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    backend.store.update_item(backend.store_id(item.item_id), {"subject": "Edited in Outlook"}, send=SendMode.ALL)
    plan, _sent = converge(backend, [meeting()])
    (change,) = plan.changes
    assert (change.action, change.drift) == (Action.UPDATE, ("subject",))
    assert [(f.before, f.after) for f in change.fields] == [("Edited in Outlook", "Team sync")]


def test_a_stale_change_key_is_a_conflict_and_writes_nothing(backend: Backend) -> None:
    converge(backend, [meeting()])
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    backend.store.update_item(backend.store_id(item.item_id), {"location": "Elsewhere"}, send=SendMode.NONE)
    seq = last_seq(backend)
    request = UpdateRequest(
        NAMESPACE,
        ORGANIZER,
        "team/sync",
        item.item_id,
        item.change_key,
        dataclasses.replace(item.fields, subject="Overwritten"),
        frozenset({"subject"}),
        "team/sync",
        NO_EDITS,
    )
    with pytest.raises(ConflictError):
        backend.provider.update(request)
    assert backend.store.get_item(backend.store_id(item.item_id)).doc["subject"] == "Team sync"
    assert mail_since(backend, seq) == Counter()


def test_a_weekly_series_across_daylight_saving_round_trips_as_a_series(backend: Backend) -> None:
    series = meeting(
        start=datetime(2026, 12, 1, 10, 0),
        recurrence=Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY, Weekday.THURSDAY), until=date(2027, 6, 30)),
    )
    plan, sent = converge(backend, [series])
    assert len(sent) == 3
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    assert to_json(item.fields)["start"] == "2026-12-01T10:00" and to_json(item.fields)["timezone"] == "Europe/Berlin"
    assert to_json(item.fields)["recurrence"]["until"] == "2027-06-30"
    monthly = dataclasses.replace(series, recurrence=Recurrence(every=Every.MONTH, day_of_month=1, count=6))
    plan, sent = converge(backend, [monthly])
    assert [f.name for f in plan.changes[0].fields] == ["recurrence"]


def test_an_all_day_meeting_round_trips(backend: Backend) -> None:
    offsite = meeting(
        "team/offsite", all_day=True, start=date(2026, 12, 14), end=date(2026, 12, 16), show_as=ShowAs.FREE
    )
    converge(backend, [offsite])


def test_hidden_attendees_are_written_read_back_and_changed_with_one_update_each(backend: Backend) -> None:
    if not backend.provider.capabilities.hide_attendees:
        pytest.skip(f"{backend.name} cannot hide attendees (the loader refuses the key there)")
    hidden = meeting(hide_attendees=True)
    converge(backend, [hidden])
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    assert item.fields.hide_attendees is True
    plan, sent = converge(backend, [dataclasses.replace(hidden, hide_attendees=False)])
    assert [(f.name, f.before, f.after) for f in plan.changes[0].fields] == [("hide_attendees", True, False)]
    assert sent == Counter({(person, "update", "team/sync"): 1 for person in hidden.attendees})


def test_a_create_whose_answer_was_lost_is_not_created_or_announced_twice(backend: Backend) -> None:
    if backend.lose_next_answer is None:
        pytest.fail(f"the {backend.name} harness offers no way to lose an answer")
    backend.lose_next_answer("create")
    converge(backend, [meeting()])
    assert len(backend.provider.list_managed(ORGANIZER, NAMESPACE)) == 1


def test_a_cancel_whose_answer_was_lost_still_converges_with_one_cancellation_each(backend: Backend) -> None:
    if backend.lose_next_answer is None:
        pytest.fail(f"the {backend.name} harness offers no way to lose an answer")
    converge(backend, [meeting()])
    backend.lose_next_answer("cancel")
    _, sent = converge(backend, [])
    assert sent == Counter(
        {(a, "cancellation", "team/sync"): 1 for a in ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")}
    )


def test_meetings_that_already_ended_are_never_created_changed_or_cancelled(backend: Backend) -> None:
    past = meeting("team/past", start=datetime(2026, 11, 2, 10, 0), end=datetime(2026, 11, 2, 10, 30))
    plan = plan_for(backend, [past])
    assert plan.changes == ()


def test_a_deleted_organizers_meetings_are_found_through_the_configured_organizers(backend: Backend) -> None:
    office = meeting("company/offsite", organizer="office@contoso.com")
    converge(backend, [meeting(), office])
    plan = make_plan(
        [meeting()],
        backend.provider,
        namespace=NAMESPACE,
        policy=PlanPolicy(),
        now=NOW,
        extra_organizers=[ORGANIZER, "office@contoso.com"],
    )
    assert [(c.action, c.meeting_id, c.organizer) for c in plan.changes] == [
        (Action.CANCEL, "company/offsite", "office@contoso.com")
    ]


# -- one unreadable mailbox, release, namespace change ------------------------------------------------

OFFICE = "office@contoso.com"
#: What each backend's reason names, per kind of unavailable mailbox
#: (see docs/reference/mailboxes-late-release-adopt.md).
UNAVAILABLE_WORDS = {
    ("sandbox", UnavailableReason.MISSING): "no such mailbox",
    ("graph", UnavailableReason.MISSING): "ErrorInvalidUser",
    ("ews", UnavailableReason.MISSING): "ErrorNonExistentMailbox",
    ("sandbox", UnavailableReason.DENIED): "access to it is denied",
    ("graph", UnavailableReason.DENIED): "Access to OData is disabled",
    ("ews", UnavailableReason.DENIED): "ErrorImpersonateUserDenied",
    ("sandbox", UnavailableReason.NOT_ENABLED): "not enabled",
    ("graph", UnavailableReason.NOT_ENABLED): "MailboxNotEnabledForRESTAPI",
    ("ews", UnavailableReason.NOT_ENABLED): "ErrorNonExistentMailbox",
}


def plan_with(backend: Backend, meetings: list[Meeting], **options: Any) -> Plan:
    return make_plan(
        meetings,
        backend.provider,
        namespace=options.pop("namespace", NAMESPACE),
        policy=PlanPolicy(max_cancellations=options.pop("max_cancellations", 10)),
        now=NOW,
        extra_organizers=[ORGANIZER, OFFICE],
        **options,
    )


@pytest.mark.parametrize("reason", list(UnavailableReason))
def test_one_unreadable_mailbox_is_reported_and_every_other_organizer_is_still_planned_and_applied(
    backend: Backend, reason: UnavailableReason
) -> None:
    offsite = meeting("company/offsite", organizer=OFFICE)
    converge(backend, [meeting(), offsite, meeting("company/party", organizer=OFFICE, subject="Party")])
    backend.store.set_unavailable(OFFICE, reason)
    seq = last_seq(backend)
    # The sync changes; the party's file is deleted and a new office meeting appears: while the office
    # mailbox cannot be read, none of its meetings may be cancelled, created or changed.
    desired = [meeting(subject="Team sync v2"), offsite, meeting("company/new", organizer=OFFICE)]
    plan = plan_with(backend, desired, max_cancellations=0)
    assert [(c.action, c.meeting_id) for c in plan.changes] == [(Action.UPDATE, "team/sync")]
    assert plan.errors == ()
    (held,) = plan.unavailable
    assert (held.mailbox, held.meeting_ids) == (OFFICE, ("company/new", "company/offsite"))
    assert UNAVAILABLE_WORDS[(backend.name, reason)] in held.reason and OFFICE in held.reason
    assert "calendar item was not found" not in held.reason
    assert apply_plan(plan, backend.provider).ok
    assert {(r, k, i) for (r, k, i) in mail_since(backend, seq)} == {
        (a, "update", "team/sync") for a in ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
    }
    assert len(backend.store.list_items(OFFICE)) == 2  # nothing of the office was touched
    backend.store.set_unavailable(OFFICE, None)
    assert not plan_with(backend, desired).unavailable


def test_a_released_meeting_keeps_its_item_and_sends_only_the_mail_the_plan_announced(backend: Backend) -> None:
    converge(backend, [meeting(), meeting("team/retro", subject="Retro")])
    (kept,) = [o for o in backend.provider.list_managed(ORGANIZER, NAMESPACE) if o.meeting_id == "team/sync"]
    seq = last_seq(backend)
    plan = plan_for(backend, [meeting(release=True), meeting("team/retro", subject="Retro")])
    (change,) = plan.changes
    assert change.action is Action.RELEASE
    assert apply_plan(plan, backend.provider).ok
    # The mail log names the meeting by the item's marker, which the release has just removed.
    sent = Counter((recipient, kind) for (recipient, kind, _) in mail_since(backend, seq).elements())
    assert sent == Counter((recipient, kind) for (recipient, kind, _) in announced(plan).elements())
    assert not {kind for _, kind in sent} & {"invitation", "cancellation"}
    if backend.provider.capabilities.silent_organizer_fields:
        assert sent == Counter()
    # The file can now go: nothing is cancelled, and the item is still in the calendar, unmarked.
    plan, mail = converge(backend, [meeting("team/retro", subject="Retro")])
    assert plan.changes == () and mail == Counter()
    item = backend.store.get_item(backend.store_id(kept.item_id))
    assert item.doc["subject"] == "Team sync"
    assert not item.doc.get("extended", {}).get(extended_property_id(PROP_NAMESPACE))
    assert [o.meeting_id for o in backend.provider.list_managed(ORGANIZER, NAMESPACE)] == ["team/retro"]


def test_a_namespace_change_adopts_the_items_of_the_previous_namespace_instead_of_duplicating_them(
    backend: Backend,
) -> None:
    first = plan_with(backend, [meeting()], namespace="old-team")
    assert apply_plan(first, backend.provider).ok
    (before,) = backend.provider.list_managed(ORGANIZER, "old-team")
    seq = last_seq(backend)
    plan = plan_with(backend, [meeting()], previous_namespaces=["old-team"])
    (change,) = plan.changes
    assert (change.action, change.item_id, change.previous_namespace) == (Action.ADOPT, before.item_id, "old-team")
    assert apply_plan(plan, backend.provider).ok
    assert mail_since(backend, seq) == announced(plan)
    assert not {kind for _, kind, _ in announced(plan)} & {"invitation", "cancellation"}
    if backend.provider.capabilities.silent_organizer_fields:
        assert announced(plan) == Counter()
    (after,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    assert after.item_id == before.item_id
    assert backend.provider.list_managed(ORGANIZER, "old-team") == []
    assert plan_with(backend, [meeting()], previous_namespaces=["old-team"]).changes == ()


@pytest.mark.parametrize(
    "foreign", ["CONTRACT", "Contract", "contract ", " contract", "contract-x", "xcontract", "contrac"]
)
def test_a_namespace_that_differs_only_by_case_prefix_suffix_or_whitespace_is_foreign_and_never_touched(
    backend: Backend, foreign: str
) -> None:
    converge(backend, [meeting("team/theirs", subject="Theirs")])
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    backend.store.update_item(
        backend.store_id(item.item_id), {}, send=SendMode.NONE, extended={extended_property_id(PROP_NAMESPACE): foreign}
    )
    assert backend.provider.list_managed(ORGANIZER, NAMESPACE) == []
    assert backend.provider.find(ORGANIZER, NAMESPACE, "team/theirs") is None
    seq = last_seq(backend)
    plan, _ = converge(backend, [])  # our files are all gone: with prune on, ours would be cancelled
    assert plan.changes == () and mail_since(backend, seq) == Counter()
    assert backend.store.get_item(backend.store_id(item.item_id)).doc["subject"] == "Theirs"


@pytest.mark.parametrize("other_id", ["TEAM/SYNC", "team/sync ", "team/sync-2", "xteam/sync"])
def test_looking_up_a_meeting_id_matches_it_exactly(backend: Backend, other_id: str) -> None:
    converge(backend, [meeting()])
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    backend.store.update_item(
        backend.store_id(item.item_id),
        {},
        send=SendMode.NONE,
        extended={extended_property_id(PROP_MEETING_ID): other_id},
    )
    assert backend.provider.find(ORGANIZER, NAMESPACE, "team/sync") is None
