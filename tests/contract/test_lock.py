"""The namespace-item port of the apply lock, on every backend (sandbox, Graph over HTTP, EWS over HTTP).

Asserts on what the provider lists, on the store's items and on its sent-mail log: the item is an
appointment nobody hears of, never a managed meeting, and its state changes only by CAS.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.errors import ConflictError, NotFoundError
from reconciler.locking import apply_lock
from reconciler.lockstate import Holder, LockRecord, decode, encode
from reconciler.model import PROP_NAMESPACE, PROP_NAMESPACE_ITEM, PROP_STATE, Action, extended_property_id
from reconciler.notices import DuplicateItem
from reconciler.plan import PlanPolicy
from reconciler.reconcile import apply_plan, make_plan
from tests.contract.backends.harness import Backend
from tests.contract.test_contract import NAMESPACE, NOW, plan_for
from tests.factories import ORGANIZER, meeting

HOLDER = Holder("ci", "runner", 7, "meetings apply", "token-7")


def test_a_namespace_item_is_a_silent_private_free_appointment_in_2000_and_no_managed_meeting(
    backend: Backend,
) -> None:
    provider = backend.provider
    state = encode(LockRecord())
    item_id = provider.create_namespace_item(ORGANIZER, NAMESPACE, state)
    (listed,) = provider.list_namespace_items(ORGANIZER, NAMESPACE)
    assert listed.item_id == item_id and listed.state == state
    assert abs((listed.created - datetime.now(UTC)).total_seconds()) < 60
    assert provider.list_managed(ORGANIZER, NAMESPACE) == []
    assert provider.list_namespace_items(ORGANIZER, "another-namespace") == []
    (stored,) = backend.store.list_items(ORGANIZER)
    doc = stored.doc
    assert doc["subject"] == f"meetings-as-code: apply lock for {NAMESPACE} (do not delete)"
    assert doc["attendees"] == []
    assert (doc["show_as"], doc["sensitivity"], doc["is_reminder_on"]) == ("free", "private", False)
    assert doc["extended"][extended_property_id(PROP_NAMESPACE_ITEM)] == NAMESPACE
    assert doc["extended"][extended_property_id(PROP_STATE)] == state
    assert extended_property_id(PROP_NAMESPACE) not in doc["extended"]
    assert backend.store.mail() == []


def test_a_state_write_with_a_stale_change_key_is_refused_and_writes_nothing(backend: Backend) -> None:
    provider = backend.provider
    item_id = provider.create_namespace_item(ORGANIZER, NAMESPACE, encode(LockRecord()))
    (first,) = provider.list_namespace_items(ORGANIZER, NAMESPACE)
    taken = encode(LockRecord().taken(HOLDER, NOW, timedelta(minutes=10)))
    new_key = provider.write_namespace_state(ORGANIZER, item_id, first.change_key, taken)
    (second,) = provider.list_namespace_items(ORGANIZER, NAMESPACE)
    assert second.change_key == new_key != first.change_key and second.state == taken
    with pytest.raises(ConflictError):
        provider.write_namespace_state(ORGANIZER, item_id, first.change_key, encode(LockRecord()))
    (third,) = provider.list_namespace_items(ORGANIZER, NAMESPACE)
    assert third.state == taken and third.change_key == new_key
    assert backend.store.mail() == []


def test_a_deleted_namespace_item_is_gone_and_nobody_was_mailed(backend: Backend) -> None:
    provider = backend.provider
    item_id = provider.create_namespace_item(ORGANIZER, NAMESPACE, encode(LockRecord()))
    provider.delete_namespace_item(ORGANIZER, item_id)
    assert provider.list_namespace_items(ORGANIZER, NAMESPACE) == []
    with pytest.raises(NotFoundError):
        provider.write_namespace_state(ORGANIZER, item_id, "AAAA", encode(LockRecord()))
    assert backend.store.mail() == []


def test_an_apply_under_the_lock_invites_once_and_leaves_one_free_namespace_item(backend: Backend) -> None:
    provider = backend.provider
    wanted = [meeting("team/a"), meeting("team/b", subject="Second")]
    with apply_lock(provider, NAMESPACE, [ORGANIZER], HOLDER, clock=lambda: datetime.now(UTC)) as lock:
        assert decode(provider.list_namespace_items(ORGANIZER, NAMESPACE)[0].state).held_by(HOLDER.token)
        plan = plan_for(backend, wanted)
        assert apply_plan(plan, provider, guard=lock.renew_if_due).ok
    (item,) = provider.list_namespace_items(ORGANIZER, NAMESPACE)
    assert decode(item.state) == LockRecord()
    assert all(c.action is Action.NOOP for c in plan_for(backend, wanted).changes)
    invitations = sorted((m.recipient, m.subject) for m in backend.store.mail())
    assert invitations == sorted(
        (person, subject)
        for subject in ("Team sync", "Second")
        for person in ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
    )


def test_a_meeting_created_twice_without_the_lock_converges_to_one_with_one_cancellation_each(
    backend: Backend,
) -> None:
    provider = backend.provider
    wanted = [meeting()]
    # Two planners that ran at once without the lock (an older version): both planned the create.
    first, second = (
        make_plan(wanted, provider, namespace=NAMESPACE, policy=PlanPolicy(), now=NOW + timedelta(seconds=s))
        for s in (0, 1)
    )
    assert apply_plan(first, provider).ok and apply_plan(second, provider).ok
    assert len(provider.list_managed(ORGANIZER, NAMESPACE)) == 2
    seq = backend.store.mail()[-1].seq
    converge = plan_for(backend, wanted)
    (cancel,) = [c for c in converge.changes if c.action is Action.CANCEL]
    assert [type(w) for w in cancel.warnings] == [DuplicateItem]
    assert [c.action for c in converge.changes] == [Action.CANCEL] and converge.unchanged == 1
    assert apply_plan(converge, provider).ok
    assert sorted((m.recipient, m.kind) for m in backend.store.mail() if m.seq > seq) == [
        ("alice@contoso.com", "cancellation"),
        ("bob@contoso.com", "cancellation"),
        ("carol@contoso.com", "cancellation"),
    ]
    assert len(provider.list_managed(ORGANIZER, NAMESPACE)) == 1
    assert not plan_for(backend, wanted).has_changes
