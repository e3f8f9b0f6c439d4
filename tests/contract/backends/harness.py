"""What every backend of the contract suite provides: a Provider and the store behind it.

A backend module `tests/contract/backends/<name>.py` exposes a context manager
`<name>_backend(store: MailboxStore) -> Iterator[Backend]` that serves the store (over loopback
HTTP for graph and ews) and yields a provider talking to it. Tests assert on the provider's view,
on the store's items and on the store's sent-mail log.

`respond(attendee, item_id, response)` answers the invitation as that attendee would, through the
protocol (Graph `accept`/`tentativelyAccept`/`decline` on the attendee's copy, EWS CreateItem with
AcceptItem/TentativelyAcceptItem/DeclineItem, the store for the sandbox); `item_id` is the id the
provider reports for the organizer's item.

`view(organizer, start, end)` is the calendar as the protocol's own calendar view shows it (Graph
calendarView, EWS FindItem with CalendarView, the store's expansion for the sandbox): every single
meeting and occurrence overlapping the window, as (start UTC, end UTC, subject), sorted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from reconciler.emulator.store import MailboxStore
from reconciler.people import Response
from reconciler.port import Provider
from tests.contract.backends.outlook import Outlook


@dataclass
class Backend:
    name: str
    provider: Provider
    store: MailboxStore
    #: Make the next write of this operation ("create" | "update" | "cancel") commit on the server
    #: and then lose its answer (a timeout or 504 as the client sees it).
    lose_next_answer: Callable[[str], None] | None = None
    view: Callable[[str, datetime, datetime], list[Seen]] | None = None
    #: The store's id of an item the provider names by `item_id` (Graph shows REST ids of its own).
    store_id: Callable[[str], str] = lambda item_id: item_id
    #: A person's Outlook on this backend: meetings made with the real SDK and none of our properties.
    outlook: Outlook | None = None
    respond: Callable[[str, str, Response], None] | None = None


#: One meeting or occurrence in a calendar view: (start UTC, end UTC, subject).
Seen = tuple[datetime, datetime, str]
