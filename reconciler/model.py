"""Frozen value types of the domain and their canonical form.

No I/O and no third-party imports. A `Meeting` is what a meeting file declares after defaults and
groups were applied; `state.meeting_state` turns it into the typed canonical state that is diffed,
recorded on the calendar item as "last applied", and saved in plan files. Every provider observes a
calendar item into the same state, so the planner compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.state import MeetingState

from reconciler.people import NO_RESPONSES, Responses

#: The one property-set GUID under which every ownership property lives (Graph and EWS reach the
#: same MAPI named properties through it).
PROPERTY_SET_GUID = "8f3c6a52-5d1e-4d55-9a44-0b7a7e1c2f31"
#: Names of the single-value string properties, fixed for all meetings.
PROP_NAMESPACE = "MeetingsAsCode.Namespace"
PROP_MEETING_ID = "MeetingsAsCode.Id"
PROP_LAST_APPLIED = "MeetingsAsCode.LastApplied"
#: The namespace item (one per namespace and mailbox, holding the apply lock) carries these two
#: instead of PROP_NAMESPACE, so it is never listed as a managed meeting.
PROP_NAMESPACE_ITEM = "MeetingsAsCode.NamespaceItem"
PROP_STATE = "MeetingsAsCode.State"


def extended_property_id(name: str) -> str:
    """The Graph id of one of our single-value extended properties (`String {GUID} Name <name>`)."""
    return f"String {{{PROPERTY_SET_GUID}}} Name {name}"


class Every(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class WeekOfMonth(StrEnum):
    FIRST = "first"
    SECOND = "second"
    THIRD = "third"
    FOURTH = "fourth"
    LAST = "last"


class ShowAs(StrEnum):
    FREE = "free"
    TENTATIVE = "tentative"
    BUSY = "busy"
    OOF = "oof"
    WORKING_ELSEWHERE = "workingElsewhere"


class Sensitivity(StrEnum):
    NORMAL = "normal"
    PERSONAL = "personal"
    PRIVATE = "private"
    CONFIDENTIAL = "confidential"


class Importance(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class BodyFormat(StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"
    TEXT = "text"


class Action(StrEnum):
    """What the plan does to one meeting. Values are the JSON plan's wire format."""

    CREATE = "create"
    UPDATE = "update"
    CANCEL = "cancel"
    MOVE = "move"
    #: Our marker is removed from the item: it stays in every calendar, no longer managed.
    RELEASE = "release"
    #: An item of a previous namespace (`previous_namespaces`) is taken over under the current one.
    ADOPT = "adopt"
    NOOP = "no-op"


class MailKind(StrEnum):
    INVITATION = "invitation"
    UPDATE = "update"
    CANCELLATION = "cancellation"


#: A local wall time (`state.Wall`): minute-precision naive datetime, or a date for all-day meetings.
_Wall = datetime | date


@dataclass(frozen=True, slots=True)
class OverrideState:
    """One changed occurrence, addressed by its original date; None attributes are the series'.
    `start` and `end` are set together, and so are `required` and `optional`."""

    date: date
    start: _Wall | None = None
    end: _Wall | None = None
    subject: str | None = None
    location: str | None = None
    #: Text in the series' body format.
    body: str | None = None
    required: tuple[str, ...] | None = None
    optional: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Recurrence:
    """A series pattern. `until` and `count` are mutually exclusive; neither means no end."""

    every: Every
    interval: int = 1
    on: tuple[Weekday, ...] = ()
    day_of_month: int | None = None
    week_of_month: WeekOfMonth | None = None
    month: int | None = None
    until: date | None = None
    count: int | None = None
    first_day_of_week: Weekday = Weekday.MONDAY
    skip: tuple[date, ...] = ()
    overrides: tuple[OverrideState, ...] = ()


@dataclass(frozen=True)
class SourceLocation:
    """Where a meeting was declared, for diagnostics and annotations."""

    path: str
    line: int
    column: int = 1


@dataclass(frozen=True)
class Meeting:
    """One desired meeting after defaults and group expansion.

    `start`/`end` are local wall times in `timezone` (dates, end exclusive, when `all_day`).
    Attendee addresses are lower-cased and sorted; the organizer is never an attendee.
    """

    id: str
    organizer: str
    subject: str
    start: datetime | date
    end: datetime | date
    timezone: str
    all_day: bool = False
    recurrence: Recurrence | None = None
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
    cancelled: str | None = None
    moved_from: tuple[str, ...] = ()
    #: Remove our marker from the item on the next apply, without cancelling it (Terraform's `removed`).
    release: bool = False
    source: SourceLocation | None = field(default=None, compare=False)

    @property
    def attendees(self) -> tuple[str, ...]:
        """Everyone who receives meeting mail: required, optional and rooms, sorted, unique."""
        return tuple(sorted({*self.required, *self.optional, *self.rooms}))


#: Canonical field names in display order. The planner diffs exactly these.
FIELD_ORDER: tuple[str, ...] = (
    "subject",
    "start",
    "end",
    "timezone",
    "all_day",
    "recurrence",
    "skip",
    "overrides",
    "required",
    "optional",
    "rooms",
    "location",
    "online_meeting",
    "body",
    "body_format",
    "reminder_minutes",
    "show_as",
    "sensitivity",
    "importance",
    "categories",
    "response_requested",
    "allow_new_time_proposals",
    "hide_attendees",
    "protect",
)

#: Fields whose change reaches attendees only as an invitation (added) or a cancellation (removed).
ATTENDEE_FIELDS = frozenset({"required", "optional", "rooms"})
#: Fields attendees never see; a backend that can write them silently sends no mail.
ORGANIZER_ONLY_FIELDS = frozenset({"reminder_minutes", "show_as", "categories", "protect"})


@dataclass(frozen=True)
class ObservedMeeting:
    """A managed calendar item as a provider saw it, in canonical terms.

    `fields` is the item's current canonical state, with lossy fields resolved through fingerprints
    (an unchanged body reads back as the text we wrote). `last_applied` is the state we recorded at
    our last write, or None when the record is missing or unreadable. `ends_at_utc` is the end of
    the last occurrence (None: never ends).
    """

    item_id: str
    change_key: str
    organizer: str
    meeting_id: str
    fields: MeetingState
    last_applied: MeetingState | None
    ends_at_utc: datetime | None
    starts_at_utc: datetime
    #: The attendees' answers as the item shows them: read beside `fields`, never diffed (an
    #: answer is not drift).
    responses: Responses = NO_RESPONSES

    @property
    def protect(self) -> bool:
        return self.fields.protect
