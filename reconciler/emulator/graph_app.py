"""The Graph emulator's public entry points (the implementation lives in `reconciler.emulator.graph`).

with serve_graph(store) as server:
    server.base_url     # http://127.0.0.1:<port>
    server.graph_url    # http://127.0.0.1:<port>/v1.0 (point a Graph client here)
"""

from reconciler.emulator.graph import GraphApp, GraphLimits, GraphServer, GraphStats, RecordedRequest, serve_graph

__all__ = ["GraphApp", "GraphLimits", "GraphServer", "GraphStats", "RecordedRequest", "serve_graph"]
