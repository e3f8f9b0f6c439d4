"""The plan and the apply report as GitHub Markdown (a pull-request comment, a job summary).

Every value a user wrote (ids, subjects, addresses, bodies, comments, file names) goes through
`escape`, which makes it inert as Markdown and as HTML: a subject such as ``a | <b>`x`</b> @team``
cannot split a table cell, open a tag, start a code span, format text or mention anyone.

GitHub refuses a comment longer than 65,536 characters, and a refused comment hides the whole plan
from the reviewer. So the output never exceeds `limit`: the title, the banners (bounded lists) and
the summary table come first and always stay; change blocks follow, the most consequential action
first (cancellations, then updates, moves and creates), while they fit; a closing note then says
how many blocks were left out and where to see them. Each block is bounded on its own (long values
shortened, long address lists cut) so one huge meeting cannot crowd out the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.diff import FieldChange
from reconciler.model import ATTENDEE_FIELDS, Action, MailKind
from reconciler.notify import Notification
from reconciler.plan import Change, Plan
from reconciler.render.budget import markdown_lines
from reconciler.render.common import SYMBOLS, attendee_diff, is_unset, responses_sentence, shorten, shown
from reconciler.render.notices import ordered, outcome_message, word, word_effect
from reconciler.text import visible

if TYPE_CHECKING:
    from reconciler.report import ApplyReport, Outcome

#: GitHub's maximum length of an issue or pull-request comment body.
GITHUB_COMMENT_LIMIT = 65536

#: Order of the change sections: what a reviewer must not miss comes first.
SECTION_ORDER = (Action.CANCEL, Action.UPDATE, Action.MOVE, Action.ADOPT, Action.RELEASE, Action.CREATE)
_SECTION_TITLES = {
    Action.CANCEL: "Cancellations",
    Action.UPDATE: "Updates",
    Action.MOVE: "Moves",
    Action.ADOPT: "Adopted (calendar items taken over: from a previous namespace or unmanaged)",
    Action.RELEASE: "Released (left in the calendars, no longer managed)",
    Action.CREATE: "New meetings",
}
_VERBS = {Action.CREATE: "create", Action.UPDATE: "update", Action.CANCEL: "cancel", Action.MOVE: "move"}

#: Longest rendering of one value (characters of the user's text, before escaping).
MAX_VALUE = 300
#: Most addresses listed in one cell; the rest are counted.
MAX_ADDRESSES = 50
#: Most meeting ids named in the cancellation banner.
MAX_BANNER_IDS = 10

_MARKDOWN_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "&#124;",
    "`": "&#96;",
    "*": "&#42;",
    "[": "&#91;",
    "]": "&#93;",
    "\\": "&#92;",
    "~": "&#126;",
    "$": "&#36;",
}
_SPECIAL = re.compile("[" + re.escape("".join(_MARKDOWN_ENTITIES)) + "]")
#: An underscore that could open or close emphasis (GitHub ignores those inside a word: `all_day`).
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
#: An `@` that GitHub would read as a mention (not inside an address such as a@b.c).
_MENTION = re.compile(r"(?<![\w.+-])@")
_NEWLINE = re.compile(r"\n")


def escape(text: str, *, newlines: str = "<br>") -> str:
    """`text` as inert Markdown and HTML, for a table cell, a list item or a `<summary>`.

    Hidden characters (controls, terminal escapes, bidi overrides: `text.visible`) are written as
    escapes, Markdown and HTML metacharacters become numeric entities (they still display as
    themselves), an `@` that would mention someone gets a zero-width space after it, and line
    breaks become `newlines` (a table row must stay on one line).
    """
    escaped = _SPECIAL.sub(lambda m: _MARKDOWN_ENTITIES[m.group()], visible(text))
    escaped = _UNDERSCORE.sub("&#95;", escaped)
    escaped = _MENTION.sub("@&#8203;", escaped)
    return _NEWLINE.sub(newlines, escaped)


def _shorten(text: str, limit: int = MAX_VALUE) -> str:
    return shorten(text, limit)


def _code(text: str) -> str:
    return f"<code>{escape(_shorten(text), newlines=' ')}</code>"


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


def _addresses(addresses: Sequence[str], limit: int = MAX_ADDRESSES) -> str:
    shown = ", ".join(_code(a) for a in addresses[:limit])
    rest = len(addresses) - limit
    return f"{shown} and {rest:,} more" if rest > 0 else shown


def format_value(value: Any) -> str:
    """One canonical value for a table cell: escaped, shortened, on one line."""
    if value is None:
        return "<i>none</i>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        # Trailing line breaks would only add empty lines to the cell.
        return escape(_shorten(value.rstrip("\r\n"))) if value.strip() else "<i>empty</i>"
    if isinstance(value, list):
        if not value:
            return "<i>none</i>"
        shown = ", ".join(format_value(v) for v in value[:MAX_ADDRESSES])
        rest = len(value) - MAX_ADDRESSES
        return f"{shown} and {rest:,} more" if rest > 0 else shown
    if isinstance(value, Mapping):
        parts = [f"{escape(str(k))}: {format_value(v)}" for k, v in value.items() if not is_unset(v)]
        return "; ".join(parts) if parts else "<i>none</i>"
    return escape(_shorten(str(value)))


# -- one change -------------------------------------------------------------------------------------


def _field_row(change: FieldChange, action: Action) -> str:
    field = shown(change)
    name = f"<code>{escape(field.name)}</code>"
    if action is Action.CREATE:
        after = _addresses(list(field.after or [])) if field.name in ATTENDEE_FIELDS else format_value(field.after)
        return f"| {name} | {after or '<i>none</i>'} |"
    if field.name in ATTENDEE_FIELDS:
        attendees = attendee_diff(field.before, field.after)
        old = f"removed: {_addresses(attendees.removed)}" if attendees.removed else "—"
        new = f"added: {_addresses(attendees.added)}" if attendees.added else "—"
        return f"| {name} | {old} | {new} |"
    if isinstance(field.before, Mapping) and isinstance(field.after, Mapping):
        # A series pattern: the whole pattern on both sides, the parts that change in bold.
        before = _mapping(field.before, emphasise=field.after)
        return f"| {name} | {before} | {_mapping(field.after, emphasise=field.before)} |"
    return f"| {name} | {format_value(field.before)} | {format_value(field.after)} |"


def _mapping(value: Mapping[str, Any], *, emphasise: Mapping[str, Any]) -> str:
    parts = []
    for key, item in value.items():
        if is_unset(item) and is_unset(emphasise.get(key)):
            continue
        text = f"{escape(str(key))}: {format_value(item)}"
        parts.append(f"<b>{text}</b>" if emphasise.get(key) != item else text)
    return "; ".join(parts) if parts else "<i>none</i>"


def _field_table(change: Change) -> list[str]:
    if not change.fields:
        return []
    if change.action is Action.CREATE:
        header = ["| Field | Value |", "| --- | --- |"]
    else:
        header = ["| Field | Before | After |", "| --- | --- | --- |"]
    return [*header, *(_field_row(f, change.action) for f in change.fields), ""]


def _notes(change: Change) -> list[str]:
    written = change.changed_names
    lines = []
    reverted = [name for name in change.drift if name in written]
    kept = [name for name in change.drift if name not in written]
    if reverted:
        names = ", ".join(f"<code>{escape(n)}</code>" for n in reverted)
        lines.append(f"- **Drift:** {names} changed outside git (in Outlook); this plan changes it back to the file.")
    if kept:
        names = ", ".join(f"<code>{escape(n)}</code>" for n in kept)
        lines.append(f"- **Drift:** {names} changed outside git (in Outlook); left as is.")
    lines += [f"- **Warning:** {escape(_shorten(word(w), 2 * MAX_VALUE))}" for w in change.warnings]
    people = responses_sentence(change.responses)
    lines += [f"- {escape(people)}"] if people else []
    return [*lines, ""] if lines else []


def _mail_table(notifications: Sequence[Notification], heading: str) -> list[str]:
    if not notifications:
        return [f"**{heading}:** none.", ""]
    lines = [f"**{heading}:**", "", "| Kind | Recipients |", "| --- | --- |"]
    for notice in notifications:
        comment = f"<br>with the message: {escape(_shorten(notice.comment))}" if notice.comment else ""
        about = f" for the occurrence on {notice.occurrence}" if notice.occurrence else ""
        kind = f"{notice.kind.value}{about} ({len(notice.recipients):,})"
        lines.append(f"| {kind} | {_addresses(notice.recipients)}{comment} |")
    return [*lines, ""]


def _summary_line(change: Change) -> str:
    symbol = escape(SYMBOLS[change.action])
    moved = f" (moved from {_code(change.previous_id)})" if change.action is Action.MOVE and change.previous_id else ""
    if change.action is Action.ADOPT and change.previous_namespace:
        moved = f" (from namespace {_code(change.previous_namespace)})"
    elif change.action is Action.ADOPT:
        moved = " (an unmanaged calendar item)"
    if change.recreated:
        moved += " · <b>cancelled outside git</b>"
    if change.late:
        moved += " · <b>late</b>"
    subject = escape(_shorten(change.subject, 120), newlines=" ") if change.subject else "<i>no subject</i>"
    return (
        f"<summary><code>{symbol}</code> <b>{escape(change.action.value)}</b>"
        f" {_code(change.meeting_id)}{moved} · {_code(change.organizer)} · {subject}</summary>"
    )


def change_block(change: Change, *, reason: str | None = None, mail_heading: str = "Mail") -> str:
    """One change as a collapsible block: fields, drift, warnings and the mail it causes."""
    lines = ["<details>", _summary_line(change), ""]
    if reason is not None:
        lines += [f"**Reason:** {escape(_shorten(reason, 2 * MAX_VALUE))}", ""]
    if change.source:
        lines += [f"Declared in {_code(change.source)}.", ""]
    if change.comment:
        lines += [f"Message to attendees: {escape(_shorten(change.comment))}", ""]
    lines += _field_table(change)
    lines += [f"- {escape(_shorten(word_effect(effect), 2 * MAX_VALUE))}" for effect in change.effects]
    lines += [""] if change.effects else []
    lines += _notes(change)
    lines += _mail_table(change.notifications, mail_heading)
    lines += ["</details>", "", ""]
    return "\n".join(lines)


def _sentence(text: str) -> str:
    """A planner or provider message (which may quote user values) as one escaped line."""
    return escape(_shorten(text, 4 * MAX_VALUE), newlines=" ")


# -- size discipline --------------------------------------------------------------------------------


def _bounded_list(items: Sequence[str], budget: int, more: Callable[[int], str]) -> list[str]:
    """Quoted bullet lines for `items` (Markdown, escaped already) within about `budget`
    characters, then a line counting the rest."""
    lines: list[str] = []
    used = 0
    for index, item in enumerate(items):
        line = f"> - {item}"
        if used + len(line) > budget:
            lines.append(f"> - {more(len(items) - index)}")
            break
        lines.append(line)
        used += len(line) + 1
    return lines


def _limit_phrase(limit: int, what: str) -> str:
    if limit == GITHUB_COMMENT_LIMIT:
        return f"the {what} would exceed GitHub's {GITHUB_COMMENT_LIMIT:,}-character limit"
    return f"the {what} would exceed its {limit:,}-character limit"


def _assemble(
    head: str,
    sections: Iterable[tuple[str, int, Iterator[str]]],
    total: int,
    limit: int,
    note: Callable[[int], str],
) -> str:
    """`head`, then each section's heading and blocks while they fit in `limit`, then `note(rest)`.

    `sections` holds (heading, number of blocks, blocks); blocks are rendered lazily, so a plan of
    a hundred thousand changes costs only the blocks shown.
    """
    parts, used, shown = [head], len(head), 0
    reserve = len(note(total))  # the note is longest when it counts everything
    full = False
    for heading, count, blocks in sections:
        if full or count == 0:
            continue
        for index, block in enumerate(blocks):
            piece = heading + block if index == 0 else block
            needed = 0 if shown + 1 == total else reserve
            if used + len(piece) + needed > limit:
                full = True
                break
            parts.append(piece)
            used += len(piece)
            shown += 1
    if shown < total:
        parts.append(note(total - shown))
    text = "".join(parts).rstrip("\n") + "\n"
    return _hard_cap(text, limit)


def _hard_cap(text: str, limit: int) -> str:
    """Last resort when even the head does not fit (only with a tiny `limit`): cut the text."""
    if len(text) <= limit:
        return text
    tail = "\n\n… (cut: too long)\n"
    return text[: max(0, limit - len(tail))] + tail[:limit]


# -- the plan ---------------------------------------------------------------------------------------


def _plan_banners(plan: Plan, budget: int) -> list[str]:
    lines: list[str] = []
    if plan.unavailable:
        lines += [
            "> [!CAUTION]",
            f"> **{_count(len(plan.unavailable), 'mailbox', 'mailboxes')} could not be read**; their meetings are"
            " neither created, changed nor cancelled, and the run fails until this is fixed:",
            ">",
            *_bounded_list(
                [
                    f"{_code(u.mailbox)}: {_sentence(u.reason)}"
                    + (
                        f" Not planned: {', '.join(_code(i) for i in u.meeting_ids[:MAX_BANNER_IDS])}."
                        if u.meeting_ids
                        else ""
                    )
                    for u in plan.unavailable
                ],
                budget,
                lambda n: f"… and {_count(n, 'more mailbox', 'more mailboxes')} not shown.",
            ),
            "",
        ]
    late = [c for c in plan.changes if c.late]
    if late:
        ids = ", ".join(_code(c.meeting_id) for c in late[:MAX_BANNER_IDS])
        rest = len(late) - MAX_BANNER_IDS
        lines += [
            "> [!WARNING]",
            f"> **{_count(len(late), 'late change')}** (the meeting starts within policy.min&#95;notice):"
            f" {ids}{f' and {rest:,} more' if rest > 0 else ''}.",
            "",
        ]
    cancels = [c for c in plan.changes if c.action is Action.CANCEL]
    if cancels:
        people = {r for c in cancels for r in c.recipients()}
        ids = ", ".join(_code(c.meeting_id) for c in cancels[:MAX_BANNER_IDS])
        rest = len(cancels) - MAX_BANNER_IDS
        named = f"{ids} and {rest:,} more" if rest > 0 else ids
        lines += [
            "> [!WARNING]",
            f"> This plan **cancels {_count(len(cancels), 'meeting')}**: {named}.",
            f"> {_count(len(people), 'person', 'people')} will receive a cancellation."
            " A cancelled meeting leaves every attendee's calendar.",
            "",
        ]
    if plan.errors:
        lines += [
            "> [!CAUTION]",
            f"> **This plan cannot be applied:** it has {_count(len(plan.errors), 'error')}."
            f" Fix {'it' if len(plan.errors) == 1 else 'them'} and plan again.",
            ">",
            *_bounded_list(
                [_sentence(e) for e in ordered(plan.errors)],
                budget,
                lambda n: f"… and {_count(n, 'more error')} not shown; run `meetings plan` to see all.",
            ),
            "",
        ]
    if plan.warnings:
        lines += [
            "> [!IMPORTANT]",
            f"> {_count(len(plan.warnings), 'warning')}:",
            ">",
            *_bounded_list(
                [_sentence(w) for w in ordered(plan.warnings)],
                budget,
                lambda n: f"… and {_count(n, 'more warning')} not shown; run `meetings plan` to see all.",
            ),
            "",
        ]
    return lines


def _plan_summary(plan: Plan) -> list[str]:
    actions = (Action.CREATE, Action.UPDATE, Action.CANCEL, Action.MOVE)
    counts = " | ".join(f"{plan.count(a):,}" for a in actions)
    mail = " | ".join(f"{plan.mail_count(k):,}" for k in MailKind)
    return [
        "| `+` Create | `~` Update | `-` Cancel | `->` Move | Unchanged |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {counts} | {plan.count(Action.NOOP):,} |",
        "",
        "| Invitations | Updates | Cancellations | People who will receive mail |",
        "| ---: | ---: | ---: | ---: |",
        f"| {mail} | {len(plan.recipients()):,} |",
        "",
        *(
            [
                f"Also: {plan.count(Action.RELEASE):,} to release (`=`), {plan.count(Action.ADOPT):,} to adopt (`<-`).",
                "",
            ]
            if plan.count(Action.RELEASE) or plan.count(Action.ADOPT)
            else []
        ),
    ]


def render(plan: Plan, *, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The plan as a pull-request comment of at most `limit` characters."""
    lines = [
        "## Meetings plan",
        "",
        f"Backend **{escape(plan.backend)}** · namespace {_code(plan.namespace)}"
        f" · planned at {escape(plan.created_at)}",
        "",
        *_plan_banners(plan, limit // 4),
        *_plan_summary(plan),
        *markdown_lines(plan.budget, _code),
    ]
    if not plan.changes:
        lines.append(
            "No changes. The calendars match the meeting files."
            if not plan.errors and not plan.warnings
            else "No changes to apply."
        )
    head = "\n".join(lines).rstrip("\n") + "\n\n"
    groups = {a: [c for c in plan.changes if c.action is a] for a in SECTION_ORDER}
    sections = [
        (f"### {_SECTION_TITLES[a]} ({len(cs):,})\n\n", len(cs), (change_block(c) for c in cs))
        for a, cs in groups.items()
    ]

    def note(rest: int) -> str:
        return (
            f"… and {_count(rest, 'more change')} not shown: {_limit_phrase(limit, 'comment')}."
            " Run `meetings plan` locally or download the plan artifact to see them all.\n"
        )

    return _assemble(head, sections, len(plan.changes), limit, note)


# -- the apply report -------------------------------------------------------------------------------

_STATUS_ORDER = ("failed", "stale", "applied")
_STATUS_TITLES = {"failed": "Failed", "stale": "Refused as stale", "applied": "Applied"}


def _status(outcome: Outcome) -> str:
    return outcome.status if outcome.status in _STATUS_TITLES else "failed"


def _apply_banner(outcomes: Sequence[Outcome], budget: int) -> list[str]:
    problems = [o for o in outcomes if _status(o) != "applied"]
    if not problems:
        return []
    failed = sum(1 for o in problems if _status(o) == "failed")
    stale = len(problems) - failed
    parts = [f"{_count(failed, 'change')} failed"] if failed else []
    parts += [f"{_count(stale, 'change')} {'was' if stale == 1 else 'were'} refused as stale"] if stale else []
    items = [
        f"<code>{escape(SYMBOLS[o.change.action])}</code> {_code(o.change.meeting_id)} ({_code(o.change.organizer)}):"
        f" {_sentence(_reason(o))}"
        for o in problems
    ]
    return [
        "> [!CAUTION]",
        f"> **{' and '.join(parts)}**; nothing was written for them, the other changes went ahead."
        " Run `meetings plan` to see what is left to do.",
        ">",
        *_bounded_list(items, budget, lambda n: f"… and {_count(n, 'more problem')} not shown; see the job log."),
        "",
    ]


def _reason(outcome: Outcome) -> str:
    """The outcome's message without a leading repetition of the meeting id."""
    message = outcome_message(outcome) or outcome.status
    prefix = f"{outcome.change.meeting_id}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _outcome_block(outcome: Outcome, status: str) -> str:
    if status == "applied":
        return change_block(outcome.change, mail_heading="Mail sent")
    return change_block(outcome.change, reason=_reason(outcome), mail_heading="Mail (not sent)")


def _apply_summary_table(outcomes: Sequence[Outcome]) -> list[str]:
    actions = (Action.CREATE, Action.UPDATE, Action.CANCEL, Action.MOVE)
    lines = [
        "| Result | `+` Create | `~` Update | `-` Cancel | `->` Move | Total |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for status in ("applied", "failed", "stale"):
        group = [o for o in outcomes if _status(o) == status]
        cells = " | ".join(f"{sum(1 for o in group if o.change.action is a):,}" for a in actions)
        lines.append(f"| {_STATUS_TITLES[status].lower()} | {cells} | {len(group):,} |")
    applied = [o.change for o in outcomes if _status(o) == "applied"]
    mail = " | ".join(
        f"{sum(len(n.recipients) for c in applied for n in c.notifications if n.kind is k):,}" for k in MailKind
    )
    people = len({r for c in applied for r in c.recipients()})
    return [
        *lines,
        "",
        "| Invitations sent | Updates sent | Cancellations sent | People who received mail |",
        "| ---: | ---: | ---: | ---: |",
        f"| {mail} | {people:,} |",
        "",
    ]


def render_apply_summary(report: ApplyReport, *, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """What `apply` did, for the GitHub job summary: applied, failed (and why), who got which mail."""
    outcomes = report.outcomes
    counts = {s: sum(1 for o in outcomes if _status(o) == s) for s in _STATUS_ORDER}
    title = (
        f"## Meetings apply: {counts['applied']:,} applied, {counts['failed']:,} failed,"
        f" {counts['stale']:,} refused as stale"
    )
    lines = [title, "", *_apply_banner(outcomes, limit // 4)]
    if not outcomes:
        lines.append("Nothing to apply: the calendars match the meeting files.")
    else:
        lines += _apply_summary_table(outcomes)
    head = "\n".join(lines).rstrip("\n") + "\n\n"
    groups = {s: [o for o in outcomes if _status(o) == s] for s in _STATUS_ORDER}
    sections = [
        (
            f"### {_STATUS_TITLES[s]} ({len(group):,})\n\n",
            len(group),
            map(_outcome_block, group, [s] * len(group)),
        )
        for s, group in groups.items()
    ]

    def note(rest: int) -> str:
        return (
            f"… and {_count(rest, 'more change')} not shown: {_limit_phrase(limit, 'summary')}."
            " The job log lists every change.\n"
        )

    return _assemble(head, sections, len(outcomes), limit, note)
