"""Namespace items (the apply lock's port, `port.NamespaceItems`) over EWS (exchangelib, through `sdk`).

* list: FindItem restricted on PROP_NAMESPACE_ITEM (IdOnly), then GetItem of DateTimeCreated
  and PROP_STATE (the id and change key come with every item).
* create: CreateItem of an appointment without attendees, SendToNone.
* CAS: UpdateItem of PROP_STATE alone with the listed ChangeKey and ConflictResolution
  NeverOverwrite, SendToNone; a stale change key is ErrorIrresolvableConflict (reference ews.md
  C.2), translated to ConflictError by `sdk.translate`.
* delete: DeleteItem HardDelete, SendToNone (exchangelib's `delete()` default delete type).
Writes are never repeated after an unknown outcome (`sdk.Retrier`): `locking` reads again instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from reconciler.lockstate import ITEM_END_UTC, ITEM_START_UTC, item_subject
from reconciler.port import NamespaceItem

if TYPE_CHECKING:
    from reconciler.providers.ews.sdk import Connection, Retrier

#: exchangelib attribute names of the namespace item's two properties.
NAMESPACE_ITEM_ATTR, STATE_ATTR = "mac_namespace_item", "mac_state"
_FIELDS = ("datetime_created", NAMESPACE_ITEM_ATTR, STATE_ATTR)
_SEND_TO_NONE = "SendToNone"


def _utc(value: Any) -> datetime:
    return datetime.fromtimestamp(value.timestamp(), UTC)


class EwsNamespaceItems:
    """Mixed into EwsProvider: the namespace items of each organizer's calendar folder."""

    _connection: Connection
    _retrier: Retrier
    _sdk: ModuleType  # reconciler.providers.ews.sdk, loaded by the provider (which registers the properties)

    def list_namespace_items(self, organizer: str, namespace: str) -> list[NamespaceItem]:
        def query() -> list[NamespaceItem]:
            found = []
            for item in self._connection.calendar(organizer).filter(**{NAMESPACE_ITEM_ATTR: namespace}).only(*_FIELDS):
                if isinstance(item, Exception):
                    raise item
                if getattr(item, NAMESPACE_ITEM_ATTR) != namespace:  # IsEqualTo ignores case: `TEAM` is not `team`
                    continue
                found.append(
                    NamespaceItem(item.id, item.changekey, _utc(item.datetime_created), getattr(item, STATE_ATTR) or "")
                )
            return found

        with self._sdk.reading_mailbox(organizer):
            return self._retrier.run(
                query, what=f"reading the apply lock of {namespace} in {organizer}'s calendar", write=False
            )

    def create_namespace_item(self, organizer: str, namespace: str, state: str) -> str:
        what = f"creating the apply lock item of {namespace} in {organizer}'s calendar"
        folder = self._retrier.run(lambda: self._connection.calendar(organizer), what=what, write=False)
        values = {
            "subject": item_subject(namespace),
            "start": ITEM_START_UTC,
            "end": ITEM_END_UTC,
            "legacy_free_busy_status": "Free",
            "sensitivity": "Private",
            "reminder_is_set": False,
            "is_response_requested": False,
            NAMESPACE_ITEM_ATTR: namespace,
            STATE_ATTR: state,
        }
        account = self._connection.account(organizer)

        def write() -> str:
            saved = self._sdk.create_item(account, folder, self._sdk.item_kwargs(values), send=_SEND_TO_NONE)
            return str(saved.id)

        return self._retrier.run(write, what=what, write=True)

    def write_namespace_state(self, organizer: str, item_id: str, change_key: str, state: str) -> str:
        what = f"writing the apply lock in {organizer}'s calendar"
        folder = self._retrier.run(lambda: self._connection.calendar(organizer), what=what, write=False)
        account = self._connection.account(organizer)

        def write() -> str:
            saved = self._sdk.update_item(account, folder, item_id, change_key, {STATE_ATTR: state}, send=_SEND_TO_NONE)
            return str(saved.changekey)

        return self._retrier.run(write, what=what, write=True)

    def delete_namespace_item(self, organizer: str, item_id: str) -> None:
        what = f"deleting a duplicate apply lock item in {organizer}'s calendar"
        folder = self._retrier.run(lambda: self._connection.calendar(organizer), what=what, write=False)
        account = self._connection.account(organizer)
        self._retrier.run(lambda: self._sdk.delete_item(account, folder, item_id, None), what=what, write=True)
