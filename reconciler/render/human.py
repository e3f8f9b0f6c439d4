"""The plan and the apply report as text for a terminal (Terraform-like symbols).

`+` create, `~` update, `-` cancel, `->` move, `=` release (left in the calendars, unmanaged), `<-`
adopt (taken over from a previous namespace); field-level before/after; the mail each change
causes; late changes marked; mailboxes that could not be read; a summary line with counts and the
number of people who will receive mail.
"""

from __future__ import annotations

import difflib
from typing import Any

from reconciler.diff import FieldChange
from reconciler.model import ATTENDEE_FIELDS, Action, MailKind
from reconciler.pace import ApplyProgress, Waiting
from reconciler.plan import Change, Plan
from reconciler.port import UNMANAGED
from reconciler.render.budget import human_lines
from reconciler.render.common import SYMBOLS, attendee_diff, is_unset, responses_sentence, shorten, shown
from reconciler.render.notices import ordered, outcome_message, word, word_effect
from reconciler.report import ApplyReport, Outcome, OutcomeStatus
from reconciler.text import visible

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


def format_value(value: Any) -> str:
    """A canonical value on one line: strings quoted (long ones shortened), lists comma-joined."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) if not isinstance(v, str) else v for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items() if not is_unset(v)) + "}"
    if isinstance(value, str):
        lines = visible(value).splitlines() or [""]
        text = lines[0] if len(lines) == 1 else f"{lines[0]} … ({len(lines)} lines)"
        return f'"{shorten(text, _MAX_VALUE)}"'
    return str(value)


def _field_line(field: FieldChange, action: Action) -> str:
    change = shown(field)
    if change.name in ATTENDEE_FIELDS and action is not Action.CREATE:
        attendees = attendee_diff(change.before, change.after)
        parts = [f"+ {visible(a)}" for a in attendees.added] + [f"- {visible(a)}" for a in attendees.removed]
        return f"{change.name}: {', '.join(parts)}"
    if action is Action.CREATE:
        return f"{change.name}: {format_value(change.after)}"
    if _multiline(change.before) or _multiline(change.after):
        return "\n".join([f"{change.name}:", *_text_diff(str(change.before or ""), str(change.after or ""))])
    return f"{change.name}: {format_value(change.before)} -> {format_value(change.after)}"


def _multiline(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value.strip("\n")


def _text_diff(before: str, after: str) -> list[str]:
    """A compact diff of two multi-line values, as Terraform shows multi-line strings: changed lines
    marked `-`/`+` with one line of context, and each unchanged run in between counted, not shown."""
    old, new = visible(before).splitlines(), visible(after).splitlines()
    lines, shown_to = [], 0
    for group in difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(1):
        lines += _unchanged(old[shown_to : group[0][1]])
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [f"          {line}".rstrip() for line in old[i1:i2]]
                continue
            lines += [f"        - {line}" for line in old[i1:i2]]
            lines += [f"        + {line}" for line in new[j1:j2]]
        shown_to = group[-1][2]
    return lines + _unchanged(old[shown_to:])


def _unchanged(run: list[str]) -> list[str]:
    """A run of unchanged lines: counted, or shown when that takes no more room."""
    if len(run) <= 1:
        return [f"          {line}".rstrip() for line in run]
    return [f"          ({len(run)} unchanged lines hidden)"]


def _mail_lines(change: Change) -> list[str]:
    lines = []
    for notice in change.notifications:
        comment = f' with "{visible(notice.comment)}"' if notice.comment else ""
        who = visible(", ".join(notice.recipients))
        about = f" for the occurrence on {notice.occurrence}" if notice.occurrence else ""
        lines.append(f"mail: {notice.kind.value}{about}{comment} -> {who} ({len(notice.recipients)})")
    if not change.notifications:
        lines.append("mail: none")
    return lines


def _header(change: Change, color: bool) -> str:
    symbol = SYMBOLS[change.action]
    if color:
        symbol = f"\x1b[{_COLORS[change.action]}m{symbol}\x1b[0m"
    moved = f" (moved from {visible(change.previous_id or '')})" if change.action is Action.MOVE else ""
    if change.action is Action.ADOPT and change.previous_namespace == UNMANAGED:
        moved = " (adopted: an unmanaged calendar item)"
    elif change.action is Action.ADOPT:
        moved = f" (adopted from namespace {visible(repr(change.previous_namespace))})"
    elif change.action is Action.RELEASE:
        moved = " (released)"
    late = (" (cancelled outside git)" if change.recreated else "") + (" [LATE]" if change.late else "")
    where = f"  {visible(change.source)}" if change.source else ""
    return (
        f"  {symbol} {visible(change.meeting_id)}{moved}{late}  [{visible(change.organizer)}]"
        f" {format_value(change.subject)}{where}"
    )


def render_change(change: Change, *, color: bool = False) -> list[str]:
    lines = [_header(change, color)]
    lines += [f"      {_field_line(f, change.action)}" for f in change.fields]
    lines += [f"      * {visible(word_effect(effect))}" for effect in change.effects]
    if change.drift:
        verb = "it" if len(change.drift) == 1 else "them"
        lines.append(f"      ! drift: {', '.join(change.drift)} changed outside git; this plan changes {verb} back")
    lines += [f"      ! {visible(word(w))}" for w in change.warnings]
    people = responses_sentence(change.responses)
    lines += [f"      {visible(people)}"] if people else []
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
    lines += human_lines(plan.budget)
    lines += [f"Warning: {visible(w)}" for w in ordered(plan.warnings)]
    lines += [f"Error: {visible(e)}" for e in ordered(plan.errors)]
    for mailbox in plan.unavailable:
        held = f" Not planned: {', '.join(mailbox.meeting_ids)}." if mailbox.meeting_ids else ""
        lines.append(f"Unavailable mailbox {visible(mailbox.mailbox)}: {visible(mailbox.reason + held)}")
    if plan.changes:
        lines.append(summary_line(plan))
    return "\n".join(lines).rstrip() + "\n"


# -- the apply report -------------------------------------------------------------------------------
# `apply` prints these as it goes: a progress line per change, then the problems, the result line and
# the mailboxes left out. They are separate because they go to different streams (cli decides).


def render_progress(outcome: Outcome) -> str:
    """One line as a change finishes: `ok`, or `FAILED` with the reason."""
    mark = "ok" if outcome.status is OutcomeStatus.APPLIED else f"FAILED: {visible(outcome_message(outcome))}"
    return f"  {SYMBOLS[outcome.change.action]} {visible(outcome.change.meeting_id)}: {mark}\n"


def render_waiting(waiting: Waiting) -> str:
    """One line as a mailbox starts waiting out a back-off the server asked for."""
    return f"  ~ {visible(waiting.mailbox)}: waiting {_duration(waiting.seconds)}: {visible(waiting.reason)}\n"


def render_progress_status(progress: ApplyProgress) -> str:
    """The progress bar's words: changes done, messages left and the ETA from the pacing."""
    messages = f"{progress.messages_left} message{'s' if progress.messages_left != 1 else ''} left"
    return f"{progress.done}/{progress.total} changes, {messages}, about {_duration(progress.eta_seconds)} to go"


def _duration(seconds: float) -> str:
    """`42 s`, `3 min 5 s`, `2 h 10 min`: a duration as a person reads it."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s" if whole % 60 else f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def render_apply_problems(report: ApplyReport) -> str:
    """A line per failed change, then per change refused as stale, with the reason ("" if none)."""
    problems = report.with_status(OutcomeStatus.FAILED) + report.with_status(OutcomeStatus.STALE)
    return "".join(
        f"  ! {SYMBOLS[o.change.action]} {o.change.meeting_id}: {visible(outcome_message(o))}\n" for o in problems
    )


def render_apply_result(report: ApplyReport) -> str:
    """The closing line: how many changes were applied, failed and refused, or that there were none."""
    if not report.outcomes:
        return "Nothing to apply: the calendars match the meeting files.\n"
    applied, failed, stale = (len(report.with_status(s)) for s in OutcomeStatus)
    return f"Apply finished: {applied} applied, {failed} failed, {stale} refused as stale.\n"


def render_unapplied(plan: Plan) -> str:
    """A line per mailbox that could not be read, so neither planned nor applied ("" if none)."""
    return "".join(f"  ! {m.mailbox}: not planned, not applied: {m.reason}\n" for m in plan.unavailable)
