"""Namespace items (the apply lock's port) as Graph event JSON (pure: no SDK, no I/O).

A namespace item is a plain event without attendees, so no write of it mails anyone (reference
graph.md B.1/B.3: mail goes to attendees). Its state is written by a PATCH carrying only the
PROP_STATE extended property with `If-Match: W/"<changeKey>"`; a stale change key is answered
412 ErrorIrresolvableConflict (B.11). A stray item is removed with DELETE, which mails only
attendees (B.5): it has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reconciler.lockstate import ITEM_END_UTC, ITEM_START_UTC, item_subject
from reconciler.model import PROP_NAMESPACE_ITEM, PROP_STATE, extended_property_id
from reconciler.port import NamespaceItem
from reconciler.providers.graph.wire import change_key, odata_string, property_filter

NAMESPACE_ITEM_PROPERTY = extended_property_id(PROP_NAMESPACE_ITEM)
STATE_PROPERTY = extended_property_id(PROP_STATE)

#: A listing reads the creation time (the survivor rule) and the change key (the CAS) only.
SELECT = ("createdDateTime", "changeKey", "subject")
PAGE_SIZE = 50


def list_filter(namespace: str) -> str:
    return property_filter(NAMESPACE_ITEM_PROPERTY, namespace)


def expand() -> str:
    ids = " or ".join(f"id eq {odata_string(p)}" for p in (NAMESPACE_ITEM_PROPERTY, STATE_PROPERTY))
    return f"singleValueExtendedProperties($filter={ids})"


def _utc(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def create_body(namespace: str, state: str) -> dict[str, Any]:
    """An appointment nobody is invited to, free, private, without reminder, far in the past."""
    return {
        "subject": item_subject(namespace),
        "body": {"contentType": "text", "content": "Kept by meetings-as-code to let one apply run at a time."},
        "start": _utc(ITEM_START_UTC),
        "end": _utc(ITEM_END_UTC),
        "showAs": "free",
        "sensitivity": "private",
        "isReminderOn": False,
        "responseRequested": False,
        "singleValueExtendedProperties": [
            {"id": NAMESPACE_ITEM_PROPERTY, "value": namespace},
            {"id": STATE_PROPERTY, "value": state},
        ],
    }


def state_body(state: str) -> dict[str, Any]:
    return {"singleValueExtendedProperties": [{"id": STATE_PROPERTY, "value": state}]}


def namespace_of(event: Mapping[str, Any]) -> str | None:
    """The namespace a listed namespace item names (Graph's filter ignores case: callers compare)."""
    for prop in event.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == NAMESPACE_ITEM_PROPERTY.lower():
            return str(prop.get("value") or "")
    return None


def namespace_item(event: Mapping[str, Any]) -> NamespaceItem:
    state = ""
    for prop in event.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == STATE_PROPERTY.lower():
            state = str(prop.get("value") or "")
    created = datetime.fromisoformat(str(event["createdDateTime"]).replace("Z", "+00:00"))
    return NamespaceItem(str(event["id"]), change_key(event), created, state)
