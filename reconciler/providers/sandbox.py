"""The embedded default backend: the emulator's mailbox store, in-process.

It behaves as Exchange would for a client that can choose the send mode of each write (like EWS):
attendee-only changes mail only the people added or removed, organizer-only changes mail nobody.
A series is written as every provider writes it (`occurrences`): the master, then one write per
cancelled or changed occurrence, each mailing that occurrence's attendees.

A provider built with a fault plan (`SandboxProvider(store, faults=FaultPlan())`, off by default)
takes injected faults (`faults.inject("sandbox", <create|update|occurrence|cancel>, kind)`) that let
tests crash a write: `fail` raises before writing, `timeout-after-commit` writes and then raises as a
lost answer would. A mailbox marked with `MailboxStore.set_unavailable` cannot be listed
(MailboxUnavailableError), as a real mailbox that is deleted or closed to the app.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.store import (
    ItemNotFound,
    MailboxStore,
    OccurrenceCancelled,
    OccurrenceNotFound,
    SendMode,
    StaleChangeKey,
    StoredItem,
    UnavailableReason,
)
from reconciler.errors import ConfigError, ConflictError, MailboxUnavailableError, NotFoundError, TransientError
from reconciler.freebusy import Schedule
from reconciler.model import (
    PROP_LAST_APPLIED,
    PROP_MEETING_ID,
    PROP_NAMESPACE,
    ObservedMeeting,
    extended_property_id,
)
from reconciler.notify import UpdateScope, occurrence_scope, update_scope
from reconciler.occurrences import (
    EditKind,
    OccurrenceEdit,
    SeriesEdits,
    ShownJson,
    observe_overrides,
)
from reconciler.ownership import marker_properties, render_body, render_text, resolve_observed
from reconciler.port import (
    BACKEND_CAPABILITIES,
    CancelRequest,
    CreateRequest,
    ForeignItem,
    RawItem,
    ReleaseRequest,
    UnmanagedMeeting,
    UpdateRequest,
)
from reconciler.providers import sandbox_people
from reconciler.providers.sandbox_items import SandboxNamespaceItems
from reconciler.providers.sandbox_people import document_responses
from reconciler.recurrence import from_patterned, span_utc, to_patterned
from reconciler.state import MeetingState, OverrideState, StateJson, Wall, pattern_json, wall_from_json, wall_json

_SEND_MODE = {
    UpdateScope.SILENT: SendMode.NONE,
    UpdateScope.ATTENDEES_ONLY: SendMode.CHANGED,
    UpdateScope.EVERYONE: SendMode.ALL,
}
_T = TypeVar("_T")
_UNAVAILABLE = {
    UnavailableReason.MISSING: "no such mailbox",
    UnavailableReason.NOT_ENABLED: "the mailbox is not enabled",
    UnavailableReason.DENIED: "access to it is denied",
}
_ATTENDEE_KEYS = {"required": "required", "optional": "optional", "resource": "rooms"}


#: An item's document as the emulator's store keeps it (its JSON form).
StoreDocument = dict[str, Any]


def _wall(value: Wall | str) -> str:
    """A wall time (typed, or its JSON form) as the store's seconds-precision wall time."""
    text = value if isinstance(value, str) else wall_json(value)
    return f"{text}:00" if "T" in text else f"{text}T00:00:00"


def _attendee_entries(required: Sequence[str], optional: Sequence[str], rooms: Sequence[str]) -> list[dict[str, str]]:
    lists = {"required": required, "optional": optional, "resource": rooms}
    return [
        {"email": address, "name": address, "type": kind, "response": "none"}
        for kind, addresses in lists.items()
        for address in addresses
    ]


def occurrence_document(fields: MeetingState, values: OverrideState) -> StoreDocument:
    """Override values of one occurrence (`occurrences.OccurrenceEdit.values`) -> the store's
    partial document for it."""
    doc: StoreDocument = {}
    if values.subject is not None:
        doc["subject"] = values.subject
    if values.location is not None:
        doc["location"] = values.location
    if values.start is not None and values.end is not None:
        doc["start"], doc["end"] = _wall(values.start), _wall(values.end)
    if values.body is not None:
        content_type, content = render_text(values.body, fields.body_format)
        doc["body"] = {"type": content_type, "content": content}
    if values.required is not None or values.optional is not None:
        doc["attendees"] = _attendee_entries(
            fields.required if values.required is None else values.required,
            fields.optional if values.optional is None else values.optional,
            fields.rooms,
        )
    return doc


def _occurrence_values(doc: Mapping[str, Any], all_day: bool) -> ShownJson:
    """The store's partial document of a changed occurrence -> canonical values as the server shows them."""
    values: dict[str, Any] = {key: doc[key] for key in ("subject", "location") if key in doc}
    if "start" in doc:
        values["start"], values["end"] = _canonical_time(doc["start"], all_day), _canonical_time(doc["end"], all_day)
    if "body" in doc:
        values["body"] = doc["body"].get("content", "")
    if "attendees" in doc:
        for key, kind in (("required", "required"), ("optional", "optional")):
            values[key] = sorted(a["email"].lower() for a in doc["attendees"] if a["type"] == kind)
    return values


def to_document(fields: MeetingState) -> StoreDocument:
    """Canonical state -> the store's neutral document of the meeting or series master (without
    extended properties; cancelled and changed occurrences are written one by one)."""
    content_type, content = render_body(fields)
    recurrence = fields.recurrence
    return {
        "subject": fields.subject,
        "body": {"type": content_type, "content": content},
        "start": _wall(fields.start),
        "end": _wall(fields.end),
        "timezone": fields.timezone,
        "is_all_day": fields.all_day,
        "location": fields.location,
        "attendees": _attendee_entries(fields.required, fields.optional, fields.rooms),
        "recurrence": to_patterned(recurrence, fields.start, fields.timezone) if recurrence else None,
        "is_online_meeting": fields.online_meeting,
        "is_reminder_on": fields.reminder_minutes is not None,
        "reminder_minutes": fields.reminder_minutes if fields.reminder_minutes is not None else 15,
        "show_as": fields.show_as.value,
        "sensitivity": fields.sensitivity.value,
        "importance": fields.importance.value,
        "categories": list(fields.categories),
        "response_requested": fields.response_requested,
        "allow_new_time_proposals": fields.allow_new_time_proposals,
        "hide_attendees": fields.hide_attendees,
    }


def _canonical_time(value: str, all_day: bool) -> str:
    return value[:10] if all_day else value[:16]


def observe_document(item: StoredItem) -> ObservedMeeting:
    """The store's item -> canonical observed meeting (lossy fields resolved via the record)."""
    doc = item.doc
    all_day = bool(doc.get("is_all_day"))
    start = _canonical_time(doc["start"], all_day)
    attendees: dict[str, list[str]] = {key: [] for key in _ATTENDEE_KEYS.values()}
    for attendee in doc.get("attendees", []):
        attendees[_ATTENDEE_KEYS[attendee["type"]]].append(attendee["email"].lower())
    raw: StateJson = {
        "subject": doc.get("subject", ""),
        "start": start,
        "end": _canonical_time(doc["end"], all_day),
        "timezone": doc["timezone"],
        "all_day": all_day,
        "recurrence": pattern_json(from_patterned(doc["recurrence"], wall_from_json(start)))
        if doc.get("recurrence")
        else None,
        "skip": sorted(doc.get("cancelled_occurrences", [])) if doc.get("recurrence") else [],
        "overrides": [],
        **{key: sorted(values) for key, values in attendees.items()},
        "location": doc.get("location", ""),
        "online_meeting": bool(doc.get("is_online_meeting")),
        "reminder_minutes": doc.get("reminder_minutes") if doc.get("is_reminder_on", True) else None,
        "show_as": doc.get("show_as", "busy"),
        "sensitivity": doc.get("sensitivity", "normal"),
        "importance": doc.get("importance", "normal"),
        "categories": sorted(doc.get("categories", [])),
        "response_requested": bool(doc.get("response_requested", True)),
        "allow_new_time_proposals": bool(doc.get("allow_new_time_proposals", True)),
        "hide_attendees": bool(doc.get("hide_attendees", False)),
    }
    extended = doc.get("extended", {})
    fields, applied = resolve_observed(
        raw, doc.get("body", {}).get("content", ""), extended.get(extended_property_id(PROP_LAST_APPLIED))
    )
    if doc.get("recurrence"):
        exceptions = {day: _occurrence_values(change, all_day) for day, change in (doc.get("exceptions") or {}).items()}
        fields = dataclasses.replace(fields, overrides=observe_overrides(fields, exceptions, applied))
    starts, ends = span_utc(fields)
    return ObservedMeeting(
        item_id=item.item_id,
        change_key=item.change_key,
        organizer=item.mailbox,
        meeting_id=extended.get(extended_property_id(PROP_MEETING_ID), ""),
        fields=fields,
        last_applied=applied,
        ends_at_utc=ends,
        starts_at_utc=starts,
        responses=document_responses(doc, item.mailbox),
    )


def _extended(namespace: str, meeting_id: str, fields: MeetingState) -> dict[str, str]:
    return {extended_property_id(k): v for k, v in marker_properties(namespace, meeting_id, fields).items()}


class SandboxProvider(SandboxNamespaceItems):
    """Provider over a local `MailboxStore` file. See `port` for the contract; the
    namespace items of the apply lock come from `SandboxNamespaceItems`."""

    name = "sandbox"
    capabilities = BACKEND_CAPABILITIES["sandbox"]

    def __init__(self, store: MailboxStore, *, faults: FaultPlan | None = None) -> None:
        self.store = store
        #: The fault drills' hook (see the module docstring); None: writes never look for faults.
        self.faults = faults

    @classmethod
    def open(cls, path: Path) -> SandboxProvider:
        """The sandbox in the file at `path` (created on first use); ConfigError when it cannot be one."""
        if path.is_dir():
            raise ConfigError(
                f"sandbox.path {path} is a directory; set it to a file such as .meetings/sandbox.db"
                " (created on first use)."
            )
        try:
            return cls(MailboxStore(path))
        except (sqlite3.DatabaseError, OSError) as error:
            raise ConfigError(
                f"The sandbox file {path} cannot be used ({error}): it is not a sandbox database or cannot be"
                " written. Move it away (a new sandbox is created on first use) or set sandbox.path to another file."
            ) from error

    def close(self) -> None:
        self.store.close()

    def known_organizers(self) -> frozenset[str]:
        return frozenset(self.store.mailboxes())

    def check_available(self, organizer: str) -> None:
        """MailboxUnavailableError when the store marks `organizer`'s mailbox unusable."""
        reason = self.store.unavailable(organizer)
        if reason is not None:
            raise MailboxUnavailableError(
                f"The sandbox cannot use {organizer}'s mailbox: {_UNAVAILABLE[reason]}.", mailbox=organizer
            )

    def list_managed(self, organizer: str, namespace: str) -> list[ObservedMeeting]:
        self.check_available(organizer)
        items = self.store.list_items(organizer, extended_equals=(extended_property_id(PROP_NAMESPACE), namespace))
        return [observe_document(item) for item in items]

    def schedules(self, organizer: str, addresses: Sequence[str], start: datetime, end: datetime) -> list[Schedule]:
        return sandbox_people.schedules(self.store, addresses, start, end)

    def managed_ids(self, organizer: str, namespace: str) -> frozenset[str]:
        self.check_available(organizer)
        marker, meeting = extended_property_id(PROP_NAMESPACE), extended_property_id(PROP_MEETING_ID)
        items = self.store.list_items(organizer, extended_equals=(marker, namespace))
        return frozenset(item.doc.get("extended", {}).get(meeting, "") for item in items)

    def list_foreign(self, organizer: str, namespace: str) -> list[ForeignItem]:
        self.check_available(organizer)
        marker, meeting = extended_property_id(PROP_NAMESPACE), extended_property_id(PROP_MEETING_ID)
        found = []
        for item in self.store.list_items(organizer):
            extended = item.doc.get("extended", {})
            if extended.get(marker) and extended[marker] != namespace:
                observed = observe_document(item)
                found.append(
                    ForeignItem(
                        extended[marker], extended.get(meeting, ""), observed.fields.subject, observed.starts_at_utc
                    )
                )
        return found

    def list_unmanaged(self, organizer: str) -> list[UnmanagedMeeting]:
        self.check_available(organizer)
        marker = extended_property_id(PROP_NAMESPACE)
        found = []
        for item in self.store.list_items(organizer):
            doc = item.doc
            own = doc.get("organizer", item.mailbox) == item.mailbox
            if own and doc.get("attendees") and not doc.get("extended", {}).get(marker):
                body = doc.get("body") or {}
                found.append(
                    UnmanagedMeeting(
                        observe_document(item), str(body.get("type", "text")), str(body.get("content", ""))
                    )
                )
        return found

    def find(self, organizer: str, namespace: str, meeting_id: str) -> ObservedMeeting | None:
        item = self._stored(organizer, namespace, meeting_id)
        return observe_document(item) if item is not None else None

    def inspect(self, organizer: str, namespace: str, meeting_id: str) -> RawItem | None:
        """The stored document, as the sandbox's store holds it, is the sandbox's "wire"."""
        item = self._stored(organizer, namespace, meeting_id)
        if item is None:
            return None
        return RawItem(
            observed=observe_document(item),
            wire_format="json",
            wire=json.dumps(item.doc, indent=2, ensure_ascii=False, sort_keys=True),
            record=item.doc.get("extended", {}).get(extended_property_id(PROP_LAST_APPLIED)),
            server_body=item.doc.get("body", {}).get("content", ""),
        )

    def _stored(self, organizer: str, namespace: str, meeting_id: str) -> StoredItem | None:
        for item in self.store.list_items(
            organizer, extended_equals=(extended_property_id(PROP_MEETING_ID), meeting_id)
        ):
            if item.doc.get("extended", {}).get(extended_property_id(PROP_NAMESPACE)) == namespace:
                return item
        return None

    def _faulted(self, operation: str, meeting_id: str, write: Callable[[], _T]) -> _T:
        """Run a write under the injected faults for this operation (see module docstring), its
        store refusals as the port's errors."""
        fault = self.faults.take("sandbox", operation) if self.faults is not None else None
        if fault is not None and fault.kind == "fail":
            raise TransientError(f"The sandbox failed to {operation} {meeting_id} (injected fault).")
        try:
            result = write()
        except StaleChangeKey as error:
            raise ConflictError(f"{meeting_id} was changed in the calendar after it was read.") from error
        except ItemNotFound as error:
            raise NotFoundError(f"{meeting_id} is no longer in the organizer's calendar.") from error
        except (OccurrenceNotFound, OccurrenceCancelled) as error:
            raise NotFoundError(f"{meeting_id} is not (or no longer) an occurrence of the series.") from error
        if fault is not None:
            raise TransientError(f"The sandbox's answer to the {operation} of {meeting_id} was lost (injected fault).")
        return result

    def create(self, request: CreateRequest) -> None:
        doc = to_document(request.fields) | {
            "extended": _extended(request.namespace, request.meeting_id, request.fields)
        }
        item = self._faulted(
            "create",
            request.meeting_id,
            lambda: self.store.create_item(
                request.organizer, doc, send=SendMode.ALL, transaction_id=request.transaction_id
            ),
        )
        self._edit_occurrences(item, request.fields, request.writes)

    def update(self, request: UpdateRequest) -> None:
        edits = request.writes
        master = edits.master_fields(request.changed)
        full = to_document(request.fields)
        changes = {key: value for key, value in full.items() if key in _document_keys(master)}
        item = self._faulted(
            "update",
            request.meeting_id,
            lambda: self.store.update_item(
                request.item_id,
                changes,
                send=_SEND_MODE[update_scope(master)],
                if_change_key=request.change_key,
                extended=_extended(request.namespace, request.meeting_id, request.fields),
            ),
        )
        self._edit_occurrences(item, request.fields, edits)

    def _edit_occurrences(self, item: StoredItem, fields: MeetingState, edits: SeriesEdits) -> None:
        """Write each occurrence edit in order (see `occurrences`), each mailing its own attendees.
        Injected faults for the operation "occurrence" hit these writes."""
        for edit in edits.edits:
            item = self._faulted(
                "occurrence", f"the occurrence on {edit.date}", self._occurrence_write(item, fields, edit)
            )

    def _occurrence_write(
        self, item: StoredItem, fields: MeetingState, edit: OccurrenceEdit
    ) -> Callable[[], StoredItem]:
        if edit.kind is EditKind.CANCEL:
            return lambda: self.store.cancel_occurrence(
                item.item_id, edit.date, comment=None, if_change_key=item.change_key
            )
        change = occurrence_document(fields, edit.written)
        send = _SEND_MODE[occurrence_scope(edit)]
        return lambda: self.store.update_occurrence(
            item.item_id, edit.date, change, send=send, if_change_key=item.change_key
        )

    def cancel(self, request: CancelRequest) -> None:
        self._faulted(
            "cancel",
            request.meeting_id,
            lambda: self.store.cancel_item(request.item_id, comment=request.comment, if_change_key=request.change_key),
        )

    def release(self, request: ReleaseRequest) -> None:
        """Remove the three ownership properties, mailing nobody."""
        self._faulted(
            "release",
            request.meeting_id,
            lambda: self.store.update_item(
                request.item_id,
                {},
                send=SendMode.NONE,
                if_change_key=request.change_key,
                extended=dict.fromkeys(
                    (extended_property_id(n) for n in (PROP_NAMESPACE, PROP_MEETING_ID, PROP_LAST_APPLIED)), None
                ),
            ),
        )


#: Which document keys carry each canonical field.
_DOCUMENT_KEYS: dict[str, tuple[str, ...]] = {
    "subject": ("subject",),
    "start": ("start",),
    "end": ("end",),
    "timezone": ("timezone",),
    "all_day": ("is_all_day",),
    "recurrence": ("recurrence",),
    "skip": (),
    "overrides": (),
    "required": ("attendees",),
    "optional": ("attendees",),
    "rooms": ("attendees",),
    "location": ("location",),
    "online_meeting": ("is_online_meeting",),
    "body": ("body",),
    "body_format": ("body",),
    "reminder_minutes": ("is_reminder_on", "reminder_minutes"),
    "show_as": ("show_as",),
    "sensitivity": ("sensitivity",),
    "importance": ("importance",),
    "categories": ("categories",),
    "response_requested": ("response_requested",),
    "allow_new_time_proposals": ("allow_new_time_proposals",),
    "hide_attendees": ("hide_attendees",),
    "protect": (),
}


def _document_keys(changed: frozenset[str]) -> set[str]:
    return {key for name in changed for key in _DOCUMENT_KEYS[name]}
