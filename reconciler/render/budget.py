"""The plan's send budget (`budget.SendBudget`) for the terminal and for Markdown: per organizer,
the messages and recipients the plan sends and the time they take at the mailbox's message rate."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.budget import OrganizerBudget, SendBudget
from reconciler.text import visible

#: Most organizers listed in the Markdown table; the rest are counted.
MAX_ROWS = 20


def about(seconds: int) -> str:
    """A duration as a person says it: "under a minute", "about 14 minutes", "about 2 hours 5 minutes"."""
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    return f"about {hours} hours" + (f" {rest} minute{'s' if rest != 1 else ''}" if rest else "")


def _share(budget: SendBudget, organizer: OrganizerBudget) -> int:
    return organizer.recipients * 100 // budget.limits.recipients_per_day


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' if count != 1 else ''}"


def human_lines(budget: SendBudget) -> list[str]:
    """A line per organizer who sends mail ([] when nobody does)."""
    rate = budget.limits.messages_per_minute
    return [
        f"Mail from {visible(b.organizer)}: {_plural(b.messages, 'message')}, {_plural(b.recipients, 'recipient')}"
        f" ({_share(budget, b)}% of the daily limit of {budget.limits.recipients_per_day:,}); at {rate} messages/min"
        f" apply takes {about(b.apply_seconds)}."
        for b in budget.organizers
    ]


def markdown_lines(budget: SendBudget, code: Callable[[str], str]) -> list[str]:
    """A table of the organizers who send mail, at most `MAX_ROWS` rows ([] when nobody does);
    `code` renders an address as inert Markdown."""
    if not budget.organizers:
        return []
    limits = budget.limits
    rows = [
        f"| {code(b.organizer)} | {b.messages:,} | {b.recipients:,} | {_share(budget, b)}% | {about(b.apply_seconds)} |"
        for b in budget.organizers[:MAX_ROWS]
    ]
    rest = len(budget.organizers) - MAX_ROWS
    return [
        f"**Send budget** (per mailbox: {limits.messages_per_minute} messages/min,"
        f" {limits.recipients_per_day:,} recipients/day, {limits.recipients_per_message:,} recipients/message):",
        "",
        "| Organizer | Messages | Recipients | Share of the daily limit | Time at the message rate |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        *([f"… and {_plural(rest, 'more organizer')} not shown.", ""] if rest > 0 else []),
    ]
