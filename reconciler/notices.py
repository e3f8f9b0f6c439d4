"""What the plan tells a reviewer, as typed facts (pure): errors, warnings and series effects.

The planner, the DST check, the effects of a series write and the loader decide *what* to say and
record it here, one small frozen record per kind of message, carrying only facts (meeting ids,
field names, dates, counts, namespaces). No record holds a sentence: `render.notices` words every
one of them, once, for the terminal, Markdown and the JSON plan alike.

Where a record sits decides its severity: `Plan.errors` forbid applying the plan, `Plan.warnings`
and `Change.warnings` are read, `Change.effects` say what a write does to a series' occurrences.

A saved plan (`meetings plan --out`) keeps these messages as their words: they are only shown, so
reading a plan back gives `Worded` records that render exactly as the originals did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeAlias

from reconciler.errors import Diagnostic
from reconciler.freebusy import BusyStatus
from reconciler.model import MailKind

# -- plan errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TooManyCancellations:
    """The plan cancels `count` meetings, more than `policy.max_cancellations` (`limit`)."""

    count: int
    limit: int


@dataclass(frozen=True)
class LateChanges:
    """These meetings (sorted) are changed or cancelled within `policy.min_notice`."""

    meeting_ids: tuple[str, ...]
    min_notice: timedelta


@dataclass(frozen=True)
class OrganizerChanged:
    """The file names another organizer than the item's: Exchange cannot move a meeting."""

    meeting_id: str
    before: str
    after: str


@dataclass(frozen=True)
class ProtectedFileDeleted:
    """The file of a meeting recorded `protect: true` was deleted."""

    meeting_id: str


# -- warnings ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviousNamespaceItemLeft:
    """An item of a previous namespace in `organizer`'s calendar that no file claims: left alone."""

    meeting_id: str
    namespace: str
    organizer: str


@dataclass(frozen=True)
class PreviousNamespaceTwin:
    """A meeting the plan creates matches (organizer, subject, start) `previous_id` of `namespace`."""

    meeting_id: str
    namespace: str
    previous_id: str


@dataclass(frozen=True)
class MovedIntoPast:
    """The file puts a live meeting in the past; it is not moved there."""

    meeting_id: str


@dataclass(frozen=True)
class NothingToRelease:
    """`release: true`, but no item carries the id."""

    meeting_id: str


@dataclass(frozen=True)
class AlreadyEnded:
    """A meeting without an item that already ended: not created."""

    meeting_id: str


@dataclass(frozen=True)
class RemovedOutsideGitKept:
    """The last apply left the meeting in the calendar; it was removed since, and
    `policy.drift: warn` leaves it removed."""

    meeting_id: str


@dataclass(frozen=True)
class FileDeletedKept:
    """The meeting file was deleted and `policy.prune` is off: the meeting stays."""

    meeting_id: str


@dataclass(frozen=True)
class ForeignLookalikes:
    """`count` creates look identical to meetings of these other `namespaces` (sorted)."""

    count: int
    namespaces: tuple[str, ...]


@dataclass(frozen=True)
class ForeignLookalike:
    """A create identical (subject and start) to an item of `namespace` in `organizer`'s calendar
    (`foreign_id`: that item's meeting id, None if it carries none)."""

    meeting_id: str
    organizer: str
    namespace: str
    foreign_id: str | None


@dataclass(frozen=True)
class DriftKept:
    """`fields` were edited outside git and are left as they are (`policy.drift: warn`)."""

    meeting_id: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class TimeRun:
    """Consecutive occurrences starting at `time` (HH:MM, attendee-local) from `first` to `last`."""

    time: str
    first: date
    last: date


@dataclass(frozen=True)
class DstShift:
    """A series at `wall` (HH:MM) in `home_zone` usually starts at `usual` in `zone`, but at
    another time in each of `runs` (all of them, in order). `steady_zone` names the zone of the two
    that keeps its offset (None: both change for daylight saving, on different dates)."""

    meeting_id: str
    wall: str
    home_zone: str
    zone: str
    usual: str
    runs: tuple[TimeRun, ...]
    steady_zone: str | None

    @property
    def changing_zone(self) -> str | None:
        """The zone that changes for daylight saving when the other does not."""
        if self.steady_zone is None:
            return None
        return self.zone if self.steady_zone == self.home_zone else self.home_zone


@dataclass(frozen=True)
class OnlineMeetingOff:
    """`online_meeting` turns off: the Teams join link goes away."""

    meeting_id: str


@dataclass(frozen=True)
class Recreated:
    """The meeting was removed outside git after the last apply; the plan creates it again."""

    meeting_id: str


@dataclass(frozen=True)
class LateChange:
    """The change mails attendees of a meeting starting at `starts` (UTC), within `min_notice`."""

    meeting_id: str
    starts: datetime
    min_notice: timedelta


@dataclass(frozen=True)
class DuplicateItem:
    """A second item (starting `starts`, UTC) carries the id: it is cancelled."""

    meeting_id: str
    starts: datetime


@dataclass(frozen=True)
class SeriesEnded:
    """A removed series that has started is ended after `last` instead of being cancelled."""

    meeting_id: str
    last: date


@dataclass(frozen=True)
class UnmanagedItem:
    """An item no namespace manages, as a plan message names it: its subject, first start (UTC),
    organizer and id."""

    subject: str
    starts: datetime
    organizer: str
    item_id: str


@dataclass(frozen=True)
class AdoptedUnmanaged:
    """The file matches `item` (same organizer, subject, start, attendees): adopted, not created."""

    meeting_id: str
    item: UnmanagedItem


@dataclass(frozen=True)
class AmbiguousFiles:
    """Several meeting files match the one unmanaged `item`; the planner does not guess."""

    meeting_ids: tuple[str, ...]
    item: UnmanagedItem

    @property
    def meeting_id(self) -> str:
        return self.meeting_ids[0]


@dataclass(frozen=True)
class AmbiguousItems:
    """The file matches several unmanaged items (`item_ids`); the planner does not guess."""

    meeting_id: str
    item_ids: tuple[str, ...]


@dataclass(frozen=True)
class AdoptMailNeeded:
    """Adopting the unmanaged item changes nothing else, yet the backend (`backend_title`) has no
    silent marker write: it needs `--allow-adopt-mail`."""

    meeting_id: str
    backend_title: str


@dataclass(frozen=True)
class OverDailyLimit:
    """The plan mails `recipients` from `organizer`, more than `limit` (recipients per day): an error."""

    organizer: str
    recipients: int
    limit: int


@dataclass(frozen=True)
class NearDailyLimit:
    """The plan mails `recipients` from `organizer`, above the warning share of `limit` (per day)."""

    organizer: str
    recipients: int
    limit: int


@dataclass(frozen=True)
class MessageTooLarge:
    """One message (`kind`, about `occurrence` or the whole meeting) goes to more than `limit`
    recipients, which Exchange refuses: an error."""

    meeting_id: str
    organizer: str
    kind: MailKind
    occurrence: str | None
    recipients: int
    limit: int


@dataclass(frozen=True)
class ProtectedByAcceptances:
    """The plan cancels a meeting `accepted_by` accepted, at least `policy.protect_accepted`
    (`threshold`): an error unless `--allow-mass-cancel`."""

    meeting_id: str
    accepted_by: tuple[str, ...]
    threshold: int


@dataclass(frozen=True)
class RoomDeclined:
    """The room declined the meeting (Exchange's resource booking)."""

    meeting_id: str
    room: str


@dataclass(frozen=True)
class AddressBusy:
    """A required attendee or room (`room`) is not free (`status`) in [start, end) UTC at the
    meeting's new time."""

    meeting_id: str
    address: str
    start: datetime
    end: datetime
    status: BusyStatus
    room: bool


@dataclass(frozen=True)
class AvailabilityUnknown:
    """The free/busy of `address` could not be read (`reason`, the backend's): not checked, never free."""

    meeting_id: str
    address: str
    reason: str


@dataclass(frozen=True)
class RoomDoubleBooked:
    """Another meeting file of the repository (`other`) books `room` overlapping [start, end) UTC."""

    meeting_id: str
    other: str
    room: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class RoomConflict:
    """A busy or double-booked room under `policy.room_conflicts: error`: a plan error."""

    conflict: AddressBusy | RoomDoubleBooked

    @property
    def meeting_id(self) -> str:
        return self.conflict.meeting_id


@dataclass(frozen=True)
class FileNotRead:
    """A file under the meetings directory that is not a meeting file (`path` as shown)."""

    path: str


@dataclass(frozen=True)
class InputFinding:
    """A located finding of the loader that does not make the input invalid (hidden characters,
    a skip date listed twice); its message is the loader's, as for every diagnostic."""

    diagnostic: Diagnostic


@dataclass(frozen=True)
class Worded:
    """A message read back from a saved plan: the words it was shown with when the plan was made."""

    text: str


# -- apply -------------------------------------------------------------------------------------------


class StaleReason(StrEnum):
    """Why a change of a saved plan is refused before writing: its item moved since the plan."""

    #: A create, but an item with its id appeared in the calendar meanwhile.
    CREATED_SINCE = "created-since"
    #: The item the change writes is no longer in the calendar.
    GONE = "gone"
    #: The item's change key moved, and it holds what an apply recorded: another apply wrote it.
    CHANGED_BY_APPLY = "changed-by-apply"
    #: The item's change key moved, and it differs from what an apply recorded: edited in Outlook.
    EDITED_IN_OUTLOOK = "edited-in-outlook"


# -- series effects ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """An occurrence's time of day: canonical local `start` and `end` (a date alone: all day)."""

    start: str
    end: str


@dataclass(frozen=True)
class NamespaceRewrite:
    """An adoption rewrites the item's marker from `previous_namespace`; `silent`: this backend
    changes the marker without mailing attendees."""

    previous_namespace: str
    silent: bool


@dataclass(frozen=True)
class UnmanagedAdoption:
    """Our marker and record are put on an unmanaged item; `silent` as for `NamespaceRewrite`."""

    silent: bool


@dataclass(frozen=True)
class MarkerRemoval:
    """A release removes our marker; the meeting stays in every calendar. `silent` as above."""

    silent: bool


@dataclass(frozen=True)
class FileMayBeDeleted:
    """After a release, the meeting file can be deleted without cancelling the meeting."""


@dataclass(frozen=True)
class OccurrencesDropped:
    """Future occurrences (original dates, sorted) that no longer take place."""

    dates: tuple[str, ...]


@dataclass(frozen=True)
class OccurrencesAdded:
    """New future occurrences (dates, sorted)."""

    dates: tuple[str, ...]


@dataclass(frozen=True)
class OccurrencesRetimed:
    """`count` future occurrences keep their date and move from `before` to `after`; `endless`: the
    series has no end (every future occurrence from `first` moves). `zones` (before, after) when the
    series' zone changes too."""

    count: int
    first: str
    endless: bool
    before: Span
    after: Span
    zones: tuple[str, str] | None


@dataclass(frozen=True)
class SkipLifted:
    """An occurrence cancelled before (a `skip` date) takes place again."""

    date: str


@dataclass(frozen=True)
class SeriesRewritten:
    """The series is written again: Exchange drops its `cancelled` and `changed` occurrences
    (`total` dates in all), which are re-applied."""

    cancelled: int
    changed: int
    total: int


@dataclass(frozen=True)
class OccurrenceCancelled:
    """The occurrence on `date` is cancelled (`again`: after the series was written again)."""

    date: str
    again: bool


@dataclass(frozen=True)
class OccurrenceRestored:
    """The occurrence on `date` is restored to the series (`back`: its time then, if it moves)."""

    date: str
    back: Span | None


@dataclass(frozen=True)
class Moved:
    """An occurrence moves from `before` to `after` (another date when not `same_day`)."""

    before: Span
    after: Span
    same_day: bool


@dataclass(frozen=True)
class ValueSet:
    """An occurrence's `field` (subject or location) becomes `value`."""

    field: str
    value: str


@dataclass(frozen=True)
class TextChanged:
    """An occurrence gets a new body."""


@dataclass(frozen=True)
class AttendeeChanged:
    """`address` joins (`added`) or leaves an occurrence's `role` list (required or optional)."""

    address: str
    role: str
    added: bool


OccurrenceDetail: TypeAlias = Moved | ValueSet | TextChanged | AttendeeChanged


@dataclass(frozen=True)
class OccurrenceChanged:
    """The occurrence on `date` changes (`again` as above) in these `details`."""

    date: str
    again: bool
    details: tuple[OccurrenceDetail, ...]


#: A plan error or warning (`Plan.errors`, `Plan.warnings`, `Change.warnings`).
Notice: TypeAlias = (
    TooManyCancellations
    | LateChanges
    | OrganizerChanged
    | ProtectedFileDeleted
    | PreviousNamespaceItemLeft
    | PreviousNamespaceTwin
    | MovedIntoPast
    | NothingToRelease
    | AlreadyEnded
    | RemovedOutsideGitKept
    | FileDeletedKept
    | ForeignLookalikes
    | ForeignLookalike
    | DriftKept
    | DstShift
    | OnlineMeetingOff
    | Recreated
    | LateChange
    | DuplicateItem
    | SeriesEnded
    | AdoptedUnmanaged
    | AmbiguousFiles
    | AmbiguousItems
    | AdoptMailNeeded
    | OverDailyLimit
    | NearDailyLimit
    | MessageTooLarge
    | ProtectedByAcceptances
    | RoomDeclined
    | AddressBusy
    | AvailabilityUnknown
    | RoomDoubleBooked
    | RoomConflict
    | FileNotRead
    | InputFinding
    | Worded
)

#: What a change does to a series' occurrences, or what a marker write costs (`Change.effects`).
Effect: TypeAlias = (
    NamespaceRewrite
    | UnmanagedAdoption
    | MarkerRemoval
    | FileMayBeDeleted
    | OccurrencesDropped
    | OccurrencesAdded
    | OccurrencesRetimed
    | SkipLifted
    | SeriesRewritten
    | OccurrenceCancelled
    | OccurrenceRestored
    | OccurrenceChanged
    | Worded
)


def order_key(notice: Notice) -> tuple[str, str, str]:
    """A key that orders notices deterministically, whatever order the planner met them in: by
    meeting id (none first), kind and facts. Display order is the renderers' (`render.notices`)."""
    return (getattr(notice, "meeting_id", ""), type(notice).__name__, repr(notice))
