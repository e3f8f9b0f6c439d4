"""Namespace items (the apply lock's port, `port.NamespaceItems`) over EWS (exchangelib).

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

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler.lockstate import ITEM_END_UTC, ITEM_START_UTC, item_subject
from reconciler.model import PROP_NAMESPACE_ITEM, PROP_STATE, PROPERTY_SET_GUID
from reconciler.port import NamespaceItem

if TYPE_CHECKING:
    from reconciler.providers.ews.sdk import Connection, Retrier

#: exchangelib attribute names of the namespace item's two properties.
NAMESPACE_ITEM_ATTR, STATE_ATTR = "mac_namespace_item", "mac_state"
_FIELDS = ("datetime_created", NAMESPACE_ITEM_ATTR, STATE_ATTR)
_REGISTERED = False
_REGISTER_LOCK = threading.Lock()


def register_properties() -> None:
    """Register the two properties on CalendarItem once per process (the GUID and names Graph
    reaches as `String {GUID} Name <name>`)."""
    global _REGISTERED
    from exchangelib import CalendarItem, ExtendedProperty

    with _REGISTER_LOCK:
        if _REGISTERED:
            return
        for attr, name in ((NAMESPACE_ITEM_ATTR, PROP_NAMESPACE_ITEM), (STATE_ATTR, PROP_STATE)):
            prop = type(
                f"MeetingsAsCode{name.rsplit('.', 1)[-1]}",
                (ExtendedProperty,),
                {"property_set_id": PROPERTY_SET_GUID, "property_name": name, "property_type": "String"},
            )
            CalendarItem.register(attr, prop)
        _REGISTERED = True


def _utc(value: Any) -> datetime:
    return datetime.fromtimestamp(value.timestamp(), UTC)


class EwsNamespaceItems:
    """Mixed into EwsProvider: the namespace items of each organizer's calendar folder."""

    _connection: Connection
    _retrier: Retrier

    def list_namespace_items(self, organizer: str, namespace: str) -> list[NamespaceItem]:
        register_properties()

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

        from reconciler.providers.ews import sdk

        with sdk.reading_mailbox(organizer):
            return self._retrier.run(
                query, what=f"reading the apply lock of {namespace} in {organizer}'s calendar", write=False
            )

    def create_namespace_item(self, organizer: str, namespace: str, state: str) -> str:
        from exchangelib import CalendarItem, EWSDateTime
        from exchangelib.items import SEND_TO_NONE

        register_properties()
        what = f"creating the apply lock item of {namespace} in {organizer}'s calendar"
        folder = self._retrier.run(lambda: self._connection.calendar(organizer), what=what, write=False)

        def write() -> str:
            item = CalendarItem(
                account=self._connection.account(organizer),
                folder=folder,
                subject=item_subject(namespace),
                start=EWSDateTime.from_datetime(ITEM_START_UTC),
                end=EWSDateTime.from_datetime(ITEM_END_UTC),
                legacy_free_busy_status="Free",
                sensitivity="Private",
                reminder_is_set=False,
                is_response_requested=False,
                **{NAMESPACE_ITEM_ATTR: namespace, STATE_ATTR: state},
            )
            saved = item.save(send_meeting_invitations=SEND_TO_NONE)
            return str(saved.id)

        return self._retrier.run(write, what=what, write=True)

    def write_namespace_state(self, organizer: str, item_id: str, change_key: str, state: str) -> str:
        from exchangelib import CalendarItem
        from exchangelib.items import NEVER_OVERWRITE, SEND_TO_NONE

        register_properties()
        what = f"writing the apply lock in {organizer}'s calendar"
        folder = self._retrier.run(lambda: self._connection.calendar(organizer), what=what, write=False)

        def write() -> str:
            item = CalendarItem(
                account=self._connection.account(organizer),
                folder=folder,
                id=item_id,
                changekey=change_key,
                **{STATE_ATTR: state},
            )
            saved = item.save(
                update_fields=[STATE_ATTR], conflict_resolution=NEVER_OVERWRITE, send_meeting_invitations=SEND_TO_NONE
            )
            return str(saved.changekey)

        return self._retrier.run(write, what=what, write=True)

    def delete_namespace_item(self, organizer: str, item_id: str) -> None:
        from exchangelib import CalendarItem
        from exchangelib.items import SEND_TO_NONE

        what = f"deleting a duplicate apply lock item in {organizer}'s calendar"
        folder = self._retrier.run(lambda: self._connection.calendar(organizer), what=what, write=False)
        item = CalendarItem(account=self._connection.account(organizer), folder=folder, id=item_id, changekey=None)
        self._retrier.run(lambda: item.delete(send_meeting_cancellations=SEND_TO_NONE), what=what, write=True)
