"""Reading a Graph request: its query options, JSON body and If-Match header, as Graph refuses them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from reconciler.emulator.graph.odata import ODataError
from reconciler.emulator.server import Request


def refuse_options(query: Mapping[str, str], supported: frozenset[str] | set[str]) -> None:
    """400 for the first (by name) query option the operation does not support."""
    unsupported = set(query) - set(supported)
    if unsupported:
        name = sorted(unsupported)[0]
        raise ODataError(400, "BadRequest", f"Query option '{name}' is not supported by the emulator.")


def query_options(target: str) -> dict[str, str]:
    """Query options by lower-cased name (`$filter` and `filter` alike), values percent-decoded."""
    out: dict[str, str] = {}
    for part in urlsplit(target).query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = unquote_plus(name).lower()
        if not name.startswith("$"):
            name = "$" + name
        out[name] = unquote_plus(value)
    return out


def non_negative(query: Mapping[str, str], name: str) -> int | None:
    """The integer value of `$top` or `$skip` (None when absent); 400 for anything else, and for `$top=0`."""
    if name not in query:
        return None
    value = query[name]
    if not value.isdigit() or (name == "$top" and int(value) == 0):
        raise ODataError(400, "BadRequest", f"Invalid value '{value}' for query option '{name}'.")
    return int(value)


def read_body(request: Request) -> Any:
    """The JSON body (None when empty); Graph's 400 when it is not JSON."""
    if not request.body:
        return None
    try:
        return json.loads(request.body)
    except ValueError as error:
        raise ODataError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is"
            " set and payload is of valid JSON format.",
        ) from error


def read_if_match(value: str | None) -> str | None:
    """The change key named by an If-Match header (`W/"<key>"`); None for absent or `*`."""
    if value is None or value.strip() == "*":
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')
