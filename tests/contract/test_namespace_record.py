"""What an apply records in each mailbox's namespace item, and what the next plan learns from it.

Every backend (sandbox, Graph over HTTP, EWS over HTTP): an apply under the lock records the
namespace's meeting ids and mailboxes; a meeting then cancelled in Outlook is planned as created
again *because* it was removed outside git (not as a plain new meeting), and a mailbox that no file
and no configured organizer names any more is still read, so its meetings are cancelled.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from reconciler.freebusy import BusyStatus
from reconciler.locking import apply_lock, recorded
from reconciler.lockstate import Holder
from reconciler.model import Action, Meeting
from reconciler.notices import AddressBusy, ForeignLookalike, ForeignLookalikes, Recreated
from reconciler.plan import Plan, PlanPolicy
from reconciler.reconcile import apply_plan, make_plan, organizers_to_scan, remember_state
from tests.contract.backends.harness import Backend
from tests.contract.test_contract import NAMESPACE, NOW, announced, last_seq, mail_since
from tests.factories import ORGANIZER, meeting

OTHER = "office@contoso.com"
# A slot nobody is busy in, so a new meeting there has no free/busy warning.
LATER_START, LATER_END = datetime(2026, 12, 1, 15, 0), datetime(2026, 12, 1, 15, 30)
HOLDER = Holder(user="ci", host="runner", pid=1, command="meetings apply", token="contract")


def plan(backend: Backend, meetings: list[Meeting], *organizers: str, later: int = 0) -> Plan:
    """The plan, made `later` minutes after NOW (two applies never plan at the same instant: their
    creates carry different transaction ids)."""
    return make_plan(
        meetings,
        backend.provider,
        namespace=NAMESPACE,
        policy=PlanPolicy(),
        now=NOW + timedelta(minutes=later),
        extra_organizers=organizers or [ORGANIZER],
    )


def apply_as_the_cli_does(backend: Backend, planned: Plan, *organizers: str) -> None:
    """Lock every mailbox scanned, write, record what is left, release (as `meetings apply`)."""
    scanned = organizers_to_scan([], backend.provider, organizers or [ORGANIZER], namespace=NAMESPACE)
    scanned = sorted({*scanned, *(c.organizer for c in planned.changes)})
    with apply_lock(backend.provider, NAMESPACE, scanned, HOLDER, clock=lambda: datetime.now(UTC)) as lock:
        assert apply_plan(planned, backend.provider, guard=lock.renew_if_due).ok
        remember_state(lock, backend.provider, NAMESPACE, planned)


def test_an_apply_records_the_meetings_it_left_and_the_mailboxes_the_namespace_uses(backend: Backend) -> None:
    meetings = [meeting(), meeting("team/retro", subject="Retro"), meeting("office/all-hands", organizer=OTHER)]
    apply_as_the_cli_does(backend, plan(backend, meetings, ORGANIZER, OTHER), ORGANIZER, OTHER)
    lead = recorded(backend.provider, NAMESPACE, ORGANIZER)
    office = recorded(backend.provider, NAMESPACE, OTHER)
    assert lead is not None and office is not None
    assert (lead.holder, lead.meetings, lead.organizers) == (
        None,
        frozenset({"team/sync", "team/retro"}),
        (ORGANIZER, OTHER),
    )
    assert (office.meetings, office.organizers) == (frozenset({"office/all-hands"}), (ORGANIZER, OTHER))


def test_a_meeting_cancelled_in_outlook_is_planned_as_removed_outside_git_and_invited_again_once(
    backend: Backend,
) -> None:
    apply_as_the_cli_does(backend, plan(backend, [meeting()]))
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    backend.store.cancel_item(backend.store_id(item.item_id), comment="Not needed")  # the organizer, in Outlook
    again = plan(backend, [meeting()], later=5)
    (change,) = again.changes
    assert (change.action, change.recreated) == (Action.CREATE, True)
    assert change.warnings == (Recreated("team/sync"),)
    seq = last_seq(backend)
    apply_as_the_cli_does(backend, again)
    assert mail_since(backend, seq) == announced(again)
    assert Counter(kind for _, kind, _ in announced(again).elements()) == Counter(invitation=3)
    assert plan(backend, [meeting()]).changes == ()


def test_a_meeting_never_applied_is_a_plain_create(backend: Backend) -> None:
    apply_as_the_cli_does(backend, plan(backend, [meeting()]))
    (change,) = plan(backend, [meeting(), meeting("team/new", subject="New", start=LATER_START, end=LATER_END)]).changes
    assert (change.meeting_id, change.action, change.recreated, change.warnings) == (
        "team/new",
        Action.CREATE,
        False,
        (),
    )


def test_a_mailbox_named_by_no_file_and_no_configured_organizer_is_still_found_and_its_meetings_cancelled(
    backend: Backend,
) -> None:
    meetings = [meeting(), meeting("office/all-hands", organizer=OTHER)]
    apply_as_the_cli_does(backend, plan(backend, meetings, ORGANIZER, OTHER), ORGANIZER, OTHER)
    # The office's file and its organizers: entry are removed in the same pull request.
    gone = plan(backend, [meeting()], ORGANIZER)
    assert [(c.action, c.meeting_id, c.organizer) for c in gone.changes] == [(Action.CANCEL, "office/all-hands", OTHER)]
    apply_as_the_cli_does(backend, gone, ORGANIZER)
    assert plan(backend, [meeting()], ORGANIZER).changes == ()
    # The office mailbox holds nothing of the namespace any more, so it leaves the record.
    lead = recorded(backend.provider, NAMESPACE, ORGANIZER)
    assert lead is not None and lead.organizers == (ORGANIZER,)


def test_renaming_the_namespace_without_previous_namespaces_warns_that_every_meeting_would_be_invited_twice(
    backend: Backend,
) -> None:
    apply_as_the_cli_does(backend, plan(backend, [meeting(), meeting("team/retro", subject="Retro")]))
    renamed = make_plan(
        [
            meeting(),
            meeting("team/retro", subject="Retro"),
            meeting("team/new", subject="New", start=LATER_START, end=LATER_END),
        ],
        backend.provider,
        namespace="contract-2",
        policy=PlanPolicy(),
        now=NOW,
        extra_organizers=[ORGANIZER],
    )
    warned = {c.meeting_id: c.warnings for c in renamed.changes}
    assert warned["team/new"] == ()
    assert warned["team/sync"] == (
        ForeignLookalike("team/sync", ORGANIZER, "contract", "team/sync"),
        # The identical meeting of the old namespace is in its attendees' calendars at that time.
        *(
            AddressBusy(
                "team/sync",
                person,
                datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
                datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
                BusyStatus.BUSY,
                False,
            )
            for person in ("alice@contoso.com", "bob@contoso.com")
        ),
    )
    assert renamed.warnings == (ForeignLookalikes(2, ("contract",)),)
    adopted = make_plan(
        [meeting(), meeting("team/retro", subject="Retro")],
        backend.provider,
        namespace="contract-2",
        policy=PlanPolicy(),
        now=NOW,
        extra_organizers=[ORGANIZER],
        previous_namespaces=[NAMESPACE],
    )
    assert {c.action for c in adopted.changes} == {Action.ADOPT} and adopted.warnings == ()


def test_a_namespace_differing_only_by_case_shares_neither_the_lock_nor_the_record(backend: Backend) -> None:
    apply_as_the_cli_does(backend, plan(backend, [meeting()]))
    assert recorded(backend.provider, "CONTRACT", ORGANIZER) is None  # Exchange's search ignores case; we do not
    assert backend.provider.list_namespace_items(ORGANIZER, "CONTRACT") == []
    upper = make_plan(
        [meeting()], backend.provider, namespace="CONTRACT", policy=PlanPolicy(), now=NOW, extra_organizers=[ORGANIZER]
    )
    (change,) = upper.changes
    assert (change.action, change.recreated) == (Action.CREATE, False)


def test_the_managed_ids_are_those_of_the_managed_meetings_matched_exactly(backend: Backend) -> None:
    apply_as_the_cli_does(backend, plan(backend, [meeting(), meeting("team/retro", subject="Retro")]))
    listed = {item.meeting_id for item in backend.provider.list_managed(ORGANIZER, NAMESPACE)}
    assert backend.provider.managed_ids(ORGANIZER, NAMESPACE) == listed == {"team/sync", "team/retro"}
    assert backend.provider.managed_ids(ORGANIZER, "CONTRACT") == frozenset()
