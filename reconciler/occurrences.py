"""Occurrence-level edits of a series: what a provider writes for `skip` and `overrides` (pure).

Exchange keeps a series as one master plus cancelled and changed occurrences. Every provider
updates a series the same way, so the plan can predict the mail of each step:

1. the master write (the changed series fields). When it has to write the pattern, Exchange
   regenerates the series and drops every cancelled and changed occurrence: that happens when the
   pattern or the series' time (start, end, time zone, all-day) changes, and when a skipped
   occurrence must come back (Exchange cannot un-cancel one occurrence);
2. one write per occurrence, in date order: CANCEL an occurrence (its attendees get a cancellation
   for it), or CHANGE it (`values` are canonical override keys; the occurrence's attendees get an
   update for it, or only invitations/cancellations when only its attendees change). Removing an
   override writes the series' values back to the occurrence (`restores`).

The planner decides these writes once per change (`plan.Change.writes`); the saved plan carries
them and providers execute them as given (`port.CreateRequest.writes`, `port.UpdateRequest.writes`).

The writes are typed: an occurrence's values are an `OverrideState` whose set attributes are the
override keys written (`start`, `end` local like the series', `subject`, `location`, `body` as text
in the series' body format, `required`, `optional`); the saved plan carries them in the JSON form of
`state.override_json` (render/jsonplan.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from reconciler.ownership import body_fingerprint, body_text, render_text
from reconciler.recurrence import local
from reconciler.state import OVERRIDE_KEYS, MeetingState, OverrideState, override_from_json

__all__ = ["OVERRIDE_KEYS"]
_PAIRS = (frozenset({"start", "end"}), frozenset({"required", "optional"}))
#: Series fields whose change makes a provider write the pattern (Exchange then regenerates the series).
REGENERATING_FIELDS = frozenset({"recurrence", "start", "end", "timezone", "all_day"})


class EditKind(StrEnum):
    CANCEL = "cancel"
    CHANGE = "change"


@dataclass(frozen=True)
class OccurrenceEdit:
    """One occurrence write, addressed by the occurrence's original date (YYYY-MM-DD)."""

    kind: EditKind
    date: str
    #: CHANGE only: the values to write (the set attributes; the date is the occurrence's).
    values: OverrideState | None = None
    #: CHANGE only: the override was removed; these are the series' values.
    restores: bool = False

    @property
    def written(self) -> OverrideState:
        """The values to write (nothing set for a CANCEL)."""
        return self.values if self.values is not None else OverrideState(date.fromisoformat(self.date))

    @property
    def keys(self) -> frozenset[str]:
        """The override keys this write sets (none for a CANCEL)."""
        return written_keys(self.written)


@dataclass(frozen=True)
class SeriesEdits:
    """How an update of a series is written; see the module docstring."""

    #: The master write includes the pattern, so Exchange drops every skip and override first.
    regenerate: bool
    #: Skips and overrides the series holds when the occurrence writes start (after the master write).
    base_skip: tuple[str, ...]
    base_overrides: tuple[OverrideState, ...]
    edits: tuple[OccurrenceEdit, ...]

    def master_fields(self, changed: Iterable[str]) -> frozenset[str]:
        """The canonical fields the master write carries ("recurrence" added when regenerating)."""
        names = set(changed) - {"skip", "overrides"}
        return frozenset(names | {"recurrence"} if self.regenerate else names)


#: The writes of a meeting that is not a series: the master write alone.
NO_EDITS = SeriesEdits(regenerate=False, base_skip=(), base_overrides=(), edits=())


def written_keys(override: OverrideState) -> frozenset[str]:
    """The override keys `override` sets (its attributes other than None)."""
    return frozenset(key for key in OVERRIDE_KEYS if getattr(override, key) is not None)


def override_dates(overrides: Iterable[OverrideState]) -> list[str]:
    """The original dates (YYYY-MM-DD) of `overrides`."""
    return [o.date.isoformat() for o in overrides]


def occurrence_fields(state: MeetingState, day: str, overrides: Iterable[OverrideState] | None = None) -> OverrideState:
    """What one occurrence looks like: the series' values on `day` (every override key set) with
    that day's override applied.

    `overrides` defaults to the state's own; pass `()` for the plain series occurrence.
    """
    start, end = local(state.start), local(state.end)
    on = date.fromisoformat(day)
    original = datetime.combine(on, start.time())
    plain = OverrideState(
        date=on,
        start=original.date() if state.all_day else original,
        end=(original + (end - start)).date() if state.all_day else original + (end - start),
        subject=state.subject,
        location=state.location,
        body=state.body,
        required=state.required,
        optional=state.optional,
    )
    chosen = next((o for o in (state.overrides if overrides is None else overrides) if o.date == on), None)
    return plain if chosen is None else with_override(plain, chosen)


def with_override(occurrence: OverrideState, override: OverrideState) -> OverrideState:
    """`occurrence` with the attributes `override` sets replaced."""
    return dataclasses.replace(occurrence, **{key: getattr(override, key) for key in written_keys(override)})


def _only(occurrence: OverrideState, keys: Iterable[str]) -> OverrideState:
    """`occurrence` keeping only the attributes named by `keys`."""
    wanted = set(keys)
    kept: dict[str, Any] = {key: getattr(occurrence, key) if key in wanted else None for key in OVERRIDE_KEYS}
    return dataclasses.replace(occurrence, **kept)


def series_edits(before: MeetingState, after: MeetingState, changed: Iterable[str]) -> SeriesEdits:
    """The master write and occurrence writes that take a series from `before` to `after`."""
    names = set(changed)
    if after.recurrence is None:
        return NO_EDITS
    old_skip, new_skip = {d.isoformat() for d in before.skip}, {d.isoformat() for d in after.skip}
    regenerate = bool(names & REGENERATING_FIELDS) or bool(old_skip - new_skip)
    base_skip: set[str] = set() if regenerate else old_skip
    base_overrides = () if regenerate else before.overrides
    wanted = {o.date.isoformat(): o for o in after.overrides}
    based = {o.date.isoformat(): o for o in base_overrides}
    edits = [OccurrenceEdit(EditKind.CANCEL, day) for day in sorted(new_skip - base_skip)]
    for day in sorted((set(wanted) | set(based)) - new_skip):
        new, old = wanted.get(day), based.get(day)
        if new == old:
            continue
        series = occurrence_fields(after, day, ())
        values = with_override(series, new) if new is not None else series
        keys = (written_keys(new) if new is not None else set()) | (written_keys(old) if old is not None else set())
        edits.append(OccurrenceEdit(EditKind.CHANGE, day, _only(values, keys), restores=new is None))
    edits.sort(key=lambda e: e.date)
    return SeriesEdits(regenerate, tuple(sorted(base_skip)), base_overrides, tuple(edits))


def creation_edits(state: MeetingState) -> SeriesEdits:
    """The occurrence writes that follow the creation of a series holding `state` (Exchange
    creates a series without exceptions): cancel each skip, change each override."""
    return series_edits(dataclasses.replace(state, skip=(), overrides=()), state, {"skip", "overrides"})


#: What a server shows for one changed occurrence, as a provider reads it (wire JSON): `start`/`end`
#: in canonical local form, `subject`, `location`, `required`, `optional`, and `body` as the
#: server's raw content (HTML or text).
ShownJson = Mapping[str, Any]


def observe_overrides(
    series: MeetingState,
    exceptions: Mapping[str, ShownJson],
    applied: MeetingState | None,
) -> tuple[OverrideState, ...]:
    """The canonical `overrides` of a series from its changed occurrences as a server shows them.

    `series` holds the series' canonical state (body already resolved); `exceptions` maps each
    changed occurrence's original date to what the server shows for it (`ShownJson`). An override
    keeps the keys that differ from the plain series occurrence; a body reads back as the text we
    wrote (the last-applied record `applied`) when its fingerprint still matches, as the series'
    body when it matches that, else as its visible text.
    """
    recorded = {o.date.isoformat(): o for o in applied.overrides} if applied is not None else {}
    out: list[OverrideState] = []
    for day in sorted(exceptions):
        plain = occurrence_fields(series, day, ())
        shown = override_from_json({"date": day, **exceptions[day]})
        if shown.body is not None:
            body = _resolve_body(shown.body, series, plain.body or "", recorded.get(day))
            shown = dataclasses.replace(shown, body=body)
        differing = {key for key in written_keys(shown) if getattr(shown, key) != getattr(plain, key)}
        for pair in _PAIRS:  # overrides set both of a pair or neither, as the loader writes them
            if differing & pair:
                differing |= pair
        if differing:
            out.append(_only(with_override(plain, shown), differing))
    return tuple(out)


def align_override_bodies(observed: MeetingState, desired: MeetingState) -> MeetingState:
    """`observed` with each changed occurrence's body read as the desired text when its visible text
    is what that text renders to. A body written by an occurrence-only update is not in the
    last-applied record (Graph writes the record only with the master), so it reads back as plain
    text; without this it would be rewritten, and re-mailed, on every apply."""
    if not observed.overrides:
        return observed
    wanted = {o.date: o.body for o in desired.overrides}
    aligned = []
    for override in observed.overrides:
        target = wanted.get(override.date)
        if (
            override.body is not None
            and target is not None
            and override.body != target
            and body_text(render_text(target, desired.body_format)[1]) == override.body
        ):
            override = dataclasses.replace(override, body=target)
        aligned.append(override)
    return dataclasses.replace(observed, overrides=tuple(aligned))


def _resolve_body(content: str, series: MeetingState, plain: str, recorded: OverrideState | None) -> str:
    fingerprint = body_fingerprint(content)
    if fingerprint == body_fingerprint(render_text(series.body, series.body_format)[1]):
        return plain
    if (
        recorded is not None
        and recorded.body is not None
        and fingerprint == body_fingerprint(render_text(recorded.body, series.body_format)[1])
    ):
        return recorded.body
    return body_text(content)
