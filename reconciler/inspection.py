"""`meetings inspect ID`: one managed item as the server holds it, and what the plan makes of it (pure).

The verdict on each field comes from the planner itself (`plan.build_plan` on this one meeting and
this one item): the fields it changes, and among them the drift (edited outside git), so inspect
and plan can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from reconciler.model import Meeting
from reconciler.notices import Notice
from reconciler.ownership import body_fingerprint, decode_record
from reconciler.plan import Change, PlanPolicy, build_plan
from reconciler.port import Capabilities, RawItem
from reconciler.state import FieldValue, MeetingState


class Reason(StrEnum):
    """Why the plan changes a field of the item."""

    #: The item still holds what the last apply wrote: the meeting file changed since.
    CHANGED_IN_GIT = "changed-in-git"
    #: The item differs from what the last apply wrote: someone edited it outside git (drift).
    EDITED_OUTSIDE_GIT = "edited-outside-git"
    #: The item carries no readable record, so who changed it cannot be told.
    NO_RECORD = "no-record"


@dataclass(frozen=True)
class FieldVerdict:
    """One field the plan changes: the item's value, the file's, and why they differ."""

    name: str
    item: FieldValue
    file: FieldValue
    reason: Reason


@dataclass(frozen=True)
class Inspection:
    """What `meetings inspect` shows. `change` is the plan's change of the item (None: the plan
    leaves it as it is); `source`, where the meeting file declaring the id is (None: no file does)."""

    namespace: str
    backend: str
    raw: RawItem
    source: str | None
    recorded_fields: MeetingState | None
    recorded_fingerprints: Mapping[str, str]
    server_body_fingerprint: str
    change: Change | None
    fields: tuple[FieldVerdict, ...]
    warnings: tuple[Notice, ...]
    errors: tuple[Notice, ...]

    @property
    def body_untouched(self) -> bool:
        """The server's body still has the fingerprint we recorded (so the file's text is read back)."""
        return self.recorded_fingerprints.get("body") == self.server_body_fingerprint


def inspect_item(
    raw: RawItem,
    desired: Meeting | None,
    *,
    now: datetime,
    policy: PlanPolicy,
    capabilities: Capabilities,
    backend: str,
    namespace: str,
) -> Inspection:
    """The inspection of `raw` against the meeting file declaring its id (`desired`, None: none)."""
    observed = raw.observed
    plan = build_plan(
        [desired] if desired is not None else [],
        [observed],
        now=now,
        policy=policy,
        capabilities=capabilities,
        backend=backend,
        namespace=namespace,
        allow_mass_cancel=True,
        allow_late=True,
    )
    change = next((c for c in plan.changes if c.item_id == observed.item_id), None)
    recorded, fingerprints = decode_record(raw.record)
    verdicts: tuple[FieldVerdict, ...] = ()
    if change is not None:
        verdicts = tuple(FieldVerdict(f.name, f.before, f.after, _reason(f.name, change, raw)) for f in change.fields)
    return Inspection(
        namespace=namespace,
        backend=backend,
        raw=raw,
        source=_where(desired),
        recorded_fields=recorded,
        recorded_fingerprints=fingerprints,
        server_body_fingerprint=body_fingerprint(raw.server_body),
        change=change,
        fields=verdicts,
        warnings=plan.warnings + (change.warnings if change is not None else ()),
        errors=plan.errors,
    )


def _reason(name: str, change: Change, raw: RawItem) -> Reason:
    """The planner's own verdict: a field in `change.drift` was edited outside git."""
    if raw.observed.last_applied is None:
        return Reason.NO_RECORD
    return Reason.EDITED_OUTSIDE_GIT if name in change.drift else Reason.CHANGED_IN_GIT


def _where(meeting: Meeting | None) -> str | None:
    if meeting is None:
        return None
    return f"{meeting.source.path}:{meeting.source.line}" if meeting.source else "a meeting file"
