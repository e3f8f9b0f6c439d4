"""The Makefile and .ci/run say the same thing: `make ci` is what CI runs once it is set up."""

from __future__ import annotations

import re

from tests.workflows.runner import REPO

README_TEST_COMMAND = "python -m pip install -e '.[test]' && python -m pytest"


def _ci_run_after_set_up() -> list[str]:
    """The commands of .ci/run from its test run on, the project install (set-up) left out."""
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    start = commands.index(README_TEST_COMMAND)
    return ["python -m pytest", *commands[start + 1 :]]


def _make_recipe(target: str) -> list[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.MULTILINE)
    assert match, f"the Makefile has no {target} target"
    return [line.strip().replace("$(PYTHON)", "python") for line in match.group(1).splitlines()]


def test_ci_run_calls_the_readme_test_command_verbatim() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")

    assert README_TEST_COMMAND in readme
    assert README_TEST_COMMAND in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_make_ci_runs_exactly_what_ci_run_runs_after_its_set_up() -> None:
    assert _make_recipe("ci") == _ci_run_after_set_up()


def test_every_documented_make_target_exists() -> None:
    for target in ("test", "unit", "contract", "golden-update", "lint", "types", "layers", "bench", "ci"):
        assert _make_recipe(target)
