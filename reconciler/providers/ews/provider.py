"""EwsProvider: the EWS backend for on-premises Exchange Server (2016, 2019, SE), through exchangelib.

Exchange Online blocks EWS (phased from October 2026, switched off on 1 April 2027): Online tenants
use the graph backend. exchangelib is imported only when this provider is built.

How each Provider operation goes on the wire (see `reconciler.port` for the contract):

* list_managed: FindItem (IdOnly, IndexedPageItemView, Restriction IsEqualTo on our namespace
  property) paged, then GetItem for exactly the fields we map. Never a CalendarView (Exchange
  refuses a restriction on one) and never a full fetch of every property.
* find: the same with a restriction on the meeting-id and namespace properties.
* Both keep only items whose namespace (and meeting id) equal what was asked exactly: Exchange's
  IsEqualTo ignores case, so `TEAM` would otherwise be listed (and cancelled) as `team`.
* create: CreateItem with SendToAllAndSaveCopy carrying the three ownership properties. A timeout
  raises TransientError without retrying: the reconciler then calls `find`.
* update: UpdateItem of only the changed fields (plus our record), ConflictResolution
  NeverOverwrite with the observed change key, and the send mode that mails the fewest people
  (`notify.update_scope`: SILENT -> SendToNone, ATTENDEES_ONLY -> SendToChangedAndSaveCopy,
  EVERYONE -> SendToAllAndSaveCopy). The UpdateItem answer carries the new ItemId and ChangeKey
  and the record written is the whole desired state, so an update is one request; only a series
  with occurrence edits is read back (one GetItem), as after a create with them.
* the calendar folder: one GetFolder per mailbox and provider (`sdk.Connection.calendar`), not
  exchangelib's two (root, then calendar).
* series (the steps `request.writes` carries, as planned, after the master write of an update or the CreateItem of a
  create): the pattern is written again when Exchange must regenerate the series (a skipped date
  comes back, or the pattern or the series' time changes); then one DeleteItem of the cancelled
  occurrences' OccurrenceItemIds and one UpdateItem of the changed ones (start/end, subject,
  location, body), both SendToAllAndSaveCopy, so each attendee gets that occurrence's cancellation
  or update. InstanceIndex is the date's position in the pattern, skipped dates counted. An
  occurrence's attendees are never written (ErrorInvalidPropertySet, exchangelib #1356).
* reading a series: DeletedOccurrences give the skipped dates; the occurrences ModifiedOccurrences
  names are fetched with one GetItem per listing (100 ids a request) and read as overrides. A series
  without changed occurrences costs no extra request.
* release: UpdateItem with DeleteItemField of our three properties, SendToNone (no mail).
* cancel: CreateItem with a CancelCalendarItem response object carrying the comment as
  NewBodyContent (never DeleteItem after it); an item without attendees (nobody to notify,
  ErrorInvalidRecipients) is deleted with SendToNone instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reconciler.config import EWS_CLIENT_SECRET, EWS_PASSWORD
from reconciler.errors import ConfigError, ProviderError, RequestRejectedError
from reconciler.freebusy import Schedule
from reconciler.model import ObservedMeeting
from reconciler.notify import UpdateScope, update_scope
from reconciler.ownership import encode_record
from reconciler.port import (
    BACKEND_CAPABILITIES,
    CancelRequest,
    CreateRequest,
    ForeignItem,
    RawItem,
    ReleaseRequest,
    ThrottleListener,
    UnmanagedMeeting,
    UpdateRequest,
)
from reconciler.providers.ews import people, wire
from reconciler.providers.ews.lock import EwsNamespaceItems
from reconciler.providers.ews.wire import OccurrenceWrites
from reconciler.providers.wirelog import WireLog
from reconciler.recurrence import span_utc
from reconciler.state import MeetingState

if TYPE_CHECKING:
    from reconciler.config import Config
    from reconciler.providers.ews.sdk import Connection, Retrier

CLIENT_SECRET_VARIABLE, PASSWORD_VARIABLE = EWS_CLIENT_SECRET, EWS_PASSWORD
#: FindItem page size (Exchange still caps a restricted search at 250 per answer) and GetItem batch.
PAGE_SIZE, CHUNK_SIZE = 1000, 100

#: SendMeetingInvitations(OrCancellations) modes, as exchangelib's constants spell them.
_SEND_TO_NONE, _SEND_TO_ALL = "SendToNone", "SendToAllAndSaveCopy"
_SEND_MODES = {
    UpdateScope.SILENT: _SEND_TO_NONE,
    UpdateScope.ATTENDEES_ONLY: "SendToChangedAndSaveCopy",
    UpdateScope.EVERYONE: _SEND_TO_ALL,
}


class EwsProvider(EwsNamespaceItems):
    """Provider over Exchange Web Services; see the module docstring (the apply lock's namespace
    items: `providers.ews.lock`)."""

    name = "ews"
    capabilities = BACKEND_CAPABILITIES["ews"]

    def __init__(
        self,
        endpoint: str,
        *,
        auth: str = "oauth2",
        version: str = "Exchange2016",
        username: str | None = None,
        password: str | None = None,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_provider: Callable[[], str] | None = None,
        timeout: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        max_wait: float = 300.0,
        wire_log: WireLog | None = None,
    ) -> None:
        """Connect to `endpoint` (https://host/EWS/Exchange.asmx) without autodiscover; `wire_log`
        records every HTTP exchange (token requests and NTLM handshakes included).

        `auth`: `oauth2` (app-only client credentials, impersonating each organizer), `ntlm` or
        `basic` (a service account with delegate access to the organizers' calendars), `token`
        (a bearer token from `token_provider`, fetched again on HTTP 401) or `none`.
        """
        missing = {
            "oauth2": [("tenant_id", tenant_id), ("client_id", client_id), ("client secret", client_secret)],
            "ntlm": [("username", username), ("password", password)],
            "basic": [("username", username), ("password", password)],
        }.get(auth, [])
        absent = [name for name, value in missing if not value]
        if absent:
            raise ConfigError(f"The EWS backend with auth {auth} needs {', '.join(absent)}.")

        from reconciler.providers.ews import sdk  # exchangelib loads only when this backend is used

        self._sdk = sdk
        sdk.register_properties()
        try:
            settings = sdk.ConnectionSettings(
                endpoint=endpoint,
                auth=auth,
                version=version,
                username=username,
                password=password,
                tenant_id=tenant_id,
                client_id=client_id,
                client_secret=client_secret,
                token_provider=token_provider,
                timeout=timeout,
                max_connections=self.capabilities.max_in_flight,
                wire_log=wire_log,
            )
            self._connection: Connection = sdk.Connection(settings)
        except ValueError as error:
            raise ConfigError(str(error)) from error
        self._retrier: Retrier = sdk.Retrier(
            self._connection, sleep=sleep, max_attempts=max_attempts, max_wait=max_wait
        )

    @classmethod
    def from_config(cls, config: Config, *, wire_log: WireLog | None = None) -> EwsProvider:
        """Build from `reconciler.yaml`'s `ews:` section; secrets come only from the environment."""
        settings = config.ews
        if not settings.endpoint:
            raise ConfigError("ews.endpoint is required for the ews backend (https://<server>/EWS/Exchange.asmx).")
        auth = settings.auth
        if auth == "oauth2":
            secret = config.secret(CLIENT_SECRET_VARIABLE)
            if not secret:
                raise ConfigError(
                    f"The ews backend with auth oauth2 needs the environment variable {CLIENT_SECRET_VARIABLE}."
                )
            if not settings.tenant_id or not settings.client_id:
                raise ConfigError("The ews backend with auth oauth2 needs ews.tenant_id and ews.client_id.")
            return cls(
                settings.endpoint,
                auth=auth,
                version=settings.version,
                tenant_id=settings.tenant_id,
                client_id=settings.client_id,
                client_secret=secret,
                wire_log=wire_log,
            )
        if auth in ("ntlm", "basic"):
            password = config.secret(PASSWORD_VARIABLE)
            if not password:
                raise ConfigError(
                    f"The ews backend with auth {auth} needs the environment variable {PASSWORD_VARIABLE}."
                )
            if not settings.username:
                raise ConfigError(f"The ews backend with auth {auth} needs ews.username.")
            return cls(
                settings.endpoint,
                auth=auth,
                version=settings.version,
                username=settings.username,
                password=password,
                wire_log=wire_log,
            )
        raise ConfigError(f'ews.auth "{auth}" is not supported; use oauth2, ntlm or basic.')

    # -- Provider ----------------------------------------------------------------------------------

    def listen_throttling(self, listener: ThrottleListener | None) -> None:
        """Tell `listener` (mailbox, seconds) before every wait an ErrorServerBusy of a write causes;
        it is called on the thread that made the request."""
        self._retrier.throttled = listener

    def close(self) -> None:
        self._connection.close()

    def known_organizers(self) -> frozenset[str]:
        return frozenset()

    def list_managed(self, organizer: str, namespace: str) -> list[ObservedMeeting]:

        def query() -> list[ObservedMeeting]:
            return self._observe(organizer, self._query(organizer, {wire.NAMESPACE_ATTR: namespace}))

        with self._sdk.reading_mailbox(organizer):
            return self._retrier.run(query, what=f"listing {organizer}'s managed meetings", write=False)

    def schedules(self, organizer: str, addresses: Sequence[str], start: datetime, end: datetime) -> list[Schedule]:
        """GetUserAvailability in batches (`people.free_busy`); a request that fails leaves every
        address unknown with the reason, never free."""

        what = f"reading the free/busy of {len(addresses)} addresses for {organizer}"
        try:
            return self._retrier.run(
                lambda: people.free_busy(
                    lambda batch: self._sdk.availability(self._connection.protocol(), batch, start, end), addresses
                ),
                what=what,
                write=False,
            )
        except ProviderError as error:
            return [Schedule(address, unknown=str(error).rstrip(".")) for address in addresses]

    def find(self, organizer: str, namespace: str, meeting_id: str) -> ObservedMeeting | None:

        def query() -> ObservedMeeting | None:
            filters = {wire.NAMESPACE_ATTR: namespace, wire.MEETING_ID_ATTR: meeting_id}
            found = self._query(organizer, filters)
            return self._observe(organizer, found[:1])[0] if found else None

        return self._retrier.run(query, what=f"looking up {meeting_id} in {organizer}'s calendar", write=False)

    def inspect(self, organizer: str, namespace: str, meeting_id: str) -> RawItem | None:
        """The SOAP answers that carried the item (FindItem, GetItem), as the server sent them."""

        def query() -> tuple[Any, ObservedMeeting] | None:
            filters = {wire.NAMESPACE_ATTR: namespace, wire.MEETING_ID_ATTR: meeting_id}
            found = self._query(organizer, filters)
            return (found[0], self._observe(organizer, found[:1])[0]) if found else None

        with self._sdk.captured_answers() as answers:
            read = self._retrier.run(query, what=f"looking up {meeting_id} in {organizer}'s calendar", write=False)
        if read is None:
            return None
        item, observed = read
        return RawItem(
            observed=observed,
            wire_format="xml",
            wire="\n".join(a for a in answers if item.id in a),
            record=getattr(item, wire.RECORD_ATTR, None),
            server_body=str(item.body or ""),
        )

    def create(self, request: CreateRequest) -> None:
        kwargs = self._kwargs(request.fields) | {
            wire.NAMESPACE_ATTR: request.namespace,
            wire.MEETING_ID_ATTR: request.meeting_id,
            wire.RECORD_ATTR: encode_record(request.fields),
        }
        writes = wire.occurrence_writes(request.meeting_id, request.fields, request.writes)
        what = f"creating {request.meeting_id}"
        folder = self._retrier.run(lambda: self._connection.calendar(request.organizer), what=what, write=False)
        account = self._connection.account(request.organizer)
        item = self._retrier.run(
            lambda: self._sdk.create_item(account, folder, kwargs, send=_SEND_TO_ALL),
            what=what,
            write=True,
            mailbox=request.organizer,
        )
        if writes:
            self._edit_occurrences(request.organizer, item, writes, what=what)

    def update(self, request: UpdateRequest) -> None:
        writes = wire.occurrence_writes(request.meeting_id, request.fields, request.writes)
        master = request.writes.master_fields(request.changed)
        kwargs = self._kwargs(request.fields)
        names = wire.update_fields(master, request.fields)
        if {"start", "end"} & set(names):
            names += [n for n in ("_start_timezone", "_end_timezone") if n not in names]
        kwargs[wire.RECORD_ATTR] = encode_record(request.fields)
        names.append(wire.RECORD_ATTR)
        if request.meeting_id != request.previous_meeting_id:
            kwargs[wire.MEETING_ID_ATTR] = request.meeting_id
            names.append(wire.MEETING_ID_ATTR)
        if request.previous_namespace is not None:
            kwargs[wire.NAMESPACE_ATTR] = request.namespace
            names.append(wire.NAMESPACE_ATTR)
        what = f"updating {request.meeting_id}"
        send = _SEND_MODES[update_scope(master)]
        item = self._save_fields(
            request.organizer, request.item_id, request.change_key, {n: kwargs[n] for n in names}, send, what
        )
        if writes:
            # The UpdateItem answer carries the master's new ChangeKey (exchangelib sets it on
            # `item`): the occurrence writes follow it.
            self._edit_occurrences(request.organizer, item, writes, what=what)

    def cancel(self, request: CancelRequest) -> None:
        what = f"cancelling {request.meeting_id}"
        folder = self._retrier.run(lambda: self._connection.calendar(request.organizer), what=what, write=False)
        account = self._connection.account(request.organizer)
        item_id, change_key = request.item_id, request.change_key
        cancelled = self._retrier.run(
            lambda: self._sdk.cancel_item(account, folder, item_id, change_key, request.comment),
            what=what,
            write=True,
            mailbox=request.organizer,
        )
        if not cancelled:  # an appointment without attendees: nobody to tell, so delete it
            self._retrier.run(
                lambda: self._sdk.delete_item(account, folder, item_id, change_key),
                what=what,
                write=True,
                mailbox=request.organizer,
            )

    def release(self, request: ReleaseRequest) -> None:
        """UpdateItem deleting our three properties (DeleteItemField), SendToNone: no mail."""
        names = [wire.NAMESPACE_ATTR, wire.MEETING_ID_ATTR, wire.RECORD_ATTR]
        what = f"releasing {request.meeting_id}"
        self._save_fields(
            request.organizer, request.item_id, request.change_key, dict.fromkeys(names), _SEND_TO_NONE, what
        )

    def _save_fields(
        self, organizer: str, item_id: str, change_key: str, kwargs: dict[str, Any], send: str, what: str
    ) -> Any:
        """UpdateItem of exactly `kwargs` (None deletes a field) on the item as we read it: a stale
        change key is refused (NeverOverwrite), `send` says who is mailed."""
        folder = self._retrier.run(lambda: self._connection.calendar(organizer), what=what, write=False)
        account = self._connection.account(organizer)
        return self._retrier.run(
            lambda: self._sdk.update_item(account, folder, item_id, change_key, kwargs, send=send),
            what=what,
            write=True,
            mailbox=organizer,
        )

    # -- helpers -----------------------------------------------------------------------------------

    def _edit_occurrences(self, organizer: str, master: Any, writes: OccurrenceWrites, *, what: str) -> None:
        """Write a series' occurrence edits once its master (id, change key) is written: one
        DeleteItem for the cancelled occurrences, then one UpdateItem for the changed ones, each
        SendToAllAndSaveCopy so every attendee of that occurrence hears of it."""
        account = self._connection.account(organizer)
        folder = self._connection.calendar(organizer)
        cancelled = [self._sdk.occurrence_item(account, folder, master, index, {}) for index in writes.cancel]
        changed = [
            (self._sdk.occurrence_item(account, folder, master, index, values), list(values))
            for index, values in writes.change
        ]
        if cancelled:
            self._retrier.run(
                lambda: self._sdk.cancel_occurrences(account, cancelled),
                what=f"{what} (cancelling occurrences)",
                write=True,
                mailbox=organizer,
            )
        if changed:
            self._retrier.run(
                lambda: self._sdk.change_occurrences(account, changed),
                what=f"{what} (changing occurrences)",
                write=True,
                mailbox=organizer,
            )

    def _kwargs(self, fields: MeetingState) -> dict[str, Any]:
        """CalendarItem keyword arguments of every field EWS writes (refused before any request when
        EWS cannot write them)."""
        try:
            kwargs: dict[str, Any] = self._sdk.item_kwargs(wire.item_values(fields))
        except ProviderError:
            raise
        except (ValueError, TypeError, KeyError) as error:
            raise RequestRejectedError(f"The meeting cannot be written through EWS: {error}.") from error
        return kwargs

    def managed_ids(self, organizer: str, namespace: str) -> frozenset[str]:

        marker, meeting = wire.NAMESPACE_ATTR, wire.MEETING_ID_ATTR

        def query() -> frozenset[str]:
            folder = self._connection.calendar(organizer)
            found = folder.filter(**{marker: namespace}).only("my_response_type", marker, meeting)
            found.page_size = PAGE_SIZE
            ids = set()
            for item in found:
                if isinstance(item, Exception):
                    raise item
                # The same checks as _query: the organizer's own items, the namespace exactly.
                if item.my_response_type in (None, "Organizer") and getattr(item, marker, None) == namespace:
                    ids.add(getattr(item, meeting, None) or "")
            return frozenset(ids)

        with self._sdk.reading_mailbox(organizer):
            return self._retrier.run(query, what=f"listing {organizer}'s managed meeting ids", write=False)

    def list_foreign(self, organizer: str, namespace: str) -> list[ForeignItem]:

        marker = wire.NAMESPACE_ATTR

        def query() -> list[ForeignItem]:
            # Exists and not IsEqualTo: the restriction ignores case, the check below does not.
            found = self._query(organizer, {f"{marker}__exists": True}, exclude={marker: namespace})
            return [
                ForeignItem(getattr(item, marker), seen.meeting_id, seen.fields.subject, seen.starts_at_utc)
                for item, seen in zip(found, self._observe(organizer, found), strict=True)
            ]

        with self._sdk.reading_mailbox(organizer):
            return self._retrier.run(
                query, what=f"listing other namespaces' meetings in {organizer}'s calendar", write=False
            )

    def list_unmanaged(self, organizer: str) -> list[UnmanagedMeeting]:
        """FindItem with a Not(Exists) restriction on our namespace property, then the same GetItem
        and reading as `list_managed`; only the organizer's own items (MyResponseType Organizer)
        with attendees are kept."""

        def query() -> list[UnmanagedMeeting]:
            found = [
                item
                for item in self._query(organizer, {f"{wire.NAMESPACE_ATTR}__exists": False})
                if item.my_response_type == "Organizer"
                and (item.required_attendees or item.optional_attendees or item.resources)
            ]
            return [
                UnmanagedMeeting(seen, "html" if self._sdk.is_html(item.body) else "text", str(item.body or ""))
                for item, seen in zip(found, self._observe(organizer, found), strict=True)
            ]

        with self._sdk.reading_mailbox(organizer):
            return self._retrier.run(query, what=f"listing {organizer}'s unmanaged meetings", write=False)

    def _query(
        self, organizer: str, filters: Mapping[str, Any], *, exclude: Mapping[str, str] | None = None
    ) -> list[Any]:
        """Our own items (the organizer's, not attendees' copies) matching `filters` exactly;
        with `exclude`, items whose value is set and differs exactly from it."""

        folder = self._connection.calendar(organizer)
        query = folder.filter(**filters)
        if exclude:
            query = query.exclude(**exclude)
        query = query.only(*wire.ITEM_FIELDS)
        query.page_size, query.chunk_size = PAGE_SIZE, CHUNK_SIZE
        found = []
        for item in query:
            if isinstance(item, Exception):
                raise item
            # An attendee's copy carrying our marker (possible inside one organisation) is not ours.
            if item.my_response_type not in (None, "Organizer"):
                continue
            # The server's string comparison ignores case; ours must not (`TEAM` is not `team`).
            if any(getattr(item, attr, None) != wanted for attr, wanted in filters.items() if "__" not in attr):
                continue
            if exclude and any(getattr(item, attr, None) in (None, "", wanted) for attr, wanted in exclude.items()):
                continue
            found.append(item)
        return found

    def _observe(self, organizer: str, items: list[Any]) -> list[ObservedMeeting]:
        """Fetched masters and singles -> observed meetings (changed occurrences read as overrides)."""

        shown = self._changed_occurrences(organizer, items)
        observed = []
        for item in items:
            fields, applied = wire.observe(item, self._sdk.read_recurrence(item.recurrence), shown, organizer)
            starts, ends = span_utc(fields)
            observed.append(
                ObservedMeeting(
                    item_id=item.id,
                    change_key=item.changekey,
                    organizer=organizer.lower(),
                    meeting_id=getattr(item, wire.MEETING_ID_ATTR, None) or "",
                    fields=fields,
                    last_applied=applied,
                    ends_at_utc=ends,
                    starts_at_utc=starts,
                    responses=people.item_responses(item, organizer),
                )
            )
        return observed

    def _changed_occurrences(self, organizer: str, items: list[Any]) -> dict[str, Any]:
        """Every occurrence the masters' ModifiedOccurrences name, by id: one GetItem per
        CHUNK_SIZE ids, and no request when no series has a changed occurrence."""

        listed = [occurrence for item in items for occurrence in item.modified_occurrences or []]
        if not listed:
            return {}
        fetched = self._connection.account(organizer).fetch(
            ids=[(occurrence.id, occurrence.changekey) for occurrence in listed],
            folder=self._connection.calendar(organizer),
            only_fields=list(wire.OCCURRENCE_FIELDS),
            chunk_size=CHUNK_SIZE,
        )
        shown = {}
        for occurrence, found in zip(listed, fetched, strict=True):
            if isinstance(found, Exception):
                raise found
            shown[occurrence.id] = found
        return shown


__all__ = ["CLIENT_SECRET_VARIABLE", "PASSWORD_VARIABLE", "EwsProvider"]
