"""Field-level diff of canonical meetings (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.model import FIELD_ORDER


@dataclass(frozen=True)
class FieldChange:
    """One canonical field whose value differs: `before` as observed, `after` as desired."""

    name: str
    before: Any
    after: Any


def diff_fields(observed: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """Every canonical field whose desired value differs from the observed one, in display order.

    With `observed=None` (a create) every field with a value is listed, before = None.
    """
    changes = []
    for name in FIELD_ORDER:
        after = desired.get(name)
        before = None if observed is None else observed.get(name)
        if observed is None and after in (None, "", [], False):
            continue
        if before != after:
            changes.append(FieldChange(name, before, after))
    return tuple(changes)
