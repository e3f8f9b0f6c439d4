"""What every renderer shares: the action symbols, the value-formatting pieces and the attendee
difference, so the terminal, Markdown and the apply reports say the same thing the same way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.diff import FieldChange
from reconciler.model import Action
from reconciler.people import ResponseCounts
from reconciler.state import value_json

#: Terraform-like marks of the actions: `+` create, `~` update, `-` cancel, `->` move, `=` release
#: (left in the calendars, unmanaged), `<-` adopt (taken over from a previous namespace).
SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.CANCEL: "-",
    Action.MOVE: "->",
    Action.RELEASE: "=",
    Action.ADOPT: "<-",
    Action.NOOP: " ",
}


def shorten(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else its first `limit - 1` and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_unset(value: Any) -> bool:
    """Whether a canonical value says nothing (no value, an empty list or text): renderers leave
    such parts of a mapping (a series pattern) out."""
    return value in (None, [], "")


@dataclass(frozen=True)
class ShownField:
    """A field change with both values in their JSON form (the plan file's), which renderers format."""

    name: str
    before: Any
    after: Any


def shown(change: FieldChange) -> ShownField:
    """`change` with its typed values turned into their JSON form."""
    return ShownField(change.name, value_json(change.name, change.before), value_json(change.name, change.after))


@dataclass(frozen=True)
class AttendeeDiff:
    """Who an attendee field gains and loses, each sorted: renderers show these, not the lists."""

    added: tuple[str, ...]
    removed: tuple[str, ...]


def responses_sentence(value: ResponseCounts | None) -> str | None:
    """What the people answered, for a change that writes or cancels an item: "12 accepted,
    3 tentative, 2 declined, 5 no answer", and how many answers a time change asks again (None
    when nobody was invited)."""
    if value is None or not value.accepted + value.tentative + value.declined:
        return None  # nobody answered yet: the mail lists already name everyone
    text = f"Responses: {summary(value)}."
    if value.asked_again:
        who = "person" if value.asked_again == 1 else "people"
        text += f" The new time asks the {value.asked_again} {who} who accepted or said tentative again."
    return text


def attendee_diff(before: Iterable[str] | None, after: Iterable[str] | None) -> AttendeeDiff:
    """The addresses in `after` but not `before` (added) and the reverse (removed)."""
    old, new = set(before or []), set(after or [])
    return AttendeeDiff(added=tuple(sorted(new - old)), removed=tuple(sorted(old - new)))


def summary(value: ResponseCounts) -> str:
    """ "12 accepted, 3 tentative, 2 declined, 5 no answer": the one wording of answer counts."""
    return (
        f"{value.accepted} accepted, {value.tentative} tentative, {value.declined} declined,"
        f" {value.no_answer} no answer"
    )
