"""The Microsoft Graph v1.0 calendar emulator (see `app` for routes, mail rules, limits and faults).

from reconciler.emulator.graph import GraphApp, serve_graph
with serve_graph(store) as server:      # server.base_url == "http://127.0.0.1:<port>/v1.0"
    ...
"""

from reconciler.emulator.graph.app import GraphApp, GraphServer, serve_graph
from reconciler.emulator.graph.recording import GraphStats, RecordedRequest
from reconciler.emulator.graph.throttle import GraphLimits

__all__ = ["GraphApp", "GraphLimits", "GraphServer", "GraphStats", "RecordedRequest", "serve_graph"]
