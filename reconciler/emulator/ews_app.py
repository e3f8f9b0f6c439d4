"""The EWS emulator's entry point: `EwsApp(store)` answers `POST /EWS/Exchange.asmx` the way
Exchange Server does for calendar work, and `serve_ews(store)` serves it on loopback.

See `reconciler.emulator.ews.app` for the operations, the mail rules of each send mode and the
injectable faults.
"""

from reconciler.emulator.ews.app import ENDPOINT_PATH, EwsApp, endpoint, serve_ews

__all__ = ["ENDPOINT_PATH", "EwsApp", "endpoint", "serve_ews"]
