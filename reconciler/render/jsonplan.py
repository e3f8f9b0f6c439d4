"""The JSON plan: the public machine contract (schemas/plan.schema.json) and the plan file format.

`to_document` is lossless for everything `apply` needs: a saved plan is applied exactly as it was
reviewed, down to a series' occurrence writes (`writes`, the planner's `Change.writes`), which
providers execute as saved. Errors, warnings and effects are only shown, so the file keeps them as
their words (`render.notices`, the strings the schema publishes) and reads them back as
`notices.Worded`: `from_document(to_document(plan))` equals `plan` with every notice worded, and
renders exactly as `plan` does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.budget import OrganizerBudget, OversizedMessage, SendBudget
from reconciler.diff import FieldChange
from reconciler.errors import PlanError
from reconciler.limits import SendLimits
from reconciler.model import Action, MailKind
from reconciler.notices import Worded
from reconciler.notify import Notification
from reconciler.occurrences import NO_EDITS, EditKind, OccurrenceEdit, SeriesEdits, creation_edits
from reconciler.people import ResponseCounts
from reconciler.plan import PLAN_FORMAT_VERSION, Change, Plan, UnavailableMailbox, update_writes
from reconciler.render.notices import ordered, word, word_effect
from reconciler.state import (
    MeetingState,
    OverrideState,
    StateJson,
    from_json,
    override_from_json,
    override_json,
    to_json,
    value_from_json,
    value_json,
)

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
    if change.responses is not None:
        extra["responses"] = _responses(change.responses)
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
        "warnings": [word(w) for w in change.warnings],
        "effects": [word_effect(e) for e in change.effects],
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


def _responses(value: ResponseCounts) -> dict[str, Any]:
    return {
        "accepted": value.accepted,
        "tentative": value.tentative,
        "declined": value.declined,
        "no_answer": value.no_answer,
        "asked_again": value.asked_again,
        "accepted_by": list(value.accepted_by),
        "declined_rooms": list(value.declined_rooms),
    }


def _read_responses(data: Mapping[str, Any] | None) -> ResponseCounts | None:
    if data is None:
        return None
    return ResponseCounts(
        accepted=int(data["accepted"]),
        tentative=int(data["tentative"]),
        declined=int(data["declined"]),
        no_answer=int(data["no_answer"]),
        accepted_by=tuple(data["accepted_by"]),
        declined_rooms=tuple(data["declined_rooms"]),
        asked_again=int(data["asked_again"]),
    )


def _writes_series(action: Action, desired: MeetingState | None) -> bool:
    """Whether the change writes a series, and so carries `writes` (every other change has none)."""
    return action in _WRITING_ACTIONS and desired is not None and desired.recurrence is not None


def _values_json(values: OverrideState | None) -> StateJson:
    """An occurrence's values as the plan file keeps them: `override_json` without the date."""
    if values is None:
        return {}
    out = override_json(values)
    del out["date"]
    return out


def _values_from_json(day: str, saved: Mapping[str, Any]) -> OverrideState | None:
    return override_from_json({"date": day, **saved}) if saved else None


def _writes(writes: SeriesEdits) -> dict[str, Any]:
    return {
        "regenerate": writes.regenerate,
        "base_skip": list(writes.base_skip),
        "base_overrides": {o.date.isoformat(): _values_json(o) for o in writes.base_overrides},
        "edits": [
            {"kind": e.kind.value, "date": e.date, "values": _values_json(e.values), "restores": e.restores}
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
        base_overrides=tuple(override_from_json({"date": day, **o}) for day, o in saved["base_overrides"].items()),
        edits=tuple(
            OccurrenceEdit(
                EditKind(e["kind"]), e["date"], _values_from_json(e["date"], e["values"]), bool(e["restores"])
            )
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
        "errors": ordered(plan.errors),
        "warnings": ordered(plan.warnings),
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
        **({"send_budget": _budget(plan.budget)} if plan.budget.organizers else {}),
    }


def _budget(budget: SendBudget) -> dict[str, Any]:
    limits = budget.limits
    return {
        "limits": {
            "messages_per_minute": limits.messages_per_minute,
            "recipients_per_day": limits.recipients_per_day,
            "recipients_per_message": limits.recipients_per_message,
            "warn_at_percent": limits.warn_at_percent,
        },
        "organizers": [
            {
                "organizer": b.organizer,
                "messages": b.messages,
                "recipients": b.recipients,
                "apply_seconds": b.apply_seconds,
                "oversized": [
                    {"id": m.meeting_id, "kind": m.kind.value, "recipients": m.recipients, "occurrence": m.occurrence}
                    for m in b.oversized
                ],
            }
            for b in budget.organizers
        ],
    }


def _read_budget(document: Mapping[str, Any] | None) -> SendBudget:
    """The send budget of a saved plan; a plan saved before it existed (or without mail) has none."""
    if document is None:
        return SendBudget()
    return SendBudget(
        SendLimits(**document["limits"]),
        tuple(
            OrganizerBudget(
                organizer=b["organizer"],
                messages=b["messages"],
                recipients=b["recipients"],
                apply_seconds=b["apply_seconds"],
                oversized=tuple(
                    OversizedMessage(m["id"], MailKind(m["kind"]), m["recipients"], m["occurrence"])
                    for m in b["oversized"]
                ),
            )
            for b in document["organizers"]
        ),
    )


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
            errors=_worded(document["errors"]),
            warnings=_worded(document["warnings"]),
            unavailable=tuple(
                UnavailableMailbox(u["mailbox"], u["reason"], tuple(u["meetings"]))
                for u in document.get("unavailable_mailboxes", [])
            ),
            drift_kept=tuple(document.get("drift_kept", [])),
            budget=_read_budget(document.get("send_budget")),
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
        warnings=_worded(c["warnings"]),
        effects=_worded(c["effects"]),
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
        responses=_read_responses(c.get("responses")),
    )


def _worded(texts: Sequence[Any]) -> tuple[Worded, ...]:
    """Saved messages, as they were worded when the plan was made."""
    if not all(isinstance(text, str) for text in texts):
        raise ValueError("a message is not a string")
    return tuple(Worded(text) for text in texts)


def parse(text: str) -> Plan:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PlanError(f"The plan file is not valid JSON: {error}.") from error
    return from_document(document)
