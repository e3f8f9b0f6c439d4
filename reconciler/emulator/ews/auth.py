"""The EWS emulator's authentication layer: Basic and Bearer, as a front end checks them.

`users` (Basic: name -> password) and `tokens` (Bearer) switch checking on; without them every
request is accepted, as with NTLM done by a front end.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping

from reconciler.emulator.server import Request, Response


class Authentication:
    def __init__(self, users: Mapping[str, str] | None, tokens: Collection[str] | None) -> None:
        self._users = dict(users) if users is not None else None
        self._tokens = frozenset(tokens) if tokens is not None else None

    def check(self, request: Request) -> tuple[bool, str | None]:
        """Whether the request may be served, and the user it names (an address, else None)."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        user = None
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except (ValueError, binascii.Error):
                return False, None
            if self._users is not None and self._users.get(user) != password:
                return False, None
            user = user.lstrip("\\").lower()
        elif scheme.lower() == "bearer":
            if self._tokens is not None and value not in self._tokens:
                return False, None
        elif self._users is not None or self._tokens is not None:
            return False, None
        return True, user if user and "@" in user else None

    def unauthorised(self, description: str | None = None) -> Response:
        """401 with the challenges offered (and, for a refused token, why)."""
        challenges = []
        if self._users is not None or self._tokens is None:
            challenges.append('Basic realm="ews"')
        bearer = 'Bearer client_id="00000002-0000-0ff1-ce00-000000000000"'
        if description:
            bearer += f', error="invalid_token", error_description="{description}"'
        challenges.append(bearer)
        return Response(401, {"WWW-Authenticate": ", ".join(challenges), "Content-Type": "text/plain"}, b"")
