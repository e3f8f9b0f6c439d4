"""meetings-as-code: GitOps for Exchange meetings.

The package is a library first and a CLI second: `loading` turns YAML into `model.Meeting` values,
`plan.build_plan` compares them with what a `port.Provider` observed, and `reconcile`
applies the resulting `plan.Plan`. Only `cli` prints or exits.
"""

from importlib.metadata import PackageNotFoundError, version

#: The distribution's name on PyPI; its metadata carries the version.
DISTRIBUTION = "meetings-as-code"

# The version is written once, in pyproject.toml; the installed metadata is its only reader here.
try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # a source tree on sys.path that was never `pip install`ed
    __version__ = "0+unknown"
