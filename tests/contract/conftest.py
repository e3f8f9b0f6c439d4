"""Parametrises the contract suite over every backend whose harness module exists."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.store import MailboxStore
from tests.contract.backends.harness import Backend

BACKENDS = [
    name for name in ("sandbox", "graph", "ews") if (Path(__file__).parent / "backends" / f"{name}.py").exists()
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    module = importlib.import_module(f"tests.contract.backends.{request.param}")
    store = MailboxStore(tmp_path / "store.db")
    with getattr(module, f"{request.param}_backend")(store) as harness:
        yield harness
    store.close()
