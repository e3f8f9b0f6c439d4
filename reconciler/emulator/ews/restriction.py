"""The `m:Restriction` subset clients send for calendar searches, evaluated over item views.

Supported: And, Or, Not, IsEqualTo, IsNotEqualTo, IsGreaterThan[OrEqualTo], IsLessThan[OrEqualTo],
Exists and Contains, on the FieldURIs below and on any ExtendedFieldURI. String comparisons ignore
case, as Exchange's store does; a multi-valued property (Categories) matches when any value does.
Anything else is refused with the response code Exchange uses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from typing import Any

from reconciler.emulator.ews.items import ItemView, extended_value, parse_datetime, property_key
from reconciler.emulator.ews.soap import EwsError, child, local

Predicate = Callable[[ItemView], bool]

_FIELDS: dict[str, Callable[[ItemView], Any]] = {
    "item:Subject": lambda v: v.doc.get("subject") or None,
    "item:Categories": lambda v: list(v.doc.get("categories") or []) or None,
    "item:Importance": lambda v: str(v.doc.get("importance", "normal")).capitalize(),
    "item:Sensitivity": lambda v: str(v.doc.get("sensitivity", "normal")).capitalize(),
    "item:ItemClass": lambda v: "IPM.Appointment",
    "item:DateTimeCreated": lambda v: datetime.fromisoformat(v.item.created_at),
    "item:LastModifiedTime": lambda v: datetime.fromisoformat(v.item.modified_at),
    "calendar:Start": lambda v: v.start,
    "calendar:End": lambda v: v.end,
    "calendar:Location": lambda v: v.doc.get("location") or None,
    "calendar:IsAllDayEvent": lambda v: bool(v.doc.get("is_all_day")),
    "calendar:CalendarItemType": lambda v: v.kind,
    "calendar:IsRecurring": lambda v: v.kind in ("Occurrence", "Exception"),
    "calendar:IsMeeting": lambda v: bool(v.doc.get("attendees")),
    "calendar:LegacyFreeBusyStatus": lambda v: str(v.doc.get("show_as", "busy")),
}
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "IsEqualTo": lambda a, b: a == b,
    "IsNotEqualTo": lambda a, b: a != b,
    "IsGreaterThan": lambda a, b: a > b,
    "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    "IsLessThan": lambda a, b: a < b,
    "IsLessThanOrEqualTo": lambda a, b: a <= b,
}


def _path(element: ET.Element) -> Callable[[ItemView], Any]:
    """The getter for the property path among an expression's children."""
    for node in element:
        name = local(node)
        if name == "FieldURI":
            path = node.get("FieldURI", "")
            if path not in _FIELDS:
                raise EwsError("ErrorUnsupportedPathForQuery", f"The property {path} can't be used in a restriction.")
            return _FIELDS[path]
        if name == "ExtendedFieldURI":
            key = property_key(node)
            return lambda view: extended_value(view.doc, key)
        if name in ("IndexedFieldURI",):
            raise EwsError("ErrorUnsupportedPathForQuery")
    raise EwsError("ErrorInvalidRestriction", "The restriction names no property.")


def _constant(element: ET.Element) -> str:
    holder = child(element, "FieldURIOrConstant")
    constant = child(holder if holder is not None else element, "Constant")
    if constant is None or constant.get("Value") is None:
        raise EwsError("ErrorInvalidRestriction", "Comparisons with another property are not supported.")
    return constant.get("Value") or ""


def _coerce(sample: Any, text: str, context_zone: str) -> Any:
    if isinstance(sample, datetime):
        return parse_datetime(text, context_zone)
    if isinstance(sample, bool):
        return text.strip().lower() in ("true", "1")
    if isinstance(sample, int):
        return int(text)
    return text


def _norm(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _compare(getter: Callable[[ItemView], Any], operator: str, text: str, context_zone: str) -> Predicate:
    compare = _OPERATORS[operator]

    def predicate(view: ItemView) -> bool:
        value = getter(view)
        if value is None:
            return operator == "IsNotEqualTo"
        values = value if isinstance(value, list) else [value]
        matches = [compare(_norm(v), _norm(_coerce(v, text, context_zone))) for v in values]
        return all(matches) if operator == "IsNotEqualTo" else any(matches)

    return predicate


def _contains(element: ET.Element, getter: Callable[[ItemView], Any]) -> Predicate:
    text = _constant(element)
    mode = element.get("ContainmentMode", "FullString")
    ignore_case = element.get("ContainmentComparison", "Exact") != "Exact"

    def matches(value: str) -> bool:
        a, b = (value.casefold(), text.casefold()) if ignore_case else (value, text)
        if mode == "Substring":
            return b in a
        if mode in ("Prefixed", "PrefixOnWords"):
            return a.startswith(b) or (mode == "PrefixOnWords" and any(w.startswith(b) for w in a.split()))
        return a == b

    def predicate(view: ItemView) -> bool:
        value = getter(view)
        values = value if isinstance(value, list) else [value]
        return any(isinstance(v, str) and matches(v) for v in values)

    return predicate


def compile_restriction(element: ET.Element, context_zone: str) -> Predicate:
    """`m:Restriction` (or one search expression) -> a predicate over item views."""
    name = local(element)
    if name == "Restriction":
        expressions = list(element)
        if len(expressions) != 1:
            raise EwsError("ErrorInvalidRestriction", "A restriction holds exactly one search expression.")
        return compile_restriction(expressions[0], context_zone)
    if name in ("And", "Or"):
        parts = [compile_restriction(node, context_zone) for node in element]
        if not parts:
            raise EwsError("ErrorInvalidRestriction")
        if name == "And":
            return lambda view: all(p(view) for p in parts)
        return lambda view: any(p(view) for p in parts)
    if name == "Not":
        nodes = list(element)
        if len(nodes) != 1:
            raise EwsError("ErrorInvalidRestriction", "Not holds exactly one search expression.")
        inner = compile_restriction(nodes[0], context_zone)
        return lambda view: not inner(view)
    if name == "Exists":
        getter = _path(element)
        return lambda view: getter(view) is not None
    if name == "Contains":
        return _contains(element, _path(element))
    if name in _OPERATORS:
        return _compare(_path(element), name, _constant(element), context_zone)
    raise EwsError("ErrorInvalidRestriction", f"The search expression {name} is not supported.")
