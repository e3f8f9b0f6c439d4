"""How fast an apply may send, and what its progress looks like (pure values; `pacing` runs them).

Exchange Online accepts 30 messages per minute from one mailbox (excess is queued or refused;
reference/graph.md E.3, reference/ews.md "Sending limits"). Every meeting mail is a message the
organizer's mailbox submits: one invitation, update or cancellation to all its recipients is one
message (`notify.Notification`), so a change causes `len(change.notifications)` messages and an
apply of one mailbox takes at least messages / rate. Mailboxes have separate limits, so they are
applied in parallel and the apply as a whole takes as long as its busiest mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.limits import EXCHANGE_ONLINE_MESSAGES_PER_MINUTE, SendLimits
from reconciler.plan import Change
from reconciler.port import Capabilities
from reconciler.report import Outcome

#: Seconds an apply waits out the back-offs one mailbox is asked for, in total, before its
#: remaining changes fail (the CLI's `--max-wait`).
DEFAULT_MAX_WAIT = 900.0


@dataclass(frozen=True)
class Pace:
    """The sending pace of an apply, per mailbox.

    `messages_per_minute` spaces a mailbox's messages evenly (None: no limit, as on-premises
    servers default to). After a throttling answer the mailbox's rate is multiplied by `slowdown`
    (never below `min_messages_per_minute`). `max_wait` bounds the seconds one mailbox spends
    waiting out back-offs the server asks for; past it its remaining changes fail cleanly.
    """

    messages_per_minute: float | None = float(EXCHANGE_ONLINE_MESSAGES_PER_MINUTE)
    max_wait: float = DEFAULT_MAX_WAIT
    #: Mailboxes applied at the same time (False: one after the other, each in plan order).
    parallel: bool = True
    slowdown: float = 0.5
    min_messages_per_minute: float = 1.0
    #: The share of the rate actually used. The server counts a message when it has handled the
    #: write, so answers that jitter put messages sent exactly at the rate closer together in its
    #: rolling minute: at 100% the emulator refused 9 of 1,000 writes (100 ms latency, 20
    #: mailboxes), at 95% none (tests/benchmarks/pacing.py). [INFER that Exchange counts alike]
    headroom: float = 0.95

    def interval(self, rate: float | None) -> float:
        """Seconds between two messages at `rate` messages per minute, with the headroom (0: unpaced)."""
        return 0.0 if rate is None else 60.0 / (rate * self.headroom)

    def slower(self, rate: float | None) -> float | None:
        """The rate after a throttling answer (an unpaced mailbox stays unpaced: its server's
        back-off is waited out instead)."""
        if rate is None:
            return None
        return max(self.min_messages_per_minute, rate * self.slowdown)


def pace_for(limits: SendLimits, capabilities: Capabilities, *, max_wait: float = DEFAULT_MAX_WAIT) -> Pace:
    """The pace of an apply: the organizers' message rate (`limits:` in reconciler.yaml, by default
    Exchange Online's, the same rate the plan's send budget states) on a backend that is Exchange;
    none on the sandbox, which sends no mail through Exchange. An on-premises server's own
    MessageRateLimit is unlimited by default (reference/ews.md "Sending limits"): raise
    `limits.messages_per_minute` there to apply faster."""
    rate = float(limits.messages_per_minute) if capabilities.exchange else None
    return Pace(messages_per_minute=rate, max_wait=max_wait, parallel=capabilities.parallel_mailboxes)


def messages_of(change: Change) -> int:
    """The messages `change` makes its organizer's mailbox send (one per notification)."""
    return len(change.notifications)


@dataclass(frozen=True)
class Waiting:
    """A mailbox waits before its next change because the server asked it to slow down."""

    mailbox: str
    seconds: float
    #: The server's words, as a phrase ("Microsoft Graph answered 429 with Retry-After 300 s").
    reason: str


@dataclass(frozen=True)
class ApplyProgress:
    """One step of an apply: a change finished (`outcome`) or a mailbox started waiting
    (`waiting`); with the counts and the ETA from the pacing."""

    done: int
    total: int
    messages_left: int
    eta_seconds: float
    outcome: Outcome | None = None
    waiting: Waiting | None = None
