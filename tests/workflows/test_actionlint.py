"""actionlint on every workflow of this repository and on the workflows `meetings init` writes.

actionlint (and ShellCheck, which it runs on each `run:` script when found) come from the test extra,
so these tests fail rather than skip when the tools are missing: CI installs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from reconciler.scaffold import init_repository
from tests.workflows.runner import REPO, load_yaml

TOOLS_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def tool(name: str) -> str:
    found = shutil.which(name, path=TOOLS_PATH)
    if found is None:
        pytest.fail(f"{name} is not installed; `python -m pip install -e '.[test]'` installs it.")
    return found


def actionlint(files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert files
    return subprocess.run(
        [tool("actionlint"), "-no-color", *map(str, files)],
        cwd=cwd,
        env={**os.environ, "PATH": TOOLS_PATH},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_shellcheck_is_there_for_actionlint_to_check_the_run_scripts() -> None:
    tool("shellcheck")


def test_every_workflow_of_this_repository_passes_actionlint() -> None:
    result = actionlint(sorted((REPO / ".github" / "workflows").glob("*.yml")), REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflows_written_by_init_pass_actionlint(tmp_path: Path) -> None:
    target = tmp_path / "team-meetings"
    init_repository(target, action="acme/meetings-as-code@v1", today=date(2026, 11, 24))
    subprocess.run(["git", "init", "-q", str(target)], check=True)

    result = actionlint(sorted((target / ".github" / "workflows").glob("*.yml")), target)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_run_scripts_of_the_composite_action_pass_shellcheck() -> None:
    steps = load_yaml(REPO / "action.yml")["runs"]["steps"]
    scripts = [step["run"] for step in steps if "run" in step]
    assert scripts
    for script in scripts:
        result = subprocess.run(
            [tool("shellcheck"), "--shell=bash", "-"], input=script, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout
