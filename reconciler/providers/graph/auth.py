"""Credentials for Microsoft Graph from `reconciler.yaml` (graph.*) and the environment.

=====================  ============================================================================
`graph.auth`           what it needs
=====================  ============================================================================
client_secret          tenant_id, client_id, MEETINGS_GRAPH_CLIENT_SECRET
certificate            tenant_id, client_id, certificate_path (PEM or PKCS#12), optionally
                       MEETINGS_GRAPH_CERTIFICATE_PASSWORD
workload_identity      tenant_id, client_id and a federated token: GitHub Actions' OIDC token
                       (ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN, i.e. the job
                       has `permissions: id-token: write`), or a file named by AZURE_FEDERATED_TOKEN_FILE
device_code            client_id (tenant_id optional): an operator signs in on another device
azure_cli              an operator's `az login` (tenant_id optional)
=====================  ============================================================================

With a loopback `graph.base_url` (the emulator) and neither tenant nor client configured, requests
carry no credentials at all. azure-identity is imported only inside these functions.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from reconciler.errors import AuthError, ConfigError

DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
GITHUB_AUDIENCE = "api://AzureADTokenExchange"
AUTH_METHODS = ("client_secret", "certificate", "workload_identity", "device_code", "azure_cli")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
#: National clouds: Graph host -> Entra ID (login) host.
_AUTHORITIES = {
    "graph.microsoft.us": "login.microsoftonline.us",
    "dod-graph.microsoft.us": "login.microsoftonline.us",
    "microsoftgraph.chinacloudapi.cn": "login.chinacloudapi.cn",
}


class GraphSettingsLike(Protocol):
    """The `graph:` section of reconciler.yaml (`config.GraphSettings`)."""

    @property
    def tenant_id(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def auth(self) -> str: ...
    @property
    def certificate_path(self) -> str | None: ...
    @property
    def base_url(self) -> str | None: ...


def is_loopback(base_url: str) -> bool:
    return (urllib.parse.urlsplit(base_url).hostname or "") in _LOOPBACK


def scopes_for(base_url: str) -> list[str]:
    """The `.default` scope of the Graph host `base_url` points at (national clouds included)."""
    parts = urllib.parse.urlsplit(base_url)
    return [f"{parts.scheme}://{parts.hostname}/.default"]


def authority_for(base_url: str) -> str | None:
    return _AUTHORITIES.get(urllib.parse.urlsplit(base_url).hostname or "")


def _need(value: str | None, setting: str, method: str) -> str:
    if not value:
        raise ConfigError(f"graph.{setting} must be set in reconciler.yaml for graph.auth: {method}.")
    return value


def github_oidc_token(request_url: str, request_token: str, *, audience: str = GITHUB_AUDIENCE) -> str:
    """Fetch a GitHub Actions OIDC token for `audience` (called again whenever Entra ID needs one)."""
    separator = "&" if "?" in request_url else "?"
    url = f"{request_url}{separator}audience={urllib.parse.quote(audience, safe='')}"
    request = urllib.request.Request(url, headers={"Authorization": f"bearer {request_token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            token = json.loads(answer.read().decode()).get("value")
    except (OSError, ValueError) as error:
        raise AuthError(f"The GitHub Actions OIDC token could not be fetched ({error}).") from error
    if not token:
        raise AuthError("GitHub Actions answered the OIDC token request without a token.")
    return str(token)


def _file_token(path: str) -> Callable[[], str]:
    def read() -> str:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise AuthError(f"The federated token file {path} (AZURE_FEDERATED_TOKEN_FILE) cannot be read.") from error

    return read


def credential(
    settings: GraphSettingsLike,
    *,
    secret: Callable[[str], str | None],
    env: Mapping[str, str],
    base_url: str,
) -> Any | None:
    """An azure-identity credential for `settings`, or None for the anonymous emulator case.

    Raises ConfigError naming the missing setting or variable.
    """
    method = settings.auth or "client_secret"
    if method not in AUTH_METHODS:
        raise ConfigError(f"graph.auth must be one of {', '.join(AUTH_METHODS)}; {method!r} is not supported.")
    if is_loopback(base_url) and not settings.tenant_id and not settings.client_id:
        return None
    if not base_url.startswith("https://") and not is_loopback(base_url):
        raise ConfigError(f"graph.base_url must use https:// for a remote host; {base_url!r} does not.")
    import azure.identity as identity

    authority = authority_for(base_url)
    extra: dict[str, Any] = {"authority": authority} if authority else {}
    if method == "azure_cli":
        return identity.AzureCliCredential(tenant_id=settings.tenant_id or "")
    if method == "device_code":
        client_id = _need(settings.client_id, "client_id", method)
        return identity.DeviceCodeCredential(client_id=client_id, tenant_id=settings.tenant_id, **extra)
    tenant_id = _need(settings.tenant_id, "tenant_id", method)
    client_id = _need(settings.client_id, "client_id", method)
    if method == "client_secret":
        client_secret = secret("MEETINGS_GRAPH_CLIENT_SECRET")
        if not client_secret:
            raise ConfigError(
                "The environment variable MEETINGS_GRAPH_CLIENT_SECRET must hold the app's client secret"
                " for graph.auth: client_secret."
            )
        return identity.ClientSecretCredential(tenant_id, client_id, client_secret, **extra)
    if method == "certificate":
        path = _need(settings.certificate_path, "certificate_path", method)
        if not Path(path).is_file():
            raise ConfigError(f"graph.certificate_path names {path}, which is not a readable file.")
        password = secret("MEETINGS_GRAPH_CERTIFICATE_PASSWORD")
        try:
            return identity.CertificateCredential(
                tenant_id, client_id, certificate_path=path, password=password.encode() if password else None, **extra
            )
        except OSError as error:
            raise ConfigError(f"graph.certificate_path {path} cannot be read: {error.strerror}.") from error
        except ValueError as error:  # azure-identity could not load a certificate and key from it
            raise ConfigError(
                f"graph.certificate_path {path} holds no certificate this can use: it must be PEM or PKCS#12 with the"
                " private key, and MEETINGS_GRAPH_CERTIFICATE_PASSWORD must hold its password if it has one."
            ) from error
    # workload_identity
    request_url, request_token = env.get("ACTIONS_ID_TOKEN_REQUEST_URL"), env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if request_url and request_token:
        return identity.ClientAssertionCredential(
            tenant_id, client_id, lambda: github_oidc_token(request_url, request_token), **extra
        )
    token_file = env.get("AZURE_FEDERATED_TOKEN_FILE")
    if token_file:
        return identity.ClientAssertionCredential(tenant_id, client_id, _file_token(token_file), **extra)
    raise ConfigError(
        "graph.auth: workload_identity needs a federated token: ACTIONS_ID_TOKEN_REQUEST_URL and"
        " ACTIONS_ID_TOKEN_REQUEST_TOKEN (a GitHub Actions job with `permissions: id-token: write`) or"
        " AZURE_FEDERATED_TOKEN_FILE."
    )
