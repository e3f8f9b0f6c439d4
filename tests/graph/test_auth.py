"""Authentication for the Graph backend: from reconciler.yaml and the environment, with every
missing piece named in a sentence, and tokens actually sent (or not) on the wire."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from reconciler.config import Config, GraphSettings
from reconciler.emulator.graph import GraphServer
from reconciler.emulator.server import Request, Response, serve
from reconciler.errors import AuthError, ConfigError
from reconciler.providers.graph import GraphProvider, auth
from tests.factories import ORGANIZER
from tests.graph.conftest import NAMESPACE


def config(tmp_path: Path, env: dict[str, str] | None = None, /, **graph: Any) -> Config:
    return Config(
        root=tmp_path, meetings_dir=tmp_path / "meetings", backend="graph", graph=GraphSettings(**graph), env=env or {}
    )


def credential_for(tmp_path: Path, env: dict[str, str] | None = None, /, **graph: Any) -> Any:
    settings = config(tmp_path, env, **graph)
    base_url = graph.get("base_url") or auth.DEFAULT_BASE_URL
    return auth.credential(settings.graph, secret=settings.secret, env=settings.env, base_url=base_url)


def test_the_emulator_on_loopback_needs_no_credentials(tmp_path: Path, graph: GraphServer) -> None:
    provider = GraphProvider.from_config(config(tmp_path, base_url=graph.graph_url))
    try:
        assert provider.list_managed(ORGANIZER, NAMESPACE) == []
    finally:
        provider.close()
    assert "authorization" not in graph.app.requests[-1].headers


@pytest.mark.parametrize(
    ("graph", "env", "named"),
    [
        ({"tenant_id": "t", "client_id": "c"}, {}, "MEETINGS_GRAPH_CLIENT_SECRET"),
        ({"client_id": "c"}, {"MEETINGS_GRAPH_CLIENT_SECRET": "s"}, "graph.tenant_id"),
        ({"tenant_id": "t"}, {"MEETINGS_GRAPH_CLIENT_SECRET": "s"}, "graph.client_id"),
        ({"tenant_id": "t", "client_id": "c", "auth": "certificate"}, {}, "graph.certificate_path"),
        (
            {"tenant_id": "t", "client_id": "c", "auth": "certificate", "certificate_path": "/nowhere/app.pem"},
            {},
            "/nowhere/app.pem",
        ),
        ({"tenant_id": "t", "client_id": "c", "auth": "workload_identity"}, {}, "ACTIONS_ID_TOKEN_REQUEST_URL"),
        ({"tenant_id": "t", "client_id": "c", "auth": "device_code"} | {"client_id": None}, {}, "graph.client_id"),
        ({"tenant_id": "t", "client_id": "c", "auth": "password"}, {}, "graph.auth must be one of"),
        (
            {"tenant_id": "t", "client_id": "c", "base_url": "http://graph.example.com/v1.0"},
            {"MEETINGS_GRAPH_CLIENT_SECRET": "s"},
            "https://",
        ),
    ],
)
def test_missing_settings_and_secrets_are_config_errors_naming_them(
    tmp_path: Path, graph: dict[str, Any], env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")) as raised:
        credential_for(tmp_path, env, **graph)
    assert str(raised.value).endswith(".")


@pytest.mark.parametrize("content", [b"not really a certificate", b"", b"\x00\x01binary"])
def test_a_file_that_is_no_usable_certificate_is_a_config_error_naming_the_path(tmp_path: Path, content: bytes) -> None:
    pem = tmp_path / "app.pem"
    pem.write_bytes(content)
    ids = {"tenant_id": "00000000-0000-0000-0000-000000000001", "client_id": "00000000-0000-0000-0000-000000000002"}
    with pytest.raises(ConfigError, match=f"graph.certificate_path {pem} holds no certificate this can use"):
        credential_for(tmp_path, auth="certificate", certificate_path=str(pem), **ids)


def test_each_method_builds_its_azure_identity_credential(tmp_path: Path) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text("not really a certificate", encoding="utf-8")
    token_file = tmp_path / "token"
    token_file.write_text("federated-token\n", encoding="utf-8")
    ids = {"tenant_id": "00000000-0000-0000-0000-000000000001", "client_id": "00000000-0000-0000-0000-000000000002"}
    built = {
        "client_secret": credential_for(tmp_path, {"MEETINGS_GRAPH_CLIENT_SECRET": "s"}, **ids),
        "workload_identity": credential_for(
            tmp_path, {"AZURE_FEDERATED_TOKEN_FILE": str(token_file)}, auth="workload_identity", **ids
        ),
        "azure_cli": credential_for(tmp_path, auth="azure_cli", **ids),
        "device_code": credential_for(tmp_path, auth="device_code", **ids),
    }
    assert {k: type(v).__name__ for k, v in built.items()} == {
        "client_secret": "ClientSecretCredential",
        "workload_identity": "ClientAssertionCredential",
        "azure_cli": "AzureCliCredential",
        "device_code": "DeviceCodeCredential",
    }


def test_national_clouds_get_their_own_scope_and_authority() -> None:
    assert auth.scopes_for("https://graph.microsoft.us/v1.0") == ["https://graph.microsoft.us/.default"]
    assert auth.authority_for("https://graph.microsoft.us/v1.0") == "login.microsoftonline.us"
    assert auth.authority_for("https://microsoftgraph.chinacloudapi.cn/v1.0") == "login.chinacloudapi.cn"
    assert auth.authority_for(auth.DEFAULT_BASE_URL) is None


class _TokenEndpoint:
    """GitHub's OIDC token endpoint as far as the client sees it."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    def handle(self, request: Request) -> Response:
        self.seen.append(request)
        return Response(200, {"Content-Type": "application/json"}, json.dumps({"value": "github-oidc-jwt"}).encode())


def test_the_github_oidc_token_is_fetched_for_azure_ad_token_exchange() -> None:
    endpoint = _TokenEndpoint()
    with serve(endpoint) as running:
        token = auth.github_oidc_token(f"{running.base_url}/token?api-version=2.0", "runtime-token")
    assert token == "github-oidc-jwt"
    (request,) = endpoint.seen
    assert parse_qs(urlsplit(request.target).query) == {
        "api-version": ["2.0"],
        "audience": ["api://AzureADTokenExchange"],
    }
    assert request.headers["authorization"] == "bearer runtime-token"


def test_an_unreachable_oidc_endpoint_is_an_auth_error() -> None:
    with pytest.raises(AuthError, match="OIDC token could not be fetched"):
        auth.github_oidc_token("http://127.0.0.1:9/token?x=1", "t")


class _Credential:
    """An azure-identity style credential handing out a fixed token (or refusing to)."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken
        from azure.core.exceptions import ClientAuthenticationError

        self.scopes.append(scopes)
        if self.refuse:
            raise ClientAuthenticationError(message="AADSTS7000215: Invalid client secret provided.")
        return AccessToken("a-token", int(time.time()) + 3600)


def test_a_credentials_token_is_sent_as_a_bearer_token_for_the_graph_hosts_scope(graph: GraphServer) -> None:
    credential = _Credential()
    provider = GraphProvider(graph.graph_url, credential=credential, trust_env=False)
    try:
        provider.list_managed(ORGANIZER, NAMESPACE)
    finally:
        provider.close()
    assert graph.app.requests[-1].headers["authorization"] == "Bearer a-token"
    assert credential.scopes == [("http://127.0.0.1/.default",)]


def test_a_refused_credential_is_an_auth_error(graph: GraphServer) -> None:
    provider = GraphProvider(graph.graph_url, credential=_Credential(refuse=True), trust_env=False)
    try:
        with pytest.raises(AuthError, match="AADSTS7000215"):
            provider.list_managed(ORGANIZER, NAMESPACE)
    finally:
        provider.close()
    assert graph.app.stats.requests == 0


def test_a_remote_graph_without_credentials_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs credentials"):
        GraphProvider("https://graph.microsoft.com/v1.0")
