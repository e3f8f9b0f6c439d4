"""The Graph emulator's route table: paths and methods to operations, and Graph's refusals."""

from __future__ import annotations

import pytest

from reconciler.emulator.graph.handlers import Handlers
from reconciler.emulator.graph.odata import ODataError
from reconciler.emulator.graph.routes import ROUTES, RouteMatch, resolve
from reconciler.emulator.server import Request
from reconciler.emulator.store import MailboxStore


def route(method: str, target: str) -> RouteMatch:
    return resolve(Request(method, target, {}, b""))


def refusal(method: str, target: str) -> tuple[int, str]:
    with pytest.raises(ODataError) as raised:
        route(method, target)
    return raised.value.status, raised.value.message


LEAD = "/v1.0/users/Lead@Contoso.com"
TIMEZONES = "/outlook/supportedTimeZones(TimeZoneStandard=microsoft.graph.timeZoneStandard'Windows')"


@pytest.mark.parametrize(
    ("method", "path", "operation", "event_id"),
    [
        ("GET", "/events", "list", None),
        ("POST", "/calendar/events", "create", None),
        ("PATCH", "/calendars/AQMk/events/AAMk%2Fx", "update", "AAMk/x"),
        ("GET", "//events/AAMk/Instances", "instances", "AAMk"),
        ("POST", "/events/AAMk/tentativelyAccept", "tentativelyaccept", "AAMk"),
        ("GET", "/calendarView", "calendarview", None),
        ("GET", TIMEZONES, "timezones", None),
    ],
)
def test_paths_resolve_to_the_operation_mailbox_and_event_id(
    method: str, path: str, operation: str, event_id: str | None
) -> None:
    resolved = route(method, f"{LEAD}{path}?$top=5")
    assert resolved == RouteMatch("lead@contoso.com", operation, event_id, f"{LEAD}{path}")


def test_a_path_served_for_other_methods_is_405_and_an_unknown_one_names_its_segment() -> None:
    assert refusal("PUT", "/v1.0/users/lead@contoso.com/events/AAMk") == (
        405,
        "The HTTP method 'PUT' is not allowed here.",
    )
    assert refusal("GET", "/v1.0/users/lead@contoso.com/events/AAMk/attachments")[1] == (
        "Resource not found for the segment 'attachments'."
    )
    assert refusal("GET", "/v1.0/users/lead@contoso.com/calendar/outlook/supportedTimeZones")[1] == (
        "Resource not found for the segment 'outlook'."
    )
    assert refusal("GET", "/beta/users/lead@contoso.com/events") == (400, "Invalid version: beta")
    assert refusal("GET", "/v1.0/me/events")[1] == "/me request is only valid with delegated authentication flow."


def test_every_operation_of_the_route_table_has_a_handler_and_every_handler_a_route(store: MailboxStore) -> None:
    handlers = Handlers(store, page_size=10, url_safe_ids=True)
    assert {r.operation for r in ROUTES} == set(handlers.table)
