"""Fixtures for the Graph tests: a store, the emulator serving it on loopback, clients of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.graph import GraphServer, serve_graph
from reconciler.emulator.store import MailboxStore
from reconciler.providers.graph import GraphProvider
from reconciler.state import MeetingState, meeting_state
from tests.factories import meeting

NAMESPACE = "graph-tests"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailboxStore]:
    store = MailboxStore(tmp_path / "store.db")
    yield store
    store.close()


@pytest.fixture
def faults() -> FaultPlan:
    """The Graph emulator's fault plan (`faults.inject("graph", ...)`)."""
    return FaultPlan()


@pytest.fixture
def graph(store: MailboxStore, faults: FaultPlan) -> Iterator[GraphServer]:
    with serve_graph(store, faults=faults) as server:
        yield server


@pytest.fixture
def http(graph: GraphServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=graph.graph_url, trust_env=False, timeout=10) as client:
        yield client


class SleepRecorder:
    """Stands in for asyncio.sleep between retries: records the delays, waits for none of them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def provider(graph: GraphServer, sleeps: SleepRecorder) -> Iterator[GraphProvider]:
    provider = GraphProvider(graph.graph_url, trust_env=False, sleep=sleeps)
    yield provider
    provider.close()


def fields(meeting_id: str = "team/sync", **changes: Any) -> MeetingState:
    """The canonical state of `meeting(meeting_id, **changes)`."""
    return meeting_state(meeting(meeting_id, **changes))
