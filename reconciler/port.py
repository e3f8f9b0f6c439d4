"""The port between the core and the calendar backends: what a backend can do (`Capabilities`,
stated here for each backend so the planner and the loader need no provider), the requests the
shell sends, and the `Provider` protocol every adapter (`reconciler.providers.*`) implements. It
belongs to the core: the core depends on it, the adapters implement it, and nothing here imports
an adapter or an SDK (import-linter checks that, see pyproject.toml).

Contract every provider keeps (the contract suite in tests/contract checks it):

* Only items carrying our namespace marker are ever listed, changed or cancelled. `list_managed`
  returns the namespace's items of one organizer as `ObservedMeeting`s in canonical terms: local
  wall times in the IANA zone we wrote, lower-cased sorted attendees, lossy fields (body) resolved
  through `ownership.resolve_observed` so an untouched item reads back exactly as last applied.
* `create` writes the item with the ownership properties and the last-applied record in the same
  request and invites every attendee, then writes the occurrence edits of `request.writes` (a new
  series' skips and overrides, `occurrences.creation_edits`). It is idempotent: when the outcome
  of an earlier attempt is unknown the caller looks the marker up with `find` first; Graph also
  sends `transaction_id`.
* `update` writes only the fields named in `request.changed` (plus the record where that sends no
  extra mail) and mails the fewest people the backend allows (see `notify.update_scope`). A stale
  `change_key` raises ConflictError and writes nothing. A series is updated in the steps the
  request carries (`request.writes`, decided by the planner with `occurrences.series_edits`): the
  master write, then one write per cancelled or changed occurrence. A provider executes these
  steps as given and never decides them again, so a saved plan is written as it was reviewed.
* `create` and `update` return nothing and read nothing back: what a write left in the calendar
  is observed by the next read (`list_managed`, `find`), which is also how the apply's callers
  and the contract suite check it. A read-back would cost a request per series under the
  mailbox's limits and tell the apply nothing it acts on.
* `cancel` cancels with the comment: every attendee gets one cancellation; the item leaves the
  calendar. A stale change key raises ConflictError.
* `release` removes our ownership properties from the item and nothing else, with the least mail
  the backend allows (none where `silent_organizer_fields`); the item stays in every calendar and
  is never listed again. A stale change key raises ConflictError.
* `update` with `previous_namespace` (an adoption) also rewrites the namespace marker, even when
  no field changes; `previous_namespace == UNMANAGED` adopts an item that carries no marker yet
  (it gains the namespace, the meeting id and the record).
* `list_unmanaged` returns the organizer's own meetings with attendees that carry no namespace
  marker (none, or the empty value a Graph release leaves), read into canonical terms by the same
  code as `list_managed` (no record, so the body reads as its visible text), each with the body as
  the server holds it. Items the organizer was only invited to are never listed.
* `list_managed` raises MailboxUnavailableError when the organizer's mailbox cannot be used at
  all (missing, not enabled, access denied), so the reconciler can go on with the others.
* Namespace items (the port `NamespaceItems`, used by `reconciler.locking`): one plain appointment
  per (namespace, mailbox) with no attendees (nobody is ever mailed about it), marked with
  PROP_NAMESPACE_ITEM = namespace and never with PROP_NAMESPACE, so `list_managed` and `find`
  never return it. Its PROP_STATE payload is written only by compare-and-swap on its change key.
* `inspect` reads the item `find` would return, and hands back the backend's answer as text
  beside the observed meeting, so a person can see what the server holds (`meetings inspect`).
* Errors leave a provider only as `errors.ProviderError` subclasses, chained with `from`; no SDK
  type crosses this boundary in either direction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from reconciler.freebusy import Schedule
from reconciler.model import Every, ObservedMeeting, Weekday
from reconciler.occurrences import SeriesEdits
from reconciler.state import MeetingState


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, as far as validating meeting files, planning and mail prediction
    need to know. The loader turns every limit below into an error naming the backend, so a file
    the backend cannot store fails `validate` instead of `apply`."""

    #: Organizer-only fields (reminder, show-as, categories, our record) can be written silently.
    silent_organizer_fields: bool
    #: How messages name the backend ("EWS cannot ...").
    title: str = "The backend"
    #: The backend writes Exchange mailboxes. The sandbox is a local stand-in: it is never
    #: suggested in place of a backend that cannot store something.
    exchange: bool = True
    #: Online (Teams) meetings can be created (EWS has no operation that makes one; Graph does).
    online_meetings: bool = True
    #: Attendees can be hidden from each other (Graph event `hideAttendees`: "each attendee only
    #: sees themselves in the meeting request and meeting Tracking list", msgraph-sdk's Event
    #: model docs; EWS's CalendarItem has no such element [INFER from the EWS schema reference]).
    hide_attendees: bool = True
    #: Requests in flight per mailbox.
    max_in_flight: int = 4
    #: A master update that mails every attendee also mails one update per changed occurrence the
    #: series keeps (Graph: "one for the master plus one per modified instance").
    series_update_mails_exceptions: bool = False
    #: Attendee lists of a single occurrence can be changed (EWS: ErrorInvalidPropertySet,
    #: exchangelib #1356).
    occurrence_attendees: bool = True
    #: The sets of several week days one relative pattern (`week_of_month` with `on`) may name,
    #: in the order messages list them; None: any set. EWS's RelativeMonthly and RelativeYearly
    #: patterns take one DayOfWeek, which is a day, Weekday, WeekendDay or Day.
    relative_day_groups: tuple[frozenset[Weekday], ...] | None = None
    #: The largest interval per pattern unit; a unit not named allows what the schema allows (999).
    #: EWS (exchangelib's pattern fields): weekly and monthly patterns 1-99, yearly patterns have
    #: no Interval (so only 1), daily patterns 1-999.
    max_interval: Mapping[Every, int] = field(default_factory=dict, hash=False)  # keeps Capabilities hashable
    #: The most occurrences of a counted series; None: no limit (EWS: NumberedRecurrence's
    #: NumberOfOccurrences is 1-999).
    max_count: int | None = None
    #: `known_organizers()` names every mailbox holding our items (the sandbox). Where it cannot
    #: (Graph, EWS: no mailbox enumeration), only organizers named in meeting files or in the
    #: configuration are scanned, so validation requires every organizer to be listed.
    lists_organizers: bool = False
    #: Mailboxes are read by the plan and written by the apply in parallel (each server mailbox has
    #: its own limits and the requests mostly wait on the network). The sandbox is one local SQLite file behind one
    #: connection: threads there only contend (10,000 creates took 46 s in parallel, 11 s in turn).
    parallel_mailboxes: bool = True


#: What each backend can do. Stated once, here, so the loader validates and the planner predicts
#: mail without importing a provider or its SDK; each provider carries its own entry.
BACKEND_CAPABILITIES: Mapping[str, Capabilities] = {
    "sandbox": Capabilities(
        silent_organizer_fields=True,
        title="The sandbox",
        exchange=False,
        lists_organizers=True,
        parallel_mailboxes=False,
    ),
    "graph": Capabilities(silent_organizer_fields=False, title="Graph", series_update_mails_exceptions=True),
    "ews": Capabilities(
        silent_organizer_fields=True,
        title="EWS",
        online_meetings=False,
        hide_attendees=False,
        occurrence_attendees=False,
        relative_day_groups=(
            frozenset(Weekday) - {Weekday.SATURDAY, Weekday.SUNDAY},
            frozenset((Weekday.SATURDAY, Weekday.SUNDAY)),
            frozenset(Weekday),
        ),
        max_interval={Every.WEEK: 99, Every.MONTH: 99, Every.YEAR: 1},
        max_count=999,
    ),
}


def capabilities_of(backend: str) -> Capabilities:
    """What the provider of `backend` can do (ConfigError for a backend that does not exist)."""
    from reconciler.errors import ConfigError

    try:
        return BACKEND_CAPABILITIES[backend]
    except KeyError:
        raise ConfigError(f"Unknown backend {backend!r}; choose sandbox, graph or ews.") from None


@dataclass(frozen=True)
class CreateRequest:
    namespace: str
    organizer: str
    meeting_id: str
    fields: MeetingState
    #: Deterministic per (plan, meeting): a retry of the same write carries the same id.
    transaction_id: str
    #: The occurrence writes that follow the creation (`occurrences.NO_EDITS` unless a series has
    #: skips or overrides), as planned; the provider executes them as given.
    writes: SeriesEdits


@dataclass(frozen=True)
class UpdateRequest:
    namespace: str
    organizer: str
    meeting_id: str
    item_id: str
    change_key: str
    #: The whole desired canonical state; only `changed` fields are written.
    fields: MeetingState
    changed: frozenset[str]
    #: The meeting id recorded on the item today (differs from `meeting_id` for a move).
    previous_meeting_id: str
    #: The master write's extent (`regenerate`) and the occurrence writes after it, as planned
    #: (`plan.Change.writes`) or, on a retry, as the shell recomputed them from the item's current
    #: state; the provider executes them as given.
    writes: SeriesEdits
    #: For an adoption: the namespace the item's marker names today (the write sets `namespace`).
    previous_namespace: str | None = None


@dataclass(frozen=True)
class CancelRequest:
    organizer: str
    meeting_id: str
    item_id: str
    change_key: str
    comment: str | None


@dataclass(frozen=True)
class ReleaseRequest:
    """Remove our marker (namespace, meeting id, record) from one item; nothing else changes."""

    organizer: str
    meeting_id: str
    item_id: str
    change_key: str


@dataclass(frozen=True)
class ForeignItem:
    """An item of the organizer's calendar that carries another namespace's marker: another
    repository's meeting, or ours before `namespace` was renamed. Only ever read, for a warning."""

    namespace: str
    meeting_id: str
    subject: str
    starts_at_utc: datetime


#: `UpdateRequest.previous_namespace` / `plan.Change.previous_namespace` of an item adopted while it
#: carries no namespace marker at all (made in Outlook, or released).
UNMANAGED = ""


@dataclass(frozen=True)
class UnmanagedMeeting:
    """One of the organizer's own meetings that no namespace manages, as `list_unmanaged` read it.

    `meeting` is canonical like a managed item's (`meeting_id` empty, `last_applied` None, the body
    as its visible text with `body_format: text`); `body_type` (`html` or `text`) and `body` are the
    body as the server holds it, so an import can turn simple HTML back into Markdown."""

    meeting: ObservedMeeting
    body_type: str
    body: str


@dataclass(frozen=True)
class NamespaceItem:
    """A namespace item as listed: its id, change key, the server's creation time (aware, UTC) and
    its PROP_STATE payload ("" when absent)."""

    item_id: str
    change_key: str
    created: datetime
    state: str


class NamespaceItems(Protocol):
    """The port of `reconciler.locking`: the namespace items of one mailbox, written by CAS.

    Contract: `list_namespace_items` returns every item of `organizer`'s calendar whose
    PROP_NAMESPACE_ITEM equals `namespace`, reading what every write before it committed.
    `create_namespace_item` creates one (subject naming the namespace, no attendees, free,
    private, no reminder, one minute at 2000-01-01T00:00Z, PROP_NAMESPACE_ITEM and PROP_STATE
    set), mails nobody and returns its id. `write_namespace_state` replaces PROP_STATE only if
    `change_key` is still the item's (else ConflictError, and NotFoundError when it is gone),
    mails nobody and returns the new change key. `delete_namespace_item` removes the item for
    good, mailing nobody (NotFoundError when it is gone).
    """

    def list_namespace_items(self, organizer: str, namespace: str) -> list[NamespaceItem]: ...

    def create_namespace_item(self, organizer: str, namespace: str, state: str) -> str: ...

    def write_namespace_state(self, organizer: str, item_id: str, change_key: str, state: str) -> str: ...

    def delete_namespace_item(self, organizer: str, item_id: str) -> None: ...


@dataclass(frozen=True)
class RawItem:
    """One managed item as the server holds it (`Provider.inspect`): `wire`, what the backend
    answered when the item was read, as text in `wire_format` ("json": Graph's events, the
    sandbox's stored document; "xml": EWS's SOAP answers); `record`, our last-applied record as
    the item stores it (None: none); `server_body`, the body as the server returns it (what the
    body fingerprint is taken of); `observed`, what the provider made of it all."""

    observed: ObservedMeeting
    wire_format: str
    wire: str
    record: str | None
    server_body: str


#: Told (mailbox, seconds) each time a provider waits because the server throttled a request of
#: that mailbox (429, 503, ErrorServerBusy); it may be called from any thread.
ThrottleListener = Callable[[str, float], None]


@runtime_checkable
class ReportsThrottling(Protocol):
    """A provider that says when the server throttles it, so the apply can slow that mailbox down."""

    def listen_throttling(self, listener: ThrottleListener | None) -> None: ...


class Provider(NamespaceItems, Protocol):
    """A calendar backend. See the module docstring for the contract."""

    name: str
    capabilities: Capabilities

    def known_organizers(self) -> frozenset[str]:
        """Mailboxes the backend can enumerate cheaply (the sandbox: all); others return none, and
        the reconciler scans the organizers named in files and configuration."""
        ...

    def list_managed(self, organizer: str, namespace: str) -> list[ObservedMeeting]: ...

    def managed_ids(self, organizer: str, namespace: str) -> frozenset[str]:
        """The meeting ids of the items `list_managed` would return (same exact checks), read as
        cheaply as the backend allows: only ids, no series re-reads."""
        ...

    def list_foreign(self, organizer: str, namespace: str) -> list[ForeignItem]:
        """Items of `organizer`'s calendar whose namespace marker is set and is not exactly
        `namespace`; never written. The plan warns when it creates meetings identical to them."""
        ...

    def list_unmanaged(self, organizer: str) -> list[UnmanagedMeeting]:
        """The organizer's own meetings with attendees and no namespace marker (module docstring)."""
        ...

    def find(self, organizer: str, namespace: str, meeting_id: str) -> ObservedMeeting | None: ...

    def inspect(self, organizer: str, namespace: str, meeting_id: str) -> RawItem | None:
        """The item `find` returns, with what the server answered for it (None: no such item)."""

    def schedules(self, organizer: str, addresses: Sequence[str], start: datetime, end: datetime) -> list[Schedule]:
        """Free/busy of `addresses` in [start, end) (aware), asked as `organizer`: one `Schedule`
        per address, in order, batched within the backend's limits. An address the backend cannot
        read (permission, external, an error in the answer) is `unknown`, never free; a failed
        request makes every address it asked about unknown rather than raising."""
        ...

    def create(self, request: CreateRequest) -> None: ...

    def update(self, request: UpdateRequest) -> None: ...

    def cancel(self, request: CancelRequest) -> None: ...

    def release(self, request: ReleaseRequest) -> None: ...

    def close(self) -> None: ...
