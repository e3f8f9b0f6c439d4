"""The canonical state of a meeting as a typed frozen value, and its one JSON form (pure).

`MeetingState` is what is diffed, recorded on the calendar item as "last applied" and saved in plan
files: every field of `model.FIELD_ORDER`, typed. `meeting_state` builds it from a declared
`Meeting`. JSON exists only at the edges, through one pair: `to_json` / `from_json`. The JSON form
is the canonical mapping earlier versions wrote (same keys, `"%Y-%m-%dT%H:%M"` for wall times, ISO
dates, sorted lists), so records already on calendars still read and plan files do not change;
`from_json(to_json(state)) == state` for every state.

Conventions of the typed value (the loader and every provider produce exactly these):

* `start`/`end` are naive local wall times in `timezone` with minute precision, or dates (end
  exclusive) when `all_day`;
* attendee lists are lower-cased and sorted; `categories` sorted; `skip` and `overrides` sorted by
  date; a pattern's `on` sorted Monday first;
* an `OverrideState` sets only the attributes its occurrence changes (None: as the series).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from reconciler.model import (
    FIELD_ORDER,
    BodyFormat,
    Every,
    Importance,
    Meeting,
    Recurrence,
    Sensitivity,
    ShowAs,
    Weekday,
    WeekOfMonth,
)

# One changed occurrence: a declared meeting's overrides are already in canonical form.
from reconciler.model import OverrideState as OverrideState

#: A local wall time: minute-precision naive datetime, or a date for all-day meetings.
Wall = datetime | date
#: The JSON form of a state (the record on an item, a plan file's `desired`): wire JSON.
StateJson = dict[str, Any]

_WALL_FORMAT = "%Y-%m-%dT%H:%M"
_E = TypeVar("_E", bound=StrEnum)
_WEEKDAY_ORDER = tuple(Weekday)


@dataclass(frozen=True, slots=True)
class PatternState:
    """A series pattern in canonical form (skips and overrides are kept apart, on `MeetingState`).

    Explicit where Exchange is implicit: weekly `on`, absolute `day_of_month` and yearly `month`
    are always set, so a pattern read back from a server compares equal to the declared one.
    """

    every: Every
    interval: int = 1
    on: tuple[Weekday, ...] = ()
    day_of_month: int | None = None
    week_of_month: WeekOfMonth | None = None
    month: int | None = None
    until: date | None = None
    count: int | None = None
    first_day_of_week: Weekday = Weekday.MONDAY


#: The attributes of `OverrideState` an override can set, in JSON order.
OVERRIDE_KEYS = ("start", "end", "subject", "location", "body", "required", "optional")


@dataclass(frozen=True, slots=True)
class MeetingState:
    """Every canonical field of a meeting (`model.FIELD_ORDER`), typed; see the module docstring."""

    subject: str
    start: Wall
    end: Wall
    timezone: str
    all_day: bool = False
    recurrence: PatternState | None = None
    skip: tuple[date, ...] = ()
    overrides: tuple[OverrideState, ...] = ()
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    rooms: tuple[str, ...] = ()
    location: str = ""
    online_meeting: bool = False
    body: str = ""
    body_format: BodyFormat = BodyFormat.MARKDOWN
    reminder_minutes: int | None = 15
    show_as: ShowAs = ShowAs.BUSY
    sensitivity: Sensitivity = Sensitivity.NORMAL
    importance: Importance = Importance.NORMAL
    categories: tuple[str, ...] = ()
    response_requested: bool = True
    allow_new_time_proposals: bool = True
    hide_attendees: bool = False
    protect: bool = False

    def value_of(self, name: str) -> FieldValue:
        """The value of the canonical field `name` (one of `model.FIELD_ORDER`), for diffs by name."""
        value: FieldValue = getattr(self, name)
        return value

    @property
    def attendees(self) -> frozenset[str]:
        """Every mail recipient: required, optional and rooms."""
        return frozenset((*self.required, *self.optional, *self.rooms))


#: The value of one canonical field of a `MeetingState`.
FieldValue = (
    str
    | bool
    | int
    | None
    | datetime
    | date
    | PatternState
    | tuple[date, ...]
    | tuple[OverrideState, ...]
    | tuple[str, ...]
)


def meeting_state(meeting: Meeting) -> MeetingState:
    """The canonical state of a declared meeting."""
    recurrence = meeting.recurrence
    return MeetingState(
        subject=meeting.subject,
        start=meeting.start,
        end=meeting.end,
        timezone=meeting.timezone,
        all_day=meeting.all_day,
        recurrence=pattern_state(recurrence) if recurrence else None,
        skip=tuple(sorted(recurrence.skip)) if recurrence else (),
        overrides=tuple(sorted(recurrence.overrides, key=_by_date)) if recurrence else (),
        required=meeting.required,
        optional=meeting.optional,
        rooms=meeting.rooms,
        location=meeting.location,
        online_meeting=meeting.online_meeting,
        body=meeting.body,
        body_format=meeting.body_format,
        reminder_minutes=meeting.reminder_minutes,
        show_as=meeting.show_as,
        sensitivity=meeting.sensitivity,
        importance=meeting.importance,
        categories=tuple(sorted(meeting.categories)),
        response_requested=meeting.response_requested,
        allow_new_time_proposals=meeting.allow_new_time_proposals,
        hide_attendees=meeting.hide_attendees,
        protect=meeting.protect,
    )


def pattern_state(recurrence: Recurrence) -> PatternState:
    """The canonical pattern of a declared recurrence (its skips and overrides left out)."""
    return PatternState(
        every=recurrence.every,
        interval=recurrence.interval,
        on=tuple(sorted(recurrence.on, key=_WEEKDAY_ORDER.index)),
        day_of_month=recurrence.day_of_month,
        week_of_month=recurrence.week_of_month,
        month=recurrence.month,
        until=recurrence.until,
        count=recurrence.count,
        first_day_of_week=recurrence.first_day_of_week,
    )


def _by_date(override: OverrideState) -> date:
    return override.date


# --- JSON edge -------------------------------------------------------------------------------


def wall_json(value: Wall) -> str:
    """A wall time as JSON: `YYYY-MM-DDTHH:MM`, or `YYYY-MM-DD` for a date."""
    if isinstance(value, datetime):
        return value.strftime(_WALL_FORMAT)
    return value.isoformat()


def wall_from_json(value: object) -> Wall:
    """A JSON wall time back (ValueError when it is neither form)."""
    if not isinstance(value, str):
        raise ValueError(f"a wall time must be a string, not {value!r}")
    if "T" in value:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None or parsed.second or parsed.microsecond:
            raise ValueError(f"{value!r} is not a local minute-precision time")
        return parsed
    return date.fromisoformat(value)


def to_json(state: MeetingState) -> StateJson:
    """The state as its JSON mapping, keys in `model.FIELD_ORDER`."""
    return {name: value_json(name, state.value_of(name)) for name in FIELD_ORDER}


def value_json(name: str, value: FieldValue) -> Any:
    """The JSON form of the value of canonical field `name` (as `to_json` writes it)."""
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, BodyFormat | ShowAs | Sensitivity | Importance) else value
    if isinstance(value, date):  # datetime included
        return wall_json(value)
    if isinstance(value, PatternState):
        return pattern_json(value)
    if name == "skip":
        return [wall_json(day) for day in value if isinstance(day, date)]
    if name == "overrides":
        return [override_json(o) for o in value if isinstance(o, OverrideState)]
    return [str(item) for item in value]


def pattern_json(pattern: PatternState) -> StateJson:
    return {
        "every": pattern.every.value,
        "interval": pattern.interval,
        "on": [day.value for day in pattern.on],
        "day_of_month": pattern.day_of_month,
        "week_of_month": pattern.week_of_month.value if pattern.week_of_month else None,
        "month": pattern.month,
        "until": pattern.until.isoformat() if pattern.until else None,
        "count": pattern.count,
        "first_day_of_week": pattern.first_day_of_week.value,
    }


def override_json(override: OverrideState) -> StateJson:
    """`{"date": ..., <set attributes in OVERRIDE_KEYS order>}`."""
    out: StateJson = {"date": override.date.isoformat()}
    for key in OVERRIDE_KEYS:
        value = getattr(override, key)
        if value is None:
            continue
        if isinstance(value, date):
            out[key] = wall_json(value)
        elif isinstance(value, tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return out


def from_json(obj: object) -> MeetingState:
    """A state back from its JSON mapping; ValueError naming the field when it does not parse."""
    if not isinstance(obj, Mapping):
        raise ValueError("a meeting state must be a JSON object")
    missing = [name for name in FIELD_ORDER if name not in obj]
    if missing:
        raise ValueError(f"the meeting state lacks {', '.join(missing)}")
    name = ""
    try:
        name = "recurrence"
        recurrence = obj["recurrence"]
        pattern = pattern_from_json(recurrence) if recurrence else None
        name = "skip"
        skip = tuple(date.fromisoformat(_text(day)) for day in _list(obj["skip"]))
        name = "overrides"
        overrides = tuple(override_from_json(o) for o in _list(obj["overrides"]))
        name = ""
        reminder = obj["reminder_minutes"]
        return MeetingState(
            subject=_text(obj["subject"]),
            start=wall_from_json(obj["start"]),
            end=wall_from_json(obj["end"]),
            timezone=_text(obj["timezone"]),
            all_day=_flag(obj["all_day"]),
            recurrence=pattern,
            skip=skip,
            overrides=overrides,
            required=_texts(obj["required"]),
            optional=_texts(obj["optional"]),
            rooms=_texts(obj["rooms"]),
            location=_text(obj["location"]),
            online_meeting=_flag(obj["online_meeting"]),
            body=_text(obj["body"]),
            body_format=_member(BodyFormat, obj["body_format"]),
            reminder_minutes=None if reminder is None else _number(reminder),
            show_as=_member(ShowAs, obj["show_as"]),
            sensitivity=_member(Sensitivity, obj["sensitivity"]),
            importance=_member(Importance, obj["importance"]),
            categories=_texts(obj["categories"]),
            response_requested=_flag(obj["response_requested"]),
            allow_new_time_proposals=_flag(obj["allow_new_time_proposals"]),
            hide_attendees=_flag(obj["hide_attendees"]),
            protect=_flag(obj["protect"]),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        where = f" ({name})" if name else ""
        raise ValueError(f"the meeting state does not parse{where}: {error}") from error


def pattern_from_json(obj: object) -> PatternState:
    if not isinstance(obj, Mapping):
        raise ValueError("a recurrence must be a JSON object")
    until, count = obj.get("until"), obj.get("count")
    day_of_month, month, week = obj.get("day_of_month"), obj.get("month"), obj.get("week_of_month")
    return PatternState(
        every=Every(obj["every"]),
        interval=_number(obj.get("interval", 1)),
        on=tuple(Weekday(_text(day)) for day in _list(obj.get("on") or [])),
        day_of_month=None if day_of_month is None else _number(day_of_month),
        week_of_month=None if week is None else WeekOfMonth(week),
        month=None if month is None else _number(month),
        until=None if until is None else date.fromisoformat(_text(until)),
        count=None if count is None else _number(count),
        first_day_of_week=Weekday(_text(obj.get("first_day_of_week", "monday"))),
    )


def override_from_json(obj: object) -> OverrideState:
    """One `override_json` mapping back; keys other than `date` and OVERRIDE_KEYS are an error."""
    if not isinstance(obj, Mapping):
        raise ValueError("an override must be a JSON object")
    unknown = set(obj) - {"date", *OVERRIDE_KEYS}
    if unknown:
        raise ValueError(f"an override cannot set {', '.join(sorted(unknown))}")

    def optional_text(key: str) -> str | None:
        return None if obj.get(key) is None else _text(obj[key])

    def optional_texts(key: str) -> tuple[str, ...] | None:
        return None if obj.get(key) is None else _texts(obj[key])

    return OverrideState(
        date=date.fromisoformat(_text(obj["date"])),
        start=None if obj.get("start") is None else wall_from_json(obj["start"]),
        end=None if obj.get("end") is None else wall_from_json(obj["end"]),
        subject=optional_text("subject"),
        location=optional_text("location"),
        body=optional_text("body"),
        required=optional_texts("required"),
        optional=optional_texts("optional"),
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, not {value!r}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, not {value!r}")
    return value


def _number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, not {value!r}")
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list, not {value!r}")
    return list(value)


def _texts(value: object) -> tuple[str, ...]:
    if type(value) is list and all(type(item) is str for item in value):
        return tuple(value)  # the common case, checked at C speed (records hold thousands of these)
    return tuple(_text(item) for item in _list(value))


def _member(kind: type[_E], value: object) -> _E:
    """The member of a string enum whose value is `value` (ValueError naming the enum otherwise)."""
    try:
        return kind._value2member_map_[value]  # type: ignore[return-value]  # what Enum(value) looks up first
    except (KeyError, TypeError):
        raise ValueError(f"{value!r} is not a valid {kind.__name__}") from None


#: The state `value_from_json` parses a single field into (any valid state would do).
_PROBE = MeetingState(subject="", start=date(2000, 1, 1), end=date(2000, 1, 2), timezone="UTC", all_day=True)


def value_from_json(name: str, value: object) -> FieldValue:
    """The value of canonical field `name` back from `value_json`'s output (None stays None, as a
    create's `before`); ValueError when it does not parse."""
    if value is None:
        return None
    return from_json(to_json(_PROBE) | {name: value}).value_of(name)
