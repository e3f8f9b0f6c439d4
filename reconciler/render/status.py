"""`meetings status`: the managed meetings with their attendees' answers, as text (pure).

One block per meeting (sorted by organizer, start, id): its id, organizer, subject and first
start, the counts of the people's answers ("2 accepted, 1 tentative, 0 declined, 3 no answer"),
each room that declined, and with `attendees` one line per attendee and room with the answer.
Mailboxes that could not be read are listed last: their meetings are unknown, not absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.model import ObservedMeeting
from reconciler.people import Response, counts
from reconciler.render.common import summary
from reconciler.render.human import format_value
from reconciler.text import visible

_WORDS = {
    Response.NONE: "no answer",
    Response.ACCEPTED: "accepted",
    Response.TENTATIVE: "tentative",
    Response.DECLINED: "declined",
    Response.ORGANIZER: "organizer",
}


def _block(item: ObservedMeeting, attendees: bool) -> list[str]:
    subject = format_value(item.fields.subject)
    starts = item.starts_at_utc.strftime("%Y-%m-%d %H:%M UTC")
    value = counts(item.responses)
    lines = [
        f"{visible(item.meeting_id)}  [{visible(item.organizer)}] {subject}  {starts}",
        f"    {summary(value)}",
    ]
    lines += [f"    ! the room {visible(room)} declined" for room in value.declined_rooms]
    if attendees:
        width = max((len(a.address) for a in item.responses.attendees), default=0)
        for answer in item.responses.attendees:
            kind = " (room)" if answer.room else ""
            lines.append(f"      {visible(answer.address).ljust(width)}  {_WORDS[answer.response]}{kind}")
    return lines


def render(items: Sequence[ObservedMeeting], unavailable: Mapping[str, str], *, attendees: bool) -> str:
    """The status text of `items` (and the mailboxes in `unavailable`, with their reasons)."""
    lines: list[str] = []
    for item in sorted(items, key=lambda i: (i.organizer, i.starts_at_utc, i.meeting_id)):
        lines += [*_block(item, attendees), ""]
    if not items:
        lines += ["No managed meetings.", ""]
    lines += [f"Unavailable mailbox {visible(m)}: {visible(reason)}" for m, reason in sorted(unavailable.items())]
    return "\n".join(lines).rstrip() + "\n"
