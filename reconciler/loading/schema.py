"""JSON Schema validation of YAML documents, reported as located, readable diagnostics.

The schemas in `schemas/` are the single description of the file formats: editors validate with them
(yaml-language-server) and so do we. `jsonschema` is the authority on errors, but it costs about
250 µs per meeting document; a document that is valid (the usual case) is recognised in a few µs by a
predicate compiled from the same schema, and only invalid ones go through `jsonschema`. The compiler
knows the keywords our schemas use and refuses anything else, so it can never wave an invalid document
through: an unknown keyword means every document goes to `jsonschema`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import ConfigError, Diagnostic
from reconciler.loading.values import describe, did_you_mean, join_or, label, quote
from reconciler.loading.yamldoc import Document, NodePath

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"

Predicate = Callable[[Any], bool]

_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}


class SchemaCheck:
    """One compiled schema: `diagnostics(document, display)` lists its violations."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        try:
            self._fast: Predicate | None = _Compiler(schema).compile(schema)
        except _Unsupported:
            self._fast = None

    @functools.cached_property
    def _validator(self) -> Draft202012Validator:
        """jsonschema's validator, built when a document is invalid (or the fast predicate cannot
        be compiled): importing jsonschema and checking the schema cost every command ~60 ms."""
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(self.schema)
        return Draft202012Validator(self.schema)

    def is_valid(self, value: Any) -> bool:
        return self._fast(value) if self._fast is not None else bool(self._validator.is_valid(value))

    def diagnostics(
        self, document: Document, display: str, *, silent: Iterable[NodePath] = ()
    ) -> tuple[list[Diagnostic], set[NodePath]]:
        """Every violation as a Diagnostic, and the paths they concern (for later checks to skip).

        Violations inside `silent` paths or the document's unusable paths are not reported.
        """
        if self.is_valid(document.value):
            return [], set()
        quiet = set(silent) | document.unusable
        diagnostics: dict[tuple[int, int, str], Diagnostic] = {}
        bad: set[NodePath] = set()

        def report(path: NodePath, at_key: bool, message: str) -> None:
            pos = document.key_pos(path) if at_key else document.value_pos(path)
            diagnostics.setdefault((pos.line, pos.column, message), Diagnostic(display, pos.line, pos.column, message))
            bad.add(path)

        for error in self._validator.iter_errors(document.value):
            path: NodePath = tuple(error.absolute_path)
            if _inside(path, quiet):
                continue
            keyword, schema, instance = error.validator, error.schema, error.instance
            if keyword == "additionalProperties":
                known = schema.get("properties", {})
                for key in instance:
                    if key not in known and not _inside((*path, key), quiet):
                        report((*path, key), True, f"unknown key {quote(key)}{did_you_mean(key, known)}")
            elif keyword == "required":
                for key in error.validator_value:
                    if key not in instance:
                        report(path, False, f'missing required key "{key}"')
            else:
                report(path, False, _message(keyword, error.validator_value, schema, instance, path))
        return sorted(diagnostics.values()), bad


def _inside(path: NodePath, paths: set[NodePath]) -> bool:
    return bool(paths) and any(path[:i] in paths for i in range(len(path) + 1))


def _message(keyword: str, expected: Any, schema: Mapping[str, Any], instance: Any, path: NodePath) -> str:
    name = label(path)
    if keyword == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        wanted = schema.get("x-expected") or join_or(_EXPECTED[t] for t in types)
        hint = "; put it in quotes" if "string" in types and isinstance(instance, bool | int | float) else ""
        return f"{name} must be {wanted}, not {describe(instance)}{hint}"
    if keyword == "enum":
        options = [str(option) for option in expected]
        suggestion = did_you_mean(instance, options) if isinstance(instance, str) else ""
        return f"{name} must be one of {join_or(options)}, not {describe(instance)}{suggestion}"
    if keyword == "pattern":
        return f"{name} must be {schema.get('x-hint', 'text matching ' + expected)}, not {describe(instance)}"
    if keyword == "minimum":
        return f"{name} must be at least {expected}, not {describe(instance)}"
    if keyword == "maximum":
        return f"{name} must be at most {expected}, not {describe(instance)}"
    if keyword in ("minLength", "minItems") and expected == 1:
        return f"{name} must not be empty"
    if keyword == "minLength":
        return f"{name} must be at least {expected} characters long"
    if keyword == "maxLength":
        return f"{name} must be at most {expected} characters long, not {len(instance)}"
    return f"{name}: {keyword} {expected!r} is not satisfied"


@functools.cache
def schema_check(name: str) -> SchemaCheck:
    """The compiled check of `schemas/<name>.schema.json`, built once per process."""
    path = SCHEMAS_DIR / f"{name}.schema.json"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        message = f"The JSON schema {path.name} is missing from this installation ({path}: {error.strerror})."
        raise ConfigError(message) from error
    return SchemaCheck(json.loads(text))


class _Unsupported(Exception):
    """The schema uses a keyword the fast predicate does not implement."""


#: Keywords that never make a document invalid.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples", "format"}
    | {"x-hint", "x-expected", "patternErrorMessage", "markdownDescription", "deprecated"}
)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Predicate] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


_SUPPORTED = frozenset(
    {"$ref", "type", "enum", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"}
    | {"required", "properties", "additionalProperties", "items", "uniqueItems"}
)


_PYTHON_TYPES: dict[str, type] = {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}


def _type_check(types: str | list[str] | None) -> Predicate | None:
    if types is None:
        return None
    names = [types] if isinstance(types, str) else types
    if all(name in _PYTHON_TYPES for name in names):  # one isinstance() call (bool is no integer here)
        python_types = tuple(_PYTHON_TYPES[name] for name in names)
        return lambda v: isinstance(v, python_types)
    checks = [_TYPES[name] for name in names]
    return lambda v: any(check(v) for check in checks)


def _json_key(value: Any) -> Any:
    """A hashable stand-in equal for values JSON Schema calls equal (`uniqueItems`): 1 and 1.0 are
    equal, true and 1 are not, and objects are equal whatever their key order."""
    if isinstance(value, bool) or value is None:
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_json_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _json_key(item)) for key, item in value.items()))
    return ("string", value)


class _Compiler:
    """Compiles the subset of JSON Schema 2020-12 our schemas use into a validity predicate.

    Each schema object becomes one closure that checks the type first and then only the keywords
    that apply to that type, as JSON Schema does.
    """

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Predicate] = {}
        self.pending: set[str] = set()

    def compile(self, schema: Any) -> Predicate:
        if schema is True:
            return lambda v: True
        if schema is False or not isinstance(schema, Mapping):
            raise _Unsupported(repr(schema))
        unknown = set(schema) - _ANNOTATIONS - _SUPPORTED
        if unknown or ("patternProperties" in schema):
            raise _Unsupported(", ".join(sorted(unknown)))
        ref = self._ref(schema["$ref"]) if "$ref" in schema else None
        type_check = _type_check(schema.get("type"))
        enum = self._enum(schema["enum"]) if "enum" in schema else None
        text, number = self._text(schema), self._number(schema)
        array, mapping = self._array(schema), self._mapping(schema)

        def check(v: Any) -> bool:
            if type_check is not None and not type_check(v):
                return False
            if enum is not None and not (isinstance(v, str) and v in enum):
                return False
            if isinstance(v, str):
                ok = text is None or text(v)
            elif isinstance(v, dict):
                ok = mapping is None or mapping(v)
            elif isinstance(v, list):
                ok = array is None or array(v)
            else:
                ok = number is None or not _is_number(v) or number(v)
            return ok and (ref is None or ref(v))

        return check

    def _ref(self, ref: str) -> Predicate:
        if not ref.startswith("#/$defs/") or ref in self.pending:
            raise _Unsupported(ref)  # remote or recursive references
        if ref not in self.refs:
            self.pending.add(ref)
            self.refs[ref] = self.compile(self.root["$defs"][ref.removeprefix("#/$defs/")])
            self.pending.discard(ref)
        return self.refs[ref]

    @staticmethod
    def _enum(options: Any) -> frozenset[str]:
        if not all(isinstance(option, str) for option in options):
            raise _Unsupported("enum of non-strings")
        return frozenset(options)

    @staticmethod
    def _text(schema: Mapping[str, Any]) -> Predicate | None:
        if not {"pattern", "minLength", "maxLength"} & set(schema):
            return None
        regex = re.compile(schema["pattern"]) if "pattern" in schema else None
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        return lambda v: (
            (regex is None or regex.search(v) is not None) and low <= len(v) and (high is None or len(v) <= high)
        )

    @staticmethod
    def _number(schema: Mapping[str, Any]) -> Predicate | None:
        if not {"minimum", "maximum"} & set(schema):
            return None
        low, high = schema.get("minimum"), schema.get("maximum")
        return lambda v: (low is None or v >= low) and (high is None or v <= high)

    def _array(self, schema: Mapping[str, Any]) -> Predicate | None:
        if not {"items", "minItems", "maxItems", "uniqueItems"} & set(schema):
            return None
        item = self.compile(schema["items"]) if "items" in schema else None
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        unique = schema.get("uniqueItems") is True

        def check(v: list[Any]) -> bool:
            if len(v) < low or (high is not None and len(v) > high):
                return False
            if unique and len({_json_key(x) for x in v}) < len(v):
                return False
            return item is None or all(item(x) for x in v)

        return check

    def _mapping(self, schema: Mapping[str, Any]) -> Predicate | None:
        if not {"properties", "additionalProperties", "required"} & set(schema):
            return None
        properties = {key: self.compile(sub) for key, sub in schema.get("properties", {}).items()}
        extra_schema = schema.get("additionalProperties", True)
        closed = extra_schema is False
        extra = None if closed or extra_schema is True else self.compile(extra_schema)
        required = tuple(schema.get("required", ()))

        def check(v: dict[str, Any]) -> bool:
            for key, value in v.items():
                sub = properties.get(key)
                if sub is None:
                    if closed or (extra is not None and not extra(value)):
                        return False
                elif not sub(value):
                    return False
            return all(key in v for key in required)

        return check
