"""The small JSON forms of golden cases, turned into the planner's inputs.

A case folder holds:

* `desired.json`: a list of meetings. Keys are `model.Meeting`'s field names with JSON values:
  `start`/`end` as `YYYY-MM-DDTHH:MM` (or a date when `all_day`), enums by value, lists for tuples,
  `recurrence` as an object of `model.Recurrence`'s fields (`skip` dates, `overrides` as
  `{"date": ..., "changes": {...}}`), and `source` as `"path:line"`. Only `id`, `organizer`,
  `subject`, `start`, `end` and `timezone` are required. This form is the test's own: it does not
  go through YAML loading.
* `observed.json`: a list of managed items in canonical terms, as a provider reports them:
  `item_id`, `change_key`, `organizer`, `meeting_id`, `fields` (every canonical field) and
  `last_applied` (every canonical field, or null when the record is missing). Without
  `last_applied` the item reads back exactly as we last wrote it (no drift). Start and end in UTC
  are derived from the fields, as every provider does. Optional `responses` maps attendee
  addresses to their answer (`people.Response` values; rooms are the addresses in `fields.rooms`).
* `case.json` may also hold `schedules`: the free/busy answers by address, each
  `{"busy": [[start, end, status], ...]}` (ISO 8601 with offset, a `freebusy.BusyStatus` value) or
  `{"unknown": reason}`; then the plan's conflicts are checked as the shell checks them.
* `case.json`: `now` (ISO 8601 with offset), `backend`, `namespace`, `capabilities` (fields of
  `port.Capabilities`), `policy` (fields of `plan.PlanPolicy`;
  `send_limits` as the fields of `limits.SendLimits`), `allow_mass_cancel`, and
  a `description` for the reader.

Unknown keys are errors, so a typo in a case cannot silently test the defaults.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler import availability
from reconciler.freebusy import BusyPeriod, BusyStatus, Schedule
from reconciler.limits import SendLimits
from reconciler.model import (
    FIELD_ORDER,
    BodyFormat,
    Every,
    Importance,
    Meeting,
    ObservedMeeting,
    Recurrence,
    Sensitivity,
    ShowAs,
    SourceLocation,
    Weekday,
    WeekOfMonth,
)
from reconciler.people import AttendeeResponse, Response, Responses
from reconciler.plan import Plan, PlanPolicy, build_plan
from reconciler.port import Capabilities
from reconciler.recurrence import span_utc
from reconciler.state import MeetingState, from_json
from tests.factories import declared_override

_MEETING_FIELDS = {f.name for f in dataclasses.fields(Meeting)}
_RECURRENCE_FIELDS = {f.name for f in dataclasses.fields(Recurrence)}
_TUPLES = ("required", "optional", "rooms", "categories", "moved_from")
_ENUMS: dict[str, Any] = {
    "body_format": BodyFormat,
    "show_as": ShowAs,
    "sensitivity": Sensitivity,
    "importance": Importance,
}
_CASE_KEYS = {
    "description",
    "now",
    "backend",
    "namespace",
    "capabilities",
    "policy",
    "allow_mass_cancel",
    "allow_late",
    "unavailable",
    "previous",
    "schedules",
}
_OBSERVED_KEYS = {"item_id", "change_key", "organizer", "meeting_id", "fields", "last_applied", "responses"}


def _unknown(kind: str, keys: Sequence[str] | set[str], allowed: set[str]) -> None:
    extra = set(keys) - allowed
    if extra:
        raise ValueError(f"Unknown {kind} keys: {sorted(extra)}.")


def _moment(value: str) -> datetime | date:
    return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)


def recurrence_from_json(data: Mapping[str, Any]) -> Recurrence:
    _unknown("recurrence", list(data), _RECURRENCE_FIELDS)
    week_of_month = data.get("week_of_month")
    until = data.get("until")
    return Recurrence(
        every=Every(data["every"]),
        interval=data.get("interval", 1),
        on=tuple(Weekday(d) for d in data.get("on", ())),
        day_of_month=data.get("day_of_month"),
        week_of_month=WeekOfMonth(week_of_month) if week_of_month else None,
        month=data.get("month"),
        until=date.fromisoformat(until) if until else None,
        count=data.get("count"),
        first_day_of_week=Weekday(data.get("first_day_of_week", "monday")),
        skip=tuple(date.fromisoformat(d) for d in data.get("skip", ())),
        overrides=tuple(
            declared_override(date.fromisoformat(o["date"]), o["changes"]) for o in data.get("overrides", ())
        ),
    )


def meeting_from_json(data: Mapping[str, Any]) -> Meeting:
    """A `model.Meeting` from the desired.json form (see the module docstring)."""
    _unknown("meeting", list(data), _MEETING_FIELDS)
    kwargs: dict[str, Any] = dict(data)
    kwargs["start"], kwargs["end"] = _moment(data["start"]), _moment(data["end"])
    if data.get("recurrence") is not None:
        kwargs["recurrence"] = recurrence_from_json(data["recurrence"])
    for name in _TUPLES:
        if name in data:
            kwargs[name] = tuple(data[name])
    for name, enum in _ENUMS.items():
        if name in data:
            kwargs[name] = enum(data[name])
    if "source" in data:
        path, _, line = str(data["source"]).rpartition(":")
        kwargs["source"] = SourceLocation(path, int(line))
    return Meeting(**kwargs)


def _canonical(fields: Mapping[str, Any], what: str) -> MeetingState:
    if set(fields) != set(FIELD_ORDER):
        missing, extra = set(FIELD_ORDER) - set(fields), set(fields) - set(FIELD_ORDER)
        raise ValueError(
            f"{what} must hold exactly the canonical fields; missing {sorted(missing)}, extra {sorted(extra)}."
        )
    return from_json(fields)


def observed_from_json(data: Mapping[str, Any]) -> ObservedMeeting:
    """An `ObservedMeeting` from the observed.json form (see the module docstring)."""
    _unknown("observed item", list(data), _OBSERVED_KEYS)
    fields = _canonical(data["fields"], f"{data['item_id']}.fields")
    if "last_applied" not in data:
        last_applied: MeetingState | None = fields
    elif data["last_applied"] is None:
        last_applied = None
    else:
        last_applied = _canonical(data["last_applied"], f"{data['item_id']}.last_applied")
    starts, ends = span_utc(fields)
    answers: Mapping[str, str] = data.get("responses", {})
    return ObservedMeeting(
        item_id=data["item_id"],
        change_key=data["change_key"],
        organizer=data["organizer"],
        meeting_id=data["meeting_id"],
        fields=fields,
        last_applied=last_applied,
        ends_at_utc=ends,
        starts_at_utc=starts,
        responses=Responses.of(
            AttendeeResponse(address, Response(answers.get(address, "none")), room=address in fields.rooms)
            for address in sorted({*fields.required, *fields.optional, *fields.rooms})
        ),
    )


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def case_settings(folder: Path) -> dict[str, Any]:
    settings: dict[str, Any] = _read(folder / "case.json")
    _unknown("case", list(settings), _CASE_KEYS)
    return settings


def plan_from(desired: Sequence[Meeting], observed: Sequence[ObservedMeeting], settings: Mapping[str, Any]) -> Plan:
    """Run the planner exactly as the case describes."""
    policy = dict(settings.get("policy", {}))
    if "min_notice_minutes" in policy:
        policy["min_notice"] = timedelta(minutes=policy.pop("min_notice_minutes"))
    if "send_limits" in policy:
        policy["send_limits"] = SendLimits(**policy["send_limits"])
    plan = build_plan(
        desired,
        observed,
        now=datetime.fromisoformat(settings["now"]),
        policy=PlanPolicy(**policy),
        capabilities=Capabilities(**settings["capabilities"]),
        backend=settings["backend"],
        namespace=settings["namespace"],
        allow_mass_cancel=settings.get("allow_mass_cancel", False),
        allow_late=settings.get("allow_late", False),
        unavailable=settings.get("unavailable", {}),
        previous={ns: [observed_from_json(o) for o in items] for ns, items in settings.get("previous", {}).items()},
    )
    if "schedules" not in settings:
        return plan
    now, room_errors = datetime.fromisoformat(settings["now"]), policy.get("room_conflicts") == "error"
    checks = availability.checks(plan, observed, now)
    schedules = {
        (check.organizer, address): _schedule(address, settings["schedules"].get(address))
        for check in checks
        for address in check.addresses
    }
    plan = availability.with_conflicts(plan, checks, schedules, room_errors=room_errors)
    return availability.double_bookings(plan, desired, now, room_errors=room_errors)


def _schedule(address: str, data: Mapping[str, Any] | None) -> Schedule:
    if data is None:
        return Schedule(address)
    if "unknown" in data:
        return Schedule(address, unknown=data["unknown"])
    return Schedule(
        address,
        tuple(
            BusyPeriod(datetime.fromisoformat(start), datetime.fromisoformat(end), BusyStatus(status))
            for start, end, status in data["busy"]
        ),
    )


def plan_case(folder: Path) -> Plan:
    """The plan of one case folder."""
    desired = [meeting_from_json(m) for m in _read(folder / "desired.json")]
    observed = [observed_from_json(o) for o in _read(folder / "observed.json")]
    return plan_from(desired, observed, case_settings(folder))
