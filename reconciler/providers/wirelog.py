"""The wire log (`--wire-log FILE`, `MEETINGS_WIRE_LOG`): every HTTP request and response a
provider exchanges with Graph or EWS, one JSON object per line, with credentials redacted.

Each line holds `at` (UTC, ISO 8601), `backend`, `method`, `url`, `status` (None when no answer came),
`elapsed_ms`, `request` and `response` (each `headers` and `body` text), and `error` (why no answer
came, else None). A person reads it with `jq` or a text editor; a tool reads it line by line.

Redacted, whatever the backend: the values of `Authorization`, `Proxy-Authorization`, `Cookie`,
`Set-Cookie` and `WWW-Authenticate` (the scheme is kept: `Bearer <redacted>`, `NTLM <redacted>`),
of any header, query parameter, form field or JSON key whose name speaks of a secret, password,
token, assertion or credential (an OAuth token request's `client_secret`; in a query or form also
`code` and `sig`), of `Password` and
`BinarySecret` XML elements, and anything shaped like a JWT anywhere in a body. The log appends, so
one file can collect every command of a CI job; each line is written (and the file closed) as the
exchange ends, so a crash loses nothing.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REDACTED = "<redacted>"
#: Environment variable naming the wire log file when `--wire-log` is not given.
WIRE_LOG_VARIABLE = "MEETINGS_WIRE_LOG"

_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "www-authenticate", "proxy-authenticate"})
#: Authentication schemes, kept in a redacted header: which one was used is worth knowing.
_SCHEMES = frozenset({"basic", "bearer", "digest", "negotiate", "ntlm", "pop"})
_COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})
_SECRET_NAME = re.compile(r"secret|passw|token|assertion|credential|api[-_]?key|signature", re.I)
#: In a query or a form, `code` is an OAuth authorization code and `sig` a shared-access signature
#: (in JSON, `code` is an error code, kept).
_SECRET_FIELD = re.compile(rf"{_SECRET_NAME.pattern}|^code$|^sig$", re.I)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_XML_SECRET = re.compile(
    r"(<(?:\w+:)?(?:Password|BinarySecret|Token)\b[^>]*>)[^<]*(</(?:\w+:)?(?:Password|BinarySecret|Token)>)", re.I
)


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers by name (repeated ones joined with ", "), credentials redacted."""
    found: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower in _AUTH_HEADERS:
            scheme = value.strip().split(" ", 1)[0]  # which scheme was used is worth knowing
            value = f"{scheme} {REDACTED}" if scheme.lower() in _SCHEMES else REDACTED
        elif lower in _COOKIE_HEADERS or _SECRET_NAME.search(lower):
            value = REDACTED
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def redact_url(url: str) -> str:
    """`url` with the values of secret-looking query parameters redacted."""
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url
    return urllib.parse.urlunsplit(parts._replace(query=_redact_form(parts.query)))


def _redact_form(text: str) -> str:
    """Form fields (or a query) with secret values redacted; unchanged, byte for byte, without any."""
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
    if not any(_SECRET_FIELD.search(k) for k, _ in pairs):
        return text
    return urllib.parse.urlencode([(k, REDACTED if _SECRET_FIELD.search(k) else v) for k, v in pairs])


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_NAME.search(k) else _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redact_body(body: bytes | str | None, content_type: str | None) -> str | None:
    """A body as text with credentials redacted (None without a body; binary as a byte count)."""
    if body is None or body == b"" or body == "":
        return None
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(body)} bytes, not UTF-8 text>"
    else:
        text = body
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        text = _redact_form(text)
    elif kind.endswith("json"):
        with contextlib.suppress(ValueError):  # not JSON after all: the patterns below still apply
            text = json.dumps(_redact_json(json.loads(text)), ensure_ascii=False)
    text = _XML_SECRET.sub(rf"\1{REDACTED}\2", text)
    return _JWT.sub(REDACTED, text)


def _content_type(headers: Mapping[str, str]) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), None)


class WireLog:
    """Appends one JSON line per exchange to `path`; safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(
        self,
        *,
        backend: str,
        method: str,
        url: str,
        request_headers: Iterable[tuple[str, str]],
        request_body: bytes | str | None,
        status: int | None,
        response_headers: Iterable[tuple[str, str]] = (),
        response_body: bytes | str | None = None,
        elapsed_ms: float,
        error: str | None = None,
    ) -> None:
        sent, received = redact_headers(request_headers), redact_headers(response_headers)
        line = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "backend": backend,
            "method": method,
            "url": redact_url(url),
            "status": status,
            "elapsed_ms": round(elapsed_ms, 1),
            "request": {"headers": sent, "body": redact_body(request_body, _content_type(sent))},
            "response": {"headers": received, "body": redact_body(response_body, _content_type(received))},
            "error": error,
        }
        text = json.dumps(line, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as file:
            file.write(text)
