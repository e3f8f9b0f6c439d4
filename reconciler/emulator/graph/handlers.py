"""The Graph emulator's handlers: each operation of the route table (`routes`) over the mailbox store.

`Handlers.table` maps an operation to its handler; `dispatch` serves a resolved request with it.
Handlers raise ODataError for Graph's refusals (the app renders them) and answer with `responses`.
See the app's module docstring for what each operation does and mails.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from reconciler.emulator import series
from reconciler.emulator.graph import events, ids, instances, people, render
from reconciler.emulator.graph.odata import (
    ODataError,
    compile_event_filter,
    evaluate_select,
    parse_expand,
    parse_prefer,
)
from reconciler.emulator.graph.query import non_negative, query_options, read_body, read_if_match, refuse_options
from reconciler.emulator.graph.responses import IRRESOLVABLE, empty, json_response, not_found
from reconciler.emulator.graph.routes import RouteMatch
from reconciler.emulator.server import Request, Response
from reconciler.emulator.store import (
    ItemNotFound,
    MailboxStore,
    OccurrenceCancelled,
    OccurrenceNotFound,
    SendMode,
    StaleChangeKey,
    StoredItem,
)

#: Operations that read: `Prefer: outlook.timezone` applies to them.
_READS = frozenset({"list", "get", "instances", "calendarview"})
_T = TypeVar("_T")
#: An event of a calendar view: (UTC start, position of its item in the mailbox, its renderer).
_Entry = tuple[datetime, int, Callable[[], dict[str, Any]]]
_LINK_SAFE = "$,()'=:/@ "

_VIEW_OPTIONS = frozenset({"$startdatetime", "$enddatetime", "$select", "$top", "$skip", "$count"})
#: Query option names as Graph spells them in a nextLink (`query_options` keys them lower-cased with `$`).
_LINK_NAMES = {"$startdatetime": "startDateTime", "$enddatetime": "endDateTime"}


@dataclass(frozen=True)
class _Call:
    """One request being served, with what every operation needs to answer it."""

    route: RouteMatch
    request: Request
    request_id: str
    query: Mapping[str, str]
    prefer: Mapping[str, str]
    view: render.View
    immutable: bool
    #: Preferences honoured so far (`Preference-Applied`); paging may add one.
    applied: list[str]


class _Raced(Exception):
    """A write without If-Match lost a race with another write: read the item again and retry."""


def _store_write(write: Callable[[], _T], *, raced: bool = False) -> _T:
    """Run a store write, its refusals as Graph answers them: a stale change key is 412 (or
    `_Raced` when `raced`: the client sent no If-Match), a missing item or occurrence 404."""
    try:
        return write()
    except StaleChangeKey as error:
        if raced:
            raise _Raced from error
        raise ODataError(412, "ErrorIrresolvableConflict", IRRESOLVABLE) from error
    except (ItemNotFound, OccurrenceNotFound, OccurrenceCancelled) as error:
        raise not_found() from error


def _send_mode(write: events.EventWrite) -> SendMode:
    """Graph mails only the attendees added and removed when a PATCH holds nothing but `attendees`."""
    return SendMode.CHANGED if write.properties == {"attendees"} else SendMode.ALL


def _live_occurrence(item: StoredItem, original: date) -> series.Occurrence:
    """The occurrence of `item` originally on `original`; 404 when there is none or it was cancelled."""
    occurrence = series.find(item.doc, original)
    if occurrence is None or occurrence.cancelled:
        raise not_found()
    return occurrence


class Handlers:
    """The operations over `store`: pages of `page_size` unless the client asks otherwise, event ids
    URL-safe unless `url_safe_ids` is False (the EWS alphabet, to test clients' path encoding)."""

    def __init__(self, store: MailboxStore, *, page_size: int, url_safe_ids: bool) -> None:
        self.store = store
        self.page_size = page_size
        self.url_safe_ids = url_safe_ids
        event = self._event
        #: Operation (`routes.ROUTES`) -> handler.
        self.table: dict[str, Callable[[_Call], Response]] = {
            "timezones": self._timezones,
            "list": self._list,
            "create": self._create,
            "calendarview": self._calendar_view,
            "getschedule": self._schedule,
            "get": event,
            "update": event,
            "delete": event,
            "cancel": event,
            "instances": event,
            **dict.fromkeys(people.ANSWERS, event),
        }

    def dispatch(self, route: RouteMatch, request: Request, request_id: str) -> Response:
        """Serve `request` (resolved to `route`) with the handler of its operation."""
        return self.table[route.operation](self._call(route, request, request_id))

    def _call(self, route: RouteMatch, request: Request, request_id: str) -> _Call:
        query = query_options(request.target)
        prefer = parse_prefer(request.headers.get("prefer", ""))
        if route.operation == "timezones":
            return _Call(route, request, request_id, query, prefer, render.View(), False, [])
        view, applied = self._view(query, prefer, reading=route.operation in _READS)
        immutable = prefer.get("idtype", "").lower() == "immutableid"
        if immutable:
            applied.append('IdType="ImmutableId"')
        return _Call(route, request, request_id, query, prefer, view, immutable, applied)

    def _schedule(self, call: _Call) -> Response:
        context = "http://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)"
        schedule = people.schedule(self.store, read_body(call.request))
        return self._json(200, {"@odata.context": context, **schedule}, call)

    def _event(self, call: _Call) -> Response:
        """An operation on one event (or one occurrence, or an attendee's answer), by its id."""
        route, request, request_id = call.route, call.request, call.request_id
        assert route.event_id is not None
        event_id = ids.inner(route.mailbox, route.event_id)
        if event_id is None:
            raise not_found()
        occurrence = instances.split_occurrence_id(event_id)
        if occurrence is not None:
            return self._occurrence_operation(call, *occurrence)
        if route.operation in people.ANSWERS:
            attendee_item = self._find(route.mailbox, event_id, any_mailbox=True)
            _store_write(
                lambda: people.respond(self.store, route.mailbox, attendee_item, route.operation, read_body(request))
            )
            return self._empty(202, request, request_id)
        item = self._find(route.mailbox, event_id)
        if route.operation == "get":
            return self._json(200, self._render_by_id(item, call), call, etag=item.change_key)
        if route.operation == "instances":
            return self._instances(item, call)
        if_match = read_if_match(request.headers.get("if-match"))
        if route.operation == "update":
            return self._update(item, call, if_match)
        if route.operation == "cancel":
            comment = events.read_cancel(read_body(request))
            _store_write(lambda: self.store.cancel_item(item.item_id, comment=comment, if_change_key=if_match))
            return self._empty(202, request, request_id)
        # delete
        if if_match is not None and if_match != item.change_key:
            raise ODataError(412, "ErrorIrresolvableConflict", IRRESOLVABLE)
        _store_write(lambda: self.store.delete_item(item.item_id, send_cancellations=True))
        return self._empty(204, request, request_id)

    def _view(
        self, query: Mapping[str, str], prefer: Mapping[str, str], *, reading: bool
    ) -> tuple[render.View, list[str]]:
        applied = []
        zone_label, zone = "UTC", "UTC"
        if reading and "outlook.timezone" in prefer:
            zone_label = prefer["outlook.timezone"]
            zone = events.accepted_zone(zone_label)
            applied.append(f'outlook.timezone="{zone_label}"')
        body_text = False
        if "outlook.body-content-type" in prefer:
            wanted = prefer["outlook.body-content-type"].lower()
            if wanted in ("text", "html"):
                body_text = wanted == "text"
                applied.append(f'outlook.body-content-type="{wanted}"')
        select = evaluate_select(query["$select"], events.EVENT_PROPERTIES) if "$select" in query else None
        expansion = parse_expand(query["$expand"]) if "$expand" in query else None
        return render.View(zone_label, zone, body_text, select, expansion, self.url_safe_ids), applied

    def _list(self, call: _Call) -> Response:
        refuse_options(call.query, {"$filter", "$expand", "$select", "$top", "$skip", "$count"})
        predicate = compile_event_filter(call.query["$filter"]) if "$filter" in call.query else None
        items = self.store.list_items(call.route.mailbox)
        if predicate is not None:
            items = [item for item in items if predicate(render.extended_of(item))]
        return self._paged(call, items, lambda item: self._render(item, call), "events")

    def _calendar_view(self, call: _Call) -> Response:
        """Singles, occurrences and exceptions overlapping the window, by start (masters never)."""
        refuse_options(call.query, _VIEW_OPTIONS)
        start, end = instances.read_window(call.query)
        entries: list[_Entry] = []
        for position, item in enumerate(self.store.list_items(call.route.mailbox)):
            if item.doc.get("recurrence"):
                entries += self._instance_entries(item, call, start, end, position)
                continue
            zone = str(item.doc.get("timezone") or "UTC")
            starts = series.to_utc(series.wall(item.doc["start"]), zone)
            if starts < end and series.to_utc(series.wall(item.doc["end"]), zone) > start:
                entries.append((starts, position, partial(self._render, item, call)))
        entries.sort(key=lambda entry: entry[:2])
        return self._paged(call, entries, lambda entry: entry[2](), "calendarView")

    def _instances(self, item: StoredItem, call: _Call) -> Response:
        """A master's live occurrences and exceptions overlapping the window, in pattern order."""
        refuse_options(call.query, _VIEW_OPTIONS)
        start, end = instances.read_window(call.query)
        entries = self._instance_entries(item, call, start, end) if item.doc.get("recurrence") else []
        master_id = self._public_id(item, immutable=call.immutable)
        return self._paged(call, entries, lambda entry: entry[2](), f"events('{master_id}')/instances")

    def _instance_entries(
        self, item: StoredItem, call: _Call, start: datetime, end: datetime, position: int = 0
    ) -> list[_Entry]:
        """(UTC start, position, renderer) of each live occurrence of `item` overlapping [start, end)."""
        zone = str(item.doc.get("timezone") or "UTC")
        master_id = self._public_id(item, immutable=call.immutable)
        return [
            (
                series.to_utc(occurrence.start, zone),
                position,
                partial(self._render_instance, item, occurrence, master_id, call.view),
            )
            for occurrence in series.window(item.doc, start, end)
        ]

    def _paged(self, call: _Call, entries: Sequence[_T], render_one: Callable[[_T], Any], collection: str) -> Response:
        """One page of `entries` (`$top`/`$skip`, or `Prefer: odata.maxpagesize`), with an absolute
        `@odata.nextLink` on the emulator's own host when more follow."""
        top = non_negative(call.query, "$top")
        skip = non_negative(call.query, "$skip") or 0
        page_size = top
        if page_size is None and call.prefer.get("odata.maxpagesize", "").isdigit():
            page_size = int(call.prefer["odata.maxpagesize"])
            call.applied.append(f"odata.maxpagesize={page_size}")
        page_size = page_size or self.page_size
        host = call.request.headers.get("host", "127.0.0.1")
        selected = f"({','.join(sorted(call.view.select))})" if call.view.select else ""
        body: dict[str, Any] = {
            "@odata.context": f"http://{host}/v1.0/$metadata#users('{quote(call.route.mailbox)}')/{collection}{selected}"
        }
        if call.query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(entries)
        body["value"] = [render_one(entry) for entry in entries[skip : skip + page_size]]
        if skip + page_size < len(entries):
            following = dict(call.query, **{"$skip": str(skip + page_size), "$top": str(page_size)})
            body["@odata.nextLink"] = f"http://{host}{call.route.path}?" + "&".join(
                f"{_LINK_NAMES.get(name, name)}={quote(value, safe=_LINK_SAFE)}" for name, value in following.items()
            )
        return self._json(200, body, call)

    def _create(self, call: _Call) -> Response:
        write = events.read_event(read_body(call.request), None)
        doc = dict(write.changes)
        doc["extended"] = write.extended
        if write.transaction_id is not None:
            doc["transaction_id"] = write.transaction_id
        item = self.store.create_item(call.route.mailbox, doc, send=SendMode.ALL, transaction_id=write.transaction_id)
        return self._json(201, self._render(item, call), call, etag=item.change_key)

    def _update(self, item: StoredItem, call: _Call, if_match: str | None) -> Response:
        body = read_body(call.request)
        while True:
            try:
                updated, send = self._write_master(item, body, if_match)
                break
            except _Raced:
                item = self._find(item.mailbox, self._public_id(item, immutable=True))
        if send is SendMode.ALL:
            updated = self._mail_exceptions(updated)
        return self._json(200, self._render(updated, call), call, etag=updated.change_key)

    def _write_master(self, item: StoredItem, body: Any, if_match: str | None) -> tuple[StoredItem, SendMode]:
        write = events.read_event(body, item.doc)
        send = _send_mode(write)
        updated = _store_write(
            lambda: self.store.update_item(
                item.item_id,
                write.changes,
                send=send,
                if_change_key=if_match or item.change_key,
                extended=write.extended,
            ),
            raced=if_match is None,
        )
        return updated, send

    def _mail_exceptions(self, item: StoredItem) -> StoredItem:
        """After a master update that mailed everyone: an update about each changed occurrence the
        series kept, to that occurrence's attendees (reference/graph.md D)."""
        for day in sorted(item.doc.get("exceptions") or {}):
            item = self.store.update_occurrence(item.item_id, day, {}, send=SendMode.ALL)
        return item

    def _timezones(self, call: _Call) -> Response:
        names = events.windows_zone_names()
        value = [{"alias": name, "displayName": name} for name in names]
        return self._json(200, {"value": value}, call)

    # -- occurrences ---------------------------------------------------------------------------

    def _occurrence_operation(self, call: _Call, master_id: str, original: date) -> Response:
        """GET, PATCH, DELETE or cancel of one occurrence, addressed by its own id."""
        item = self._find(call.route.mailbox, master_id)
        occurrence = _live_occurrence(item, original)
        if call.route.operation == "get":
            return self._json(
                200, self._render_instance(item, occurrence, master_id, call.view), call, etag=item.change_key
            )
        if call.route.operation == "instances":
            raise not_found()
        if call.route.operation in people.ANSWERS:
            # Graph lets an attendee answer one occurrence; the emulator models answers per series
            # only, so it refuses rather than guess (an earlier version cancelled the occurrence).
            raise ODataError(501, "NotImplemented", "The emulator does not model answering one occurrence.")
        if call.route.operation not in ("update", "cancel", "delete"):
            raise not_found()
        if_match = read_if_match(call.request.headers.get("if-match"))
        if call.route.operation == "update":
            return self._update_occurrence(item, call, master_id, original, if_match)
        # Cancel with a comment, or delete: the organizer's delete sends cancellations (reference B.5).
        comment = events.read_cancel(read_body(call.request)) if call.route.operation == "cancel" else None
        _store_write(
            lambda: self.store.cancel_occurrence(
                item.item_id, original.isoformat(), comment=comment, if_change_key=if_match
            )
        )
        return self._empty(202 if call.route.operation == "cancel" else 204, call.request, call.request_id)

    def _update_occurrence(
        self, item: StoredItem, call: _Call, master_id: str, original: date, if_match: str | None
    ) -> Response:
        body = read_body(call.request)
        while True:
            try:
                updated = self._write_occurrence(item, original, body, if_match)
                break
            except _Raced:
                item = self._find(item.mailbox, self._public_id(item, immutable=True))
        changed = _live_occurrence(updated, original)
        return self._json(
            200, self._render_instance(updated, changed, master_id, call.view), call, etag=updated.change_key
        )

    def _write_occurrence(self, item: StoredItem, original: date, body: Any, if_match: str | None) -> StoredItem:
        """Make one occurrence an exception: its times stay in the series' zone and may not cross
        a neighbour's day; mail as for a master PATCH, to that occurrence's attendees."""
        occurrence = _live_occurrence(item, original)
        write = events.read_event(body, occurrence.doc)
        changes = instances.occurrence_changes(write, occurrence, str(item.doc.get("timezone") or "UTC"))
        if "start" in changes:
            instances.check_boundary(item.doc, original, series.wall(changes["start"]))
        return _store_write(
            lambda: self.store.update_occurrence(
                item.item_id,
                original.isoformat(),
                changes,
                send=_send_mode(write),
                if_change_key=if_match or item.change_key,
            ),
            raced=if_match is None,
        )

    # -- ids and rendering ---------------------------------------------------------------------

    @staticmethod
    def _public_id(item: StoredItem, *, immutable: bool) -> str:
        """The inner id of what a client sees (`ids.rest` makes it the REST id): the immutable id,
        or the default id, which changes on a move."""
        if immutable:
            return item.item_id
        folder = b"\x01" if item.state == "active" else b"\x02"
        return base64.b64encode(b"\x01" + base64.b64decode(item.item_id) + folder).decode()

    def _find(self, mailbox: str, public_id: str, *, any_mailbox: bool = False) -> StoredItem:
        """The item a public id names in `mailbox`; with `any_mailbox`, in any calendar (an
        attendee answering on the organizer's id: the store keeps no attendee copies [INFER])."""
        item_id, folder = public_id, None
        try:
            raw = base64.b64decode(public_id, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ODataError(400, "ErrorInvalidIdMalformed", "Id is malformed.") from error
        if raw[:1] == b"\x01" and len(raw) > 2:
            item_id, folder = base64.b64encode(raw[1:-1]).decode(), raw[-1:]
        try:
            item = self.store.get_item(item_id)
        except ItemNotFound as error:
            raise not_found() from error
        if (item.mailbox != mailbox and not any_mailbox) or (folder is not None and folder != b"\x01"):
            raise not_found()
        return item

    def _render(self, item: StoredItem, call: _Call) -> dict[str, Any]:
        return render.event_json(item, self._public_id(item, immutable=call.immutable), call.view)

    def _render_by_id(self, item: StoredItem, call: _Call) -> dict[str, Any]:
        """An event read by its id: a series master also has `cancelledOccurrences` when selected,
        and `exceptionOccurrences` when selected and expanded (never on lists or views)."""
        public_id = self._public_id(item, immutable=call.immutable)
        master = bool(item.doc.get("recurrence"))
        select, expansion = call.view.select or frozenset(), call.view.expansion
        expanded = expansion is not None and expansion.exception_occurrences
        extra: dict[str, Any] = {}
        if master and "cancelledoccurrences" in select:
            rest_id = ids.rest(item.mailbox, public_id, url_safe=self.url_safe_ids)
            extra["cancelledOccurrences"] = instances.cancelled_ids(rest_id, item.doc)
        if master and "exceptionoccurrences" in select and expanded:
            extra["exceptionOccurrences"] = self._exception_occurrences(item, public_id, call.view)
        return render.event_json(item, public_id, call.view, extra=extra)

    def _exception_occurrences(self, item: StoredItem, master_id: str, view: render.View) -> list[dict[str, Any]]:
        """The changed occurrences of a master, with `id` and the selected properties that apply."""
        inner = replace(view, expansion=None)
        out = []
        for day in sorted(item.doc.get("exceptions") or {}):
            occurrence = series.find(item.doc, date.fromisoformat(day))
            if occurrence is not None and not occurrence.cancelled:
                rendered = self._render_instance(item, occurrence, master_id, inner)
                rendered.pop("@odata.etag", None)
                out.append(rendered)
        return out

    @staticmethod
    def _render_instance(
        item: StoredItem, occurrence: series.Occurrence, master_id: str, view: render.View
    ) -> dict[str, Any]:
        public_id = instances.occurrence_id(master_id, occurrence.original)
        return render.event_json(item, public_id, view, instance=render.Instance(occurrence, master_id))

    # -- responses -----------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, body: Any, call: _Call, *, etag: str | None = None) -> Response:
        return json_response(status, body, call.request, call.request_id, call.applied, etag=etag)

    @staticmethod
    def _empty(status: int, request: Request, request_id: str) -> Response:
        return empty(status, request, request_id)
