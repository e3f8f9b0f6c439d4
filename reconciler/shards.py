"""Which organizers' mailboxes one run plans and applies: `--organizer` and `--shard I/N` (pure).

A large tenant is spread over parallel CI jobs (a GitHub Actions matrix): job I of N plans and
applies only the mailboxes of shard I. A mailbox's shard is a stable hash of its lower-cased
address (SHA-256, never Python's per-process randomized `hash`), so every job, on every runner and
every day, agrees on who owns which mailbox, and a mailbox never moves while N stays the same.
Everything per mailbox (the apply lock, the plan, the mass-cancel count) is then per shard.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`I/N` with 1 <= I <= N; anything else is a ValueError whose message says what is expected."""
    match = _SHARD.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a shard; write I/N, for example 2/4 (the second of four shards).")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"{text!r} is not a shard of {count}; I in I/N runs from 1 to N (N at least 1).")
    return Shard(index, count)


def shard_of(address: str, count: int) -> int:
    """The shard (1..count) of a mailbox: its lower-cased address's SHA-256, modulo `count`."""
    digest = hashlib.sha256(address.strip().lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


@dataclass(frozen=True)
class Selection:
    """The mailboxes a run covers: those named (`organizers`, lower-case; empty: any) that fall in
    `shard` (None: any). The default selection covers every mailbox."""

    organizers: frozenset[str] = frozenset()
    shard: Shard | None = None

    @property
    def everything(self) -> bool:
        return not self.organizers and self.shard is None

    def includes(self, address: str) -> bool:
        address = address.lower()
        if self.organizers and address not in self.organizers:
            return False
        return self.shard is None or shard_of(address, self.shard.count) == self.shard.index

    def only(self, addresses: Iterable[str]) -> list[str]:
        """The addresses this selection covers, sorted."""
        return sorted(a for a in set(addresses) if self.includes(a))

    def describe(self) -> str:
        """What the selection is, for a line on stderr: "shard 2/4", "organizers a@x, b@x", both."""
        parts = [f"organizer{'s' if len(self.organizers) != 1 else ''} {', '.join(sorted(self.organizers))}"]
        parts = (parts if self.organizers else []) + ([f"shard {self.shard}"] if self.shard else [])
        return " in ".join(parts) if parts else "every mailbox"


#: The selection of a run without `--organizer` and `--shard`.
EVERY_MAILBOX = Selection()
