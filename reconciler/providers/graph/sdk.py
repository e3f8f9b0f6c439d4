"""The msgraph-sdk seam: plain JSON-shaped dicts in and out, failures classified.

This is the only module that imports msgraph-sdk, kiota and httpx; `GraphProvider` imports it
when it is constructed, so `meetings --help` and the other backends never load the SDK.

Choices made here (reference/graph.md section 0):

* The SDK's RetryHandler is switched off. It re-sends POST/PATCH on 429/503/504 after a fixed
  3-second extra delay, and a PATCH re-sent after a 504 that had committed comes back as a false
  412. The provider retries itself (per mailbox gate released while waiting, `Retry-After` honoured,
  writes never repeated after an unknown outcome).
* Request bodies are built as JSON by `wire`, turned into SDK models by the SDK's own JSON parser
  (so only the properties present are set and serialised: sparse PATCH bodies) and JSON `null`
  goes through `additional_data`.
* Answers are taken raw (kiota's NativeResponseHandler) and read as JSON. msgraph-sdk's model
  deserialisation costs about 16 ms per event (`Entity.get_field_deserializers` re-runs thousands
  of imports on every call): 8 s for one page of 500 events, against 0.1 s for `json`. Reading raw
  JSON also means the SDK's case-sensitive enum parsing cannot silently turn a value into None;
  `wire` compares enum values case-insensitively. Error answers become `GraphHTTPError`.
* Paging follows `@odata.nextLink` by hand with the Prefer headers on every page (PageIterator
  drops them), for `/events` and `/instances` alike; `$batch` is not used.
* msgraph-core's `AsyncGraphTransport` has no `aclose()`, so closing the client would leave the
  connection pool open; `aclose` closes the pools beneath it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.native_response_handler import NativeResponseHandler
from kiota_http.middleware.options import ResponseHandlerOption, RetryHandlerOption
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

# The request builders the calls below walk through (the `noqa: F401` imports here and below) are
# imported now rather than lazily on first use: the provider imports this module with msgraph's
# import-time DeprecationWarnings silenced.
from msgraph.generated.users.item.calendar.calendar_request_builder import CalendarRequestBuilder  # noqa: F401
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
    GetSchedulePostRequestBody,
)
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_request_builder import (  # noqa: F401
    GetScheduleRequestBuilder,
)
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody
from msgraph.generated.users.item.events.item.cancel.cancel_request_builder import CancelRequestBuilder  # noqa: F401
from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder
from msgraph.generated.users.item.events.item.instances.instances_request_builder import InstancesRequestBuilder
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder  # noqa: F401
from msgraph.generated.users.users_request_builder import UsersRequestBuilder  # noqa: F401
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_options
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory

__all__ = ["Failure", "GraphClient", "GraphHTTPError", "Page", "anonymous_auth", "azure_auth", "classify"]


def anonymous_auth() -> Any:
    """No Authorization header (the emulator on loopback)."""
    return AnonymousAuthenticationProvider()


def azure_auth(credential: Any, scopes: list[str], host: str) -> Any:
    """Bearer tokens from an azure-identity credential for `scopes`, sent only to `host`."""
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )

    return AzureIdentityAuthenticationProvider(credential, scopes=scopes, allowed_hosts=[host])


@dataclass(frozen=True)
class Page:
    value: list[dict[str, Any]]
    next_link: str | None


@dataclass(frozen=True)
class Failure:
    """A failed call in SDK-neutral terms.

    kind: `http` (an answer with a status), `connect` (nothing was sent), `timeout` and
    `transport` (the request may have reached the server), `auth` (no token), `other`.
    """

    kind: str
    status: int | None = None
    code: str = ""
    message: str = ""
    retry_after: float | None = None


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    value = headers.get("retry-after") if hasattr(headers, "get") else None
    if isinstance(value, set | list | tuple):
        value = next(iter(value), None)
    try:
        return float(str(value).strip()) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: fall back to backoff


def classify(error: BaseException) -> Failure:
    """What went wrong, whatever layer (SDK, kiota, httpx, azure-identity) raised it."""
    if isinstance(error, GraphHTTPError):
        return Failure("http", error.status, error.code, error.message, error.retry_after)
    if isinstance(error, ODataError):
        inner = error.error
        return Failure(
            "http",
            error.response_status_code,
            str(getattr(inner, "code", "") or ""),
            str(getattr(inner, "message", "") or ""),
            _retry_after(error.response_headers),
        )
    if isinstance(error, APIError):
        return Failure(
            "http", error.response_status_code, "", str(error.message or ""), _retry_after(error.response_headers)
        )
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure("connect", message=str(error) or type(error).__name__)
    if isinstance(error, httpx.TimeoutException):
        return Failure("timeout", message=str(error) or type(error).__name__)
    if isinstance(error, httpx.TransportError):
        return Failure("transport", message=str(error) or type(error).__name__)
    try:
        from azure.core.exceptions import ClientAuthenticationError
    except ImportError:  # pragma: no cover - azure-core comes with msgraph-sdk
        ClientAuthenticationError = ()  # type: ignore[assignment,misc]
    if isinstance(error, ClientAuthenticationError):
        return Failure("auth", message=str(getattr(error, "message", None) or error))
    return Failure("other", message=f"{type(error).__name__}: {error}")


def _config(prefer: Iterable[str], *, query: Any = None, if_match: str | None = None) -> RequestConfiguration[Any]:
    """Prefer and If-Match headers, the query, and the native response handler (raw answers)."""
    config: RequestConfiguration[Any] = (
        RequestConfiguration(query_parameters=query) if query else RequestConfiguration()
    )
    config.options = [ResponseHandlerOption(NativeResponseHandler())]
    for value in prefer:
        config.headers.add("Prefer", value)
    if if_match is not None:
        config.headers.add("If-Match", if_match)
    return config


def event_model(body: Mapping[str, Any]) -> Any:
    """An SDK `Event` holding exactly the properties of `body` (JSON `null` kept as null)."""
    node = JsonParseNodeFactory().get_root_parse_node("application/json", json.dumps(body).encode())
    event = node.get_object_value(Event)
    for key, value in body.items():
        if value is None:
            event.additional_data[key] = None
    return event


class GraphHTTPError(Exception):
    """A non-2xx answer, read from the raw response."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def _answer(response: Any) -> Any:
    """The JSON of a raw httpx response, or GraphHTTPError for an error status."""
    if response is None:
        return None
    if response.status_code >= 400:
        code, message = "", response.reason_phrase or ""
        try:
            error = response.json().get("error") or {}
            code, message = str(error.get("code") or ""), str(error.get("message") or message)
        except (ValueError, AttributeError):
            pass  # an HTML 502 from a gateway, an empty body: the status says enough
        raise GraphHTTPError(response.status_code, code, message, _retry_after(response.headers))
    return response.json() if response.content else None


def _page(answer: Any) -> Page:
    return Page(list(answer.get("value") or []), answer.get("@odata.nextLink"))


class GraphClient:
    """The few Graph calls the provider makes, through msgraph-sdk, on plain dicts.

    Create it and call it on one event loop (the provider's loop thread).
    """

    def __init__(self, base_url: str, auth_provider: Any, *, trust_env: bool, timeout: float) -> None:
        options = dict(graph_options)
        options[RetryHandlerOption.get_key()] = RetryHandlerOption(delay=0, max_retries=0, should_retry=False)
        plain = httpx.AsyncClient(trust_env=trust_env, timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)))
        # msgraph-core wraps each transport in an AsyncGraphTransport that has no aclose(), so closing
        # the client never closes the connection pools beneath: keep them to close ourselves.
        self._transports = [plain._transport, *(t for t in plain._mounts.values() if t is not None)]
        self._http = GraphClientFactory.create_with_default_middleware(client=plain, options=options)
        adapter = GraphRequestAdapter(auth_provider, client=self._http)
        adapter.base_url = base_url.rstrip("/")
        self._client = GraphServiceClient(request_adapter=adapter)

    def _events(self, mailbox: str) -> Any:
        return self._client.users.by_user_id(mailbox).events

    async def list_events(
        self, mailbox: str, *, filter: str, expand: str, select: Iterable[str], top: int, prefer: Iterable[str]
    ) -> Page:
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=filter, expand=[expand], select=list(select), top=top
        )
        return _page(_answer(await self._events(mailbox).get(_config(prefer, query=query))))

    async def list_next(self, mailbox: str, link: str, *, prefer: Iterable[str]) -> Page:
        """The page at an `@odata.nextLink`: the link already holds the query, the headers do not."""
        return _page(_answer(await self._events(mailbox).with_url(link).get(_config(prefer))))

    async def get_event(
        self, mailbox: str, event_id: str, *, expand: Iterable[str], select: Iterable[str], prefer: Iterable[str]
    ) -> dict[str, Any]:
        query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
            expand=list(expand), select=list(select)
        )
        return dict(_answer(await self._events(mailbox).by_event_id(event_id).get(_config(prefer, query=query))))

    async def list_instances(
        self, mailbox: str, event_id: str, *, start: str, end: str, select: Iterable[str], prefer: Iterable[str]
    ) -> Page:
        """The first page of a series master's occurrences and exceptions in [start, end) (ISO 8601, UTC)."""
        query = InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
            start_date_time=start, end_date_time=end, select=list(select)
        )
        builder = self._events(mailbox).by_event_id(event_id).instances
        return _page(_answer(await builder.get(_config(prefer, query=query))))

    async def create_event(self, mailbox: str, body: Mapping[str, Any], *, prefer: Iterable[str]) -> dict[str, Any]:
        return dict(_answer(await self._events(mailbox).post(event_model(body), _config(prefer))))

    async def update_event(
        self, mailbox: str, event_id: str, body: Mapping[str, Any], *, if_match: str, prefer: Iterable[str]
    ) -> dict[str, Any]:
        builder = self._events(mailbox).by_event_id(event_id)
        return dict(_answer(await builder.patch(event_model(body), _config(prefer, if_match=if_match))))

    async def cancel_event(
        self, mailbox: str, event_id: str, comment: str | None, *, if_match: str, prefer: Iterable[str]
    ) -> None:
        builder = self._events(mailbox).by_event_id(event_id).cancel
        _answer(await builder.post(CancelPostRequestBody(comment=comment), _config(prefer, if_match=if_match)))

    async def delete_event(self, mailbox: str, event_id: str, *, prefer: Iterable[str]) -> None:
        _answer(await self._events(mailbox).by_event_id(event_id).delete(_config(prefer)))

    async def get_schedule(
        self, mailbox: str, schedules: Iterable[str], start: str, end: str, *, interval: int
    ) -> list[dict[str, Any]]:
        """`POST /users/{mailbox}/calendar/getSchedule` for [start, end) (ISO 8601 wall times in
        UTC): the answer's `value`, one scheduleInformation per address."""
        body = GetSchedulePostRequestBody(
            schedules=list(schedules),
            start_time=DateTimeTimeZone(date_time=start, time_zone="UTC"),
            end_time=DateTimeTimeZone(date_time=end, time_zone="UTC"),
            availability_view_interval=interval,
        )
        builder = self._client.users.by_user_id(mailbox).calendar.get_schedule
        return list((_answer(await builder.post(body, _config(()))) or {}).get("value") or [])

    async def aclose(self) -> None:
        await self._http.aclose()
        for transport in self._transports:
            await transport.aclose()
