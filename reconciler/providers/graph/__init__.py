"""Microsoft Graph backend: `GraphProvider` (msgraph-sdk is imported only when one is constructed).

Modules: `provider` (the Provider: retries, per-mailbox limit, error translation), `wire` (canonical
fields <-> Graph event JSON, pure), `sdk` (the only module importing msgraph-sdk/kiota/httpx),
`auth` (credentials from reconciler.yaml and the environment; azure-identity imported lazily), `lock`
(the apply lock's namespace items as Graph JSON, pure).
"""

from reconciler.providers.graph.provider import GraphProvider, RetryPolicy

__all__ = ["GraphProvider", "RetryPolicy"]
