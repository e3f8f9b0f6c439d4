"""SQLite mailboxes: calendar items, change keys, transaction ids and the sent-mail log.

This is the state behind every emulated protocol (the in-process sandbox, Graph REST and EWS SOAP).
It behaves like the Exchange information store as far as the reconciler can observe it:

* every write gives the item a new change key; a write carrying a stale `if_change_key` raises
  `StaleChangeKey` and changes nothing;
* creates carrying a `transaction_id` already seen for that mailbox return the first item and send
  no mail (Graph's de-duplication);
* mail goes out according to the send mode of the write, per recipient:

  =============  ==================================================================
  send mode      who receives what
  =============  ==================================================================
  NONE           nobody
  CHANGED        added attendees an invitation, removed attendees a cancellation
  ALL            as CHANGED, plus an update to every attendee who stays
  =============  ==================================================================

  A create with any send mode but NONE invites every attendee; a cancel sends every attendee a
  cancellation carrying the comment. The organizer never receives mail about their own meeting.

* a mailbox marked with `set_unavailable(mailbox, reason)` (missing, not enabled, access denied)
  is refused by every protocol app with that protocol's error for the reason;
* a series is one master item; its occurrences are computed by `series` (in the series' zone).
  `cancel_occurrence` and `update_occurrence` change one occurrence and mail that occurrence's
  attendees (the mail log's `occurrence` holds its original date), by the same send-mode rules.
  Writing `recurrence` on a master regenerates the series: every cancelled and changed occurrence
  is dropped, as Exchange does when a pattern is saved.

Item documents are JSON objects in a protocol-neutral shape::

    {
      "subject": str,
      "body": {"type": "text" | "html", "content": str},
      "start": "YYYY-MM-DDTHH:MM:SS", "end": "YYYY-MM-DDTHH:MM:SS",   # local wall time ...
      "timezone": "<IANA zone>",                                      # ... in this zone
      "is_all_day": bool,
      "location": str,
      "attendees": [{"email": str, "name": str, "type": "required" | "optional" | "resource",
                     "response": "none"}],
      "recurrence": null | {"pattern": {...}, "range": {...}},  # Graph's patternedRecurrence shape
      "cancelled_occurrences": ["YYYY-MM-DD", ...],              # original dates (series only)
      "exceptions": {"YYYY-MM-DD": {<partial document>}},        # changed occurrences (series only):
                                                                 # the keys written to the occurrence
                                                                 # (start, end, subject, location, body,
                                                                 # attendees), kept once written
      "is_online_meeting": bool, "is_reminder_on": bool, "reminder_minutes": int,
      "online_meeting": {"join_url": str, "conference_id": str, ...},  # a Teams meeting's join details
      "timezone_name": str,                                      # the zone as the client named it
      "show_as": str, "sensitivity": str, "importance": str, "categories": [str],
      "response_requested": bool, "allow_new_time_proposals": bool, "hide_attendees": bool,
      "extended": {"String {GUID} Name <name>": str},            # single-value extended properties
      "organizer": str,                                          # only on an invitation's copy in an
                                                                 # attendee's calendar: who organizes it
    }

The store validates nothing about the document beyond what it needs to route mail: protocol apps
validate their own wire input. The store is thread-safe (one connection behind a lock) so the HTTP
emulators can serve from worker threads.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from reconciler.emulator import series

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    mailbox TEXT NOT NULL,
    uid TEXT NOT NULL,
    change_key TEXT NOT NULL,
    state TEXT NOT NULL,            -- active | cancelled | deleted
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_mailbox ON items (mailbox, state);
CREATE TABLE IF NOT EXISTS transactions (
    mailbox TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    PRIMARY KEY (mailbox, transaction_id)
);
CREATE TABLE IF NOT EXISTS mail (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,             -- invitation | update | cancellation
    organizer TEXT NOT NULL,
    item_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    subject TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    timezone TEXT NOT NULL,
    occurrence TEXT,                -- original date when the mail concerns one occurrence
    comment TEXT,
    extended TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_by_recipient ON mail (recipient);
CREATE TABLE IF NOT EXISTS unavailable_mailboxes (
    mailbox TEXT PRIMARY KEY,
    reason TEXT NOT NULL            -- an UnavailableReason value
);
"""


#: What Exchange fills in for a calendar item created without these properties (the document shape
#: of the module docstring, without times and extended properties). Protocol apps start from it.
DEFAULT_DOCUMENT: dict[str, Any] = {
    "subject": "",
    "body": {"type": "text", "content": ""},
    "is_all_day": False,
    "location": "",
    "attendees": [],
    "recurrence": None,
    "cancelled_occurrences": [],
    "exceptions": {},
    "is_online_meeting": False,
    "is_reminder_on": True,
    "reminder_minutes": 15,
    "show_as": "busy",
    "sensitivity": "normal",
    "importance": "normal",
    "categories": [],
    "response_requested": True,
    "allow_new_time_proposals": True,
    "hide_attendees": False,
}


class SendMode(StrEnum):
    """Who is mailed by a write; see the module docstring for the exact rules."""

    NONE = "none"
    CHANGED = "changed"
    ALL = "all"


class UnavailableReason(StrEnum):
    """Why a mailbox refuses every request; each protocol answers with its own error for it."""

    #: No such mailbox (deleted, never existed, mistyped).
    MISSING = "missing"
    #: The mailbox exists but is not enabled for the API (unlicensed, inactive, hosted on-premises).
    NOT_ENABLED = "not-enabled"
    #: The application may not use this mailbox (application access policy, impersonation scope).
    DENIED = "denied"


class StoreError(Exception):
    """Base of the store's own errors; protocol apps translate them into wire errors."""


class ItemNotFound(StoreError):
    """No active item has that id."""


class StaleChangeKey(StoreError):
    """The caller's change key is not the item's current one."""


class OccurrenceNotFound(StoreError):
    """The item is not a series, or its pattern has no occurrence on that date."""


class OccurrenceCancelled(StoreError):
    """The occurrence was cancelled (deleted from the series); it cannot be read or changed."""


@dataclass(frozen=True)
class StoredItem:
    """One calendar item as the store holds it; `doc` is the neutral document (a fresh copy)."""

    item_id: str
    mailbox: str
    uid: str
    change_key: str
    state: str
    created_at: str
    modified_at: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class Mail:
    """One meeting message in the sent-mail log."""

    seq: int
    recipient: str
    kind: str
    organizer: str
    item_id: str
    uid: str
    subject: str
    start: str
    end: str
    timezone: str
    occurrence: str | None
    comment: str | None
    extended: dict[str, str]
    sent_at: str


def _new_item_id() -> str:
    # Exchange ids are standard base64 (with / + =) and case-sensitive; keep that so clients
    # must encode them properly in URLs.
    return base64.b64encode(b"\x00\x00\x00\x00" + uuid.uuid4().bytes + uuid.uuid4().bytes[:8]).decode()


def _new_change_key() -> str:
    return base64.b64encode(b"\x16\x00\x00\x00" + uuid.uuid4().bytes).decode()


def _new_uid() -> str:
    return "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper()


def _recipients(doc: Mapping[str, Any], organizer: str) -> dict[str, str]:
    """Lower-cased address -> address as written, for every attendee of a document but the organizer."""
    return {a["email"].lower(): a["email"] for a in doc.get("attendees", []) if a["email"].lower() != organizer}


def _as_in_series(key: str, value: Any, master: Mapping[str, Any], occurrence: series.Occurrence) -> bool:
    """Whether an occurrence's value is what the series gives it anyway (then it is not kept as a change).

    Modelling choice [INFER]: Exchange's exception data records which properties an occurrence
    overrides; writing the series' value back is treated as no longer overriding it, so later
    changes of the series reach the occurrence again.
    """
    if key == "start":
        return bool(value == occurrence.original_start.isoformat(timespec="seconds"))
    if key == "end":
        length = series.wall(master["end"]) - series.wall(master["start"])
        return bool(value == (occurrence.original_start + length).isoformat(timespec="seconds"))
    if key == "attendees":
        return _attendee_set(value) == _attendee_set(master.get("attendees", []))
    return bool(master.get(key) == value)


#: Document keys whose change asks every attendee again: their answers are reset [INFER: Outlook
#: shows "the meeting time has changed" and the organizer's tracking starts over].
_TIME_KEYS = ("start", "end", "recurrence", "is_all_day", "timezone")


def _kept_responses(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`after`'s attendees with the answers they gave on `before` kept (a protocol app writes
    attendee lists with "none"); when the time changes every answer is reset to "none"."""
    if any(before.get(k) != after.get(k) for k in _TIME_KEYS):
        return [{**a, "response": "none"} for a in after.get("attendees", [])]
    given = {str(a["email"]).lower(): a.get("response", "none") for a in before.get("attendees", [])}
    return [
        {**a, "response": given.get(str(a["email"]).lower(), a.get("response", "none"))}
        for a in after.get("attendees", [])
    ]


def _attendee_set(attendees: Any) -> frozenset[tuple[str, str]]:
    return frozenset((str(a["email"]).lower(), str(a["type"])) for a in attendees)


class MailboxStore:
    """The emulated mailboxes in one SQLite file (or `:memory:`)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], datetime] | None = None) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._clock = clock or (lambda: datetime.now(UTC))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _now(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # -- items ---------------------------------------------------------------------------------

    def create_item(
        self,
        mailbox: str,
        doc: Mapping[str, Any],
        *,
        send: SendMode = SendMode.ALL,
        transaction_id: str | None = None,
    ) -> StoredItem:
        """Create an item in `mailbox`'s calendar and invite its attendees unless `send` is NONE.

        With a `transaction_id` already used in this mailbox, returns the item created then and
        sends nothing (even if that item was changed or cancelled since).
        """
        mailbox = mailbox.lower()
        with self._transaction() as conn:
            if transaction_id is not None:
                row = conn.execute(
                    "SELECT item_id FROM transactions WHERE mailbox = ? AND transaction_id = ?",
                    (mailbox, transaction_id),
                ).fetchone()
                if row is not None:
                    return self._get(conn, row[0], include_inactive=True)
            now = self._now()
            item_id, uid = _new_item_id(), _new_uid()
            conn.execute(
                "INSERT INTO items VALUES (?, ?, ?, ?, 'active', ?, ?, ?)",
                (item_id, mailbox, uid, _new_change_key(), now, now, json.dumps(doc)),
            )
            if transaction_id is not None:
                conn.execute("INSERT INTO transactions VALUES (?, ?, ?)", (mailbox, transaction_id, item_id))
            item = self._get(conn, item_id)
            if send is not SendMode.NONE:
                for address in _recipients(doc, mailbox).values():
                    self._log_mail(conn, item, address, "invitation")
            return item

    def get_item(self, item_id: str, *, include_inactive: bool = False) -> StoredItem:
        """The item with that id; raises ItemNotFound if it does not exist (or is not active)."""
        with self._lock:
            return self._get(self._conn, item_id, include_inactive=include_inactive)

    def list_items(self, mailbox: str, *, extended_equals: tuple[str, str] | None = None) -> list[StoredItem]:
        """Active items of a mailbox in creation order, optionally those whose extended property
        `extended_equals[0]` has exactly the value `extended_equals[1]`."""
        sql = "SELECT * FROM items WHERE mailbox = ? AND state = 'active'"
        args: list[str] = [mailbox.lower()]
        if extended_equals is not None:
            sql += " AND json_extract(doc, '$.extended.' || json_quote(?)) = ?"
            args.extend(extended_equals)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY created_at, item_id", args).fetchall()
        return [self._row_to_item(row) for row in rows]

    def active_items_near(self, start: datetime, end: datetime, addresses: Collection[str]) -> list[StoredItem]:
        """Active items that may overlap [start, end) (aware) and concern one of `addresses`
        (lower-case; the item's mailbox or one of its attendees): every such series, and the
        single items whose local wall times fall within a day of the window (wall times are in the
        item's zone, at most 14 hours from UTC)."""
        low = (start.astimezone(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        high = (end.astimezone(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        wanted = sorted(addresses)
        marks = ", ".join("?" * len(wanted))
        sql = (
            "SELECT * FROM items WHERE state = 'active' AND (json_extract(doc, '$.recurrence') IS NOT NULL"
            " OR (json_extract(doc, '$.start') < ? AND json_extract(doc, '$.end') > ?))"
            f" AND (mailbox IN ({marks}) OR EXISTS (SELECT 1 FROM json_each(items.doc, '$.attendees') AS a"
            f" WHERE lower(json_extract(a.value, '$.email')) IN ({marks}))) ORDER BY created_at, item_id"
        )
        with self._lock:
            rows = self._conn.execute(sql, (high, low, *wanted, *wanted)).fetchall()
        return [self._row_to_item(row) for row in rows]

    def mailboxes(self) -> list[str]:
        """Every mailbox that holds at least one item."""
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT DISTINCT mailbox FROM items ORDER BY mailbox")]

    def update_item(
        self,
        item_id: str,
        changes: Mapping[str, Any],
        *,
        send: SendMode,
        if_change_key: str | None = None,
        extended: Mapping[str, str | None] | None = None,
    ) -> StoredItem:
        """Replace top-level document keys with `changes` (and set/remove extended properties),
        give the item a new change key and mail per `send`. A stale `if_change_key` raises
        StaleChangeKey; nothing is written then."""
        with self._transaction() as conn:
            old = self._get(conn, item_id)
            if if_change_key is not None and if_change_key != old.change_key:
                raise StaleChangeKey(item_id)
            new_doc = {**old.doc, **changes}
            new_doc["attendees"] = _kept_responses(old.doc, new_doc)
            if "recurrence" in changes:
                new_doc["cancelled_occurrences"], new_doc["exceptions"] = [], {}
            ext = dict(old.doc.get("extended", {}))
            for key, value in (extended or {}).items():
                if value is None:
                    ext.pop(key, None)
                else:
                    ext[key] = value
            new_doc["extended"] = ext
            self._write(conn, item_id, new_doc)
            item = self._get(conn, item_id)
            self._log_changes(conn, item, old.doc, item.doc, send)
            return item

    def respond(self, item_id: str, attendee: str, response: str) -> StoredItem:
        """Record `attendee`'s answer ("accepted" | "tentativelyAccepted" | "declined") on the
        organizer's item, as Exchange does when the attendee's response reaches the organizer's
        mailbox: the item gets a new change key and nobody but the organizer is mailed (the
        response message itself is not logged). ItemNotFound when the item does not exist or does
        not list `attendee`."""
        with self._transaction() as conn:
            item = self._get(conn, item_id)
            attendees = [dict(a) for a in item.doc.get("attendees", [])]
            matching = [a for a in attendees if str(a["email"]).lower() == attendee.lower()]
            if not matching:
                raise ItemNotFound(f"{item_id} has no attendee {attendee}")
            for entry in matching:
                entry["response"] = response
            self._write(conn, item_id, {**item.doc, "attendees": attendees})
            return self._get(conn, item_id)

    def cancel_item(
        self, item_id: str, *, comment: str | None, if_change_key: str | None = None, send: bool = True
    ) -> StoredItem:
        """Cancel a meeting: every attendee gets a cancellation with `comment` (unless `send` is
        False) and the item leaves the calendar (it moves to Deleted Items)."""
        with self._transaction() as conn:
            item = self._get(conn, item_id)
            if if_change_key is not None and if_change_key != item.change_key:
                raise StaleChangeKey(item_id)
            conn.execute(
                "UPDATE items SET state = 'cancelled', change_key = ?, modified_at = ? WHERE item_id = ?",
                (_new_change_key(), self._now(), item_id),
            )
            if send:
                for address in _recipients(item.doc, item.mailbox).values():
                    self._log_mail(conn, item, address, "cancellation", comment=comment)
            return self._get(conn, item_id, include_inactive=True)

    def _occurrence(self, item: StoredItem, original: str, if_change_key: str | None) -> series.Occurrence:
        if if_change_key is not None and if_change_key != item.change_key:
            raise StaleChangeKey(item.item_id)
        try:
            day = datetime.fromisoformat(original).date()
        except ValueError as error:
            raise OccurrenceNotFound(f"{item.item_id} {original}") from error
        occurrence = series.find(item.doc, day)
        if occurrence is None:
            raise OccurrenceNotFound(f"{item.item_id} {original}")
        if occurrence.cancelled:
            raise OccurrenceCancelled(f"{item.item_id} {original}")
        return occurrence

    def cancel_occurrence(
        self, item_id: str, original: str, *, comment: str | None, send: bool = True, if_change_key: str | None = None
    ) -> StoredItem:
        """Cancel the occurrence originally on `original` (YYYY-MM-DD): it leaves the series, its
        changes are dropped and each of its attendees gets a cancellation for it (unless `send` is
        False). The master gets a new change key. A stale `if_change_key` raises StaleChangeKey."""
        with self._transaction() as conn:
            item = self._get(conn, item_id)
            occurrence = self._occurrence(item, original, if_change_key)
            key = occurrence.original.isoformat()
            doc = dict(item.doc)
            doc["cancelled_occurrences"] = sorted({*doc.get("cancelled_occurrences", []), key})
            doc["exceptions"] = {k: v for k, v in (doc.get("exceptions") or {}).items() if k != key}
            self._write(conn, item_id, doc)
            updated = self._get(conn, item_id)
            if send:
                for address in _recipients(occurrence.doc, item.mailbox).values():
                    self._log_mail(
                        conn, updated, address, "cancellation", doc=occurrence.doc, comment=comment, occurrence=key
                    )
            return updated

    def update_occurrence(
        self,
        item_id: str,
        original: str,
        changes: Mapping[str, Any],
        *,
        send: SendMode,
        if_change_key: str | None = None,
    ) -> StoredItem:
        """Change one occurrence (it becomes an exception): `changes` holds document keys among
        start, end, subject, location, body and attendees, kept on the occurrence from now on
        unless they equal the series' values (see `_as_in_series`).
        Mail follows `send` for that occurrence's attendees before and after. The master gets a
        new change key. A stale `if_change_key` raises StaleChangeKey."""
        with self._transaction() as conn:
            item = self._get(conn, item_id)
            before = self._occurrence(item, original, if_change_key)
            key = before.original.isoformat()
            doc = dict(item.doc)
            exceptions = dict(doc.get("exceptions") or {})
            merged = {**exceptions.get(key, {}), **changes}
            exceptions[key] = {k: v for k, v in merged.items() if not _as_in_series(k, v, doc, before)}
            if not exceptions[key]:
                del exceptions[key]  # every value is the series' again: a plain occurrence once more
            doc["exceptions"] = exceptions
            self._write(conn, item_id, doc)
            updated = self._get(conn, item_id)
            after = series.find(updated.doc, before.original)
            assert after is not None
            self._log_changes(conn, updated, before.doc, after.doc, send, occurrence=key)
            return updated

    def _write(self, conn: sqlite3.Connection, item_id: str, doc: Mapping[str, Any]) -> None:
        conn.execute(
            "UPDATE items SET doc = ?, change_key = ?, modified_at = ? WHERE item_id = ?",
            (json.dumps(doc), _new_change_key(), self._now(), item_id),
        )

    def _log_changes(
        self,
        conn: sqlite3.Connection,
        item: StoredItem,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        send: SendMode,
        *,
        occurrence: str | None = None,
    ) -> None:
        """Mail per `send` for a write that took a document (or one occurrence) from `before` to `after`."""
        if send is SendMode.NONE:
            return
        old, new = _recipients(before, item.mailbox), _recipients(after, item.mailbox)
        for key in sorted(new.keys() - old.keys()):
            self._log_mail(conn, item, new[key], "invitation", doc=after, occurrence=occurrence)
        for key in sorted(old.keys() - new.keys()):
            self._log_mail(conn, item, old[key], "cancellation", doc=before, occurrence=occurrence)
        if send is SendMode.ALL:
            for key in sorted(new.keys() & old.keys()):
                self._log_mail(conn, item, new[key], "update", doc=after, occurrence=occurrence)

    def delete_item(self, item_id: str, *, send_cancellations: bool) -> None:
        """Delete an item; attendees get a cancellation (without comment) if asked."""
        with self._transaction() as conn:
            item = self._get(conn, item_id)
            conn.execute(
                "UPDATE items SET state = 'deleted', modified_at = ? WHERE item_id = ?",
                (self._now(), item_id),
            )
            if send_cancellations:
                for address in _recipients(item.doc, item.mailbox).values():
                    self._log_mail(conn, item, address, "cancellation")

    # -- mail ----------------------------------------------------------------------------------

    def mail(self, recipient: str | None = None, *, after: int = 0) -> list[Mail]:
        """The sent-mail log in sending order, for one recipient (case-insensitive) or everyone;
        only the entries logged after sequence number `after`."""
        args: list[int | str]
        sql, args = "SELECT * FROM mail WHERE seq > ?", [after]
        if recipient is not None:
            sql, args = sql + " AND recipient = ?", [after, recipient.lower()]
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [
            Mail(*row[:12], extended=json.loads(row[12]), sent_at=row[13])  # type: ignore[misc]
            for row in rows
        ]

    def _log_mail(
        self,
        conn: sqlite3.Connection,
        item: StoredItem,
        recipient: str,
        kind: str,
        *,
        doc: Mapping[str, Any] | None = None,
        comment: str | None = None,
        occurrence: str | None = None,
    ) -> None:
        doc = doc if doc is not None else item.doc
        conn.execute(
            "INSERT INTO mail (recipient, kind, organizer, item_id, uid, subject, start, end, timezone,"
            " occurrence, comment, extended, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                recipient.lower(),
                kind,
                item.mailbox,
                item.item_id,
                item.uid,
                doc.get("subject", ""),
                doc.get("start", ""),
                doc.get("end", ""),
                doc.get("timezone", ""),
                occurrence,
                comment,
                json.dumps(doc.get("extended", {})),
                self._now(),
            ),
        )

    # -- unavailable mailboxes -----------------------------------------------------------------

    def set_unavailable(self, mailbox: str, reason: UnavailableReason | None) -> None:
        """Make every request for `mailbox` fail with `reason` (None: serve it again). Protocol
        apps check `unavailable` and answer with their own error for the reason."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM unavailable_mailboxes WHERE mailbox = ?", (mailbox.lower(),))
            if reason is not None:
                conn.execute("INSERT INTO unavailable_mailboxes VALUES (?, ?)", (mailbox.lower(), reason.value))

    def unavailable(self, mailbox: str) -> UnavailableReason | None:
        """Why `mailbox` refuses requests, or None when it is served."""
        with self._lock:
            row = self._conn.execute(
                "SELECT reason FROM unavailable_mailboxes WHERE mailbox = ?", (mailbox.lower(),)
            ).fetchone()
        return UnavailableReason(row[0]) if row else None

    # -- rows ----------------------------------------------------------------------------------

    def _get(self, conn: sqlite3.Connection, item_id: str, *, include_inactive: bool = False) -> StoredItem:
        row = conn.execute("SELECT * FROM items WHERE item_id = ?", (item_id,)).fetchone()
        if row is None or (not include_inactive and row[4] != "active"):
            raise ItemNotFound(item_id)
        return self._row_to_item(row)

    @staticmethod
    def _row_to_item(row: tuple[Any, ...]) -> StoredItem:
        item_id, mailbox, uid, change_key, state, created, modified, doc = row
        return StoredItem(item_id, mailbox, uid, change_key, state, created, modified, json.loads(doc))
