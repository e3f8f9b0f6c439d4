"""The project's exception tree and the user-input Diagnostic.

    MeetingsError                    every error we raise on purpose
    ├── InputError                   the user's files are invalid (carries all Diagnostics)
    ├── ConfigError                  reconciler.yaml or the environment is unusable
    ├── PlanError                    the plan refuses to proceed (protect, mass cancel, stale plan file)
    ├── LockError                    the apply lock of a mailbox could not be taken or kept
    │   ├── LockHeldError            another apply holds it (still after waiting)
    │   └── LockLostError            it was taken over (or cleared) while this apply ran
    └── ProviderError                a backend failed; raised only by providers, chained with `from`
        ├── AuthError                credentials missing or refused
        ├── NotFoundError            the item no longer exists
        ├── ConflictError            the item changed since we read it (stale change key)
        ├── MailboxUnavailableError  one mailbox cannot be used at all (missing, unlicensed, access denied)
        ├── ThrottledError           the server asked us to slow down and retries ran out
        ├── TransientError           a timeout or 5xx: the outcome of a write is unknown
        └── RequestRejectedError     the server refused the request as invalid

Errors are written as complete sentences; the CLI prints `str(error)` and never a traceback for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in the user's input, located as `path:line:col` (1-based)."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class MeetingsError(Exception):
    """Base of every error raised on purpose by this package."""


class InputError(MeetingsError):
    """The meeting files or the configuration have problems; `diagnostics` lists them all."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics))
        count = len(self.diagnostics)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found in the input.")


class ConfigError(MeetingsError):
    """reconciler.yaml or the environment cannot be used."""


class PlanError(MeetingsError):
    """The plan cannot be applied as it stands."""


class LockError(MeetingsError):
    """The apply lock of a mailbox could not be taken, kept or read."""


class LockHeldError(LockError):
    """Another apply holds the lock of a mailbox; nothing was written."""


class LockLostError(LockError):
    """The lock this apply held was taken over or cleared while it ran."""


class ProviderError(MeetingsError):
    """A backend operation failed."""


class AuthError(ProviderError):
    """Credentials are missing or were refused."""


class NotFoundError(ProviderError):
    """The calendar item no longer exists."""


class ConflictError(ProviderError):
    """The calendar item changed since it was read (its change key moved)."""


class MailboxUnavailableError(ProviderError):
    """One organizer's mailbox cannot be used at all: it does not exist (deleted, mistyped), is not
    enabled for the API (unlicensed, hosted on-premises), or the app is denied access to it (an
    application access policy, missing impersonation rights). Other mailboxes can still be
    reconciled, so the reconciler reports it per mailbox instead of stopping the run. The message
    names the mailbox and the server's reason; `mailbox` is the address (lower case)."""

    def __init__(self, message: str, *, mailbox: str) -> None:
        super().__init__(message)
        self.mailbox = mailbox.lower()


class ThrottledError(ProviderError):
    """The server kept throttling after the allowed retries, or asked for a back-off longer than the
    provider waits (`retry_after`, seconds, when the server named one). Nothing of the request
    that was refused was executed; earlier steps of the same change may have been."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(ProviderError):
    """A timeout or server error: a write may or may not have been committed."""


class RequestRejectedError(ProviderError):
    """The server refused the request as invalid; retrying will not help."""
