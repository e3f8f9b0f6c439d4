"""`POST /v1.0/$batch`: JSON batching as Graph documents it (concepts/json-batching.md).

The envelope is `{"requests": [{"id", "method", "url", "headers"?, "body"?, "dependsOn"?}]}`, at
most 20 requests, `url` relative to the version root (`/users/...`), ids unique (ignoring case),
`headers` with a `Content-Type` whenever a `body` is given. A malformed envelope is answered 400 as
a whole; a parseable one 200, with `{"responses": [{"id", "status", "headers", "body"}]}`, one per
request (JSON bodies as objects, others base64), whatever each request's own status. A request
whose `dependsOn` names one that failed is answered 424 without being run.

Each request is served as if it had come alone (`serve_one`), so it is evaluated against the
mailbox's limits individually (a 429 `ApplicationThrottled` with its own `Retry-After` in its
headers, as concepts/throttling.md describes), counts against the 10,000 per 10 minutes, and
takes injected faults like any request. Graph forwards at most 4 requests of an unordered batch to
Outlook at a time (includes/throttling-outlook.md); the emulator serves them one after another, in
the order given (inferred: the documentation leaves the order open, and one at a time is within the
limit). What the emulator answers for a request whose own answer would be a dropped connection is
not documented: it drops the whole batch's connection (inferred), as a crashed front end would.
The error messages of a malformed envelope are inferred except "Invalid batch payload format"
for an absolute URL (microsoftgraph/microsoft-graph-docs-contrib#8576, reference/graph.md E.4).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.emulator.graph.odata import ODataError
from reconciler.emulator.server import Request, Response

#: Graph's documented limit of requests in one batch.
MAX_REQUESTS = 20


def is_batch(request: Request) -> bool:
    """Whether the request addresses `/v1.0/$batch` (the `$` possibly percent-encoded)."""
    path = request.target.split("?", 1)[0].replace("%24", "$").rstrip("/")
    return path.lower() == "/v1.0/$batch"


def serve_batch(request: Request, serve_one: Callable[[Request], Response]) -> dict[str, Any]:
    """The `responses` document of a batch, each request served by `serve_one`; ODataError (400)
    for a malformed envelope. A dropped connection in any request is passed on as `_Dropped`."""
    if request.method != "POST":
        raise ODataError(405, "Request_BadRequest", f"The HTTP method '{request.method}' is not allowed here.")
    items = _requests(request)
    responses: list[dict[str, Any]] = []
    failed: set[str] = set()
    for item in items:
        key = str(item["id"]).lower()
        if any(str(dependency).lower() in failed for dependency in item.get("dependsOn") or ()):
            failed.add(key)
            responses.append({"id": item["id"], "status": 424, "body": _failed_dependency()})
            continue
        answer = serve_one(_inner_request(item, request))
        if answer.drop_connection:
            raise Dropped
        if answer.status >= 400:
            failed.add(key)
        responses.append(_response(item["id"], answer))
    return {"responses": responses}


class Dropped(Exception):
    """A request in the batch was answered with a dropped connection."""


def _requests(request: Request) -> list[Mapping[str, Any]]:
    try:
        envelope = json.loads(request.body) if request.body else None
    except ValueError as error:
        raise ODataError(400, "BadRequest", "Invalid batch payload format.") from error
    items = envelope.get("requests") if isinstance(envelope, dict) else None
    if not isinstance(items, list) or not items:
        raise ODataError(400, "BadRequest", "Invalid batch payload format.")
    if len(items) > MAX_REQUESTS:
        raise ODataError(400, "BadRequest", f"The batch request exceeds the limit of {MAX_REQUESTS} requests.")
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("id", "method", "url")):
            raise ODataError(400, "BadRequest", "Invalid batch payload format.")
        key = item["id"].lower()
        if key in seen:
            raise ODataError(400, "BadRequest", f"Batch request ids must be unique; '{item['id']}' is repeated.")
        seen.add(key)
        if "://" in item["url"]:
            raise ODataError(400, "BadRequest", "Invalid batch payload format.")
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise ODataError(400, "BadRequest", "Invalid batch payload format.")
        if "body" in item and "content-type" not in {str(name).lower() for name in headers}:
            raise ODataError(400, "BadRequest", "A batch request with a body must have a Content-Type header.")
    return items


def _inner_request(item: Mapping[str, Any], envelope: Request) -> Request:
    """One batched request as a request of its own: the envelope's headers (authorization,
    client-request-id) under the item's own."""
    url = str(item["url"])
    target = "/v1.0" + (url if url.startswith("/") else "/" + url)
    headers = {
        name: value for name, value in envelope.headers.items() if name not in ("content-length", "content-type")
    }
    headers.update({str(name).lower(): str(value) for name, value in (item.get("headers") or {}).items()})
    body = item.get("body")
    if body is None:
        raw = b""
    elif isinstance(body, str):
        raw = base64.b64decode(body)
    else:
        raw = json.dumps(body).encode()
    return Request(str(item["method"]).upper(), target, headers, raw)


def _response(request_id: str, answer: Response) -> dict[str, Any]:
    headers = {name: value for name, value in answer.headers.items() if name.lower() != "content-length"}
    out: dict[str, Any] = {"id": request_id, "status": answer.status, "headers": headers}
    if answer.body:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if content_type.startswith("application/json"):
            out["body"] = json.loads(answer.body)
        else:
            out["body"] = base64.b64encode(answer.body).decode()
    return out


def _failed_dependency() -> dict[str, Any]:
    return {"error": {"code": "FailedDependency", "message": "A request this one depends on failed."}}
