"""The sample meeting every backend test starts from, shared so all suites test the same thing."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from reconciler.model import Meeting

ORGANIZER = "lead@contoso.com"


def meeting(meeting_id: str = "team/sync", **changes: Any) -> Meeting:
    """A 30-minute Berlin meeting with two required, one optional attendee; `changes` override fields."""
    base = Meeting(
        id=meeting_id,
        organizer=ORGANIZER,
        subject="Team sync",
        start=datetime(2026, 12, 1, 10, 0),
        end=datetime(2026, 12, 1, 10, 30),
        timezone="Europe/Berlin",
        required=("alice@contoso.com", "bob@contoso.com"),
        optional=("carol@contoso.com",),
        location="Berlin 3.14",
        body="Agenda:\n\n- *status*\n- risks & plans",
    )
    return dataclasses.replace(base, **changes)
