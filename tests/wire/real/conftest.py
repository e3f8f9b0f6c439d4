"""The Graph emulator fixtures of the Graph suite (a store, the emulator serving it, an HTTP client
for it), shared with the tests that send captured requests to the emulator."""

from tests.graph.conftest import faults, graph, http, store

__all__ = ["faults", "graph", "http", "store"]
