"""A small evaluator of GitHub Actions expressions (`${{ ... }}`), enough for our workflows.

Supported: literals, context property paths (`a.b`, `a['b']`), `!`, `==`, `!=`, `<`, `<=`, `>`, `>=`,
`&&`, `||` (which return an operand, as in GitHub), parentheses, and the functions `always`, `success`,
`failure`, `cancelled`, `contains`, `startsWith`, `endsWith`, `format`, `toJSON`, `fromJSON`.
Anything else raises ExpressionError, so a workflow that starts using more fails its tests loudly
instead of being evaluated wrongly.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_STATUS_FUNCTIONS = ("always", "success", "failure", "cancelled")
_EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(Exception):
    """The expression uses syntax or a function this evaluator does not know."""


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"cannot read {text[position:]!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


def truthy(value: Any) -> bool:
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return not (value == 0 or math.isnan(value))
    return True


def to_string(value: Any) -> str:
    """How GitHub turns a value into a string in `env:`, `with:` and `${{ }}` inside text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return str(value)


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) or (isinstance(left, int | float) and isinstance(right, int | float)):
        return bool(left == right)
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return left is right
    return to_number(left) == to_number(right)


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0
        self.contexts = contexts
        self.status = status

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'more'} in {self.text!r}")
        self.position += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()} in {self.text!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.equality()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.equality()
            value = right if truthy(value) else value
        return value

    def equality(self) -> Any:
        value = self.comparison()
        while self.peek() in (("op", "=="), ("op", "!=")):
            operator = self.take()[1]
            right = self.comparison()
            value = _equal(value, right) if operator == "==" else not _equal(value, right)
        return value

    def comparison(self) -> Any:
        value = self.unary()
        while self.peek() in (("op", "<"), ("op", "<="), ("op", ">"), ("op", ">=")):
            operator = self.take()[1]
            left, right = to_number(value), to_number(self.unary())
            value = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator]
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return float(text)
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if (kind, text) == ("op", "("):
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == ("op", "("):
            return self.call(text)
        if text not in self.contexts:
            raise ExpressionError(f"unknown context {text!r} in {self.text!r}")
        value = self.contexts[text]
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key: Any = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    def call(self, name: str) -> Any:
        self.take("(")
        arguments: list[Any] = []
        while self.peek() != ("op", ")"):
            arguments.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        if name in _STATUS_FUNCTIONS:
            return self.status[name]
        functions: dict[str, Callable[..., Any]] = {
            "contains": lambda haystack, needle: (
                any(_equal(item, needle) for item in haystack)
                if isinstance(haystack, list)
                else to_string(needle).casefold() in to_string(haystack).casefold()
            ),
            "startsWith": lambda text, prefix: to_string(text).casefold().startswith(to_string(prefix).casefold()),
            "endsWith": lambda text, suffix: to_string(text).casefold().endswith(to_string(suffix).casefold()),
            "format": lambda pattern, *values: re.sub(
                r"\{(\d+)\}", lambda m: to_string(values[int(m.group(1))]), to_string(pattern)
            ),
            "toJSON": lambda value: json.dumps(value, indent=2),
            "fromJSON": lambda text: json.loads(to_string(text)),
        }
        if name not in functions:
            raise ExpressionError(f"unknown function {name}() in {self.text!r}")
        return functions[name](*arguments)


def evaluate(expression: str, contexts: Mapping[str, Any], status: Mapping[str, bool] | None = None) -> Any:
    """The value of one expression (with or without its `${{ }}`)."""
    match = re.fullmatch(r"\s*\$\{\{(.*)\}\}\s*", expression, re.DOTALL)
    text = match.group(1) if match else expression
    return _Parser(text, contexts, status or {}).parse()


def interpolate(value: Any, contexts: Mapping[str, Any]) -> str:
    """A `with:`/`env:` value with every `${{ }}` replaced by its value as a string."""
    return _EMBEDDED.sub(lambda m: to_string(evaluate(m.group(1), contexts)), to_string(value))


def condition(expression: Any, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> bool:
    """An `if:`; without a status function it means `success() && (...)`, as on GitHub."""
    if expression is None:
        return status["success"]
    if isinstance(expression, bool):
        return status["success"] and expression
    text = str(expression)
    value = truthy(evaluate(text, contexts, status))
    if not any(re.search(rf"\b{name}\s*\(", text) for name in _STATUS_FUNCTIONS):
        return status["success"] and value
    return value
