"""What an apply did, change by change (pure values; renderers turn them into text)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.notices import StaleReason
from reconciler.plan import Change


class OutcomeStatus(StrEnum):
    """How one change of an apply ended (the values are the JSON words)."""

    APPLIED = "applied"
    FAILED = "failed"
    #: Refused before writing: its item changed after the (saved) plan was made.
    STALE = "stale"


@dataclass(frozen=True)
class Outcome:
    """What happened to one change: applied, failed (`message`: the provider's sentence) or refused
    as stale (`stale`: why)."""

    change: Change
    status: OutcomeStatus
    message: str = ""
    stale: StaleReason | None = None


@dataclass(frozen=True)
class ApplyReport:
    outcomes: tuple[Outcome, ...]

    def with_status(self, status: OutcomeStatus) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is status]

    @property
    def ok(self) -> bool:
        return all(o.status is OutcomeStatus.APPLIED for o in self.outcomes)
