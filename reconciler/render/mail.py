"""`meetings sandbox mail`: what one person received, for a terminal or as JSON.

The JSON is a list of objects with the `ReceivedMail` fields, in the log's order (oldest first).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from reconciler.received import ReceivedMail
from reconciler.text import visible


def _line(mail: ReceivedMail) -> str:
    # The first 16 characters of the ISO time are the minute: seconds never matter for a meeting.
    when = f"{mail.start[:16].replace('T', ' ')} {mail.timezone}"
    occurrence = f" (occurrence {mail.occurrence})" if mail.occurrence else ""
    comment = f' — "{mail.comment}"' if mail.comment else ""
    return visible(
        f"{mail.kind.value:<12} {mail.subject!r} from {mail.organizer} [{mail.meeting_id}] {when}{occurrence}{comment}"
    )


def render_human(address: str, received: Sequence[ReceivedMail]) -> str:
    """A line per message: kind, subject, organizer, meeting id, local start, occurrence, comment."""
    if not received:
        return f"{address} received no meeting mail.\n"
    return "".join(_line(m) + "\n" for m in received)


def render_json(received: Sequence[ReceivedMail]) -> str:
    return json.dumps([{**asdict(m), "kind": m.kind.value} for m in received], indent=2, ensure_ascii=False) + "\n"
