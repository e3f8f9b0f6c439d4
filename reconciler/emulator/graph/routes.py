"""The Graph emulator's route table: method and path pattern -> operation.

A request's path is `/v1.0/users/{id or UPN}/<rest>` (segments percent-decoded, `//` collapsed, the
UPN case-insensitive); `<rest>` is matched segment by segment against `ROUTES`, literal segments
ignoring case. Mailbox routes match `<rest>` itself; calendar routes match it after an optional
`calendar` or `calendars/{id}` prefix. A path that matches a pattern but not its method is 405;
one that matches no pattern is Graph's 400 "Resource not found for the segment". The operation
names what the other layers key on (limits, faults, statistics) and which handler serves it.

To add a route: a `Route` in `ROUTES` (its operation new or existing) and, for a new operation,
its handler in `handlers.Handlers.table`. `$batch` is not in the table: the app recognises the
envelope first (`batch.is_batch`) and serves each request inside through these routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import unquote, urlsplit

from reconciler.emulator.graph import people
from reconciler.emulator.graph.odata import ODataError
from reconciler.emulator.server import Request


class Scope(Enum):
    """Where a pattern is matched: right under the user, or under the user's (default) calendar."""

    MAILBOX = "mailbox"
    CALENDAR = "calendar"


#: A compiled segment: a lower-cased literal, a literal prefix (`"prefix*"`), or None for `{id}`.
_Segment = str | None


@dataclass(frozen=True)
class Route:
    """One route: `method` on paths matching `pattern` (segments joined by `/`, `{id}` an event id,
    a trailing `*` in a segment a prefix) is the operation `operation`."""

    method: str
    pattern: str
    operation: str
    scope: Scope = Scope.CALENDAR
    #: The compiled pattern, one entry per segment.
    segments: tuple[_Segment, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        compiled = tuple(None if part == "{id}" else part.lower() for part in self.pattern.split("/"))
        object.__setattr__(self, "segments", compiled)

    def matches(self, lowered: list[str]) -> bool:
        """Whether the lower-cased segments of `<rest>` fit the pattern (the method aside)."""
        if len(lowered) != len(self.segments):
            return False
        for want, got in zip(self.segments, lowered, strict=True):
            if want is None:
                continue
            if want.endswith("*") and not got.startswith(want[:-1]):
                return False
            if not want.endswith("*") and got != want:
                return False
        return True


@dataclass(frozen=True)
class RouteMatch:
    """A request resolved: whose mailbox, which operation, the event id named (if any), and the
    raw path (for nextLinks)."""

    mailbox: str
    operation: str
    event_id: str | None = None
    path: str = ""


ROUTES: tuple[Route, ...] = (
    Route("GET", "outlook/supportedTimeZones*", "timezones", Scope.MAILBOX),
    Route("GET", "calendarView", "calendarview"),
    Route("POST", "getSchedule", "getschedule"),
    Route("GET", "events", "list"),
    Route("POST", "events", "create"),
    Route("GET", "events/{id}", "get"),
    Route("PATCH", "events/{id}", "update"),
    Route("DELETE", "events/{id}", "delete"),
    Route("POST", "events/{id}/cancel", "cancel"),
    Route("GET", "events/{id}/instances", "instances"),
    *(Route("POST", f"events/{{id}}/{answer}", answer) for answer in people.ANSWERS),
)


def resolve(request: Request) -> RouteMatch:
    """The route of `request`, or the ODataError Graph answers for a path or method it does not serve."""
    raw_path = urlsplit(request.target).path
    segments = [unquote(s) for s in raw_path.split("/") if s]
    if not segments or segments[0] != "v1.0":
        version = segments[0] if segments else ""
        raise ODataError(400, "BadRequest", f"Invalid version: {version}")
    rest = segments[1:]
    if rest[:1] == ["me"]:
        raise ODataError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
    if len(rest) < 3 or rest[0].lower() != "users":
        raise ODataError(400, "BadRequest", f"Resource not found for the segment '{rest[0] if rest else ''}'.")
    mailbox, rest = rest[1].lower(), rest[2:]
    found = _match(request, rest, Scope.MAILBOX)
    if found is not None:
        return RouteMatch(mailbox, found.operation, path=raw_path)
    lowered = [s.lower() for s in rest]
    if lowered[:1] == ["calendar"]:
        rest = rest[1:]
    elif lowered[:1] == ["calendars"] and len(rest) >= 2:
        rest = rest[2:]
    found = _match(request, rest, Scope.CALENDAR)
    if found is None:
        events = len(rest) >= 3 and rest[0].lower() == "events"
        segment = rest[2] if events else rest[0] if rest else ""
        raise ODataError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    event_id = rest[1] if len(rest) >= 2 and None in found.segments else None
    return RouteMatch(mailbox, found.operation, event_id, raw_path)


def _match(request: Request, rest: list[str], scope: Scope) -> Route | None:
    """The route of `scope` for this path and method; 405 when the path fits only other methods."""
    lowered = [s.lower() for s in rest]
    fitting = [route for route in ROUTES if route.scope is scope and route.matches(lowered)]
    for route in fitting:
        if route.method == request.method:
            return route
    if fitting:
        raise ODataError(405, "Request_BadRequest", f"The HTTP method '{request.method}' is not allowed here.")
    return None
