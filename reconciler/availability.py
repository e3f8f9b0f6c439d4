"""Free/busy conflicts of a plan (pure): what the shell asks the backend, and what the answers mean.

For every create and every change of a meeting's time, the plan checks the required attendees and
the rooms of the new time (`checks`: the next occurrences within `HORIZON`, at most
`MAX_OCCURRENCES`). The shell reads their schedules through the provider
(`port.Provider.schedules`, one request per organizer and batch) and `with_conflicts` turns the
answers into warnings on each change: "room-berlin-3@contoso.com is busy 10:00-11:00 UTC", or
"alice@contoso.com's availability is unknown (reason)". An address whose schedule could not be read
is unknown, never free. A room conflict is a plan error under `policy.room_conflicts: error`.

The meeting itself is not a conflict: its own current occurrences are in its attendees' calendars,
so busy periods that are exactly one of the item's current occurrences are ignored (an update is
never in conflict with its own old slot). Two meetings of the repository booking the same room at
overlapping times are reported from the files alone (`double_bookings`), before anything is applied.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from reconciler.freebusy import BusyPeriod, Schedule
from reconciler.model import Action, Meeting, ObservedMeeting
from reconciler.notices import AddressBusy, AvailabilityUnknown, Notice, RoomConflict, RoomDoubleBooked, order_key
from reconciler.plan import Change, Plan
from reconciler.recurrence import has_ended, local, occurrence_starts
from reconciler.state import MeetingState, meeting_state

#: How far ahead a series' occurrences are checked.
HORIZON = timedelta(days=28)
#: The most occurrences of one meeting checked.
MAX_OCCURRENCES = 10
_TIMING = frozenset({"start", "end", "timezone", "recurrence", "overrides", "skip", "all_day"})


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Check:
    """What one change asks: the addresses (required attendees and rooms) for its new slots, the
    slots the item holds today (never a conflict with itself) and which addresses are rooms."""

    meeting_id: str
    organizer: str
    addresses: tuple[str, ...]
    rooms: frozenset[str]
    slots: tuple[Slot, ...]
    own: frozenset[Slot]


def slots(fields: MeetingState, now: datetime) -> tuple[Slot, ...]:
    """The meeting's occurrences that end after `now` and start before `now + HORIZON` (UTC), at
    most MAX_OCCURRENCES, skips left out and overrides' times applied."""
    zone = ZoneInfo(fields.timezone)
    length = local(fields.end) - local(fields.start)
    skipped = set(fields.skip)
    moved = {o.date: o for o in fields.overrides if o.start is not None}
    found: list[Slot] = []
    for wall in occurrence_starts(fields):
        start = wall.replace(tzinfo=zone).astimezone(UTC)
        if start >= now + HORIZON or len(found) >= MAX_OCCURRENCES:
            break
        day = wall.date()
        if day in skipped:
            continue
        begin, finish = wall, wall + length
        override = moved.get(day)
        if override is not None and override.start is not None:
            begin = local(override.start)
            finish = local(override.end) if override.end is not None else begin + length
        slot = Slot(begin.replace(tzinfo=zone).astimezone(UTC), finish.replace(tzinfo=zone).astimezone(UTC))
        if slot.end > now:
            found.append(slot)
    return tuple(found)


def checks(plan: Plan, observed: Sequence[ObservedMeeting], now: datetime) -> tuple[Check, ...]:
    """The free/busy checks of `plan`: one per create, and per update or move that changes the time."""
    items = {o.item_id: o for o in observed}
    found = []
    for change in plan.changes:
        if change.desired is None or change.action not in (Action.CREATE, Action.UPDATE, Action.MOVE):
            continue
        if change.action is not Action.CREATE and not change.changed_names & _TIMING:
            continue
        desired = change.desired
        rooms = frozenset(desired.rooms)
        addresses = tuple(sorted({*desired.required, *rooms} - {change.organizer}))
        new = slots(desired, now)
        if not addresses or not new:
            continue
        item = items.get(change.item_id or "")
        own = frozenset(slots(item.fields, now)) if item is not None else frozenset()
        found.append(Check(change.meeting_id, change.organizer, addresses, rooms, new, own))
    return tuple(found)


def window(check: Check) -> tuple[datetime, datetime]:
    return min(s.start for s in check.slots), max(s.end for s in check.slots)


@dataclass(frozen=True)
class _Index:
    """A schedule's busy periods sorted by start, for finding those overlapping a slot quickly."""

    periods: tuple[BusyPeriod, ...]
    starts: tuple[datetime, ...]
    longest: timedelta

    @classmethod
    def of(cls, schedule: Schedule) -> _Index:
        periods = tuple(sorted(schedule.busy, key=lambda p: (p.start, p.end)))
        longest = max((p.end - p.start for p in periods), default=timedelta(0))
        return cls(periods, tuple(p.start for p in periods), longest)

    def overlapping(self, slot: Slot) -> tuple[BusyPeriod, ...]:
        low = bisect_left(self.starts, slot.start - self.longest)
        high = bisect_left(self.starts, slot.end)
        return tuple(p for p in self.periods[low:high] if p.end > slot.start)


def _conflicts(check: Check, index: _Index) -> Iterable[BusyPeriod]:
    own = {(s.start, s.end) for s in check.own}
    seen = set()
    for slot in check.slots:
        for period in index.overlapping(slot):
            if (period.start, period.end) in own or period in seen:
                continue  # the item's own current occurrence, or already reported
            seen.add(period)
            yield period


def with_conflicts(
    plan: Plan, found: Sequence[Check], schedules: Mapping[tuple[str, str], Schedule], *, room_errors: bool
) -> Plan:
    """`plan` with a warning on each checked change per busy or unknown address (`schedules` by
    (organizer, address)); with `room_errors`, every busy room is also a plan error."""
    extra: dict[str, list[Notice]] = {}
    errors: list[Notice] = []
    indexes: dict[tuple[str, str], _Index] = {}
    for check in found:
        for address in check.addresses:
            schedule = schedules.get((check.organizer, address))
            room = address in check.rooms
            if schedule is None or schedule.unknown is not None:
                reason = schedule.unknown if schedule is not None else "the backend gave no answer for it"
                extra.setdefault(check.meeting_id, []).append(
                    AvailabilityUnknown(check.meeting_id, address, str(reason))
                )
                continue
            key = (check.organizer, address)
            if key not in indexes:
                indexes[key] = _Index.of(schedule)
            for period in _conflicts(check, indexes[key]):
                busy = AddressBusy(check.meeting_id, address, period.start, period.end, period.status, room)
                extra.setdefault(check.meeting_id, []).append(busy)
                if room and room_errors:
                    errors.append(RoomConflict(busy))
    return _add(plan, extra, errors)


def double_bookings(plan: Plan, meetings: Sequence[Meeting], now: datetime, *, room_errors: bool) -> Plan:
    """`plan` with a warning on each create or time change whose room another meeting file of the
    repository books at an overlapping time (an error with `room_errors`)."""
    changing = {c.meeting_id for c in checks(plan, (), now)}
    if not changing:
        return plan
    by_room: dict[str, list[tuple[str, tuple[Slot, ...]]]] = {}
    for meeting in meetings:
        if meeting.cancelled is not None or meeting.release or not meeting.rooms:
            continue
        fields = meeting_state(meeting)
        if has_ended(fields, now):
            continue
        taken = slots(fields, now)
        for room in meeting.rooms:
            by_room.setdefault(room, []).append((meeting.id, taken))
    extra: dict[str, list[Notice]] = {}
    errors: list[Notice] = []
    for room, booked in sorted(by_room.items()):
        for index, (first, first_slots) in enumerate(booked):
            for second, second_slots in islice(booked, index + 1, None):
                if first not in changing and second not in changing:
                    continue
                overlap = next(
                    (
                        Slot(max(a.start, b.start), min(a.end, b.end))
                        for a in first_slots
                        for b in second_slots
                        if a.start < b.end and a.end > b.start
                    ),
                    None,
                )
                if overlap is None:
                    continue
                for one, other in ((first, second), (second, first)):
                    if one in changing:
                        booked_twice = RoomDoubleBooked(one, other, room, overlap.start, overlap.end)
                        extra.setdefault(one, []).append(booked_twice)
                        if room_errors:
                            errors.append(RoomConflict(booked_twice))
    return _add(plan, extra, errors)


def _add(plan: Plan, extra: Mapping[str, Sequence[Notice]], errors: Sequence[Notice]) -> Plan:
    if not extra and not errors:
        return plan
    changes: list[Change] = [
        replace(c, warnings=(*c.warnings, *extra[c.meeting_id])) if c.meeting_id in extra else c for c in plan.changes
    ]
    return replace(plan, changes=tuple(changes), errors=tuple(sorted((*plan.errors, *errors), key=order_key)))
