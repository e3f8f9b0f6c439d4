"""Build the configured provider; SDK-backed providers are imported only when chosen.

The Graph and EWS SDKs come with the package's extras (`graph`, `ews` in pyproject.toml), which the
base install leaves out; a provider whose SDK is missing is a ConfigError naming the install command,
raised here once for every command that opens a provider. Building a provider imports its SDK, so a
missing module shows up here and not halfway through a plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler import DISTRIBUTION
from reconciler.errors import ConfigError
from reconciler.port import Provider

if TYPE_CHECKING:
    from reconciler.config import Config
    from reconciler.providers.wirelog import WireLog


def install_command(backend: str) -> str:
    """The pip command installing the extra that `backend` (graph or ews) needs."""
    return f"pip install '{DISTRIBUTION}[{backend}]'"


def open_provider(config: Config, *, wire_log: WireLog | None = None) -> Provider:
    """The provider of `config.backend`, connected as configured (no request made yet); `wire_log`
    records its HTTP exchanges (the sandbox has none)."""
    if config.backend == "sandbox":
        from reconciler.providers.sandbox import SandboxProvider

        return SandboxProvider.open(config.root / config.sandbox.path)
    try:
        if config.backend == "graph":
            from reconciler.providers.graph import GraphProvider

            return GraphProvider.from_config(config, wire_log=wire_log)
        if config.backend == "ews":
            from reconciler.providers.ews import EwsProvider

            return EwsProvider.from_config(config, wire_log=wire_log)
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] == "reconciler":
            raise  # our own module missing is a broken installation, not a missing extra
        raise ConfigError(
            f"The {config.backend} backend needs the {config.backend} extra of {DISTRIBUTION}, which is not "
            f"installed (no module named {error.name!r}); install it with: {install_command(config.backend)}"
        ) from error
    raise ConfigError(f"Unknown backend {config.backend!r}; choose sandbox, graph or ews.")
