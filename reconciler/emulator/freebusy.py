"""Free/busy of one address over the store, for Graph getSchedule, EWS GetUserAvailability and the
sandbox (stdlib only; the emulator imports nothing of the client).

Exchange answers free/busy from the calendar of the mailbox asked about: its own meetings and the
copies of meetings it was invited to. The store keeps no attendee copies, so the busy times of an
address are, as modelled here [INFER]: every active item of its own calendar, and every active item
of any calendar that lists it as an attendee and that it has not declined (a declined meeting
leaves the attendee's calendar free). Each busy period carries the item's `show_as` (free items
block nothing) and subject. An address marked unavailable (`set_unavailable`) cannot be read:
`busy_periods` raises `FreeBusyUnavailable`, which each protocol answers with its own error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reconciler.emulator import series
from reconciler.emulator.store import MailboxStore, StoredItem, UnavailableReason


@dataclass(frozen=True)
class BusyPeriod:
    """One busy (or tentative, oof, workingElsewhere) period, aware UTC times."""

    start: datetime
    end: datetime
    status: str
    subject: str


class FreeBusyUnavailable(Exception):
    """The address's availability cannot be read; `reason` says why."""

    def __init__(self, address: str, reason: UnavailableReason) -> None:
        super().__init__(f"{address}: {reason}")
        self.reason = reason


def _concerns(item: StoredItem, address: str) -> bool:
    if item.mailbox == address:
        return True
    return any(
        str(a.get("email", "")).lower() == address and a.get("response") != "declined"
        for a in item.doc.get("attendees", [])
    )


def busy_periods(store: MailboxStore, address: str, start: datetime, end: datetime) -> list[BusyPeriod]:
    """The periods in [start, end) (aware) in which `address` is not free, sorted by start."""
    address = address.lower()
    reason = store.unavailable(address)
    if reason is not None:
        raise FreeBusyUnavailable(address, reason)
    periods = []
    for mailbox in store.mailboxes():
        for item in store.list_items(mailbox):
            doc = item.doc
            if doc.get("show_as", "busy") == "free" or not doc.get("start") or not _concerns(item, address):
                continue
            zone = str(doc.get("timezone") or "UTC")
            if doc.get("recurrence"):
                spans = [(o.start, o.end) for o in series.window(doc, start, end)]
            else:
                spans = [(series.wall(doc["start"]), series.wall(doc["end"]))]
            for local_start, local_end in spans:
                begin, finish = series.to_utc(local_start, zone), series.to_utc(local_end, zone)
                if begin < end and finish > start:
                    periods.append(
                        BusyPeriod(begin, finish, str(doc.get("show_as", "busy")), str(doc.get("subject", "")))
                    )
    return sorted(periods, key=lambda p: (p.start, p.end, p.subject))
