"""The sandbox backend for the contract suite: the provider over the store, in-process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.emulator.store import MailboxStore
from reconciler.providers.sandbox import SandboxProvider
from tests.contract.backends.harness import Backend


@contextmanager
def sandbox_backend(store: MailboxStore) -> Iterator[Backend]:
    yield Backend(
        name="sandbox",
        provider=SandboxProvider(store),
        store=store,
        lose_next_answer=lambda operation: store.inject_fault("sandbox", operation, "timeout-after-commit"),
    )
