"""The msgraph-sdk seam: plain JSON-shaped dicts in and out, failures classified.

This is the only module that imports msgraph-sdk, kiota and httpx; `GraphProvider` imports it
when it is constructed, so `meetings --help` and the other backends never load the SDK.

Choices made here (reference/graph.md section 0):

* The SDK's RetryHandler is switched off. It re-sends POST/PATCH on 429/503/504 after a fixed
  3-second extra delay, and a PATCH re-sent after a 504 that had committed comes back as a false
  412. The provider retries itself (per mailbox gate released while waiting, `Retry-After` honoured,
  writes never repeated after an unknown outcome).
* Request bodies are built as JSON by `wire` and sent as those bytes (`_json_request`): a kiota
  `RequestInformation` on the generated builder's URL template and path parameters, sent by the
  SDK's request adapter, so transport, authentication, middleware and error answers stay the
  SDK's. Turning the body into an SDK `Event` for the SDK to serialise it again cost about 30 ms
  of CPU per write (`Event` parsing re-runs its field deserialisers' imports on every call) and
  added `@odata.type` annotations that Graph's documented request bodies do not carry; the body
  now is exactly the JSON Graph documents (sparse PATCH bodies, JSON `null` kept).
* Answers are taken raw (kiota's NativeResponseHandler) and read as JSON. msgraph-sdk's model
  deserialisation costs about 16 ms per event (`Entity.get_field_deserializers` re-runs thousands
  of imports on every call): 8 s for one page of 500 events, against 0.1 s for `json`. Reading raw
  JSON also means the SDK's case-sensitive enum parsing cannot silently turn a value into None;
  `wire` compares enum values case-insensitively. Error answers become `GraphHTTPError`.
* Paging follows `@odata.nextLink` by hand with the Prefer headers on every page (PageIterator
  drops them), for `/events` and `/instances` alike.
* Series masters are read by id in `$batch`es of up to 20 GETs (`get_events_batch`), the JSON
  written by hand (relative URLs, `headers` per request, responses matched by `id`): the SDK's
  `BatchRequestContent` is unusable (reference/graph.md G.8). Each response keeps its own status,
  so one throttled GET (429 with its own `Retry-After`) is retried alone by the provider.
* msgraph-core's `AsyncGraphTransport` has no `aclose()`, so closing the client would leave the
  connection pool open; `aclose` closes the pools beneath it too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.native_response_handler import NativeResponseHandler
from kiota_abstractions.request_information import RequestInformation
from kiota_http.middleware.options import ResponseHandlerOption, RetryHandlerOption
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
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

from reconciler.providers.wirelog import WireLog

#: Graph's limit of requests in one `$batch` (concepts/json-batching.md).
MAX_BATCH = 20

__all__ = ["MAX_BATCH", "Failure", "GraphClient", "GraphHTTPError", "Page", "anonymous_auth", "azure_auth", "classify"]


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


class LoggingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that writes every exchange of `inner` to a wire log (reading each answer
    whole first, which the SDK does anyway)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, log: WireLog) -> None:
        self._inner, self._log = inner, log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        body = await request.aread()
        try:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
        except Exception as error:
            self._write(request, body, started, error=f"{type(error).__name__}: {error}")
            raise
        self._write(request, body, started, response=response, content=content)
        return response

    def _write(
        self,
        request: httpx.Request,
        body: bytes,
        started: float,
        *,
        response: httpx.Response | None = None,
        content: bytes | None = None,
        error: str | None = None,
    ) -> None:
        self._log.record(
            backend="graph",
            method=request.method,
            url=str(request.url),
            request_headers=request.headers.multi_items(),
            request_body=body,
            status=response.status_code if response is not None else None,
            response_headers=response.headers.multi_items() if response is not None else (),
            response_body=content,
            elapsed_ms=(time.monotonic() - started) * 1000,
            error=error,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


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


def _json_request(
    method: Method,
    url_template: str,
    path_parameters: Mapping[str, Any],
    body: Mapping[str, Any],
    config: RequestConfiguration[Any],
) -> Any:
    """A request to a builder's URL with `body` as its JSON content, configured like the SDK's own
    `to_post_request_information`/`to_patch_request_information` (headers, options, Accept)."""
    info = RequestInformation(method, url_template, dict(path_parameters))
    info.configure(config)
    info.headers.try_add("Accept", "application/json")
    info.headers.try_add("Content-Type", "application/json")
    info.content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return info


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


def _batched(item: Mapping[str, Any] | None) -> dict[str, Any] | GraphHTTPError:
    """One response of a `$batch`: its JSON body, or GraphHTTPError for an error status."""
    if item is None:
        return GraphHTTPError(502, "", "The batch answer holds no response for this request.", None)
    status, body = int(item.get("status") or 0), item.get("body")
    if 200 <= status < 300 and isinstance(body, dict):
        return dict(body)
    error = (body.get("error") if isinstance(body, dict) else None) or {}
    headers = {str(k).lower(): v for k, v in (item.get("headers") or {}).items()}
    code, message = str(error.get("code") or ""), str(error.get("message") or "")
    return GraphHTTPError(status, code, message or f"status {status} in a batch", _retry_after(headers))


def _page(answer: Any) -> Page:
    return Page(list(answer.get("value") or []), answer.get("@odata.nextLink"))


class GraphClient:
    """The few Graph calls the provider makes, through msgraph-sdk, on plain dicts.

    Create it and call it on one event loop (the provider's loop thread).
    """

    def __init__(
        self, base_url: str, auth_provider: Any, *, trust_env: bool, timeout: float, wire_log: WireLog | None = None
    ) -> None:
        options = dict(graph_options)
        options[RetryHandlerOption.get_key()] = RetryHandlerOption(delay=0, max_retries=0, should_retry=False)
        plain = httpx.AsyncClient(trust_env=trust_env, timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)))
        # msgraph-core wraps each transport in an AsyncGraphTransport that has no aclose(), so closing
        # the client never closes the connection pools beneath: keep them to close ourselves.
        self._transports = [plain._transport, *(t for t in plain._mounts.values() if t is not None)]
        if wire_log is not None:
            # Beneath the SDK's middleware: the log shows each request as it goes on the wire.
            plain._transport = LoggingTransport(plain._transport, wire_log)
            plain._mounts = {k: t if t is None else LoggingTransport(t, wire_log) for k, t in plain._mounts.items()}
        self._http = GraphClientFactory.create_with_default_middleware(client=plain, options=options)
        adapter = GraphRequestAdapter(auth_provider, client=self._http)
        adapter.base_url = base_url.rstrip("/")
        self._adapter = adapter
        self._client = GraphServiceClient(request_adapter=adapter)

    def _events(self, mailbox: str) -> Any:
        return self._client.users.by_user_id(mailbox).events

    async def list_events(
        self, mailbox: str, *, filter: str | None, expand: str, select: Iterable[str], top: int, prefer: Iterable[str]
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

    async def _send(self, info: Any) -> Any:
        """The raw answer to `info` (the native response handler is among its options)."""
        return await self._adapter.send_primitive_async(info, "bytes", None)

    async def create_event(self, mailbox: str, body: Mapping[str, Any], *, prefer: Iterable[str]) -> dict[str, Any]:
        events = self._events(mailbox)
        info = _json_request(Method.POST, events.url_template, events.path_parameters, body, _config(prefer))
        return dict(_answer(await self._send(info)))

    async def update_event(
        self, mailbox: str, event_id: str, body: Mapping[str, Any], *, if_match: str, prefer: Iterable[str]
    ) -> dict[str, Any]:
        builder = self._events(mailbox).by_event_id(event_id)
        config = _config(prefer, if_match=if_match)
        info = _json_request(Method.PATCH, builder.url_template, builder.path_parameters, body, config)
        return dict(_answer(await self._send(info)))

    async def get_events_batch(
        self,
        mailbox: str,
        event_ids: Sequence[str],
        *,
        expand: Iterable[str],
        select: Iterable[str],
        prefer: Iterable[str],
    ) -> list[dict[str, Any] | GraphHTTPError]:
        """Up to `MAX_BATCH` events by id in one `POST $batch` (written by hand: the SDK's batching
        sends absolute URLs and drops JSON bodies, reference/graph.md G.8), in the order of
        `event_ids`: each one's JSON, or the GraphHTTPError its own answer carries (a 429 with its
        own `Retry-After`). A failure of the batch itself raises."""
        if not 0 < len(event_ids) <= MAX_BATCH:
            raise ValueError(f"A batch holds 1 to {MAX_BATCH} requests, not {len(event_ids)}.")
        query = "$select=" + quote(",".join(select), safe=",") + "&$expand=" + quote(",".join(expand), safe="")
        path = f"/users/{quote(mailbox, safe='@')}/events/"
        headers = {"Prefer": ", ".join(prefer)}
        requests = [
            {"id": str(number), "method": "GET", "url": f"{path}{quote(event_id, safe='')}?{query}", "headers": headers}
            for number, event_id in enumerate(event_ids, 1)
        ]
        info = _json_request(Method.POST, "{+baseurl}/$batch", {}, {"requests": requests}, _config(()))
        answer = _answer(await self._send(info))
        by_id = {str(item.get("id")): item for item in (answer or {}).get("responses") or ()}
        return [_batched(by_id.get(str(number))) for number in range(1, len(event_ids) + 1)]

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
