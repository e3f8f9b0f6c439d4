"""Free/busy values (pure): what a backend answers about one address's availability.

Graph `getSchedule` answers `scheduleInformation` objects (scheduleItems with a status, or an
`error`); EWS `GetUserAvailability` answers FreeBusyResponse elements (CalendarEvent with a
BusyType, or a ResponseMessage with an error). Providers turn both into `Schedule`s; an address
whose answer carries an error, or that no answer names, is unknown (`Schedule.unknown`), never
free. `reconciler.availability` decides what they mean for a plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class BusyStatus(StrEnum):
    """What a busy period blocks (Graph scheduleItem.status / EWS BusyType, lower-cased)."""

    TENTATIVE = "tentative"
    BUSY = "busy"
    OOF = "oof"
    WORKING_ELSEWHERE = "workingElsewhere"


@dataclass(frozen=True)
class BusyPeriod:
    """One period in which an address is not free (aware UTC)."""

    start: datetime
    end: datetime
    status: BusyStatus


@dataclass(frozen=True)
class Schedule:
    """The answer for one address: its busy periods, or `unknown` (the reason, a sentence) when the
    backend could not read it (no permission, an external address, an error in the answer)."""

    address: str
    busy: tuple[BusyPeriod, ...] = ()
    unknown: str | None = None
