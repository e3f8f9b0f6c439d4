"""The mailbox store's Exchange-like behaviour: change keys, transaction ids, who gets mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.emulator.store import MailboxStore, SendMode, StaleChangeKey

DOC = {
    "subject": "Sync",
    "start": "2026-12-01T10:00:00",
    "end": "2026-12-01T10:30:00",
    "timezone": "UTC",
    "attendees": [
        {"email": "Alice@contoso.com", "type": "required"},
        {"email": "bob@contoso.com", "type": "optional"},
    ],
    "extended": {"k": "v"},
}


@pytest.fixture
def store(tmp_path: Path) -> MailboxStore:
    return MailboxStore(tmp_path / "store.db")


def mail(store: MailboxStore) -> list[tuple[str, str]]:
    return [(m.recipient, m.kind) for m in store.mail()]


def test_a_create_invites_every_attendee_but_not_the_organizer(store: MailboxStore) -> None:
    store.create_item(
        "Lead@contoso.com",
        {**DOC, "attendees": [*DOC["attendees"], {"email": "lead@contoso.com", "type": "required"}]},
    )
    assert sorted(mail(store)) == [("alice@contoso.com", "invitation"), ("bob@contoso.com", "invitation")]


def test_a_repeated_transaction_id_returns_the_first_item_and_sends_nothing(store: MailboxStore) -> None:
    first = store.create_item("lead@contoso.com", DOC, transaction_id="t-1")
    again = store.create_item("lead@contoso.com", DOC, transaction_id="t-1")
    assert again.item_id == first.item_id
    assert len(store.list_items("lead@contoso.com")) == 1
    assert len(store.mail()) == 2


def test_every_write_gives_a_new_change_key_and_a_stale_key_writes_nothing(store: MailboxStore) -> None:
    item = store.create_item("lead@contoso.com", DOC, send=SendMode.NONE)
    updated = store.update_item(item.item_id, {"subject": "New"}, send=SendMode.NONE, if_change_key=item.change_key)
    assert updated.change_key != item.change_key
    with pytest.raises(StaleChangeKey):
        store.update_item(item.item_id, {"subject": "Lost"}, send=SendMode.ALL, if_change_key=item.change_key)
    assert store.get_item(item.item_id).doc["subject"] == "New"
    assert store.mail() == []


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (SendMode.NONE, []),
        (SendMode.CHANGED, [("carol@contoso.com", "invitation"), ("bob@contoso.com", "cancellation")]),
        (
            SendMode.ALL,
            [
                ("carol@contoso.com", "invitation"),
                ("bob@contoso.com", "cancellation"),
                ("alice@contoso.com", "update"),
            ],
        ),
    ],
)
def test_an_update_mails_according_to_its_send_mode(
    store: MailboxStore, send: SendMode, expected: list[tuple[str, str]]
) -> None:
    item = store.create_item("lead@contoso.com", DOC, send=SendMode.NONE)
    attendees = [
        {"email": "alice@contoso.com", "type": "required"},
        {"email": "carol@contoso.com", "type": "required"},
    ]
    store.update_item(item.item_id, {"attendees": attendees, "subject": "New"}, send=send)
    assert mail(store) == expected


def test_a_cancel_mails_the_comment_to_everyone_and_removes_the_item_from_the_calendar(
    store: MailboxStore,
) -> None:
    item = store.create_item("lead@contoso.com", DOC, send=SendMode.NONE)
    store.cancel_item(item.item_id, comment="Not needed any more.")
    assert [(m.recipient, m.kind, m.comment) for m in store.mail()] == [
        ("alice@contoso.com", "cancellation", "Not needed any more."),
        ("bob@contoso.com", "cancellation", "Not needed any more."),
    ]
    assert store.list_items("lead@contoso.com") == []


def test_items_are_filtered_by_an_extended_property_value(store: MailboxStore) -> None:
    store.create_item("lead@contoso.com", DOC, send=SendMode.NONE)
    store.create_item("lead@contoso.com", {**DOC, "extended": {"k": "other"}}, send=SendMode.NONE)
    assert len(store.list_items("lead@contoso.com", extended_equals=("k", "v"))) == 1
