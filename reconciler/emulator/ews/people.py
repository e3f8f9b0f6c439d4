"""EWS attendee answers and free/busy: CreateItem with AcceptItem / TentativelyAcceptItem /
DeclineItem, and GetUserAvailability (FreeBusyViewOptions only).

Sources (MicrosoftDocs/office-developer-exchange-docs): "How to: Get free/busy information by
using EWS in Exchange" (the GetUserAvailability request and response: FreeBusyResponseArray, one
FreeBusyResponse per MailboxData with a ResponseMessage and a FreeBusyView whose
CalendarEventArray holds StartTime, EndTime and BusyType), and the AcceptItem, DeclineItem and
TentativelyAcceptItem element references (a ReferenceItemId naming the meeting request or
calendar item, sent with CreateItem MessageDisposition="SendAndSaveCopy").

Modelled, not documented [INFER]: the store keeps no attendee copies, so an attendee (the
impersonated or authenticated mailbox) answers with the organizer's item id, and the organizer's
item then shows the answer in each Attendee's ResponseType. A mailbox marked unavailable gets a
FreeBusyResponse whose ResponseMessage is an error (ErrorMailRecipientNotFound, or
ErrorNoFreeBusyAccess when access is denied) and no FreeBusyView. Event times are wall times in the
request's TimeZone taken as the fixed offset of its Bias (the StandardTime/DaylightTime rules are
not applied; the provider asks in UTC).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from reconciler.emulator.ews import items as calendar
from reconciler.emulator.ews.soap import EwsError, child, m, sub, success, t, text_of
from reconciler.emulator.freebusy import BusyPeriod, FreeBusyUnavailable, busy_periods_of
from reconciler.emulator.store import ItemNotFound, MailboxStore, UnavailableReason

#: CreateItem's answer elements -> what the organizer's item records (Graph's responseType values).
ANSWERS = {"AcceptItem": "accepted", "TentativelyAcceptItem": "tentativelyAccepted", "DeclineItem": "declined"}
_BUSY_TYPES = {"tentative": "Tentative", "busy": "Busy", "oof": "OOF", "workingElsewhere": "WorkingElsewhere"}
_ERRORS = {
    UnavailableReason.MISSING: ("ErrorMailRecipientNotFound", "The mailbox could not be found."),
    UnavailableReason.NOT_ENABLED: ("ErrorMailRecipientNotFound", "The mailbox is not enabled."),
    UnavailableReason.DENIED: ("ErrorNoFreeBusyAccess", "No free/busy access to the mailbox."),
}


def answer(store: MailboxStore, element: ET.Element, attendee: str | None) -> ET.Element:
    """One AcceptItem/TentativelyAcceptItem/DeclineItem of a CreateItem, as `attendee`."""
    reference = child(element, "ReferenceItemId")
    if reference is None:
        raise EwsError("ErrorInvalidRequest", f"{element.tag.split('}')[-1]} needs a ReferenceItemId.")
    if not attendee:
        raise EwsError("ErrorNonExistentMailbox", "No mailbox was named and none is implied by the request.")
    item_id, _ = calendar.decode_id(reference.get("Id", ""))
    try:
        store.respond(item_id, attendee, ANSWERS[element.tag.split("}")[-1]])
    except ItemNotFound as problem:
        raise EwsError("ErrorItemNotFound") from problem
    message = success("CreateItem")
    sub(message, m("Items"))
    return message


def _offset(operation: ET.Element) -> timedelta:
    """UTC = local + Bias minutes (the request's legacy TimeZone; none: UTC)."""
    zone = child(operation, "TimeZone")
    bias = text_of(zone, "Bias") if zone is not None else None
    return timedelta(minutes=int(bias or 0))


def availability(store: MailboxStore, operation: ET.Element) -> ET.Element:
    """The GetUserAvailabilityResponse for a request with FreeBusyViewOptions."""
    options = child(operation, "FreeBusyViewOptions")
    window = child(options, "TimeWindow") if options is not None else None
    mailboxes = child(operation, "MailboxDataArray")
    if window is None or mailboxes is None:
        raise EwsError("ErrorInvalidRequest", "GetUserAvailability needs MailboxDataArray and a TimeWindow.")
    offset = _offset(operation)
    try:
        start = datetime.fromisoformat(str(text_of(window, "StartTime"))[:19]).replace(tzinfo=UTC) + offset
        end = datetime.fromisoformat(str(text_of(window, "EndTime"))[:19]).replace(tzinfo=UTC) + offset
    except ValueError as problem:
        raise EwsError("ErrorInvalidRequest", "The TimeWindow is not valid.") from problem
    addresses = []
    for data in mailboxes:
        email = child(data, "Email")
        addresses.append(((text_of(email, "Address") if email is not None else None) or "").strip())
    found = busy_periods_of(store, addresses, start, end)
    root = ET.Element(m("GetUserAvailabilityResponse"))
    array = sub(root, m("FreeBusyResponseArray"))
    for address in addresses:
        _free_busy(sub(array, m("FreeBusyResponse")), found[address.lower()], offset)
    return root


def _free_busy(response: ET.Element, periods: list[BusyPeriod] | FreeBusyUnavailable, offset: timedelta) -> None:
    message = sub(response, m("ResponseMessage"))
    if isinstance(periods, FreeBusyUnavailable):
        code, text = _ERRORS[periods.reason]
        message.set("ResponseClass", "Error")
        sub(message, m("MessageText"), text)
        sub(message, m("ResponseCode"), code)
        sub(message, m("DescriptiveLinkKey"), "0")
        return
    message.set("ResponseClass", "Success")
    sub(message, m("ResponseCode"), "NoError")
    view = sub(response, m("FreeBusyView"))
    sub(view, t("FreeBusyViewType"), "Detailed")
    events = sub(view, t("CalendarEventArray"))
    for period in periods:
        event = sub(events, t("CalendarEvent"))
        sub(event, t("StartTime"), (period.start - offset).strftime("%Y-%m-%dT%H:%M:%S"))
        sub(event, t("EndTime"), (period.end - offset).strftime("%Y-%m-%dT%H:%M:%S"))
        sub(event, t("BusyType"), _BUSY_TYPES.get(period.status, "Busy"))
