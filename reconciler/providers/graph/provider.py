"""GraphProvider: the Provider contract over Microsoft Graph v1.0 (msgraph-sdk, imported lazily).

How it keeps the contract (reconciler/port.py) on Graph (reference/graph.md):

* Listing: `GET /users/{organizer}/events` filtered on our namespace property, our three
  properties expanded, only the properties we read selected, `$top=500`, `@odata.nextLink`
  followed by hand with `Prefer: outlook.timezone="UTC", IdType="ImmutableId"` on every page. Each
  series master is then read by its id (`GET .../events/{id}` selecting `cancelledOccurrences` and
  `exceptionOccurrences`, expanding the latter: Graph returns them only on a GET by the master's
  id, never in a listing), so skips and overrides come from the calendar. Those GETs go in
  hand-written `$batch`es of 20 (one lone master: a plain GET); a throttled GET inside a batch is
  retried alone after its own `Retry-After`. N meetings of which S are series cost
  ceil(N / 500) + ceil(S / 20) requests (S = 1: one).
* Creating: one POST carrying the ownership properties and the deterministic `transactionId`, so a
  create repeated after a lost answer is de-duplicated by Exchange; after an unknown outcome (a
  timeout, a 504, a dropped connection) `create` raises TransientError and the caller looks the
  marker up with `find` (one filtered GET) before trying again. A new series then gets its skips
  and overrides as occurrence writes (below) and is read back with one GET.
* Updating: a sparse PATCH with only the Graph properties of the changed fields and `If-Match`.
  A new body for an online meeting is written after one GET of the current body, keeping the Teams
  join block Exchange appended to it (`ownership.keep_join_block`).
  When only attendee lists changed (and the meeting id stays), the body holds only `attendees`, the
  one PATCH Exchange answers by mailing just the attendees added or removed; the last-applied record
  is then left as it was (writing it would mail everyone). Otherwise the record (and, for a move,
  the new meeting id) goes in the same PATCH. Graph cannot write organizer-only fields silently.
  A series follows the steps the request carries (`request.writes`, planned with
  `occurrences.series_edits`, never decided again here): the master PATCH (with the pattern when Exchange
  must regenerate the series; none when only skips and overrides change), then per occurrence edit
  one `GET .../instances` around its original date to find its id by `originalStart` and one write:
  `POST .../{occurrence}/cancel` for a skip, a PATCH of the changed properties for an override
  (only `attendees` when only its attendee lists change). Every write carries If-Match with the
  master's latest change key (a cancel's 202 carries none: the next lookup's etag stands in); one
  GET reads the result back.
* Occurrence writes are idempotent: an occurrence already cancelled (absent from `/instances`, or
  404) is not cancelled again, and a write whose answer was lost (the master's too, when occurrence
  writes follow it) is confirmed by reading again. An occurrence write whose outcome stays unknown
  is a ProviderError asking for a new plan, never a TransientError (on which the caller would
  repeat the whole update and its mail).
* Cancelling: `POST .../cancel` with the comment and `If-Match`; 412 becomes ConflictError.
* Limits: at most `max_in_flight` (4) requests per mailbox from all threads together; 429 and 503
  are retried after `Retry-After` (or a backoff without one) with the gate released while waiting;
  reads are also retried after 5xx, timeouts and dropped connections, writes never are (their
  outcome is unknown: TransientError).

All network work runs on one private event loop thread; the public methods are synchronous and
thread-safe. No SDK type crosses this class's boundary.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import threading
import urllib.parse
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from reconciler.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    MailboxUnavailableError,
    NotFoundError,
    ProviderError,
    RequestRejectedError,
    ThrottledError,
    TransientError,
)
from reconciler.freebusy import Schedule
from reconciler.model import ATTENDEE_FIELDS, ObservedMeeting
from reconciler.occurrences import EditKind, OccurrenceEdit, SeriesEdits
from reconciler.port import (
    BACKEND_CAPABILITIES,
    CancelRequest,
    CreateRequest,
    ForeignItem,
    NamespaceItem,
    RawItem,
    ReleaseRequest,
    ThrottleListener,
    UnmanagedMeeting,
    UpdateRequest,
)
from reconciler.providers.graph import auth, lock, wire
from reconciler.providers.graph import people as graph_people
from reconciler.providers.wirelog import WireLog
from reconciler.state import MeetingState, OverrideState

if TYPE_CHECKING:
    from reconciler.providers.graph.sdk import Failure, Page

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a request that was throttled or failed in passing."""

    #: Attempts per request in total (the first one included).
    max_attempts: int = 6
    #: A `Retry-After` longer than this is not waited for: ThrottledError at once.
    max_retry_after: float = 120.0
    #: Backoff without `Retry-After`: base * 2**(attempt-1) plus up to `base` of jitter, capped.
    backoff_base: float = 0.5
    backoff_cap: float = 30.0


class ConfigLike(Protocol):
    """What `from_config` reads from `reconciler.config.Config`."""

    @property
    def graph(self) -> auth.GraphSettingsLike: ...
    @property
    def env(self) -> Mapping[str, str]: ...
    def secret(self, name: str) -> str | None: ...


@dataclass(frozen=True)
class _Series:
    """The series an occurrence write addresses: its mailbox, meeting id, master id and fields."""

    organizer: str
    meeting_id: str
    item_id: str
    fields: MeetingState


class GraphProvider:
    """Provider over Microsoft Graph. See the module docstring and `port`."""

    name = "graph"
    capabilities = BACKEND_CAPABILITIES["graph"]

    def __init__(
        self,
        base_url: str = auth.DEFAULT_BASE_URL,
        *,
        credential: Any = None,
        auth_provider: Any = None,
        trust_env: bool | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep | None = None,
        page_size: int = wire.PAGE_SIZE,
        max_in_flight: int = 4,
        wire_log: WireLog | None = None,
    ) -> None:
        """`base_url` ends in `/v1.0` (a national cloud or the emulator). Authentication: a kiota
        `auth_provider`, else an azure-identity `credential`, else none (loopback only).
        `trust_env=None` honours proxy variables except for loopback; `sleep` waits between
        retries (tests pass a recorder); `wire_log` records every HTTP exchange."""
        with warnings.catch_warnings():
            # msgraph-sdk and kiota define deprecated classes of their own, which warn as they are imported.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(msgraph|kiota_abstractions)\.")
            from reconciler.providers.graph import sdk  # the SDK loads only when this backend is used

        self._sdk = sdk
        self.base_url = base_url.rstrip("/")
        if auth_provider is None:
            if credential is not None:
                host = urllib.parse.urlsplit(self.base_url).hostname or ""
                auth_provider = sdk.azure_auth(credential, auth.scopes_for(self.base_url), host)
            elif auth.is_loopback(self.base_url):
                auth_provider = sdk.anonymous_auth()
            else:
                raise ConfigError(
                    f"Microsoft Graph at {self.base_url} needs credentials; set graph.tenant_id, graph.client_id"
                    " and graph.auth in reconciler.yaml."
                )
        self.retry = retry
        self.page_size = page_size
        self.max_in_flight = max_in_flight
        self._sleep: Sleep = sleep or asyncio.sleep
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._throttled: ThrottleListener | None = None
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="graph-provider", daemon=True)
        self._thread.start()
        use_env = not auth.is_loopback(self.base_url) if trust_env is None else trust_env

        async def build() -> Any:
            return sdk.GraphClient(self.base_url, auth_provider, trust_env=use_env, timeout=timeout, wire_log=wire_log)

        self._client = self._run(build())

    @classmethod
    def from_config(cls, config: ConfigLike, *, wire_log: WireLog | None = None) -> GraphProvider:
        """The provider `reconciler.yaml` describes (`graph.*`), secrets from the environment."""
        settings = config.graph
        base_url = (settings.base_url or auth.DEFAULT_BASE_URL).rstrip("/")
        credential = auth.credential(settings, secret=config.secret, env=config.env, base_url=base_url)
        return cls(base_url, credential=credential, wire_log=wire_log)

    # -- Provider ------------------------------------------------------------------------------

    def known_organizers(self) -> frozenset[str]:
        """Graph cannot list the mailboxes holding our meetings cheaply; the reconciler names them."""
        return frozenset()

    def list_managed(self, organizer: str, namespace: str) -> list[ObservedMeeting]:
        action = f"listing the {namespace} meetings in {organizer}'s calendar"
        marker = wire.property_filter(wire.NAMESPACE_PROPERTY, namespace)
        events = self._listing(organizer, action, filter=marker, expand=wire.expand_ownership(), select=wire.SELECT)
        ours = [event for event in events if wire.extended_values(event).get(wire.NAMESPACE_PROPERTY) == namespace]
        return [self._observe(event, organizer) for event in self._run(self._complete(organizer, ours, action))]

    def managed_ids(self, organizer: str, namespace: str) -> frozenset[str]:
        action = f"listing the {namespace} meeting ids in {organizer}'s calendar"
        marker = wire.property_filter(wire.NAMESPACE_PROPERTY, namespace)
        events = self._listing(organizer, action, filter=marker, expand=wire.expand_marker(), select=("id",))
        found = (wire.extended_values(event) for event in events)
        # Exchange compares the value ignoring case; ours is exact, as in list_managed.
        return frozenset(
            values.get(wire.MEETING_ID_PROPERTY, "")
            for values in found
            if values.get(wire.NAMESPACE_PROPERTY) == namespace
        )

    def list_foreign(self, organizer: str, namespace: str) -> list[ForeignItem]:
        action = f"listing other namespaces' meetings in {organizer}'s calendar"
        marker = wire.property_filter(wire.NAMESPACE_PROPERTY, namespace, operator="ne")
        events = self._listing(organizer, action, filter=marker, expand=wire.expand_ownership(), select=wire.SELECT)
        found = []
        for event in events:
            extended = wire.extended_values(event)
            other = extended.get(wire.NAMESPACE_PROPERTY)
            if not other or other == namespace:  # Graph compares values ignoring case; we do not
                continue
            seen = self._observe(event, organizer)
            found.append(ForeignItem(other, seen.meeting_id, seen.fields.subject, seen.starts_at_utc))
        return found

    def list_unmanaged(self, organizer: str) -> list[UnmanagedMeeting]:
        """Every event of the calendar (paged, with our properties expanded and `isOrganizer`),
        kept when the organizer organizes it, it has attendees and no namespace marker value
        (a release leaves an empty one); series masters are then read again like managed ones."""
        action = f"listing the unmanaged meetings in {organizer}'s calendar"
        select = (*wire.SELECT, "isOrganizer")
        events = self._listing(organizer, action, filter=None, expand=wire.expand_ownership(), select=select)
        plain = [
            event
            for event in events
            if event.get("isOrganizer") is True
            and event.get("attendees")
            and not wire.extended_values(event).get(wire.NAMESPACE_PROPERTY)
        ]
        found = []
        for event in self._run(self._complete(organizer, plain, action)):
            body = event.get("body") or {}
            found.append(
                UnmanagedMeeting(
                    self._observe(event, organizer),
                    str(body.get("contentType") or "html"),
                    str(body.get("content") or ""),
                )
            )
        return found

    def _listing(
        self,
        organizer: str,
        action: str,
        *,
        filter: str | None,
        expand: str,
        select: Iterable[str],
        top: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every page of one listing of `organizer`'s calendar (`top` per page, default
        `page_size`). A 403 concerns this mailbox only (`_denied_mailbox`)."""
        size = top or self.page_size
        try:
            return self._run(
                self._pages(
                    organizer,
                    action,
                    lambda: self._client.list_events(
                        organizer, filter=filter, expand=expand, select=select, top=size, prefer=wire.PREFER
                    ),
                )
            )
        except AuthError as error:
            raise self._denied_mailbox(error, organizer) from error.__cause__

    def _denied_mailbox(self, error: AuthError, organizer: str) -> ProviderError:
        """A 403 on listing one mailbox's calendar concerns that mailbox (an application access
        policy, or no permission for it): the others can still be read. A 401 (the token itself)
        stays an AuthError."""
        failure = self._sdk.classify(error.__cause__) if error.__cause__ is not None else None
        if failure is None or failure.status != 403:
            return error
        detail = f" ({failure.code}: {failure.message.rstrip('.')})" if failure.code else ""
        return MailboxUnavailableError(
            f"Microsoft Graph denies access to {organizer}'s calendar{detail}; an application access policy or"
            " the app's permissions (Calendars.ReadWrite) keep it out.",
            mailbox=organizer,
        )

    def schedules(self, organizer: str, addresses: Sequence[str], start: datetime, end: datetime) -> list[Schedule]:
        """getSchedule as `organizer`, SCHEDULE_BATCH addresses per request; a request that fails
        leaves its addresses unknown (with the reason), never free."""
        first_moment, last_moment = (t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") for t in (start, end))
        found: list[Schedule] = []
        for first in range(0, len(addresses), graph_people.SCHEDULE_BATCH):
            batch = list(addresses[first : first + graph_people.SCHEDULE_BATCH])

            async def ask(batch: list[str] = batch) -> list[dict[str, Any]]:
                answer: list[dict[str, Any]] = await self._client.get_schedule(
                    organizer, batch, first_moment, last_moment, interval=30
                )
                return answer

            action = f"reading the free/busy of {len(batch)} addresses as {organizer}"
            try:
                answer = self._run(self._call(organizer, action, ask, write=False))
            except ProviderError as error:
                found += [Schedule(a, unknown=str(error).rstrip(".")) for a in batch]
                continue
            found += graph_people.read_schedules(batch, answer)
        return found

    def find(self, organizer: str, namespace: str, meeting_id: str) -> ObservedMeeting | None:
        event = self._found(organizer, namespace, meeting_id)
        return self._observe(event, organizer) if event is not None else None

    def inspect(self, organizer: str, namespace: str, meeting_id: str) -> RawItem | None:
        """The event as Graph returned it (a series master with the details read for it)."""
        event = self._found(organizer, namespace, meeting_id)
        if event is None:
            return None
        return RawItem(
            observed=self._observe(event, organizer),
            wire_format="json",
            wire=json.dumps(event, indent=2, ensure_ascii=False),
            record=wire.extended_values(event).get(wire.LAST_APPLIED_PROPERTY),
            server_body=str((event.get("body") or {}).get("content") or ""),
        )

    def _found(self, organizer: str, namespace: str, meeting_id: str) -> dict[str, Any] | None:
        action = f"looking up {meeting_id} in {organizer}'s calendar"
        events = self._run(self._list(organizer, wire.property_filter(wire.MEETING_ID_PROPERTY, meeting_id), action))
        for event in events:
            extended = wire.extended_values(event)
            if (
                extended.get(wire.NAMESPACE_PROPERTY) == namespace
                and extended.get(wire.MEETING_ID_PROPERTY) == meeting_id
            ):
                (complete,) = self._run(self._complete(organizer, [event], action))
                return dict(complete)
        return None

    def create(self, request: CreateRequest) -> None:
        self._run(self._create(request))

    def update(self, request: UpdateRequest) -> None:
        self._run(self._update(request))

    def cancel(self, request: CancelRequest) -> None:
        organizer, action = request.organizer, f"cancelling {request.meeting_id} in {request.organizer}'s calendar"
        self._run(
            self._call(
                organizer,
                action,
                lambda: self._client.cancel_event(
                    organizer,
                    request.item_id,
                    request.comment,
                    if_match=wire.etag(request.change_key),
                    prefer=wire.PREFER,
                ),
                write=True,
            )
        )

    def release(self, request: ReleaseRequest) -> None:
        """PATCH our three properties to empty strings: Graph documents no way to delete a
        single-value extended property, and an empty namespace matches no listing. Graph documents
        no silent PATCH either, so attendees may get an update (the plan says so)."""
        organizer, action = request.organizer, f"releasing {request.meeting_id} in {request.organizer}'s calendar"
        body = {"singleValueExtendedProperties": [{"id": name, "value": ""} for name in wire.OWNERSHIP_PROPERTIES]}
        self._run(
            self._call(
                organizer,
                action,
                lambda: self._client.update_event(
                    organizer, request.item_id, body, if_match=wire.etag(request.change_key), prefer=wire.PREFER
                ),
                write=True,
            )
        )

    # -- namespace items (the apply lock: providers.graph.lock) ---------------------------------

    def list_namespace_items(self, organizer: str, namespace: str) -> list[NamespaceItem]:
        action = f"reading the apply lock of {namespace} in {organizer}'s calendar"
        marker, expand = lock.list_filter(namespace), lock.expand()
        events = self._listing(organizer, action, filter=marker, expand=expand, select=lock.SELECT, top=lock.PAGE_SIZE)
        # Exchange matches the value ignoring case: `TEAM`'s lock is not `team`'s.
        return [lock.namespace_item(event) for event in events if lock.namespace_of(event) == namespace]

    def create_namespace_item(self, organizer: str, namespace: str, state: str) -> str:
        body = lock.create_body(namespace, state)
        action = f"creating the apply lock item of {namespace} in {organizer}'s calendar"
        event = self._run(
            self._call(
                organizer, action, lambda: self._client.create_event(organizer, body, prefer=wire.PREFER), write=True
            )
        )
        return str(event["id"])

    def write_namespace_state(self, organizer: str, item_id: str, change_key: str, state: str) -> str:
        body, action = lock.state_body(state), f"writing the apply lock in {organizer}'s calendar"
        event = self._run(
            self._call(
                organizer,
                action,
                lambda: self._client.update_event(
                    organizer, item_id, body, if_match=wire.etag(change_key), prefer=wire.PREFER
                ),
                write=True,
            )
        )
        return wire.change_key(event)

    def delete_namespace_item(self, organizer: str, item_id: str) -> None:
        action = f"deleting a duplicate apply lock item in {organizer}'s calendar"
        self._run(
            self._call(
                organizer, action, lambda: self._client.delete_event(organizer, item_id, prefer=wire.PREFER), write=True
            )
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            # Closing a connection schedules the socket's release on the loop: let that run.
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    # -- writes --------------------------------------------------------------------------------

    async def _create(self, request: CreateRequest) -> None:
        """POST the meeting (the series without skips and overrides, the record with them), then
        write each skip and override of a new series as an occurrence edit."""
        body = wire.create_body(request.namespace, request.meeting_id, request.fields, request.transaction_id)
        action = f"creating {request.meeting_id} in {request.organizer}'s calendar"
        event: dict[str, Any] = await self._call(
            request.organizer,
            action,
            lambda: self._client.create_event(request.organizer, body, prefer=wire.PREFER),
            write=True,
        )
        if request.fields.recurrence is not None and request.writes.edits:
            target = _Series(request.organizer, request.meeting_id, str(event["id"]), request.fields)
            await self._write_occurrences(target, request.writes, wire.change_key(event))

    async def _update(self, request: UpdateRequest) -> None:
        """The steps `request.writes` carries: the master write (skipped when only skips and
        overrides changed), then one write per occurrence edit."""
        edits = request.writes
        names = edits.master_fields(request.changed)
        # An adoption rewrites the namespace marker as a move rewrites the id: the master is written.
        moved = request.meeting_id != request.previous_meeting_id or request.previous_namespace is not None
        attendees_only = bool(names) and names <= ATTENDEE_FIELDS and not moved
        target = _Series(request.organizer, request.meeting_id, request.item_id, request.fields)
        key = request.change_key
        if names or moved or not request.changed:
            event = await self._write_master(request, names, attendees_only, confirm=bool(edits.edits))
            key = wire.change_key(event)
        if edits.edits:
            await self._write_occurrences(target, edits, key)

    async def _write_master(
        self, request: UpdateRequest, names: frozenset[str], attendees_only: bool, *, confirm: bool
    ) -> dict[str, Any]:
        """A sparse PATCH of the master with If-Match: only attendees when only attendee lists
        change (the record is then left as it was: writing it would mail everyone), else the
        properties of `names` and the record. With `confirm`, a lost answer is checked by reading
        the master: a write it shows is taken as done, so the occurrence writes can follow."""
        body = wire.event_properties(request.fields, wire.graph_properties(names, request.fields))
        if "body" in body and request.fields.online_meeting:
            # Exchange appended a Teams join block to the body; writing ours alone would drop it.
            current = await self._get(request.organizer, request.item_id, f"reading {request.meeting_id}'s body")
            body["body"] = wire.body_keeping_join_block(body["body"], current)
        if not attendees_only:
            body["singleValueExtendedProperties"] = wire.ownership_properties(
                request.namespace, request.meeting_id, request.fields
            )
        organizer, action = request.organizer, f"updating {request.meeting_id} in {request.organizer}'s calendar"
        try:
            event: dict[str, Any] = await self._call(
                organizer,
                action,
                lambda: self._client.update_event(
                    organizer, request.item_id, body, if_match=wire.etag(request.change_key), prefer=wire.PREFER
                ),
                write=True,
            )
        except TransientError:
            if not confirm:
                raise
            event = await self._get(organizer, request.item_id, f"checking the update of {request.meeting_id}")
            if not wire.holds(event, body):
                raise
        return event

    async def _write_occurrences(self, target: _Series, edits: SeriesEdits, key: str | None) -> None:
        """Each occurrence edit in order, with If-Match carrying the master's latest change key.

        A write whose outcome stays unknown is not raised as a TransientError, on which the caller
        would repeat the whole request (the master write and the occurrence writes already made,
        with their mail), but as a ProviderError asking for a new plan: that reads what the
        calendar holds and writes only what is missing.
        """
        try:
            for edit in edits.edits:
                override = next((o for o in edits.base_overrides if o.date.isoformat() == edit.date), None)
                if edit.kind is EditKind.CANCEL:
                    key = await self._cancel_occurrence(target, edit, override, key)
                else:
                    key = await self._change_occurrence(target, edit, override, key)
        except TransientError as error:
            raise ProviderError(
                f"{error} {target.meeting_id} was only partly written; plan and apply again to finish."
            ) from error

    async def _cancel_occurrence(
        self, target: _Series, edit: OccurrenceEdit, override: OverrideState | None, key: str | None
    ) -> str | None:
        """Cancel one occurrence (no comment). One that is already gone is left alone. Returns the
        master's change key when known (a 202 carries none: the next lookup's etag stands in)."""
        action = f"cancelling the {edit.date} occurrence of {target.meeting_id} in {target.organizer}'s calendar"
        found = await self._find_occurrence(target, edit.date, override, action)
        if found is None:
            return key  # cancelled already (an earlier run, or in Outlook)
        if_match = wire.etag(key or wire.change_key(found))
        try:
            await self._call(
                target.organizer,
                action,
                lambda: self._client.cancel_event(
                    target.organizer, str(found["id"]), None, if_match=if_match, prefer=wire.PREFER
                ),
                write=True,
            )
        except NotFoundError:
            return None  # gone meanwhile: cancelled is what we want
        except TransientError:
            if await self._find_occurrence(target, edit.date, override, action) is not None:
                raise
        return None

    async def _change_occurrence(
        self, target: _Series, edit: OccurrenceEdit, override: OverrideState | None, key: str | None
    ) -> str:
        """PATCH one occurrence with the edit's values; returns the master's new change key."""
        action = f"changing the {edit.date} occurrence of {target.meeting_id} in {target.organizer}'s calendar"
        found = await self._find_occurrence(target, edit.date, override, action)
        if found is None:
            raise NotFoundError(
                f"The {edit.date} occurrence of {target.meeting_id} is not in {target.organizer}'s calendar"
                " (cancelled outside git?); plan again."
            )
        values = edit.written
        body = wire.occurrence_body(target.fields, values)
        if "body" in body and target.fields.online_meeting:
            body["body"] = wire.body_keeping_join_block(body["body"], found)  # the lookup read its body
        if_match = wire.etag(key or wire.change_key(found))
        try:
            event: dict[str, Any] = await self._call(
                target.organizer,
                action,
                lambda: self._client.update_event(
                    target.organizer, str(found["id"]), body, if_match=if_match, prefer=wire.PREFER
                ),
                write=True,
            )
        except TransientError:
            event = await self._find_occurrence(target, edit.date, override, action) or {}
            if not event or not wire.occurrence_holds(event, target.fields, values):
                raise
        return wire.change_key(event)

    async def _find_occurrence(
        self, target: _Series, day: str, override: OverrideState | None, action: str
    ) -> dict[str, Any] | None:
        """The live occurrence originally on `day` (from `/instances` around that day and where its
        `override` moved it), or None when it was cancelled."""
        start, end = wire.occurrence_window(target.fields, day, override)
        found = await self._pages(
            target.organizer,
            action,
            lambda: self._client.list_instances(
                target.organizer,
                target.item_id,
                start=start,
                end=end,
                select=wire.INSTANCE_SELECT,
                prefer=wire.PREFER,
            ),
        )
        zone, all_day = target.fields.timezone, target.fields.all_day
        return next((o for o in found if wire.original_date(o, zone, all_day=all_day) == day), None)

    # -- internals -----------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        await self._client.aclose()
        # Closed connections release their sockets in callbacks scheduled on this loop.
        for _ in range(3):
            await asyncio.sleep(0)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coroutine.close()
            raise ProviderError("The Graph provider was used after it was closed.")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _observe(self, event: Mapping[str, Any], organizer: str) -> ObservedMeeting:
        try:
            return wire.observe(event, organizer)
        except (KeyError, TypeError, ValueError) as error:
            raise ProviderError(
                f"The calendar item {event.get('id')} in {organizer}'s calendar carries our marker but could not be"
                f" read ({type(error).__name__}: {error})."
            ) from error

    async def _list(self, organizer: str, filter: str, action: str) -> list[dict[str, Any]]:
        expand = wire.expand_ownership()
        return await self._pages(
            organizer,
            action,
            lambda: self._client.list_events(
                organizer, filter=filter, expand=expand, select=wire.SELECT, top=self.page_size, prefer=wire.PREFER
            ),
        )

    async def _pages(self, organizer: str, action: str, first: Callable[[], Awaitable[Page]]) -> list[dict[str, Any]]:
        """Every event of a paged read: the first page, then each `@odata.nextLink` in turn."""
        page = await self._call(organizer, action, first, write=False)
        events = list(page.value)
        while page.next_link:
            page = await self._call(organizer, action, self._next_page(organizer, page.next_link), write=False)
            events.extend(page.value)
        return events

    def _next_page(self, organizer: str, link: str) -> Callable[[], Awaitable[Page]]:
        return lambda: self._client.list_next(organizer, link, prefer=wire.PREFER)

    async def _complete(self, organizer: str, events: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
        """Listed events with each series master read again by its id: only that read returns its
        cancelled and changed occurrences (the `cancelledOccurrences` and `exceptionOccurrences`
        documentation: "only returned in a Get operation that specifies the ID ... of a series master
        event"). One master is one GET; more go in `$batch`es of up to 20 GETs, one batch after
        another (Graph forwards up to 4 requests of a batch to the mailbox at a time)."""
        masters = [str(event["id"]) for event in events if wire.is_series_master(event)]
        read: dict[str, dict[str, Any]] = {}
        if len(masters) == 1:
            read[masters[0]] = await self._get(organizer, masters[0], action, series=True)
        else:
            size = self._sdk.MAX_BATCH
            for start in range(0, len(masters), size):
                read.update(await self._get_batch(organizer, masters[start : start + size], action))
        return [read.get(str(event["id"]), event) for event in events]

    async def _get_batch(self, organizer: str, item_ids: list[str], action: str) -> dict[str, dict[str, Any]]:
        """Series masters by id in one `$batch`, by id. The batch itself is retried like any read
        (`_call`); a request in it that fails in passing (429 with its own `Retry-After`, 503, 5xx)
        is sent again in a smaller batch after the longest wait any of them asked for, within the
        same attempt limit; any other failure is raised as `_get` would raise it."""
        expand = (wire.expand_ownership(), wire.EXCEPTIONS)
        found: dict[str, dict[str, Any]] = {}
        pending, attempt = list(item_ids), 0
        while pending:
            attempt += 1
            sent = tuple(pending)
            answers = await self._call(
                organizer,
                action,
                functools.partial(
                    self._client.get_events_batch,
                    organizer,
                    sent,
                    expand=expand,
                    select=wire.SERIES_SELECT,
                    prefer=wire.PREFER,
                ),
                write=False,
            )
            pending, delay = [], 0.0
            for item_id, answer in zip(sent, answers, strict=True):
                if isinstance(answer, dict):
                    found[item_id] = answer
                    continue
                failure = self._sdk.classify(answer)
                wait = self._retry_delay(failure, attempt, write=False)
                if wait is None:
                    raise _translate(failure, organizer, action, attempt, write=False) from answer
                pending.append(item_id)
                delay = max(delay, wait)
            if pending:
                await self._sleep(delay)
        return found

    async def _get(self, organizer: str, item_id: str, action: str, *, series: bool = False) -> dict[str, Any]:
        """One event by id with our properties; a series master with its occurrences (`series`)."""
        expand = [wire.expand_ownership(), *([wire.EXCEPTIONS] if series else [])]
        select = wire.SERIES_SELECT if series else wire.SELECT
        result: dict[str, Any] = await self._call(
            organizer,
            action,
            lambda: self._client.get_event(organizer, item_id, expand=expand, select=select, prefer=wire.PREFER),
            write=False,
        )
        return result

    def _gate(self, mailbox: str) -> asyncio.Semaphore:
        key = mailbox.lower()
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = asyncio.Semaphore(self.max_in_flight)
        return gate

    async def _call(self, mailbox: str, action: str, call: Callable[[], Awaitable[T]], *, write: bool) -> T:
        attempt = 0
        while True:
            attempt += 1
            async with self._gate(mailbox):
                try:
                    return await call()
                except Exception as error:
                    caught = error
            failure = self._sdk.classify(caught)
            delay = self._retry_delay(failure, attempt, write=write)
            if delay is None:
                raise _translate(failure, mailbox, action, attempt, write=write) from caught
            if self._throttled is not None and failure.kind == "http" and failure.status in (429, 503):
                self._throttled(mailbox.lower(), delay)
            await self._sleep(delay)

    def listen_throttling(self, listener: ThrottleListener | None) -> None:
        """Tell `listener` (mailbox, seconds) before every wait a 429 or 503 causes; it is called on
        the provider's event loop thread."""
        self._throttled = listener

    def _retry_delay(self, failure: Failure, attempt: int, *, write: bool) -> float | None:
        """Seconds to wait before trying again, or None to give up."""
        if attempt >= self.retry.max_attempts:
            return None
        backoff = min(self.retry.backoff_cap, self.retry.backoff_base * 2.0 ** (attempt - 1))
        backoff += random.uniform(0, self.retry.backoff_base)
        if failure.kind == "http" and failure.status in (429, 503, 409):
            # Not executed (409: ConcurrentItemSave), so a retry is safe; creates also carry transactionId.
            if failure.retry_after is not None and failure.retry_after > self.retry.max_retry_after:
                return None
            return failure.retry_after if failure.retry_after else backoff
        if failure.kind == "connect":
            return backoff  # nothing reached the server
        if not write and (failure.kind in ("timeout", "transport") or (failure.status or 0) >= 500):
            return backoff
        return None


async def _all(coroutines: list[Coroutine[Any, Any, T]]) -> list[T]:
    """The results of `coroutines` run concurrently, in order. When one fails the others are
    cancelled and awaited (no request outlives the call, no task's error goes unretrieved), then
    the first failure is raised."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    if not tasks:
        return []
    await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    failed = next((t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None), None)
    if failed is None:
        return [t.result() for t in tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    error = failed.exception()
    assert error is not None
    raise error


#: 404 codes that concern the whole mailbox, never one item (docs/reference/mailboxes-late-release-adopt.md), and what
#: they mean for the operator.
_MAILBOX_CODES = {
    "ErrorInvalidUser": "no such mailbox (deleted, or the address is wrong)",
    "MailboxNotEnabledForRESTAPI": "the mailbox is inactive, unlicensed for Exchange Online or hosted on-premises",
    "ErrorNonExistentMailbox": "no such mailbox (deleted, or the address is wrong)",
}


def _translate(failure: Failure, mailbox: str, action: str, attempts: int, *, write: bool) -> ProviderError:
    """One classified failure as the project's error, in a sentence naming what was being done."""
    status = failure.status
    detail = f"{failure.code}: {failure.message}" if failure.code else failure.message
    detail = f" ({detail.rstrip('.')})" if detail else ""
    if status == 404 and failure.code in _MAILBOX_CODES:
        return MailboxUnavailableError(
            f"Microsoft Graph cannot use {mailbox}'s mailbox{detail}: {_MAILBOX_CODES[failure.code]}.", mailbox=mailbox
        )
    if failure.kind == "auth" or status in (401, 403):
        return AuthError(
            f"Microsoft Graph refused access while {action}{detail}. Check the credentials and that the app may use"
            f" {mailbox}'s calendar (Calendars.ReadWrite, application access policy)."
        )
    if status == 404:
        return NotFoundError(f"The calendar item was not found while {action}{detail}.")
    if status == 412:
        return ConflictError(
            f"The calendar item was changed after it was read, so Microsoft Graph refused {action}{detail}."
        )
    if status == 429:
        # Refused, not executed: the caller may wait `retry_after` and write again.
        tries = f"{attempts} attempts" if attempts > 1 else f"asked to wait {failure.retry_after:g} s"
        return ThrottledError(
            f"Microsoft Graph kept throttling {mailbox} while {action} ({tries}){detail}.",
            retry_after=failure.retry_after,
        )
    if failure.kind in ("timeout", "transport", "connect") or (status or 0) >= 500 or status in (409, 503):
        if write:
            return TransientError(
                f"Microsoft Graph did not answer {action}{detail}, so whether the change was made is unknown;"
                " it is looked up before any retry."
            )
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return TransientError(f"Microsoft Graph could not be read while {action}{tries}{detail}; nothing was changed.")
    if failure.kind == "http":
        return RequestRejectedError(f"Microsoft Graph rejected {action}{detail}.")
    return ProviderError(f"{action[0].upper()}{action[1:]} failed unexpectedly{detail}.")
