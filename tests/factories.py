"""The sample meeting every backend test starts from, shared so all suites test the same thing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from reconciler.model import Meeting, ObservedMeeting
from reconciler.notify import Notification, for_create, for_update
from reconciler.occurrences import creation_edits, series_edits
from reconciler.port import Capabilities, CreateRequest, Provider, UpdateRequest
from reconciler.state import MeetingState, OverrideState, from_json, override_from_json, override_json, to_json

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


def mail_for_create(fields: MeetingState) -> tuple[Notification, ...]:
    """`notify.for_create` with the writes the planner decides for the creation of `fields`."""
    return for_create(fields, creation_edits(fields))


def mail_for_update(
    before: MeetingState, after: MeetingState, changed: Iterable[str], capabilities: Capabilities
) -> tuple[Notification, ...]:
    """`notify.for_update` with the writes the planner decides for this update."""
    names = frozenset(changed)
    return for_update(before, after, names, capabilities, series_edits(before, after, names))


def changed(state: MeetingState, **values: Any) -> MeetingState:
    """`state` with some fields replaced, each given in its JSON form (`state.to_json`)."""
    return from_json(to_json(state) | values)


def declared_override(day: date, changes: Mapping[str, object]) -> OverrideState:
    """A declared override of the occurrence on `day`, from its canonical JSON values."""
    return override_from_json({"date": day.isoformat(), **changes})


def declared_changes(override: OverrideState) -> dict[str, object]:
    """What a declared override changes, in its canonical JSON form (`state.override_json` without the date)."""
    values = override_json(override)
    del values["date"]
    return values


def found(provider: Provider, namespace: str, meeting_id: str, *, organizer: str = ORGANIZER) -> ObservedMeeting:
    """The managed item `meeting_id` as `find` reads it; fails the test when there is none."""
    item = provider.find(organizer, namespace, meeting_id)
    assert item is not None, f"{meeting_id} is not in {organizer}'s calendar"
    return item


def written(provider: Provider, request: CreateRequest | UpdateRequest) -> ObservedMeeting:
    """Carry out the write, then read the item as the next plan would (`find`): writes return
    nothing, so what a test checks is what the calendar holds."""
    if isinstance(request, CreateRequest):
        provider.create(request)
    else:
        provider.update(request)
    return found(provider, request.namespace, request.meeting_id, organizer=request.organizer)
