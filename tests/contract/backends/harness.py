"""What every backend of the contract suite provides: a Provider and the store behind it.

A backend module `tests/contract/backends/<name>.py` exposes a context manager
`<name>_backend(store: MailboxStore) -> Iterator[Backend]` that serves the store (over loopback
HTTP for graph and ews) and yields a provider talking to it. Tests assert on the provider's view,
on the store's items and on the store's sent-mail log.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.emulator.store import MailboxStore
from reconciler.providers.base import Provider


@dataclass
class Backend:
    name: str
    provider: Provider
    store: MailboxStore
