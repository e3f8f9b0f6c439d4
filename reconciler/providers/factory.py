"""Build the configured provider; SDK-backed providers are imported only when chosen."""

from __future__ import annotations

from reconciler.config import Config
from reconciler.errors import ConfigError
from reconciler.providers.base import Provider


def open_provider(config: Config) -> Provider:
    if config.backend == "sandbox":
        from reconciler.providers.sandbox import SandboxProvider

        return SandboxProvider.open(config.root / config.sandbox.path)
    if config.backend == "graph":
        from reconciler.providers.graph import GraphProvider

        return GraphProvider.from_config(config)
    if config.backend == "ews":
        from reconciler.providers.ews import EwsProvider

        return EwsProvider.from_config(config)
    raise ConfigError(f"Unknown backend {config.backend!r}; choose sandbox, graph or ews.")
