"""`meetings inspect ID` for a terminal: the item's identity and marker, our record and the
fingerprints, the plan's verdict on each field (with the reason), then the raw item as read."""

from __future__ import annotations

from reconciler.inspection import Inspection, Reason
from reconciler.render.human import format_value, render_change
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
        lines += [f"  {name}: {format_value(value)}" for name, value in inspection.recorded_fields.items()]
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
    lines += [f"Warning: {visible(w)}" for w in inspection.warnings]
    lines += [f"Error: {visible(e)}" for e in inspection.errors]
    lines += ["", f"Raw item ({raw.wire_format}, as the server answered):"]
    lines += [visible(line) for line in raw.wire.splitlines()]
    return "\n".join(lines).rstrip() + "\n"
