"""Running the `meetings` command in-process for the end-to-end tests."""

from __future__ import annotations

from typer.testing import CliRunner

from reconciler.cli import app


def run(*args: str) -> tuple[int, str, str]:
    """`meetings ARGS...` through typer's runner: (exit code, stdout, stderr). An exception that is
    not an exit is raised again, so a traceback a user would see fails the test."""
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
