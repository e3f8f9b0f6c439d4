"""The sandbox's answers and free/busy: attendee responses read from (and written to) the store's
documents, and schedules from the emulator's free/busy model (`emulator.freebusy`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.emulator.freebusy import FreeBusyUnavailable, busy_periods_of
from reconciler.emulator.store import ItemNotFound, MailboxStore
from reconciler.errors import NotFoundError
from reconciler.freebusy import BusyPeriod, BusyStatus, Schedule
from reconciler.model import PROP_MEETING_ID, PROP_NAMESPACE, extended_property_id
from reconciler.people import GRAPH_RESPONSES, AttendeeResponse, Response, Responses

#: Our answers -> the store's (Graph's responseType values).
_STORE_RESPONSES = {
    Response.ACCEPTED: "accepted",
    Response.TENTATIVE: "tentativelyAccepted",
    Response.DECLINED: "declined",
}
_UNKNOWN = {
    "missing": "no such mailbox",
    "not-enabled": "the mailbox is not enabled",
    "denied": "access to its calendar is denied",
}


def document_responses(doc: Mapping[str, Any], organizer: str) -> Responses:
    """The answers a store document's attendees carry (the organizer left out)."""
    answers = []
    for attendee in doc.get("attendees", []):
        address = str(attendee["email"]).lower()
        if address != organizer:
            answer = GRAPH_RESPONSES.get(str(attendee.get("response", "none")), Response.NONE)
            answers.append(AttendeeResponse(address, answer, room=attendee.get("type") == "resource"))
    return Responses.of(answers)


def respond(store: MailboxStore, attendee: str, item_id: str, response: Response) -> None:
    """Answer as `attendee` would from Outlook: the organizer's item records the answer."""
    if response not in _STORE_RESPONSES:
        raise ValueError(f"An attendee answers accepted, tentative or declined, not {response}.")
    try:
        store.respond(item_id, attendee, _STORE_RESPONSES[response])
    except ItemNotFound as error:
        raise NotFoundError(f"The meeting does not list {attendee} as an attendee.") from error


def schedules(store: MailboxStore, addresses: Sequence[str], start: datetime, end: datetime) -> list[Schedule]:
    """Each address's busy periods in [start, end); an unreadable one is unknown with its reason."""
    found = busy_periods_of(store, addresses, start, end)
    answers = []
    for address in addresses:
        periods = found[address.lower()]
        if isinstance(periods, FreeBusyUnavailable):
            answers.append(Schedule(address, unknown=_UNKNOWN.get(periods.reason.value, periods.reason.value)))
            continue
        answers.append(Schedule(address, tuple(BusyPeriod(p.start, p.end, BusyStatus(p.status)) for p in periods)))
    return answers


def respond_in_sandbox(store_path: Path, namespace: str, attendee: str, meeting_id: str, response: Response) -> str:
    """Answer the namespace's meeting `meeting_id` as `attendee` in the sandbox at `store_path`;
    returns the meeting's subject. NotFoundError when no such meeting lists that attendee."""
    if not store_path.exists():
        raise NotFoundError(f"The sandbox at {store_path} holds no meetings yet; run `meetings apply` first.")
    store = MailboxStore(store_path)
    try:
        marker = (extended_property_id(PROP_NAMESPACE), namespace)
        for mailbox in store.mailboxes():
            for item in store.list_items(mailbox, extended_equals=marker):
                if item.doc.get("extended", {}).get(extended_property_id(PROP_MEETING_ID)) == meeting_id:
                    respond(store, attendee.lower(), item.item_id, response)
                    return str(item.doc.get("subject", ""))
        raise NotFoundError(f"No meeting {meeting_id} of namespace {namespace!r} is in the sandbox.")
    finally:
        store.close()
