"""Event ids as Graph's REST API shows them, over the emulator's own ids.

Exchange Online's REST ids are its EWS ids in URL-safe base64: `/` becomes `-` and `+` becomes
`_` (the captured calendarView answer in tests/wire/real/graph shows the same item as `id` with
`-`/`_` and, percent-encoded in `webLink`, with `/`/`+`). They are about 150 characters long and
begin `AAMkA`: the raw bytes start 00 03 24 00 and then hold the mailbox's GUID in ASCII (36
bytes) before the folder and item entry ids [verified by decoding the captured ids; the layout
after the GUID is INFER].

The emulator keeps its own ids (standard base64, shorter, shared with the EWS emulator) inside:
a REST id is URL-safe base64 of a header made for the mailbox (the prefix above, the mailbox's
GUID, a stand-in for the folder's entry id) followed by the bytes of the inner id. An id that
does not decode is malformed (400 `ErrorInvalidIdMalformed`); one that decodes but was not made
for this mailbox is not found in it (404) [INFER].
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid

from reconciler.emulator.graph.odata import ODataError

_MAILBOX_NAMESPACE = uuid.UUID("1b6a1f0e-8f0c-4c21-9d3e-5f2a7e0b9c11")
_PREFIX = b"\x00\x03\x24\x00"


def _header(mailbox: str) -> bytes:
    guid = str(uuid.uuid5(_MAILBOX_NAMESPACE, mailbox.lower())).encode()
    folder = hashlib.sha256(guid).digest()
    return _PREFIX + guid + b"\x00\x46\x00\x00\x00\x00\x00" + folder[:16] + b"\x07\x00" + folder[16:] + b"\x00" * 4


def rest(mailbox: str, inner: str, *, url_safe: bool = True) -> str:
    """The REST id of an inner id in `mailbox` (`url_safe=False`: in the EWS alphabet, with `/`
    and `+`, which a test can ask for to check that clients percent-encode ids in URL paths)."""
    raw = _header(mailbox) + base64.b64decode(inner)
    return (base64.urlsafe_b64encode(raw) if url_safe else base64.b64encode(raw)).decode()


def inner(mailbox: str, rest_id: str) -> str | None:
    """The inner id of a REST id; None when the id was made for another mailbox."""
    try:
        raw = _decode(rest_id)
    except (binascii.Error, ValueError) as error:
        raise ODataError(400, "ErrorInvalidIdMalformed", "Id is malformed.") from error
    header = _header(mailbox)
    if not raw.startswith(header) or len(raw) == len(header):
        return None
    return base64.b64encode(raw[len(header) :]).decode()


def store_id(rest_id: str) -> str:
    """The store's id behind the immutable REST id of an item (for tests and tools that look into
    the store; the mailbox is not checked)."""
    return base64.b64encode(_decode(rest_id)[_HEADER_LENGTH:]).decode()


def _decode(rest_id: str) -> bytes:
    """The bytes of an id in either alphabet (URL-safe or EWS)."""
    return base64.b64decode(rest_id.replace("-", "+").replace("_", "/"), validate=True)


_HEADER_LENGTH = len(_header("length@example.com"))
