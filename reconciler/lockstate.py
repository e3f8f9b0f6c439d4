"""The state record of a namespace item, and which namespace item counts (pure).

One calendar item per (namespace, mailbox), the *namespace item*, carries this record as JSON in
its PROP_STATE property. It holds the apply lock (who holds it, `Holder`, since when and until
when) and what the last apply left behind: the ids of the namespace's meetings in this mailbox
(`meetings`, so a plan can tell a meeting cancelled in Outlook from one never created) and every
mailbox the namespace writes to (`organizers`, so a mailbox whose last file and configuration
entry were both removed is still found). Every key this version does not know is kept in `extra`
and written back unchanged, so an older writer never drops what a newer one recorded.

Wire format, version 1::

    {"version": 1,
     "holder": {"user": "ci", "host": "runner-7", "pid": 4242, "command": "meetings apply",
                "token": "<uuid of this acquisition>"} | null,
     "since": "2026-12-01T10:00:00Z" | null,
     "expires": "2026-12-01T10:10:00Z" | null,
     "meetings": ["team/sync", ...]   (absent until an apply recorded them),
     "organizers": ["lead@contoso.com", ...],
     ...keys of later versions...}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.port import NamespaceItem

FORMAT_VERSION = 1
_KNOWN_KEYS = frozenset({"version", "holder", "since", "expires", "meetings", "organizers"})


class LockRecordError(ValueError):
    """The PROP_STATE payload is not a record this version can read."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: enough for an operator to find the process; `token` tells two
    acquisitions apart even within one process."""

    user: str
    host: str
    pid: int
    command: str
    token: str

    def describe(self) -> str:
        return f"{self.user}@{self.host}, pid {self.pid}, {self.command!r}"


@dataclass(frozen=True)
class LockRecord:
    """The decoded state of a namespace item. `holder` None means the lock is free."""

    holder: Holder | None = None
    since: datetime | None = None
    expires: datetime | None = None
    #: The namespace's meeting ids in this mailbox after the last apply; None: never recorded.
    meetings: frozenset[str] | None = None
    #: Every mailbox the namespace wrote to at the last apply.
    organizers: tuple[str, ...] = ()
    #: Keys of later versions, preserved on every write.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def live(self, now: datetime) -> bool:
        """Whether the lock is held and not expired at `now` (an expired lock may be taken over)."""
        return self.holder is not None and self.expires is not None and now < self.expires

    def held_by(self, token: str) -> bool:
        return self.holder is not None and self.holder.token == token

    def taken(self, holder: Holder, now: datetime, ttl: timedelta) -> LockRecord:
        return replace(self, holder=holder, since=now, expires=now + ttl)

    def renewed(self, now: datetime, ttl: timedelta) -> LockRecord:
        return replace(self, expires=now + ttl)

    def released(self) -> LockRecord:
        return replace(self, holder=None, since=None, expires=None)

    def remembering(self, meetings: frozenset[str], organizers: Sequence[str]) -> LockRecord:
        return replace(self, meetings=meetings, organizers=tuple(sorted(set(organizers))))


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value is not None else None


def _parse_instant(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def encode(record: LockRecord) -> str:
    """The record as compact JSON with sorted keys (unknown keys first merged back in)."""
    holder = record.holder
    document: dict[str, Any] = {
        **record.extra,
        "version": FORMAT_VERSION,
        "holder": (
            {
                "user": holder.user,
                "host": holder.host,
                "pid": holder.pid,
                "command": holder.command,
                "token": holder.token,
            }
            if holder is not None
            else None
        ),
        "since": _instant(record.since),
        "expires": _instant(record.expires),
        "organizers": list(record.organizers),
    }
    if record.meetings is not None:
        document["meetings"] = sorted(record.meetings)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode(text: str) -> LockRecord:
    """The record in a PROP_STATE payload; an empty payload is a free lock.

    Raises LockRecordError for text that is not a version-1-compatible record (a newer version
    keeps the keys of version 1 and adds its own, so a higher version number alone is no error).
    """
    if not text.strip():
        return LockRecord()
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or not isinstance(document.get("version"), int):
            raise LockRecordError("not a versioned JSON object")
        raw = document.get("holder")
        holder = (
            Holder(str(raw["user"]), str(raw["host"]), int(raw["pid"]), str(raw["command"]), str(raw["token"]))
            if raw is not None
            else None
        )
        extra = {key: value for key, value in document.items() if key not in _KNOWN_KEYS}
        meetings = document.get("meetings")
        return LockRecord(
            holder,
            _parse_instant(document.get("since")),
            _parse_instant(document.get("expires")),
            frozenset(str(m) for m in meetings) if isinstance(meetings, list) else None,
            tuple(str(o) for o in document.get("organizers") or ()),
            extra,
        )
    except LockRecordError:
        raise
    except (ValueError, KeyError, TypeError) as error:
        raise LockRecordError(str(error)) from error


def survivor(items: Sequence[NamespaceItem]) -> NamespaceItem:
    """The namespace item every writer agrees on: the earliest by (created time, item id)."""
    return min(items, key=lambda item: (item.created, item.item_id))


#: What every backend writes on a namespace item besides its two properties: an appointment
#: nobody is invited to, far in the past, free and private, so it neither mails, blocks time nor
#: reminds anyone, and says what it is to whoever finds it.
ITEM_START_UTC = datetime(2000, 1, 1, tzinfo=UTC)
ITEM_END_UTC = ITEM_START_UTC + timedelta(minutes=1)


def item_subject(namespace: str) -> str:
    return f"meetings-as-code: apply lock for {namespace} (do not delete)"
