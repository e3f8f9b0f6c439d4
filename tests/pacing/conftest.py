"""Fixtures of the scheduler tests: a sandbox store and its provider, a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.store import MailboxStore
from reconciler.providers.sandbox import SandboxProvider
from tests.pacing.clock import VirtualClock


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailboxStore]:
    store = MailboxStore(tmp_path / "store.db")
    yield store
    store.close()


@pytest.fixture
def sandbox(store: MailboxStore) -> SandboxProvider:
    return SandboxProvider(store)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def faults() -> FaultPlan:
    """The fault plan the emulators of a test take (`faults.inject(protocol, operation, kind)`)."""
    return FaultPlan()
