"""How every layer of the Graph emulator answers: Graph's common headers, JSON bodies and errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator.graph.odata import ODataError
from reconciler.emulator.server import Request, Response

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
#: The message of Graph's 412 ErrorIrresolvableConflict.
IRRESOLVABLE = (
    "The send or update operation could not be performed because the change key passed in the request"
    " does not match the current change key for the item."
)


def headers(request: Request, request_id: str, applied: Sequence[str] = ()) -> dict[str, str]:
    """`request-id`, the client's `client-request-id` (or ours), no caching, `Preference-Applied`."""
    out = {
        "request-id": request_id,
        "client-request-id": request.headers.get("client-request-id", request_id),
        "Cache-Control": "no-cache",
    }
    if applied:
        out["Preference-Applied"] = ", ".join(applied)
    return out


def json_response(
    status: int, body: Any, request: Request, request_id: str, applied: Sequence[str] = (), *, etag: str | None = None
) -> Response:
    out = headers(request, request_id, applied)
    out["Content-Type"] = JSON_TYPE
    if etag is not None:
        out["ETag"] = f'W/"{etag}"'
    return Response(status, out, json.dumps(body, ensure_ascii=False).encode())


def empty(status: int, request: Request, request_id: str) -> Response:
    return Response(status, headers(request, request_id))


def error_response(error: ODataError, request: Request, request_id: str, clock: Callable[[], datetime]) -> Response:
    """Graph's error body: code, message and an innerError with the date (no fraction, no offset)."""
    out = headers(request, request_id)
    out.update(error.headers)
    out["Content-Type"] = JSON_TYPE
    inner = {
        "date": clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": out["client-request-id"],
    }
    body = {"error": {"code": error.code, "message": error.message, "innerError": inner}}
    return Response(error.status, out, json.dumps(body).encode())


def not_found() -> ODataError:
    return ODataError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
