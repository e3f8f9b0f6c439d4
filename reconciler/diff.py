"""Field-level diff of canonical meeting states (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model import FIELD_ORDER
from reconciler.state import FieldValue, MeetingState

#: Values a create leaves out of its field list (nothing to show).
_EMPTY: tuple[FieldValue, ...] = (None, "", (), False)


@dataclass(frozen=True)
class FieldChange:
    """One canonical field whose value differs: `before` as observed, `after` as desired."""

    name: str
    before: FieldValue
    after: FieldValue


def diff_fields(observed: MeetingState | None, desired: MeetingState) -> tuple[FieldChange, ...]:
    """Every canonical field whose desired value differs from the observed one, in display order.

    With `observed=None` (a create) every field with a value is listed, before = None.
    """
    if observed is None:
        return tuple(
            FieldChange(name, None, after) for name in FIELD_ORDER if (after := getattr(desired, name)) not in _EMPTY
        )
    if observed == desired:
        return ()
    return tuple(
        FieldChange(name, before, after)
        for name in FIELD_ORDER
        if (before := getattr(observed, name)) != (after := getattr(desired, name))
    )
