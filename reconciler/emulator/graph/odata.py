"""The OData and HTTP-preference subset the Graph emulator understands (pure parsing).

* `$filter` on events: boolean combinations (`and`, `or`, `not`, parentheses) of lambdas over
  single-value extended properties, `singleValueExtendedProperties/Any(ep: ep/id eq '<id>' and
  ep/value eq '<value>')`, with `eq`/`ne`/`contains`/`startswith` on the value. The lambda variable
  name is free and `Any`/`any` are both accepted. As on Graph, the property id must be compared
  with `eq` inside each lambda, the name part of the id is case-sensitive and values compare
  case-insensitively.
* `$expand=singleValueExtendedProperties($filter=id eq '<id>' or id eq '<id>')`, and
  `$expand=exceptionOccurrences` (a series master's changed occurrences, with `$select`).
* `$select` lists and the `Prefer` header (RFC 7240 lists with quoted values).

Errors are raised as `ODataError(status, code, message)` carrying Graph's codes: a syntax error
is 400 `BadRequest` "Invalid filter clause", a property Graph cannot filter on is 400
`ErrorInvalidProperty`, a well-formed clause outside this subset is 400
`ErrorInvalidUrlQueryFilter`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class ODataError(Exception):
    """A request the emulator refuses; the app renders it in Graph's error shape."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


_PROPERTY_ID = re.compile(r"^\s*(\w+)\s+\{([0-9a-fA-F-]{36})\}\s+(Name|Id)\s+(.+?)\s*$", re.IGNORECASE)


def canonical_property_id(property_id: str) -> str:
    """An extended-property id in one spelling: type and GUID case-folded, the name kept as is.

    Graph compares the type keyword and the GUID case-insensitively and the name case-sensitively.
    Ids that are not `{type} {guid} Name|Id {x}` (tag-only ids) are returned unchanged.
    """
    match = _PROPERTY_ID.match(property_id)
    if match is None:
        return property_id.strip()
    kind, guid, how, name = match.groups()
    return f"{kind[0].upper()}{kind[1:].lower()} {{{guid.lower()}}} {how.capitalize()} {name}"


# -- tokens -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_$@][\w.$@]*(?:/[A-Za-z_$@][\w.$@]*)*)"
    r"|(?P<punct>[(),:]))"
)
_KEYWORDS = {"and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "true", "false", "null"}
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}


@dataclass(frozen=True)
class _Token:
    kind: str  # string | number | name | punct | keyword | end
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _syntax_error()
        kind = match.lastgroup or "punct"
        value = match.group(kind)
        if kind == "name" and value.lower() in _KEYWORDS:
            kind, value = "keyword", value.lower()
        tokens.append(_Token(kind, value))
        position = match.end()
    tokens.append(_Token("end", ""))
    return tokens


def _syntax_error() -> ODataError:
    return ODataError(400, "BadRequest", "Invalid filter clause")


# -- syntax tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: str | float | bool | None


@dataclass(frozen=True)
class Path:
    segments: tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Path | Literal
    right: Path | Literal


@dataclass(frozen=True)
class Call:
    function: str  # contains | startswith | endswith
    args: tuple[Path | Literal, ...]


@dataclass(frozen=True)
class Lambda:
    collection: str
    operator: str  # any | all
    variable: str
    body: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Compare | Call | Lambda | BoolOp | Not


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.take()
        if token.kind != kind or (text is not None and token.text != text):
            raise _syntax_error()
        return token

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek().kind != "end":
            raise _syntax_error()
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.peek() == _Token("keyword", "or"):
            self.take()
            node = BoolOp("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.peek() == _Token("keyword", "and"):
            self.take()
            node = BoolOp("and", node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek() == _Token("keyword", "not"):
            self.take()
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token == _Token("punct", "("):
            self.take()
            node = self.or_expr()
            self.expect("punct", ")")
            return node
        if token.kind == "name" and self.tokens[self.index + 1] == _Token("punct", "("):
            return self.call_or_lambda()
        left = self.operand()
        op = self.take()
        if op.kind != "keyword" or op.text not in _COMPARISONS:
            raise _syntax_error()
        return Compare(op.text, left, self.operand())

    def call_or_lambda(self) -> Node:
        name = self.take().text
        self.expect("punct", "(")
        segments = name.split("/")
        if len(segments) >= 2 and segments[-1].lower() in ("any", "all"):
            variable = self.expect("name").text
            self.expect("punct", ":")
            body = self.or_expr()
            self.expect("punct", ")")
            return Lambda("/".join(segments[:-1]), segments[-1].lower(), variable, body)
        function = name.lower()
        if function not in ("contains", "startswith", "endswith"):
            raise ODataError(400, "BadRequest", f"An unknown function with name '{name}' was found.")
        args = [self.operand()]
        while self.peek() == _Token("punct", ","):
            self.take()
            args.append(self.operand())
        self.expect("punct", ")")
        if len(args) != 2:
            raise _syntax_error()
        return Call(function, tuple(args))

    def operand(self) -> Path | Literal:
        token = self.take()
        if token.kind == "string":
            return Literal(token.text[1:-1].replace("''", "'"))
        if token.kind == "number":
            return Literal(float(token.text))
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[token.text])
        if token.kind == "name":
            return Path(tuple(token.text.split("/")))
        raise _syntax_error()


def parse_filter(text: str) -> Node:
    """The syntax tree of a `$filter` value (already percent-decoded)."""
    if not text.strip():
        raise _syntax_error()
    return _Parser(text).parse()


# -- evaluation over events ---------------------------------------------------------------------

ExtendedProperties = Mapping[str, str]
Predicate = Callable[[ExtendedProperties], bool]

_EXTENDED_COLLECTIONS = {
    "singlevalueextendedproperties": "singleValueExtendedProperties",
    "multivalueextendedproperties": "multiValueExtendedProperties",
}


def compile_event_filter(text: str) -> Predicate:
    """A predicate over an event's single-value extended properties (id -> value) for `$filter`.

    Only the subset in the module docstring is understood; anything else is refused the way Graph
    refuses it (see the module docstring for the codes).
    """
    return _compile_top(parse_filter(text))


def _compile_top(node: Node) -> Predicate:
    if isinstance(node, BoolOp):
        left, right = _compile_top(node.left), _compile_top(node.right)
        if node.op == "and":
            return lambda props: left(props) and right(props)
        return lambda props: left(props) or right(props)
    if isinstance(node, Not):
        inner = _compile_top(node.operand)
        return lambda props: not inner(props)
    if isinstance(node, Lambda):
        collection = _EXTENDED_COLLECTIONS.get(node.collection.lower())
        if collection != "singleValueExtendedProperties":
            raise ODataError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
        if node.operator != "any":
            raise ODataError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
        return _compile_lambda(node)
    if isinstance(node, Compare):
        path = node.left if isinstance(node.left, Path) else node.right
        name = path.segments[0] if isinstance(path, Path) else "value"
        raise ODataError(
            400,
            "ErrorInvalidUrlQueryFilter",
            f"The query filter contains one or more invalid nodes (filtering on '{name}' is not supported here).",
        )
    raise ODataError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")


def _compile_lambda(node: Lambda) -> Predicate:
    """`ep: ep/id eq '<id>' and <value condition>`: the id must be pinned with `eq`."""
    conjuncts = _conjuncts(node.body)
    ids = [c for c in conjuncts if isinstance(c, Compare) and _member(c, node.variable) == "id"]
    if len(ids) != 1 or ids[0].op != "eq":
        # Graph answers this way when the lambda does not pin the property id.
        raise ODataError(400, "ErrorInvalidProperty", "The property 'Id' does not support filtering.")
    property_id = canonical_property_id(str(_literal(ids[0]).value))
    conditions = [_compile_value_condition(c, node.variable) for c in conjuncts if c is not ids[0]]

    def matches(props: ExtendedProperties) -> bool:
        value = props.get(property_id)
        return value is not None and all(condition(value) for condition in conditions)

    return matches


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, BoolOp) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _member(node: Compare | Call, variable: str) -> str | None:
    """`id` or `value` when the node compares `variable/id` or `variable/value` to a literal."""
    operands = (node.left, node.right) if isinstance(node, Compare) else node.args
    paths = [o for o in operands if isinstance(o, Path)]
    literals = [o for o in operands if isinstance(o, Literal)]
    if len(paths) != 1 or len(literals) != 1:
        raise _syntax_error()
    segments = paths[0].segments
    if len(segments) != 2 or segments[0] != variable:
        raise ODataError(
            400, "ErrorInvalidProperty", f"The property '{'/'.join(segments)}' does not support filtering."
        )
    member = segments[1].lower()
    if member not in ("id", "value"):
        raise ODataError(400, "ErrorInvalidProperty", f"The property '{segments[1]}' does not support filtering.")
    return member


def _literal(node: Compare | Call) -> Literal:
    operands = (node.left, node.right) if isinstance(node, Compare) else node.args
    return next(o for o in operands if isinstance(o, Literal))


def _compile_value_condition(node: Node, variable: str) -> Callable[[str], bool]:
    if isinstance(node, Compare) and node.op in ("eq", "ne") and _member(node, variable) == "value":
        expected = str(_literal(node).value).casefold()
        if node.op == "eq":
            return lambda value: value.casefold() == expected
        return lambda value: value.casefold() != expected
    if isinstance(node, Call) and node.function in ("contains", "startswith") and _member(node, variable) == "value":
        if not isinstance(node.args[0], Path):
            raise _syntax_error()
        needle = str(_literal(node).value).casefold()
        if node.function == "contains":
            return lambda value: needle in value.casefold()
        return lambda value: value.casefold().startswith(needle)
    raise ODataError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")


# -- $expand and $select ------------------------------------------------------------------------


def split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


@dataclass(frozen=True)
class Expansion:
    """Which extended properties to return: these canonical ids, or None when not expanded."""

    single_value_ids: frozenset[str] | None
    #: Expanded navigation properties the emulator returns empty (attachments, extensions, ...).
    empty: tuple[str, ...] = ()
    #: `exceptionOccurrences` was expanded (returned on a GET of a series master that selects it).
    exception_occurrences: bool = False


_EMPTY_EXPANDABLE = {
    "attachments": "attachments",
    "extensions": "extensions",
    "instances": "instances",
    "multivalueextendedproperties": "multiValueExtendedProperties",
}


def parse_expand(text: str) -> Expansion | None:
    """`$expand` of an events request; None when it expands nothing the emulator returns."""
    singles: frozenset[str] | None = None
    expanded = exceptions = False
    empty = []
    for item in split_top_level(text):
        match = re.fullmatch(r"\s*([A-Za-z]+)\s*(?:\((.*)\))?\s*", item, re.DOTALL)
        if match is None:
            raise ODataError(400, "BadRequest", f"Parsing OData Select and Expand failed: Syntax error at '{item}'.")
        name, options = match.group(1), match.group(2)
        lowered = name.lower()
        if lowered == "singlevalueextendedproperties":
            expanded = True
            singles = _expand_filter_ids(options) if options is not None else frozenset()
        elif lowered == "exceptionoccurrences":
            if options is not None:
                raise ODataError(400, "BadRequest", "The emulator takes no options in $expand=exceptionOccurrences.")
            exceptions = True
        elif lowered in _EMPTY_EXPANDABLE:
            empty.append(_EMPTY_EXPANDABLE[lowered])
        else:
            raise ODataError(400, "BadRequest", _unknown_property(name))
    if not expanded and not empty and not exceptions:
        return None
    # Graph documents $expand of extended properties only with an inner $filter on the id; without
    # one the reported behaviour is an empty collection, which is what the emulator returns.
    return Expansion(singles if expanded else None, tuple(empty), exceptions)


def _expand_filter_ids(options: str) -> frozenset[str]:
    match = re.fullmatch(r"\s*\$filter\s*=\s*(.+)", options, re.DOTALL | re.IGNORECASE)
    if match is None:
        raise ODataError(400, "BadRequest", f"Parsing OData Select and Expand failed: Syntax error in '({options})'.")
    ids: set[str] = set()
    _collect_ids(parse_filter(match.group(1)), ids)
    return frozenset(ids)


def _collect_ids(node: Node, ids: set[str]) -> None:
    if isinstance(node, BoolOp) and node.op == "or":
        _collect_ids(node.left, ids)
        _collect_ids(node.right, ids)
        return
    if isinstance(node, Compare) and node.op == "eq":
        paths = [o for o in (node.left, node.right) if isinstance(o, Path)]
        literals = [o for o in (node.left, node.right) if isinstance(o, Literal)]
        if len(paths) == 1 and len(literals) == 1 and [s.lower() for s in paths[0].segments] == ["id"]:
            ids.add(canonical_property_id(str(literals[0].value)))
            return
    raise ODataError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")


# -- Prefer -------------------------------------------------------------------------------------

_PREFERENCE = re.compile(r'\s*([^\s=,;]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,;\s]*))?((?:\s*;[^,]*)?)\s*(?:,|$)')


def parse_prefer(values: str) -> dict[str, str]:
    """RFC 7240 preferences as lower-cased name -> unquoted value ("" for a bare token)."""
    prefs: dict[str, str] = {}
    position = 0
    while position < len(values):
        match = _PREFERENCE.match(values, position)
        if match is None or match.end() == position:
            break
        name, value = match.group(1).lower(), match.group(2) or ""
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        prefs.setdefault(name, value)
        position = match.end()
    return prefs


def _unknown_property(name: str) -> str:
    return (
        "Parsing OData Select and Expand failed: Could not find a property named"
        f" '{name}' on type 'microsoft.graph.event'."
    )


def evaluate_select(text: str, known: Mapping[str, str]) -> frozenset[str]:
    """Lower-cased property names of a `$select`; unknown names are refused as Graph does."""
    names = set()
    for item in split_top_level(text):
        lowered = item.strip().lower()
        if lowered not in known:
            raise ODataError(400, "BadRequest", _unknown_property(item.strip()))
        names.add(lowered)
    return frozenset(names)
