"""Serve an emulator app on 127.0.0.1:<free port> from a background thread.

An app is any object with `handle(request) -> Response`. The server is a threading stdlib HTTP
server with Nagle's algorithm disabled (without it every loopback request costs ~40 ms) and
HTTP/1.1 keep-alive, which both msgraph-sdk (httpx) and exchangelib (requests) use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol


@dataclass(frozen=True)
class Request:
    method: str
    #: The raw request target: path and query, still percent-encoded.
    target: str
    #: Header names lower-cased.
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Close the connection without answering (a dropped connection as a client sees it).
    drop_connection: bool = False


class App(Protocol):
    def handle(self, request: Request) -> Response: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    app: App

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.app.handle(Request(self.command, self.path, headers, body))
        if response.drop_connection:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request log on stderr."""


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    server: ThreadingHTTPServer


@contextmanager
def serve(app: App, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningServer]:
    """Run `app` until the context exits; `base_url` is `http://127.0.0.1:<port>`."""
    handler = type("Handler", (_Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    # A short poll interval keeps shutdown (every test's teardown) quick.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator", daemon=True)
    thread.start()
    try:
        yield RunningServer(f"http://{host}:{server.server_address[1]}", server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
