"""SOAP envelopes, namespaces and error shapes of Exchange Web Services, as real servers write them.

Requests are read by local name (prefixes never matter); responses are written with the exact
namespace URIs and the `s:`, `m:`, `t:` prefixes Exchange uses. Error texts are the ones Exchange
Server 2016/2019 answers with, so a client's error handling sees what it would see in production.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"

for _prefix, _uri in (("s", S), ("m", M), ("t", T), ("e", E)):
    ET.register_namespace(_prefix, _uri)

#: What Exchange Server SE (code-equivalent to 2019 CU15) reports; `V2017_07_11` is the schema
#: label on-premises servers send, which clients keep their requested API version for.
SERVER_VERSION = {
    "MajorVersion": "15",
    "MinorVersion": "2",
    "MajorBuildNumber": "2562",
    "MinorBuildNumber": "17",
    "Version": "V2017_07_11",
}

#: Message texts of the response codes the emulator answers with.
MESSAGES = {
    # As Exchange 2013 answers DeleteItem (tests/wire/real/ews/deleteitem-batch-notfound.response.xml);
    # Exchange Online appends ", The process failed to get the correct properties.".
    "ErrorItemNotFound": "The specified object was not found in the store.",
    "ErrorIrresolvableConflict": (
        "The send or update operation could not be performed because the change key passed in the request "
        "does not match the current change key for the item., Cannot save changes made to an item to store."
    ),
    "ErrorStaleObject": (
        "The operation can't be performed because the item is out of date. Reload the item and try again."
    ),
    "ErrorChangeKeyRequiredForWriteOperations": (
        "When making a request that needs to modify the item, a ChangeKey is required for the item."
    ),
    "ErrorInvalidRecipients": (
        "At least one recipient isn't valid., A message can't be sent because it contains no recipients."
    ),
    "ErrorInvalidOperation": "Restrictions and sort order may not be specified for a CalendarView.",
    "ErrorCalendarEndDateIsEarlierThanStartDate": "EndDate is earlier than StartDate",
    "ErrorCalendarDurationIsTooLong": "The duration of the calendar item is too long.",
    "ErrorCalendarViewRangeTooBig": "The time window specified is larger than the maximum allowed.",
    "ErrorCalendarInvalidTimeZone": "The time zone isn't valid.",
    "ErrorCalendarInvalidRecurrence": "The recurrence pattern is invalid.",
    "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange": "The occurrence index is out of the recurrence range.",
    "ErrorCalendarOccurrenceIsDeletedFromRecurrence": "Occurrence index specified is deleted from the recurrence.",
    "ErrorCalendarCannotUseIdForOccurrenceId": "Calendar item ID cannot be used for an occurrence ID.",
    "ErrorOccurrenceCrossingBoundary": "Modified occurrence is crossing or overlapping adjacent occurrence.",
    "ErrorSendMeetingInvitationsRequired": "SendMeetingInvitations attribute is required for Calendar items.",
    "ErrorSendMeetingInvitationsOrCancellationsRequired": (
        "SendMeetingInvitationsOrCancellations attribute is required for Calendar items."
    ),
    "ErrorSendMeetingCancellationsRequired": "SendMeetingCancellations attribute is required for Calendar items.",
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorInvalidRequest": "The request is invalid.",
    "ErrorInvalidPropertySet": "Set action is invalid for property.",
    "ErrorInvalidPropertyDelete": "Delete action is invalid for property.",
    "ErrorInvalidPropertyRequest": "The property request is invalid.",
    "ErrorUnsupportedPathForQuery": "The property path is not supported for queries.",
    "ErrorInvalidRestriction": "The restriction is invalid.",
    "ErrorSchemaValidation": "The request failed schema validation.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorImpersonateUserDenied": "The account does not have permission to impersonate the requested user.",
    "ErrorCalendarIsNotOrganizer": "The user isn't the organizer of the meeting.",
}


class EwsError(Exception):
    """A response code other than NoError for one response message."""

    def __init__(self, code: str, text: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.text = text or MESSAGES.get(code, code)


class SoapFault(Exception):
    """A request-level failure answered as an HTTP 500 SOAP fault."""

    def __init__(self, code: str, text: str | None = None, *, back_off_ms: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.text = text or MESSAGES.get(code, code)
        self.back_off_ms = back_off_ms


def t(name: str) -> str:
    return f"{{{T}}}{name}"


def m(name: str) -> str:
    return f"{{{M}}}{name}"


def local(element: ET.Element) -> str:
    """The local name of an element (namespace dropped)."""
    return element.tag.rsplit("}", 1)[-1]


def child(element: ET.Element, name: str) -> ET.Element | None:
    """The first child with this local name, in any namespace."""
    return element.find(f"{{*}}{name}")


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return element.findall(f"{{*}}{name}")


def text_of(element: ET.Element, name: str) -> str | None:
    found = child(element, name)
    return None if found is None else (found.text or "")


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def parse_bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1")


def ews_bool(value: bool) -> str:
    return "true" if value else "false"


def _serialise(root: ET.Element) -> bytes:
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>' + text


def envelope(body: ET.Element, *, version_header: bool = True) -> bytes:
    root = ET.Element(f"{{{S}}}Envelope")
    if version_header:
        header = sub(root, f"{{{S}}}Header")
        sub(header, t("ServerVersionInfo"), **SERVER_VERSION)
    sub(root, f"{{{S}}}Body").append(body)
    return _serialise(root)


def response(operation: str, messages: Iterable[ET.Element]) -> ET.Element:
    """`m:<Operation>Response/m:ResponseMessages/<messages>`."""
    top = ET.Element(m(f"{operation}Response"))
    container = sub(top, m("ResponseMessages"))
    for message in messages:
        container.append(message)
    return top


def success(operation: str) -> ET.Element:
    message = ET.Element(m(f"{operation}ResponseMessage"), {"ResponseClass": "Success"})
    sub(message, m("ResponseCode"), "NoError")
    return message


def error(operation: str, failure: EwsError, *, container: str | None = None) -> ET.Element:
    message = ET.Element(m(f"{operation}ResponseMessage"), {"ResponseClass": "Error"})
    sub(message, m("MessageText"), failure.text)
    sub(message, m("ResponseCode"), failure.code)
    sub(message, m("DescriptiveLinkKey"), "0")
    if container is not None:
        sub(message, m(container))
    return message


def fault(failure: SoapFault) -> bytes:
    """The SOAP fault Exchange answers (with HTTP 500) for request-level errors such as throttling."""
    root = ET.Element(f"{{{S}}}Envelope")
    body = sub(root, f"{{{S}}}Body")
    element = sub(body, f"{{{S}}}Fault")
    code = sub(element, "faultcode", f"a:{failure.code}")
    code.set("xmlns:a", T)
    sub(element, "faultstring", failure.text).set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    detail = sub(element, "detail")
    sub(detail, f"{{{E}}}ResponseCode", failure.code)
    sub(detail, f"{{{E}}}Message", failure.text)
    if failure.back_off_ms is not None:
        xml = sub(detail, t("MessageXml"))
        sub(xml, t("Value"), str(failure.back_off_ms), Name="BackOffMilliseconds")
    return _serialise(root)
