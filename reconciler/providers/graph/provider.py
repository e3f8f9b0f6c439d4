"""GraphProvider: the Provider contract over Microsoft Graph v1.0 (msgraph-sdk, imported lazily).

How it keeps the contract (providers/base.py) on Graph (reference/graph.md):

* Listing: `GET /users/{organizer}/events` filtered on our namespace property, our three
  properties expanded, only the properties we read selected, `$top=500`, `@odata.nextLink`
  followed by hand with `Prefer: outlook.timezone="UTC", IdType="ImmutableId"` on every page.
* Creating: one POST carrying the ownership properties and the deterministic `transactionId`, so a
  create repeated after a lost answer is de-duplicated by Exchange; after an unknown outcome (a
  timeout, a 504, a dropped connection) `create` raises TransientError and the caller looks the
  marker up with `find` (one filtered GET) before trying again.
* Updating: a sparse PATCH with only the Graph properties of the changed fields and `If-Match`.
  When only attendee lists changed (and the meeting id stays), the body holds only `attendees`, the
  one PATCH Exchange answers by mailing just the attendees added or removed; the last-applied record
  is then left as it was (writing it would mail everyone). Otherwise the record (and, for a move,
  the new meeting id) goes in the same PATCH. Graph cannot write organizer-only fields silently.
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
import random
import threading
import urllib.parse
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from reconciler.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    NotFoundError,
    ProviderError,
    RequestRejectedError,
    ThrottledError,
    TransientError,
)
from reconciler.model import ATTENDEE_FIELDS, ObservedMeeting
from reconciler.providers.base import CancelRequest, Capabilities, CreateRequest, UpdateRequest
from reconciler.providers.graph import auth, wire

if TYPE_CHECKING:
    from reconciler.providers.graph.sdk import Failure

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


class GraphProvider:
    """Provider over Microsoft Graph. See the module docstring and `providers.base`."""

    name = "graph"
    capabilities = Capabilities(silent_organizer_fields=False)

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
    ) -> None:
        """`base_url` ends in `/v1.0` (a national cloud or the emulator). Authentication: a kiota
        `auth_provider`, else an azure-identity `credential`, else none (loopback only).
        `trust_env=None` honours proxy variables except for loopback; `sleep` waits between
        retries (tests pass a recorder)."""
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
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="graph-provider", daemon=True)
        self._thread.start()
        use_env = not auth.is_loopback(self.base_url) if trust_env is None else trust_env

        async def build() -> Any:
            return sdk.GraphClient(self.base_url, auth_provider, trust_env=use_env, timeout=timeout)

        self._client = self._run(build())

    @classmethod
    def from_config(cls, config: ConfigLike) -> GraphProvider:
        """The provider `reconciler.yaml` describes (`graph.*`), secrets from the environment."""
        settings = config.graph
        base_url = (settings.base_url or auth.DEFAULT_BASE_URL).rstrip("/")
        credential = auth.credential(settings, secret=config.secret, env=config.env, base_url=base_url)
        return cls(base_url, credential=credential)

    # -- Provider ------------------------------------------------------------------------------

    def known_organizers(self) -> frozenset[str]:
        """Graph cannot list the mailboxes holding our meetings cheaply; the reconciler names them."""
        return frozenset()

    def list_managed(self, organizer: str, namespace: str) -> list[ObservedMeeting]:
        action = f"listing the {namespace} meetings in {organizer}'s calendar"
        events = self._run(self._list(organizer, wire.property_filter(wire.NAMESPACE_PROPERTY, namespace), action))
        return [
            self._observe(event, organizer)
            for event in events
            if wire.extended_values(event).get(wire.NAMESPACE_PROPERTY) == namespace
        ]

    def find(self, organizer: str, namespace: str, meeting_id: str) -> ObservedMeeting | None:
        action = f"looking up {meeting_id} in {organizer}'s calendar"
        events = self._run(self._list(organizer, wire.property_filter(wire.MEETING_ID_PROPERTY, meeting_id), action))
        for event in events:
            extended = wire.extended_values(event)
            if (
                extended.get(wire.NAMESPACE_PROPERTY) == namespace
                and extended.get(wire.MEETING_ID_PROPERTY) == meeting_id
            ):
                return self._observe(event, organizer)
        return None

    def create(self, request: CreateRequest) -> ObservedMeeting:
        self._refuse_unsupported(request.meeting_id, request.fields, None)
        body = wire.create_body(request.namespace, request.meeting_id, request.fields, request.transaction_id)
        action = f"creating {request.meeting_id} in {request.organizer}'s calendar"
        event = self._run(
            self._call(
                request.organizer,
                action,
                lambda: self._client.create_event(request.organizer, body, prefer=wire.PREFER),
                write=True,
            )
        )
        event["singleValueExtendedProperties"] = body["singleValueExtendedProperties"]
        return self._observe(event, request.organizer)

    def update(self, request: UpdateRequest) -> ObservedMeeting:
        self._refuse_unsupported(request.meeting_id, request.fields, request.changed)
        moved = request.meeting_id != request.previous_meeting_id
        attendees_only = bool(request.changed) and request.changed <= ATTENDEE_FIELDS and not moved
        body = wire.event_properties(request.fields, wire.graph_properties(request.changed, request.fields))
        if not attendees_only:
            body["singleValueExtendedProperties"] = wire.ownership_properties(
                request.namespace, request.meeting_id, request.fields
            )
        organizer, action = request.organizer, f"updating {request.meeting_id} in {request.organizer}'s calendar"
        event = self._run(
            self._call(
                organizer,
                action,
                lambda: self._client.update_event(
                    organizer, request.item_id, body, if_match=wire.etag(request.change_key), prefer=wire.PREFER
                ),
                write=True,
            )
        )
        if attendees_only:
            # The record was not rewritten: read it back rather than guess it.
            event = self._run(self._get(organizer, request.item_id, f"reading {request.meeting_id} back"))
        else:
            event["singleValueExtendedProperties"] = body["singleValueExtendedProperties"]
        return self._observe(event, organizer)

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

    def _refuse_unsupported(self, meeting_id: str, fields: Mapping[str, Any], changed: frozenset[str] | None) -> None:
        unsupported = wire.unsupported_fields(fields, changed)
        if unsupported:
            raise RequestRejectedError(
                f"{meeting_id} uses {' and '.join(unsupported)}, which the Graph backend cannot write yet"
                " (occurrence skips and overrides)."
            )

    async def _list(self, organizer: str, filter: str, action: str) -> list[dict[str, Any]]:
        expand = wire.expand_ownership()
        page = await self._call(
            organizer,
            action,
            lambda: self._client.list_events(
                organizer, filter=filter, expand=expand, select=wire.SELECT, top=self.page_size, prefer=wire.PREFER
            ),
            write=False,
        )
        events = list(page.value)
        while page.next_link:
            page = await self._call(organizer, action, self._next_page(organizer, page.next_link), write=False)
            events.extend(page.value)
        return events

    def _next_page(self, organizer: str, link: str) -> Callable[[], Awaitable[Any]]:
        return lambda: self._client.list_next(organizer, link, prefer=wire.PREFER)

    async def _get(self, organizer: str, item_id: str, action: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            organizer,
            action,
            lambda: self._client.get_event(
                organizer, item_id, expand=wire.expand_ownership(), select=wire.SELECT, prefer=wire.PREFER
            ),
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
                raise _translate(failure, mailbox, action, attempt) from caught
            await self._sleep(delay)

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


def _translate(failure: Failure, mailbox: str, action: str, attempts: int) -> ProviderError:
    """One classified failure as the project's error, in a sentence naming what was being done."""
    status = failure.status
    detail = f"{failure.code}: {failure.message}" if failure.code else failure.message
    detail = f" ({detail.rstrip('.')})" if detail else ""
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
        return ThrottledError(
            f"Microsoft Graph kept throttling {mailbox} while {action} ({attempts} attempts){detail}."
        )
    if failure.kind in ("timeout", "transport", "connect") or (status or 0) >= 500 or status in (409, 503):
        return TransientError(
            f"Microsoft Graph did not complete {action}{detail}; if it was a write, its outcome is unknown."
        )
    if failure.kind == "http":
        return RequestRejectedError(f"Microsoft Graph rejected {action}{detail}.")
    return ProviderError(f"{action[0].upper()}{action[1:]} failed unexpectedly{detail}.")
