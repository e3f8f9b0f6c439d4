"""The EWS emulator's fault injection layer: faults from the plan (protocol `ews`), as Exchange and
the proxies in front of it answer them (the kinds are listed in the app's module docstring).

A fault is taken per request, keyed by the SOAP operation name, or by "CancelCalendarItem" for a
CreateItem that cancels (falling back to "CreateItem"). `before` answers the faults that stop a
request before its work; `after` those that lose the answer of work done.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from reconciler.emulator.ews.soap import EwsError, SoapFault, child, envelope, error, fault, m, response, sub, t
from reconciler.emulator.faults import Fault, FaultPlan
from reconciler.emulator.server import Response

XML = {"Content-Type": "text/xml; charset=utf-8"}


def _nginx_page(title: str) -> bytes:
    # nginx's built-in error page (src/http/ngx_http_special_response.c), what a reverse proxy in
    # front of Exchange answers when the upstream fails or times out.
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


_PROXY_PAGES = {
    "http-502": (502, _nginx_page("502 Bad Gateway")),
    "http-504": (504, _nginx_page("504 Gateway Time-out")),
}


class EwsFaults:
    """Answers injected faults; `sleep` is what slow faults call, `unauthorised` builds the 401."""

    def __init__(
        self, plan: FaultPlan, sleep: Callable[[float], None], unauthorised: Callable[[str], Response]
    ) -> None:
        self.plan = plan
        self._sleep = sleep
        self._unauthorised = unauthorised

    def take(self, name: str, operation: ET.Element) -> Fault | None:
        """The fault of this request, if one is queued."""
        if name == "CreateItem":
            items = child(operation, "Items")
            if items is not None and child(items, "CancelCalendarItem") is not None:
                found = self.plan.take("ews", "CancelCalendarItem")
                if found is not None:
                    return found
        return self.plan.take("ews", name)

    def before(self, injected: Fault, name: str) -> Response | None:
        """The answer of a fault that comes before the work (None: do the work; `slow` waits first)."""
        params = injected.params
        if injected.kind == "server-busy":
            busy = SoapFault("ErrorServerBusy", back_off_ms=int(params.get("back_off_ms", 500)))
            return Response(500, XML, fault(busy))
        if injected.kind == "server-busy-message":
            message = error(name, EwsError("ErrorServerBusy"))
            xml = sub(message, m("MessageXml"))
            sub(xml, t("Value"), str(int(params.get("back_off_ms", 500))), Name="BackOffMilliseconds")
            return Response(200, XML, envelope(response(name, [message])))
        if injected.kind in ("http-503", "http-429"):
            status = 503 if injected.kind == "http-503" else 429
            headers = {"Retry-After": str(params.get("retry_after", 1)), "Content-Type": "text/html"}
            return Response(status, headers, b"<html><body>Service Unavailable</body></html>")
        if injected.kind in _PROXY_PAGES and not params.get("commit"):
            return _proxy_failure(injected)
        if injected.kind == "unauthorized":
            return self._unauthorised(str(params.get("description", "The access token is expired.")))
        if injected.kind == "slow":
            self._sleep(float(params.get("seconds", 1)))
        return None

    def after(self, injected: Fault) -> Response | None:
        """The answer of a fault that loses the answer of work done (None: answer normally)."""
        if injected.kind in _PROXY_PAGES:
            return _proxy_failure(injected)
        if injected.kind == "timeout-after-commit":
            seconds = injected.params.get("seconds")
            if seconds is None:
                return Response(200, drop_connection=True)
            self._sleep(float(seconds))
        return None


def _proxy_failure(injected: Fault) -> Response:
    status, page = _PROXY_PAGES[injected.kind]
    headers = {"Content-Type": "text/html", "Server": "nginx"}
    if "retry_after" in injected.params:
        headers["Retry-After"] = str(injected.params["retry_after"])
    return Response(status, headers, page)
