"""Free/busy of one address over the store, for Graph getSchedule, EWS GetUserAvailability and the
sandbox (stdlib only; the emulator imports nothing of the client).

Exchange answers free/busy from the calendar of the mailbox asked about: its own meetings and the
copies of meetings it was invited to. The store keeps no attendee copies, so the busy times of an
address are, as modelled here [INFER]: every active item of its own calendar, and every active item
of any calendar that lists it as an attendee and that it has not declined (a declined meeting
leaves the attendee's calendar free). Each busy period carries the item's `show_as` (free items
block nothing) and subject. An address marked unavailable (`set_unavailable`) cannot be read:
`busy_periods_of` gives its `FreeBusyUnavailable`, which each protocol answers with its own error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


def busy_periods_of(
    store: MailboxStore, addresses: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[BusyPeriod] | FreeBusyUnavailable]:
    """The periods in [start, end) (aware) in which each address (lower-cased) is not free, sorted
    by start, reading the store once for all of them; an unreadable address maps to its
    FreeBusyUnavailable."""
    wanted = {a.lower() for a in addresses}
    found: dict[str, list[BusyPeriod] | FreeBusyUnavailable] = {}
    readable = set()
    for address in wanted:
        reason = store.unavailable(address)
        if reason is not None:
            found[address] = FreeBusyUnavailable(address, reason)
        else:
            found[address] = []
            readable.add(address)
    if not readable:
        return found
    for item in store.active_items_near(start, end, readable):
        doc = item.doc
        if doc.get("show_as", "busy") == "free" or not doc.get("start"):
            continue
        concerned = _concerned(item, readable)
        if not concerned:
            continue
        for begin, finish in _spans(doc, start, end):
            period = BusyPeriod(begin, finish, str(doc.get("show_as", "busy")), str(doc.get("subject", "")))
            for address in concerned:
                periods = found[address]
                assert not isinstance(periods, FreeBusyUnavailable)
                periods.append(period)
    for address in readable:
        periods = found[address]
        assert not isinstance(periods, FreeBusyUnavailable)
        periods.sort(key=lambda p: (p.start, p.end, p.subject))
    return found


def _concerned(item: StoredItem, addresses: set[str]) -> set[str]:
    """Which of `addresses` the item keeps busy: its own mailbox, and attendees who did not decline."""
    concerned = {item.mailbox} & addresses
    for attendee in item.doc.get("attendees", []):
        email = str(attendee.get("email", "")).lower()
        if email in addresses and attendee.get("response") != "declined":
            concerned.add(email)
    return concerned


def _spans(doc: dict[str, Any], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The item's occurrences overlapping [start, end), aware UTC."""
    zone = str(doc.get("timezone") or "UTC")
    if doc.get("recurrence"):
        local = [(o.start, o.end) for o in series.window(doc, start, end)]
    else:
        local = [(series.wall(doc["start"]), series.wall(doc["end"]))]
    spans = [(series.to_utc(a, zone), series.to_utc(b, zone)) for a, b in local]
    return [(a, b) for a, b in spans if a < end and b > start]
