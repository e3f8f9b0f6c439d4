"""Namespace items (the apply lock's port, `port.NamespaceItems`) on the sandbox store.

The store's own primitives do the work: `update_item(if_change_key=...)` is the compare-and-swap
(StaleChangeKey when stale), `create_item`/`update_item` with SendMode.NONE and no attendees mail
nobody, `delete_item(send_cancellations=False)` removes the item silently.
"""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.emulator.store import DEFAULT_DOCUMENT, ItemNotFound, MailboxStore, SendMode, StaleChangeKey
from reconciler.errors import ConflictError, NotFoundError
from reconciler.lockstate import ITEM_END_UTC, ITEM_START_UTC, item_subject
from reconciler.model import PROP_NAMESPACE_ITEM, PROP_STATE, extended_property_id
from reconciler.port import NamespaceItem

_NAMESPACE_ITEM = extended_property_id(PROP_NAMESPACE_ITEM)
_STATE = extended_property_id(PROP_STATE)


def _wall(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class SandboxNamespaceItems:
    """Mixed into SandboxProvider: the namespace items of its store."""

    store: MailboxStore

    def check_available(self, organizer: str) -> None: ...

    def list_namespace_items(self, organizer: str, namespace: str) -> list[NamespaceItem]:
        self.check_available(organizer)
        return [
            NamespaceItem(
                item_id=item.item_id,
                change_key=item.change_key,
                created=datetime.fromisoformat(item.created_at.replace("Z", "+00:00")),
                state=item.doc.get("extended", {}).get(_STATE, ""),
            )
            for item in self.store.list_items(organizer, extended_equals=(_NAMESPACE_ITEM, namespace))
        ]

    def create_namespace_item(self, organizer: str, namespace: str, state: str) -> str:
        doc = {
            **DEFAULT_DOCUMENT,
            "subject": item_subject(namespace),
            "start": _wall(ITEM_START_UTC),
            "end": _wall(ITEM_END_UTC),
            "timezone": "UTC",
            "is_reminder_on": False,
            "show_as": "free",
            "sensitivity": "private",
            "response_requested": False,
            "extended": {_NAMESPACE_ITEM: namespace, _STATE: state},
        }
        return self.store.create_item(organizer, doc, send=SendMode.NONE).item_id

    def write_namespace_state(self, organizer: str, item_id: str, change_key: str, state: str) -> str:
        try:
            item = self.store.update_item(
                item_id, {}, send=SendMode.NONE, if_change_key=change_key, extended={_STATE: state}
            )
        except StaleChangeKey as error:
            raise ConflictError(f"The apply lock item in {organizer}'s calendar changed after it was read.") from error
        except ItemNotFound as error:
            raise NotFoundError(f"The apply lock item in {organizer}'s calendar is gone.") from error
        return item.change_key

    def delete_namespace_item(self, organizer: str, item_id: str) -> None:
        try:
            self.store.delete_item(item_id, send_cancellations=False)
        except ItemNotFound as error:
            raise NotFoundError(f"The apply lock item in {organizer}'s calendar is gone.") from error
