"""The Graph backend for the contract suite: GraphProvider (real msgraph-sdk, httpx without proxy
variables) -> the Graph emulator over loopback HTTP -> the shared store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.emulator.graph import serve_graph
from reconciler.emulator.store import MailboxStore
from reconciler.providers.graph import GraphProvider
from tests.contract.backends.harness import Backend


@contextmanager
def graph_backend(store: MailboxStore) -> Iterator[Backend]:
    with serve_graph(store) as server:
        provider = GraphProvider(server.graph_url, trust_env=False)
        try:
            yield Backend(
                name="graph",
                provider=provider,
                store=store,
                # The write commits, then the client sees a 504 Gateway Timeout.
                lose_next_answer=lambda operation: store.inject_fault("graph", operation, "504-after-commit"),
            )
        finally:
            provider.close()
