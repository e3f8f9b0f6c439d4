"""meetings-as-code: GitOps for Exchange meetings.

The package is a library first and a CLI second: `loading` turns YAML into `model.Meeting` values,
`plan.build_plan` compares them with what a `port.Provider` observed, and `reconcile`
applies the resulting `plan.Plan`. Only `cli` prints or exits.
"""

#: The distribution's name on PyPI; its metadata carries the version.
DISTRIBUTION = "meetings-as-code"


def __getattr__(name: str) -> str:
    """`__version__`, read on first use: the version is written once, in pyproject.toml, and the
    installed metadata is its only reader here (importlib.metadata costs every command ~25 ms to
    import, and only `--version` and `meetings init` ask)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # a source tree on sys.path that was never `pip install`ed
        return "0+unknown"
