"""Backends. `open_provider` in `reconciler.providers.factory` builds the configured one lazily."""
