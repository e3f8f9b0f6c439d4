"""The sharded apply workflow shown in the docs is a valid workflow, and its jobs cover every shard."""

from __future__ import annotations

import re

from tests.workflows.runner import REPO, load_yaml
from tests.workflows.test_actionlint import actionlint

EXAMPLE = REPO / "docs" / "examples" / "meetings-apply-sharded.yml"


def test_the_sharded_apply_example_passes_actionlint() -> None:
    result = actionlint([EXAMPLE], REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_matrix_names_every_shard_of_the_count_the_commands_use() -> None:
    job = load_yaml(EXAMPLE)["jobs"]["apply"]
    shards = job["strategy"]["matrix"]["shard"]
    (step,) = [s for s in job["steps"] if "SHARD" in s.get("env", {})]
    count = int(re.fullmatch(r"\$\{\{ matrix\.shard \}\}/(\d+)", step["env"]["SHARD"])[1])  # type: ignore[index]
    assert shards == list(range(1, count + 1))
    assert '--shard "$SHARD"' in step["run"]
