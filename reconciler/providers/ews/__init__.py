"""EWS backend for on-premises Exchange Server: `EwsProvider` (exchangelib is imported only when one is constructed).

Modules: `provider` (the Provider: operations, retries, error translation), `wire` (canonical fields
<-> exchangelib item values), `sdk` (exchangelib plumbing: connections, retries, services), `people`
(free/busy and attendees' answers), `lock` (the apply lock's namespace items).
"""

from reconciler.providers.ews.provider import CLIENT_SECRET_VARIABLE, PASSWORD_VARIABLE, EwsProvider

__all__ = ["CLIENT_SECRET_VARIABLE", "PASSWORD_VARIABLE", "EwsProvider"]
