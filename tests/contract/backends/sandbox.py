"""The sandbox backend for the contract suite: the provider over the store, in-process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from reconciler.emulator import series
from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.store import MailboxStore
from reconciler.providers.sandbox import SandboxProvider
from reconciler.providers.sandbox_people import respond
from tests.contract.backends.harness import Backend, Seen
from tests.contract.backends.outlook import StoreOutlook


def store_view(store: MailboxStore, organizer: str, start: datetime, end: datetime) -> list[Seen]:
    """Singles and occurrences overlapping [start, end) as the store expands them."""
    seen: list[Seen] = []
    for item in store.list_items(organizer):
        doc = item.doc
        zone = doc["timezone"]
        if doc.get("recurrence"):
            seen += [
                (series.to_utc(o.start, zone), series.to_utc(o.end, zone), o.doc["subject"])
                for o in series.window(doc, start, end)
            ]
        else:
            first, last = series.to_utc(series.wall(doc["start"]), zone), series.to_utc(series.wall(doc["end"]), zone)
            if first < end and last > start:
                seen.append((first, last, doc["subject"]))
    return sorted(seen)


@contextmanager
def sandbox_backend(store: MailboxStore) -> Iterator[Backend]:
    faults = FaultPlan()
    yield Backend(
        name="sandbox",
        provider=SandboxProvider(store, faults=faults),
        store=store,
        lose_next_answer=lambda operation: faults.inject("sandbox", operation, "timeout-after-commit"),
        view=lambda organizer, start, end: store_view(store, organizer, start, end),
        outlook=StoreOutlook(store),
        respond=lambda attendee, item_id, response: respond(store, attendee, item_id, response),
    )
