"""The EWS emulator's operation handlers: SOAP operation name -> handler over the mailbox store.

`Operations.table` maps the name of the first child of `s:Body` to its handler, which gets that
element and the request's `Context` and returns the response element; an EwsError inside becomes
the error response message Exchange gives, a SoapFault the app's SOAP fault. See the app's module
docstring for the operations and their mail rules. To add an operation: its handler here and its
name in `table`.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from reconciler.emulator.ews import items as calendar
from reconciler.emulator.ews import people
from reconciler.emulator.ews.restriction import compile_restriction
from reconciler.emulator.ews.soap import (
    EwsError,
    child,
    children,
    error,
    local,
    m,
    response,
    sub,
    success,
    t,
    text_of,
)
from reconciler.emulator.server import Request
from reconciler.emulator.store import (
    ItemNotFound,
    MailboxStore,
    OccurrenceCancelled,
    OccurrenceNotFound,
    SendMode,
    StaleChangeKey,
    StoredItem,
)

_CREATE_MODES = {"SendToNone": SendMode.NONE, "SendOnlyToAll": SendMode.ALL, "SendToAllAndSaveCopy": SendMode.ALL}
_UPDATE_MODES = {
    "SendToNone": SendMode.NONE,
    "SendOnlyToAll": SendMode.ALL,
    "SendToAllAndSaveCopy": SendMode.ALL,
    "SendOnlyToChanged": SendMode.CHANGED,
    "SendToChangedAndSaveCopy": SendMode.CHANGED,
}
_FOLDERS = {
    "root": ("Folder", "", "Top of Information Store"),
    "msgfolderroot": ("Folder", "IPF.Note", "Top of Information Store"),
    "calendar": ("CalendarFolder", "IPF.Appointment", "Calendar"),
    "sentitems": ("Folder", "IPF.Note", "Sent Items"),
    "deleteditems": ("Folder", "IPF.Note", "Deleted Items"),
    "inbox": ("Folder", "IPF.Note", "Inbox"),
    "drafts": ("Folder", "IPF.Note", "Drafts"),
    "outbox": ("Folder", "IPF.Note", "Outbox"),
}
#: Exchange caps FindItem pages: 1000 items, 250 when the search has a restriction (2013 and later).
FIND_LIMIT, RESTRICTED_FIND_LIMIT = 1000, 250
#: Properties of a series that one occurrence cannot have on its own.
_SERIES_ONLY = frozenset({"Recurrence", "RequiredAttendees", "OptionalAttendees", "Resources"})
#: What an UpdateItem on an occurrence keeps on it (the store's exception keys).
_OCCURRENCE_KEYS = ("start", "end", "subject", "location", "body")
CALENDAR_VIEW_MAX = timedelta(days=2 * 366)


class Context:
    """What the SOAP header and HTTP headers say about the request."""

    def __init__(self, header: ET.Element | None, request: Request, user: str | None) -> None:
        self.zone = "UTC"
        self.impersonated: str | None = None
        if header is not None:
            definition = header.find(".//{*}TimeZoneContext/{*}TimeZoneDefinition")
            if definition is not None:
                try:
                    self.zone = calendar.zone_of(definition) or "UTC"
                except EwsError:
                    self.zone = "UTC"
            sid = header.find(".//{*}ExchangeImpersonation/{*}ConnectingSID")
            if sid is not None:
                for name in ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName"):
                    value = text_of(sid, name)
                    if value:
                        self.impersonated = value.strip().lower()
                        break
        anchor = request.headers.get("x-anchormailbox")
        self.mailbox = self.impersonated or (anchor.strip().lower() if anchor else None) or user


_FOLDER_PROPERTIES = ("ParentFolderId", "FolderClass", "DisplayName", "TotalCount", "ChildFolderCount", "UnreadCount")


def _folder_fields(shape: ET.Element | None) -> frozenset[str]:
    """The folder properties a FolderShape asks for (by element name)."""
    if shape is None:
        return frozenset()
    if (text_of(shape, "BaseShape") or "IdOnly").strip() != "IdOnly":
        return frozenset(_FOLDER_PROPERTIES)
    additional = child(shape, "AdditionalProperties")
    uris = [uri.get("FieldURI", "") for uri in additional] if additional is not None else []
    return frozenset(uri.split(":", 1)[-1] for uri in uris if uri.startswith("folder:"))


def _folder_id(mailbox: str, name: str) -> str:
    return base64.b64encode(b"\x02FLD" + f"{mailbox}\x00{name}".encode()).decode()


def _decode_folder_id(value: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error) as problem:
        raise EwsError("ErrorInvalidIdMalformed") from problem
    if not raw.startswith(b"\x02FLD") or b"\x00" not in raw:
        raise EwsError("ErrorFolderNotFound")
    mailbox, name = raw[4:].decode().split("\x00", 1)
    return mailbox, name


class Operations:
    """The handlers of the EWS operations over `store`."""

    def __init__(self, store: MailboxStore) -> None:
        self.store = store
        #: SOAP operation name -> handler.
        self.table: dict[str, Callable[[ET.Element, Context], ET.Element]] = {
            "GetFolder": self._get_folder,
            "CreateItem": self._create_item,
            "FindItem": self._find_item,
            "GetItem": self._get_item,
            "UpdateItem": self._update_item,
            "DeleteItem": self._delete_item,
            "ConvertId": self._convert_id,
            "GetUserAvailabilityRequest": lambda operation, _: people.availability(self.store, operation),
        }

    # -- folders ---------------------------------------------------------------------------------

    def _folder_target(self, element: ET.Element, context: Context) -> tuple[str, str]:
        """(mailbox, distinguished name) of a DistinguishedFolderId or FolderId element."""
        if local(element) == "DistinguishedFolderId":
            name = element.get("Id", "")
            if name not in _FOLDERS:
                raise EwsError("ErrorFolderNotFound")
            mailbox_element = child(element, "Mailbox")
            address = text_of(mailbox_element, "EmailAddress") if mailbox_element is not None else None
            mailbox = (address or context.mailbox or "").strip().lower()
            if not mailbox:
                raise EwsError("ErrorNonExistentMailbox", "No mailbox was named and none is implied by the request.")
            return mailbox, name
        if local(element) == "FolderId":
            return _decode_folder_id(element.get("Id", ""))
        raise EwsError("ErrorFolderNotFound")

    def _get_folder(self, operation: ET.Element, context: Context) -> ET.Element:
        """Folders with the properties the FolderShape asks for: IdOnly is FolderId alone (as in
        Microsoft's captured answer, tests/wire/real/ews/getfolder-calendar.response.xml), plus each
        `folder:` FieldURI in AdditionalProperties; Default and AllProperties add them all."""
        wanted = _folder_fields(child(operation, "FolderShape"))
        messages = []
        ids = child(operation, "FolderIds")
        for element in list(ids) if ids is not None else []:
            try:
                mailbox, name = self._folder_target(element, context)
            except EwsError as problem:
                messages.append(error("GetFolder", problem, container="Folders"))
                continue
            kind, folder_class, display = _FOLDERS[name]
            message = success("GetFolder")
            folder = sub(sub(message, m("Folders")), t(kind))
            sub(folder, t("FolderId"), Id=_folder_id(mailbox, name), ChangeKey="AQAAAA==")
            if name != "root" and "ParentFolderId" in wanted:
                sub(folder, t("ParentFolderId"), Id=_folder_id(mailbox, "msgfolderroot"), ChangeKey="AQAAAA==")
            if folder_class and "FolderClass" in wanted:
                sub(folder, t("FolderClass"), folder_class)
            if "DisplayName" in wanted:
                sub(folder, t("DisplayName"), display)
            if "TotalCount" in wanted:
                count = len(self.store.list_items(mailbox)) if name == "calendar" else 0
                sub(folder, t("TotalCount"), str(count))
            if "ChildFolderCount" in wanted:
                sub(folder, t("ChildFolderCount"), "0")
            if kind == "Folder" and "UnreadCount" in wanted:
                sub(folder, t("UnreadCount"), "0")
            messages.append(message)
        return response("GetFolder", messages)

    def _calendar_mailbox(self, operation: ET.Element, container: str, context: Context) -> str:
        folder_ids = child(operation, container)
        if folder_ids is None or len(folder_ids) == 0:
            if not context.mailbox:
                raise EwsError("ErrorNonExistentMailbox", "No mailbox was named and none is implied by the request.")
            return context.mailbox
        return self._folder_target(folder_ids[0], context)[0]

    # -- items -----------------------------------------------------------------------------------

    def _create_item(self, operation: ET.Element, context: Context) -> ET.Element:
        items = child(operation, "Items")
        messages = []
        for element in list(items) if items is not None else []:
            try:
                if local(element) == "CalendarItem":
                    messages.append(self._create_calendar_item(operation, element, context))
                elif local(element) == "CancelCalendarItem":
                    messages.append(self._cancel(operation, element))
                elif local(element) in people.ANSWERS:
                    messages.append(people.answer(self.store, element, context.mailbox))
                else:
                    raise EwsError("ErrorInvalidRequest", f"Creating {local(element)} items is not supported here.")
            except EwsError as problem:
                messages.append(error("CreateItem", problem, container="Items"))
        return response("CreateItem", messages)

    def _create_calendar_item(self, operation: ET.Element, element: ET.Element, context: Context) -> ET.Element:
        mode = operation.get("SendMeetingInvitations")
        if mode is None:
            raise EwsError("ErrorSendMeetingInvitationsRequired")
        if mode not in _CREATE_MODES:
            raise EwsError("ErrorInvalidRequest", f"SendMeetingInvitations {mode!r} is not valid.")
        saved = child(operation, "SavedItemFolderId")
        mailbox = (
            self._calendar_mailbox(operation, "SavedItemFolderId", context) if saved is not None else context.mailbox
        )
        if not mailbox:
            raise EwsError("ErrorNonExistentMailbox", "No mailbox was named and none is implied by the request.")
        write = calendar.ItemWrite.new(context.zone)
        for node in element:
            write.set(node)
        item = self.store.create_item(mailbox, write.finish(creating=True), send=_CREATE_MODES[mode])
        message = success("CreateItem")
        created = sub(sub(message, m("Items")), t("CalendarItem"))
        sub(created, t("ItemId"), Id=item.item_id, ChangeKey=item.change_key)
        return message

    def _cancel(self, operation: ET.Element, element: ET.Element) -> ET.Element:
        """CancelCalendarItem of a meeting, or of one occurrence when the reference is an occurrence
        id: its attendees get a cancellation carrying NewBodyContent."""
        reference = child(element, "ReferenceItemId")
        if reference is None:
            raise EwsError("ErrorInvalidRequest", "CancelCalendarItem needs a ReferenceItemId.")
        item_id, original = calendar.decode_id(reference.get("Id", ""))
        item = self._get(item_id)
        change_key = reference.get("ChangeKey")
        if change_key and change_key != item.change_key:
            raise EwsError("ErrorStaleObject")
        view = calendar.occurrence_by_date(item, original) if original else calendar.view_of(item)
        if not view.doc.get("attendees"):
            raise EwsError("ErrorInvalidRecipients")
        body = child(element, "NewBodyContent")
        comment = (body.text or "") if body is not None else None
        message = success("CreateItem")
        container = sub(message, m("Items"))
        if operation.get("MessageDisposition") == "SaveOnly":
            return message  # a draft cancellation: nothing is sent and the meeting stays
        if view.occurrence is not None:
            self._cancel_occurrence(view, send=True, comment=comment)
            return message
        try:
            cancelled = self.store.cancel_item(item.item_id, comment=comment or None, if_change_key=item.change_key)
        except StaleChangeKey as problem:
            raise EwsError("ErrorStaleObject") from problem
        sub(sub(container, t("CalendarItem")), t("ItemId"), Id=cancelled.item_id, ChangeKey=cancelled.change_key)
        return message

    def _get(self, item_id: str) -> StoredItem:
        try:
            return self.store.get_item(item_id)
        except ItemNotFound as problem:
            raise EwsError("ErrorItemNotFound") from problem

    def _resolve(self, element: ET.Element) -> calendar.ItemView:
        """The view an ItemId, OccurrenceItemId or RecurringMasterItemId names."""
        kind = local(element)
        if kind == "ItemId":
            item_id, original = calendar.decode_id(element.get("Id", ""))
            item = self._get(item_id)
            return calendar.occurrence_by_date(item, original) if original else calendar.view_of(item)
        if kind == "OccurrenceItemId":
            item_id, original = calendar.decode_id(element.get("RecurringMasterId", ""))
            if original is not None:
                raise EwsError("ErrorCalendarCannotUseIdForOccurrenceId")
            try:
                index = int(element.get("InstanceIndex", ""))
            except ValueError as problem:
                raise EwsError("ErrorInvalidRequest", "InstanceIndex must be a number.") from problem
            return calendar.occurrence_by_index(self._get(item_id), index)
        if kind == "RecurringMasterItemId":
            item_id, _ = calendar.decode_id(element.get("OccurrenceId", ""))
            item = self._get(item_id)
            if not item.doc.get("recurrence"):
                raise EwsError("ErrorItemNotFound")
            return calendar.view_of(item)
        raise EwsError("ErrorInvalidRequest", f"{kind} is not an item id.")

    def _find_item(self, operation: ET.Element, context: Context) -> ET.Element:
        try:
            return self._find(operation, context)
        except EwsError as problem:
            return response("FindItem", [error("FindItem", problem)])

    def _find(self, operation: ET.Element, context: Context) -> ET.Element:
        shape = calendar.Shape.parse(child(operation, "ItemShape"))
        restriction = child(operation, "Restriction")
        order = child(operation, "SortOrder")
        view_element = child(operation, "CalendarView")
        paging = child(operation, "IndexedPageItemView")
        if view_element is not None and (restriction is not None or order is not None):
            raise EwsError("ErrorInvalidOperation")
        mailbox = self._calendar_mailbox(operation, "ParentFolderIds", context)
        folder_ids = child(operation, "ParentFolderIds")
        if folder_ids is not None and len(folder_ids) and self._folder_target(folder_ids[0], context)[1] != "calendar":
            found: list[calendar.ItemView] = []
        elif view_element is not None:
            found = self._calendar_view(mailbox, view_element, context)
        else:
            found = [calendar.view_of(item) for item in self.store.list_items(mailbox)]
            if restriction is not None:
                predicate = compile_restriction(restriction, context.zone)
                found = [view for view in found if predicate(view)]
            if order is not None:
                found = _sorted(found, order)
        total = len(found)
        message = success("FindItem")
        root = sub(message, m("RootFolder"))
        if view_element is not None:
            limit = int(view_element.get("MaxEntriesReturned") or total)
            if limit > FIND_LIMIT and total > FIND_LIMIT:
                problem = EwsError("ErrorExceededFindCountLimit", "The number of calendar entries exceeds the limit.")
                failed = error("FindItem", problem)
                sub(sub(failed, m("MessageXml")), t("Value"), str(FIND_LIMIT), Name="PolicyLimit")
                return response("FindItem", [failed])
            page = found[:limit]
            root.set("TotalItemsInView", str(total))
            root.set("IncludesLastItemInRange", "true" if len(page) == total else "false")
        else:
            offset = int(paging.get("Offset", "0")) if paging is not None else 0
            wanted = int(paging.get("MaxEntriesReturned") or total) if paging is not None else total
            cap = RESTRICTED_FIND_LIMIT if restriction is not None else FIND_LIMIT
            count = max(0, min(wanted, cap, total - offset))
            if paging is not None and paging.get("BasePoint") == "End":
                page = found[max(0, total - offset - count) : total - offset]
            else:
                page = found[offset : offset + count]
            root.set("IndexedPagingOffset", str(offset + count))
            root.set("TotalItemsInView", str(total))
            root.set("IncludesLastItemInRange", "true" if offset + count >= total else "false")
        container = sub(root, t("Items"))
        for view in page:
            calendar.render(container, view, shape, find=True)
        return response("FindItem", [message])

    def _calendar_view(self, mailbox: str, element: ET.Element, context: Context) -> list[calendar.ItemView]:
        start = calendar.parse_datetime(element.get("StartDate"), context.zone)
        end = calendar.parse_datetime(element.get("EndDate"), context.zone)
        if end < start:
            raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate")
        if end - start > CALENDAR_VIEW_MAX:
            raise EwsError("ErrorCalendarViewRangeTooBig")
        found: list[calendar.ItemView] = []
        for item in self.store.list_items(mailbox):
            if item.doc.get("recurrence"):
                # Occurrences may be moved by exceptions; look a little past the window.
                candidates = list(calendar.occurrence_views(item, until_utc=end + timedelta(days=31)))
            else:
                candidates = [calendar.view_of(item)]
            # An item ending exactly at StartDate is in the view; one starting at EndDate is not.
            found.extend(view for view in candidates if view.start < end and view.end >= start)
        return sorted(found, key=lambda view: (view.start, view.item_id))

    def _get_item(self, operation: ET.Element, context: Context) -> ET.Element:
        shape = calendar.Shape.parse(child(operation, "ItemShape"))
        ids = child(operation, "ItemIds")
        messages = []
        for element in list(ids) if ids is not None else []:
            try:
                view = self._resolve(element)
            except EwsError as problem:
                messages.append(error("GetItem", problem, container="Items"))
                continue
            message = success("GetItem")
            calendar.render(sub(message, m("Items")), view, shape)
            messages.append(message)
        return response("GetItem", messages)

    def _update_item(self, operation: ET.Element, context: Context) -> ET.Element:
        changes = child(operation, "ItemChanges")
        messages = []
        for change in list(changes) if changes is not None else []:
            try:
                messages.append(self._update_one(operation, change, context))
            except EwsError as problem:
                messages.append(error("UpdateItem", problem, container="Items"))
        return response("UpdateItem", messages)

    def _update_one(self, operation: ET.Element, change: ET.Element, context: Context) -> ET.Element:
        target = next((node for node in change if local(node) != "Updates"), None)
        updates = child(change, "Updates")
        if target is None or updates is None:
            raise EwsError("ErrorInvalidRequest", "An ItemChange needs an item id and updates.")
        view = self._resolve(target)
        item = view.item
        mode_name = operation.get("SendMeetingInvitationsOrCancellations")
        if mode_name is None:
            raise EwsError("ErrorSendMeetingInvitationsOrCancellationsRequired")
        if mode_name not in _UPDATE_MODES:
            raise EwsError("ErrorInvalidRequest", f"SendMeetingInvitationsOrCancellations {mode_name!r} is not valid.")
        resolution = operation.get("ConflictResolution", "AutoResolve")
        change_key = target.get("ChangeKey")
        if resolution != "AlwaysOverwrite" and not change_key:
            raise EwsError("ErrorChangeKeyRequiredForWriteOperations")
        if resolution == "NeverOverwrite" and change_key != item.change_key:
            raise EwsError("ErrorIrresolvableConflict")
        write = calendar.ItemWrite.of(view.doc, context.zone)
        _apply_updates(updates, write, occurrence=view.occurrence is not None)
        mode = _UPDATE_MODES[mode_name]
        if view.occurrence is not None:
            updated = self._update_occurrence(view, write, mode)
        else:
            updated = self._update_master(item, write, mode)
        message = success("UpdateItem")
        sub(
            sub(sub(message, m("Items")), t("CalendarItem")), t("ItemId"), Id=view.item_id, ChangeKey=updated.change_key
        )
        sub(sub(message, m("ConflictResults")), t("Count"), "0")
        return message

    def _update_master(self, item: StoredItem, write: calendar.ItemWrite, mode: SendMode) -> StoredItem:
        new = write.finish(creating=False)
        old_extended = dict(item.doc.get("extended") or {})
        new_extended = new.pop("extended")
        extended: dict[str, str | None] = {k: None for k in old_extended if k not in new_extended}
        extended.update({k: v for k, v in new_extended.items() if old_extended.get(k) != v})
        changes = {key: value for key, value in new.items() if item.doc.get(key) != value}
        if write.writes_recurrence:
            changes["recurrence"] = new["recurrence"]  # an unchanged pattern saved again still regenerates
        try:
            return self.store.update_item(
                item.item_id, changes, send=mode, if_change_key=item.change_key, extended=extended
            )
        except StaleChangeKey as problem:
            raise EwsError("ErrorIrresolvableConflict") from problem
        except ItemNotFound as problem:
            raise EwsError("ErrorItemNotFound") from problem

    def _update_occurrence(self, view: calendar.ItemView, write: calendar.ItemWrite, mode: SendMode) -> StoredItem:
        """Write one occurrence (it becomes an exception keeping its id): the properties that differ
        from what the occurrence showed, times in the series' zone, mail per `mode` for it alone."""
        assert view.occurrence is not None
        new = write.finish(creating=False, zone=view.zone)
        changes = {key: new[key] for key in _OCCURRENCE_KEYS if new.get(key) != view.doc.get(key)}
        if "start" in changes or "end" in changes:
            changes["start"], changes["end"] = new["start"], new["end"]
            calendar.check_move(view.item, view.occurrence, calendar.wall(new["start"]))
        with _occurrence_errors():
            return self.store.update_occurrence(
                view.item.item_id,
                view.occurrence.original.isoformat(),
                changes,
                send=mode,
                if_change_key=view.item.change_key,
            )

    def _cancel_occurrence(self, view: calendar.ItemView, *, send: bool, comment: str | None = None) -> StoredItem:
        """Delete one occurrence from its series; its attendees get a cancellation for it if `send`."""
        assert view.occurrence is not None
        with _occurrence_errors():
            return self.store.cancel_occurrence(
                view.item.item_id,
                view.occurrence.original.isoformat(),
                comment=comment or None,
                send=send,
                if_change_key=view.item.change_key,
            )

    def _delete_item(self, operation: ET.Element, context: Context) -> ET.Element:
        ids = child(operation, "ItemIds")
        mode = operation.get("SendMeetingCancellations")
        messages = []
        for element in list(ids) if ids is not None else []:
            try:
                if mode is None:
                    raise EwsError("ErrorSendMeetingCancellationsRequired")
                if mode not in _CREATE_MODES:
                    raise EwsError("ErrorInvalidRequest", f"SendMeetingCancellations {mode!r} is not valid.")
                send = _CREATE_MODES[mode] is not SendMode.NONE
                view = self._resolve(element)
                if view.occurrence is not None:
                    self._cancel_occurrence(view, send=send)
                else:
                    self.store.delete_item(view.item.item_id, send_cancellations=send)
                messages.append(success("DeleteItem"))
            except ItemNotFound:
                messages.append(error("DeleteItem", EwsError("ErrorItemNotFound")))
            except EwsError as problem:
                messages.append(error("DeleteItem", problem))
        return response("DeleteItem", messages)

    def _convert_id(self, operation: ET.Element, context: Context) -> ET.Element:
        ids = child(operation, "SourceIds")
        destination = operation.get("DestinationFormat", "EwsId")
        messages = []
        for element in children(ids, "AlternateId") if ids is not None else []:
            value = element.get("Id", "")
            try:
                calendar.decode_id(value)
            except EwsError as problem:
                messages.append(error("ConvertId", problem))
                continue
            message = success("ConvertId")
            sub(message, m("AlternateId"), Format=destination, Id=value, Mailbox=element.get("Mailbox", ""))
            messages.append(message)
        return response("ConvertId", messages)


def _apply_updates(updates: ET.Element, write: calendar.ItemWrite, *, occurrence: bool) -> None:
    """Apply SetItemField/AppendToItemField/DeleteItemField to `write`. An occurrence's attendees and
    pattern belong to its series: Exchange refuses them (ErrorInvalidPropertySet, exchangelib #1356)."""
    for update in updates:
        kind = local(update)
        if kind in ("SetItemField", "AppendToItemField"):
            holder = next((node for node in update if local(node) in ("CalendarItem", "Item")), None)
            if holder is None:
                raise EwsError("ErrorInvalidRequest", f"{kind} needs a CalendarItem with the new value.")
            for node in holder:
                if occurrence and local(node) in _SERIES_ONLY:
                    raise EwsError("ErrorInvalidPropertySet")
                write.set(node)
        elif kind == "DeleteItemField":
            uri = next(iter(update), None)
            if uri is None:
                raise EwsError("ErrorInvalidRequest", "DeleteItemField needs a property path.")
            if occurrence and uri.get("FieldURI", "").partition(":")[2] in _SERIES_ONLY:
                raise EwsError("ErrorInvalidPropertyDelete")
            write.delete(uri)
        else:
            raise EwsError("ErrorInvalidRequest", f"{kind} is not a valid update.")


def _sorted(found: list[calendar.ItemView], order: ET.Element) -> list[calendar.ItemView]:
    keys: dict[str, Callable[[calendar.ItemView], Any]] = {
        "calendar:Start": lambda v: v.start,
        "calendar:End": lambda v: v.end,
        "item:Subject": lambda v: str(v.doc.get("subject", "")).casefold(),
        "item:DateTimeCreated": lambda v: v.item.created_at,
        "item:LastModifiedTime": lambda v: v.item.modified_at,
    }
    for field_order in reversed(children(order, "FieldOrder")):
        uri = child(field_order, "FieldURI")
        path = uri.get("FieldURI", "") if uri is not None else ""
        if path not in keys:
            raise EwsError(
                "ErrorUnsupportedPathForSortGroup" if path else "ErrorInvalidRequest", f"Cannot sort on {path}."
            )
        found = sorted(found, key=keys[path], reverse=field_order.get("Order") == "Descending")
    return found


@contextmanager
def _occurrence_errors() -> Iterator[None]:
    """The store's refusals of an occurrence write, as the EWS response codes Exchange gives."""
    try:
        yield
    except StaleChangeKey as problem:
        raise EwsError("ErrorIrresolvableConflict") from problem
    except (ItemNotFound, OccurrenceNotFound) as problem:
        raise EwsError("ErrorItemNotFound") from problem
    except OccurrenceCancelled as problem:
        raise EwsError("ErrorCalendarOccurrenceIsDeletedFromRecurrence") from problem
