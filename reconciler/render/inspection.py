"""`meetings inspect ID` for a terminal (`render`: the item's identity and marker, our record and
the fingerprints, the plan's verdict on each field with the reason, then the raw item as read) and
as JSON (`render_json`, schemas/inspect.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.inspection import Inspection, Reason
from reconciler.render.human import format_value, render_change
from reconciler.render.notices import ordered
from reconciler.state import to_json
from reconciler.text import visible

_REASONS = {
    Reason.CHANGED_IN_GIT: "the meeting file changed since the last apply",
    Reason.EDITED_OUTSIDE_GIT: "edited outside git (the item differs from the last-applied record)",
    Reason.NO_RECORD: "the item has no readable last-applied record",
}


def render(inspection: Inspection) -> str:
    raw, observed = inspection.raw, inspection.raw.observed
    lines = [
        f"{visible(observed.meeting_id)} in {visible(observed.organizer)}'s calendar"
        f" (backend {inspection.backend}, namespace {inspection.namespace!r})",
        f"  item id:    {visible(observed.item_id)}",
        f"  change key: {visible(observed.change_key)}",
        f"  marker:     namespace {inspection.namespace!r}, id {observed.meeting_id!r}",
        f"  file:       {visible(inspection.source) if inspection.source else 'no meeting file declares this id'}",
        "",
        "Last-applied record:",
    ]
    if inspection.recorded_fields is None:
        lines.append("  none (or unreadable): every difference from git is reverted, none is called drift")
    else:
        lines += [f"  {name}: {format_value(value)}" for name, value in to_json(inspection.recorded_fields).items()]
    recorded = inspection.recorded_fingerprints.get("body")
    verdict = (
        "equal: the body is untouched, the file's text is read back"
        if inspection.body_untouched
        else "different: the body was edited outside git, the server's text is read back"
    )
    lines += [
        "",
        "Fingerprints:",
        f"  body as recorded:      {recorded or '(none)'}",
        f"  body on the server:    {inspection.server_body_fingerprint}",
        f"  {verdict}",
        "",
    ]
    if inspection.change is None:
        lines.append("Plan: no change; the item matches the meeting file.")
    else:
        lines += ["Plan:", *render_change(inspection.change)]
        lines += [f"  why {f.name}: {_REASONS[f.reason]}" for f in inspection.fields]
    lines += [f"Warning: {visible(w)}" for w in ordered(inspection.warnings)]
    lines += [f"Error: {visible(e)}" for e in ordered(inspection.errors)]
    lines += ["", f"Raw item ({raw.wire_format}, as the server answered):"]
    lines += [visible(line) for line in raw.wire.splitlines()]
    return "\n".join(lines).rstrip() + "\n"


INSPECT_FORMAT_VERSION = 1


def to_document(inspection: Inspection) -> dict[str, Any]:
    """The inspection as JSON (schemas/inspect.schema.json)."""
    raw, observed, change = inspection.raw, inspection.raw.observed, inspection.change
    return {
        "format_version": INSPECT_FORMAT_VERSION,
        "backend": inspection.backend,
        "namespace": inspection.namespace,
        "item": {
            "id": observed.meeting_id,
            "organizer": observed.organizer,
            "item_id": observed.item_id,
            "change_key": observed.change_key,
        },
        "file": inspection.source,
        "record": to_json(inspection.recorded_fields) if inspection.recorded_fields is not None else None,
        "fingerprints": {
            "recorded": dict(inspection.recorded_fingerprints),
            "server_body": inspection.server_body_fingerprint,
            "body_untouched": inspection.body_untouched,
        },
        "plan": {
            "action": change.action.value if change is not None else None,
            "fields": [
                {"name": f.name, "item": f.item, "file": f.file, "reason": f.reason.value} for f in inspection.fields
            ],
            "notifications": [
                {"kind": n.kind.value, "recipients": list(n.recipients), "occurrence": n.occurrence}
                for n in (change.notifications if change is not None else ())
            ],
        },
        "warnings": ordered(inspection.warnings),
        "errors": ordered(inspection.errors),
        "raw": {"format": raw.wire_format, "text": raw.wire},
    }


def render_json(inspection: Inspection) -> str:
    return json.dumps(to_document(inspection), indent=2, ensure_ascii=False) + "\n"
