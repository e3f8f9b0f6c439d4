"""The JSON plan: the public machine contract (schemas/plan.schema.json) and the plan file format.

`to_document` is lossless for everything `apply` needs, so `from_document(to_document(plan))`
equals `plan`: a saved plan is applied exactly as it was reviewed, down to a series' occurrence
writes (`writes`, the planner's `Change.writes`), which providers execute as saved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.diff import FieldChange
from reconciler.errors import PlanError
from reconciler.model import Action, MailKind
from reconciler.notify import Notification
from reconciler.occurrences import NO_EDITS, EditKind, OccurrenceEdit, SeriesEdits, creation_edits
from reconciler.plan import PLAN_FORMAT_VERSION, Change, Plan, UnavailableMailbox, update_writes
from reconciler.state import MeetingState, from_json, to_json, value_from_json, value_json

#: Actions counted in `summary` only when the plan has some (added after format_version 1 was published).
_OPTIONAL_ACTIONS = frozenset({Action.RELEASE, Action.ADOPT})
#: Actions that write the desired state, and so carry `writes` when that state is a series.
_WRITING_ACTIONS = frozenset({Action.CREATE, Action.UPDATE, Action.MOVE, Action.ADOPT})


def summary(plan: Plan) -> dict[str, Any]:
    """Counts per action, mail per kind and the number of people who receive mail."""
    return {
        **{
            action.value: plan.count(action)
            for action in Action
            if action not in _OPTIONAL_ACTIONS or plan.count(action)
        },
        "recipients": len(plan.recipients()),
        "mail": {kind.value: plan.mail_count(kind) for kind in MailKind},
    }


def _change(change: Change) -> dict[str, Any]:
    # `late`, `recreated` and `previous_namespace` appear only when set, and `writes` only on a
    # change that writes a series, so plans without them read as before.
    extra: dict[str, Any] = {"late": True} if change.late else {}
    if change.recreated:
        extra["recreated"] = True
    if change.previous_namespace is not None:
        extra["previous_namespace"] = change.previous_namespace
    if _writes_series(change.action, change.desired):
        extra["writes"] = _writes(change.writes)
    return {
        "id": change.meeting_id,
        "organizer": change.organizer,
        "action": change.action.value,
        "subject": change.subject,
        "source": change.source,
        "item_id": change.item_id,
        "change_key": change.change_key,
        "previous_id": change.previous_id,
        "comment": change.comment,
        "drift": list(change.drift),
        "warnings": list(change.warnings),
        "effects": list(change.effects),
        "fields": {
            f.name: {"before": value_json(f.name, f.before), "after": value_json(f.name, f.after)}
            for f in change.fields
        },
        "notifications": [
            {"kind": n.kind.value, "recipients": list(n.recipients), "comment": n.comment, "occurrence": n.occurrence}
            for n in change.notifications
        ],
        "desired": to_json(change.desired) if change.desired is not None else None,
        **extra,
    }


def _writes_series(action: Action, desired: MeetingState | None) -> bool:
    """Whether the change writes a series, and so carries `writes` (every other change has none)."""
    return action in _WRITING_ACTIONS and desired is not None and desired.recurrence is not None


def _writes(writes: SeriesEdits) -> dict[str, Any]:
    return {
        "regenerate": writes.regenerate,
        "base_skip": list(writes.base_skip),
        "base_overrides": {day: dict(values) for day, values in writes.base_overrides.items()},
        "edits": [
            {"kind": e.kind.value, "date": e.date, "values": dict(e.values), "restores": e.restores}
            for e in writes.edits
        ],
    }


def _read_writes(
    change: Mapping[str, Any], action: Action, desired: MeetingState | None, fields: tuple[FieldChange, ...]
) -> SeriesEdits:
    if desired is None or not _writes_series(action, desired):
        return NO_EDITS
    if "writes" not in change:
        # A plan saved before `writes` existed: derived as the planner derives them (and as that
        # version's apply did).
        return creation_edits(desired) if action is Action.CREATE else update_writes(desired, fields)
    saved = change["writes"]
    return SeriesEdits(
        regenerate=bool(saved["regenerate"]),
        base_skip=tuple(saved["base_skip"]),
        base_overrides={day: dict(values) for day, values in saved["base_overrides"].items()},
        edits=tuple(
            OccurrenceEdit(EditKind(e["kind"]), e["date"], dict(e["values"]), bool(e["restores"]))
            for e in saved["edits"]
        ),
    )


def to_document(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "backend": plan.backend,
        "namespace": plan.namespace,
        "created_at": plan.created_at,
        "summary": summary(plan),
        "errors": list(plan.errors),
        "warnings": list(plan.warnings),
        "changes": [_change(c) for c in plan.changes],
        **(
            {
                "unavailable_mailboxes": [
                    {"mailbox": u.mailbox, "reason": u.reason, "meetings": list(u.meeting_ids)}
                    for u in plan.unavailable
                ]
            }
            if plan.unavailable
            else {}
        ),
        **({"drift_kept": list(plan.drift_kept)} if plan.drift_kept else {}),
    }


def render(plan: Plan) -> str:
    return json.dumps(to_document(plan), indent=2, ensure_ascii=False) + "\n"


def from_document(document: Mapping[str, Any]) -> Plan:
    """A plan read back from `to_document`'s output; a file of another version is a PlanError."""
    version = document.get("format_version") if isinstance(document, Mapping) else None
    if version != PLAN_FORMAT_VERSION:
        raise PlanError(
            f"The plan file has format_version {version!r}; this version of meetings reads {PLAN_FORMAT_VERSION}."
        )
    try:
        changes = tuple(_read_change(c) for c in document["changes"])
        return Plan(
            backend=document["backend"],
            namespace=document["namespace"],
            created_at=document["created_at"],
            changes=changes,
            unchanged=document["summary"]["no-op"],
            errors=tuple(document["errors"]),
            warnings=tuple(document["warnings"]),
            unavailable=tuple(
                UnavailableMailbox(u["mailbox"], u["reason"], tuple(u["meetings"]))
                for u in document.get("unavailable_mailboxes", [])
            ),
            drift_kept=tuple(document.get("drift_kept", [])),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise PlanError(f"The plan file is not a plan written by `meetings plan --out`: {error}.") from error


def _read_change(c: Mapping[str, Any]) -> Change:
    action = Action(c["action"])
    fields = tuple(
        FieldChange(name, value_from_json(name, v["before"]), value_from_json(name, v["after"]))
        for name, v in c["fields"].items()
    )
    desired = from_json(c["desired"]) if c["desired"] is not None else None
    return Change(
        action=action,
        meeting_id=c["id"],
        organizer=c["organizer"],
        subject=c["subject"],
        source=c["source"],
        item_id=c["item_id"],
        change_key=c["change_key"],
        previous_id=c["previous_id"],
        comment=c["comment"],
        drift=tuple(c["drift"]),
        warnings=tuple(c["warnings"]),
        effects=tuple(c["effects"]),
        fields=fields,
        notifications=tuple(
            Notification(MailKind(n["kind"]), tuple(n["recipients"]), n["comment"], n["occurrence"])
            for n in c["notifications"]
        ),
        desired=desired,
        late=bool(c.get("late", False)),
        recreated=bool(c.get("recreated", False)),
        previous_namespace=c.get("previous_namespace"),
        writes=_read_writes(c, action, desired, fields),
    )


def parse(text: str) -> Plan:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PlanError(f"The plan file is not valid JSON: {error}.") from error
    return from_document(document)
