"""The plan and the apply report as text for a terminal (Terraform-like symbols).

`+` create, `~` update, `-` cancel, `->` move, `=` release (left in the calendars, unmanaged), `<-`
adopt (taken over from a previous namespace); field-level before/after; the mail each change
causes; late changes marked; mailboxes that could not be read; a summary line with counts and the
number of people who will receive mail.
"""

from __future__ import annotations

from typing import Any

from reconciler.diff import FieldChange
from reconciler.model import ATTENDEE_FIELDS, Action, MailKind
from reconciler.plan import Change, Plan

SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.CANCEL: "-",
    Action.MOVE: "->",
    Action.RELEASE: "=",
    Action.ADOPT: "<-",
    Action.NOOP: " ",
}
_COLORS = {
    Action.CREATE: "32",
    Action.UPDATE: "33",
    Action.CANCEL: "31",
    Action.MOVE: "36",
    Action.RELEASE: "35",
    Action.ADOPT: "36",
    Action.NOOP: "0",
}
_MAX_VALUE = 70


def _printable(text: str) -> str:
    """Text without control characters (an escape sequence in a subject must not reach the terminal)."""
    return "".join(c if c.isprintable() or c == "\n" else "\N{REPLACEMENT CHARACTER}" for c in text)


def format_value(value: Any) -> str:
    """A canonical value on one line: strings quoted (long ones shortened), lists comma-joined."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) if not isinstance(v, str) else v for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items() if v not in (None, [], "")) + "}"
    if isinstance(value, str):
        lines = _printable(value).splitlines() or [""]
        text = lines[0] if len(lines) == 1 else f"{lines[0]} … ({len(lines)} lines)"
        if len(text) > _MAX_VALUE:
            text = text[: _MAX_VALUE - 1] + "…"
        return f'"{text}"'
    return str(value)


def _field_line(change: FieldChange, action: Action) -> str:
    if change.name in ATTENDEE_FIELDS and action is not Action.CREATE:
        before, after = set(change.before or []), set(change.after or [])
        parts = [f"+ {a}" for a in sorted(after - before)] + [f"- {a}" for a in sorted(before - after)]
        return f"{change.name}: {', '.join(parts)}"
    if action is Action.CREATE:
        return f"{change.name}: {format_value(change.after)}"
    return f"{change.name}: {format_value(change.before)} -> {format_value(change.after)}"


def _mail_lines(change: Change) -> list[str]:
    lines = []
    for notice in change.notifications:
        comment = f' with "{notice.comment}"' if notice.comment else ""
        who = ", ".join(notice.recipients)
        about = f" for the occurrence on {notice.occurrence}" if notice.occurrence else ""
        lines.append(f"mail: {notice.kind.value}{about}{comment} -> {who} ({len(notice.recipients)})")
    if not change.notifications:
        lines.append("mail: none")
    return lines


def _header(change: Change, color: bool) -> str:
    symbol = SYMBOLS[change.action]
    if color:
        symbol = f"\x1b[{_COLORS[change.action]}m{symbol}\x1b[0m"
    moved = f" (moved from {change.previous_id})" if change.action is Action.MOVE else ""
    if change.action is Action.ADOPT:
        moved = f" (adopted from namespace {change.previous_namespace!r})"
    elif change.action is Action.RELEASE:
        moved = " (released)"
    late = " [LATE]" if change.late else ""
    where = f"  {change.source}" if change.source else ""
    return f"  {symbol} {change.meeting_id}{moved}{late}  [{change.organizer}] {format_value(change.subject)}{where}"


def render_change(change: Change, *, color: bool = False) -> list[str]:
    lines = [_header(change, color)]
    lines += [f"      {_field_line(f, change.action)}" for f in change.fields]
    lines += [f"      * {_printable(effect)}" for effect in change.effects]
    if change.drift:
        verb = "it" if len(change.drift) == 1 else "them"
        lines.append(f"      ! drift: {', '.join(change.drift)} changed outside git; this plan changes {verb} back")
    lines += [f"      ! {w}" for w in change.warnings]
    lines += [f"      {m}" for m in _mail_lines(change)]
    return lines


def summary_line(plan: Plan) -> str:
    counts = ", ".join(
        f"{plan.count(a)} to {verb}"
        for a, verb in (
            (Action.CREATE, "create"),
            (Action.UPDATE, "update"),
            (Action.CANCEL, "cancel"),
            (Action.MOVE, "move"),
        )
    )
    mail = ", ".join(f"{plan.mail_count(k)} {k.value}{'s' if plan.mail_count(k) != 1 else ''}" for k in MailKind)
    counts += "".join(f", {plan.count(a)} to {a.value}" for a in (Action.RELEASE, Action.ADOPT) if plan.count(a))
    people = len(plan.recipients())
    who = "person" if people == 1 else "people"
    return f"Plan: {counts}, {plan.count(Action.NOOP)} unchanged. {people} {who} will receive mail ({mail})."


def render(plan: Plan, *, color: bool = False) -> str:
    lines = [f"Backend {plan.backend}, namespace {plan.namespace!r}.", ""]
    if not plan.changes:
        clean = not plan.errors and not plan.warnings
        lines.append("No changes. The calendars match the meeting files." if clean else "No changes to apply.")
    for change in plan.changes:
        lines += render_change(change, color=color)
        lines.append("")
    lines += [f"Warning: {w}" for w in plan.warnings]
    lines += [f"Error: {e}" for e in plan.errors]
    for mailbox in plan.unavailable:
        held = f" Not planned: {', '.join(mailbox.meeting_ids)}." if mailbox.meeting_ids else ""
        lines.append(f"Unavailable mailbox {mailbox.mailbox}: {_printable(mailbox.reason)}{held}")
    if plan.changes:
        lines.append(summary_line(plan))
    return "\n".join(lines).rstrip() + "\n"
