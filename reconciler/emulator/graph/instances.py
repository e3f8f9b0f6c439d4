"""Occurrences of a series on Graph's wire: their ids, the time windows that list them, and the
rules for writing one (pure; the series arithmetic is `reconciler.emulator.series`).

* An occurrence's id is derived from the id of its master (as the client sees it: immutable or
  default) and its original date, so it stays the same when the occurrence becomes an exception,
  and a cancelled occurrence's id simply finds nothing.
* `cancelledOccurrences` holds Graph's occurrence ids of the cancelled ones, `OID.<master id>.<date>`
  (the format of the event-get doc sample; reference/graph.md A.1 does not give it).
* `calendarView` and `/instances` need a window (`startDateTime`, `endDateTime`; an offset in the
  value is honoured, none means UTC); without one Graph answers 400 `ErrorInvalidParameter`.
* A single occurrence may change its start, end, subject, location, body and attendees (what the
  store keeps per occurrence); its recurrence cannot be written, and it cannot be moved onto or past
  the day of the occurrence before or after it (400 `ErrorOccurrenceCrossingBoundary`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from reconciler.emulator import series
from reconciler.emulator.graph.events import EventWrite, convert
from reconciler.emulator.graph.odata import ODataError

#: First byte of the raw id of an occurrence (item ids start with 0x00, default ids with 0x01).
_OCCURRENCE_TAG = b"\x03"
_DATE_BYTES = 8  # YYYYMMDD
_WINDOW_MESSAGE = (
    "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."
)
#: Event properties a single occurrence accepts in the emulator (the keys the store keeps per occurrence).
OCCURRENCE_PROPERTIES = frozenset({"start", "end", "isAllDay", "subject", "body", "location", "locations", "attendees"})
_OCCURRENCE_KEYS = ("start", "end", "subject", "location", "body", "attendees")


def occurrence_id(master_id: str, original: date) -> str:
    """The id of the occurrence originally on `original` of the master whose public id is `master_id`."""
    raw = _OCCURRENCE_TAG + base64.b64decode(master_id) + original.strftime("%Y%m%d").encode()
    return base64.b64encode(raw).decode()


def split_occurrence_id(public_id: str) -> tuple[str, date] | None:
    """(master id, original date) of an occurrence id; None when the id is not an occurrence's."""
    try:
        raw = base64.b64decode(public_id, validate=True)
    except (binascii.Error, ValueError):
        return None
    if raw[:1] != _OCCURRENCE_TAG or len(raw) <= 1 + _DATE_BYTES:
        return None
    try:
        original = datetime.strptime(raw[-_DATE_BYTES:].decode(), "%Y%m%d").date()
    except (UnicodeDecodeError, ValueError):
        return None
    return base64.b64encode(raw[1:-_DATE_BYTES]).decode(), original


def cancelled_ids(master_id: str, doc: Mapping[str, Any]) -> list[str]:
    """`cancelledOccurrences` of a master: `OID.<master id>.<original date>` per cancelled occurrence."""
    return [f"OID.{master_id}.{day}" for day in sorted(doc.get("cancelled_occurrences") or [])]


def read_window(query: Mapping[str, str]) -> tuple[datetime, datetime]:
    """The [start, end) window of a calendarView or instances request, as aware UTC datetimes."""
    values = [query.get("$startdatetime", "").strip(), query.get("$enddatetime", "").strip()]
    if not all(values):
        raise ODataError(400, "ErrorInvalidParameter", _WINDOW_MESSAGE)
    start, end = (_instant(value) for value in values)
    return start, end


def _instant(value: str) -> datetime:
    # A `+` of an offset arrives as a space when the client did not percent-encode it.
    text = value[:19] + value[19:].replace(" ", "+")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise ODataError(
            400, "ErrorInvalidParameter", f"The value '{value}' of the time window is not a valid date and time."
        ) from error
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def original_start_utc(occurrence: series.Occurrence, doc: Mapping[str, Any]) -> str:
    """`originalStart` of an occurrence: its pattern start in UTC (midnight UTC for all-day events, which float)."""
    if doc.get("is_all_day"):
        return occurrence.original.isoformat() + "T00:00:00Z"
    return series.to_utc(occurrence.original_start, str(doc.get("timezone") or "UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def occurrence_changes(write: EventWrite, occurrence: series.Occurrence, zone: str) -> dict[str, Any]:
    """The store changes of a PATCH on one occurrence: times in the series' zone `zone`.

    Refuses (400) a recurrence, an all-day switch and properties the store does not keep per
    occurrence (extended properties included).
    """
    if "recurrence" in write.properties:
        raise ODataError(
            400,
            "ErrorInvalidRequest",
            "The recurrence of a single occurrence cannot be changed; change the series master instead.",
        )
    unsupported = sorted(write.properties - OCCURRENCE_PROPERTIES)
    if unsupported:
        raise ODataError(
            400, "ErrorInvalidRequest", f"The emulator cannot change {unsupported[0]} of a single occurrence."
        )
    changes = write.changes
    if "is_all_day" in changes and bool(changes["is_all_day"]) != bool(occurrence.doc.get("is_all_day")):
        raise ODataError(400, "ErrorInvalidRequest", "A single occurrence cannot be switched to or from all-day.")
    written_zone = str(changes.get("timezone") or zone)
    out = {key: changes[key] for key in _OCCURRENCE_KEYS if key in changes}
    for key in ("start", "end"):
        if key in out and written_zone != zone:
            out[key] = convert(datetime.fromisoformat(out[key]), written_zone, zone).isoformat(timespec="seconds")
    return out


def check_boundary(doc: Mapping[str, Any], original: date, new_start: datetime) -> None:
    """400 ErrorOccurrenceCrossingBoundary when an occurrence moved to `new_start` (local, series
    zone) would fall on or past the day of the live occurrence before or after it."""
    previous, following = _neighbours(doc, original)
    day = new_start.date()
    if (previous is not None and day <= previous.start.date()) or (
        following is not None and day >= following.start.date()
    ):
        raise ODataError(
            400,
            "ErrorOccurrenceCrossingBoundary",
            "An occurrence cannot be moved onto or past the day of an adjacent occurrence.",
        )


def _neighbours(doc: Mapping[str, Any], original: date) -> tuple[series.Occurrence | None, series.Occurrence | None]:
    previous: series.Occurrence | None = None
    for occurrence in series.expand(doc):  # in original-date order
        if occurrence.original > original:
            return previous, occurrence
        if occurrence.original < original:
            previous = occurrence
    return previous, None
