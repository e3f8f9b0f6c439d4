"""Parametrises the contract suite over the three backends, named here explicitly.

The list is fixed on purpose: a backend whose harness module goes missing fails the whole suite at
import instead of silently dropping out of the parametrisation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from reconciler.emulator.store import MailboxStore
from tests.contract.backends.ews import ews_backend
from tests.contract.backends.graph import graph_backend
from tests.contract.backends.harness import Backend
from tests.contract.backends.sandbox import sandbox_backend

BACKENDS: dict[str, Callable[[MailboxStore], AbstractContextManager[Backend]]] = {
    "sandbox": sandbox_backend,
    "graph": graph_backend,
    "ews": ews_backend,
}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    store = MailboxStore(tmp_path / "store.db")
    with BACKENDS[request.param](store) as harness:
        yield harness
    store.close()
