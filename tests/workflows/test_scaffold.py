"""`init_repository`: the scaffolded repository works at once on the sandbox, and never clobbers files."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.scaffold import default_action, init_repository, uses_placeholder
from tests.workflows.conftest import meetings
from tests.workflows.runner import REPO, load_yaml

ACTION = "acme/meetings-as-code@v1.2.3"
TODAY = date(2026, 11, 24)  # a Tuesday
EXPECTED = {
    "reconciler.yaml",
    "meetings/team/weekly-sync.yaml",
    "schemas/meeting.schema.json",
    "schemas/config.schema.json",
    ".vscode/settings.json",
    ".github/workflows/meetings-plan.yml",
    ".github/workflows/meetings-apply.yml",
    ".github/workflows/meetings-drift.yml",
    ".pre-commit-config.yaml",
    ".gitignore",
}


def scaffold(target: Path, *, force: bool = False) -> set[str]:
    written = init_repository(target, force=force, action=ACTION, today=TODAY)
    return {path.relative_to(target).as_posix() for path in written}


def test_init_writes_the_whole_repository_and_returns_every_path(tmp_path: Path) -> None:
    target = tmp_path / "Platform Team"

    written = scaffold(target)

    assert written == EXPECTED
    assert {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()} == EXPECTED


def test_the_scaffolded_repository_validates_plans_and_applies_on_the_sandbox(tmp_path: Path) -> None:
    target = tmp_path / "platform"
    scaffold(target)

    validated = meetings(target, "validate")
    planned = meetings(target, "plan", "--format", "json", "--detailed-exitcode")

    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert planned.returncode == 2, planned.stdout + planned.stderr
    plan = json.loads(planned.stdout)
    assert (plan["backend"], plan["namespace"]) == ("sandbox", "platform")
    [change] = plan["changes"]
    assert (change["id"], change["action"]) == ("team/weekly-sync", "create")
    assert change["fields"]["start"]["after"] == "2026-11-30T10:00"
    assert meetings(target, "apply", "--auto-approve").returncode == 0
    assert meetings(target, "plan", "--detailed-exitcode").returncode == 0


def test_init_refuses_to_overwrite_and_names_every_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    target.mkdir()
    (target / "reconciler.yaml").write_text("namespace: mine\n", encoding="utf-8")
    (target / ".vscode").mkdir()
    (target / ".vscode" / "settings.json").write_text("{}", encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        scaffold(target)

    message = str(raised.value)
    assert "reconciler.yaml" in message
    assert ".vscode/settings.json" in message
    assert "--force" in message
    assert sorted(p.name for p in target.rglob("*")) == [".vscode", "reconciler.yaml", "settings.json"]
    assert (target / "reconciler.yaml").read_text(encoding="utf-8") == "namespace: mine\n"


def test_init_with_force_overwrites_and_keeps_an_existing_gitignore_with_one_sandbox_line(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    target.mkdir()
    (target / "reconciler.yaml").write_text("namespace: mine\n", encoding="utf-8")
    (target / ".gitignore").write_text("*.log", encoding="utf-8")

    written = scaffold(target, force=True)
    again = scaffold(target, force=True)

    assert written == EXPECTED
    assert again == EXPECTED - {".gitignore"}
    assert "namespace: repo" in (target / "reconciler.yaml").read_text(encoding="utf-8")
    lines = (target / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "*.log"
    assert lines.count(".meetings/") == 1


def test_editors_find_the_schemas_through_the_modelines_and_the_vscode_settings(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    scaffold(target)

    for name in ("meeting.schema.json", "config.schema.json"):
        assert (target / "schemas" / name).read_bytes() == (REPO / "schemas" / name).read_bytes()
    example = target / "meetings" / "team" / "weekly-sync.yaml"
    modeline = example.read_text(encoding="utf-8").splitlines()[0]
    schema = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", modeline)
    assert schema and (example.parent / schema.group(1)).resolve() == (target / "schemas/meeting.schema.json")
    config_modeline = (target / "reconciler.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert config_modeline == "# yaml-language-server: $schema=schemas/config.schema.json"
    settings = json.loads((target / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert settings["yaml.schemas"] == {
        "./schemas/meeting.schema.json": ["meetings/**/*.yaml", "meetings/**/*.yml"],
        "./schemas/config.schema.json": ["reconciler.yaml"],
    }


def test_the_workflows_and_the_hook_use_the_given_action_reference(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    scaffold(target)

    for name in ("meetings-plan.yml", "meetings-apply.yml", "meetings-drift.yml"):
        workflow = load_yaml(target / ".github" / "workflows" / name)
        uses = {s.get("uses") for job in workflow["jobs"].values() for s in job["steps"]} - {None}
        assert ACTION in uses
        assert "./" not in uses
    [repo] = load_yaml(target / ".pre-commit-config.yaml")["repos"]
    assert repo == {
        "repo": "https://github.com/acme/meetings-as-code",
        "rev": "v1.2.3",
        "hooks": [{"id": "meetings-validate"}],
    }
    config = (target / "reconciler.yaml").read_text(encoding="utf-8")
    assert re.search(r"^backend: sandbox", config, re.MULTILINE)
    assert re.search(r"^# backend: graph", config, re.MULTILINE)
    assert "auth: workload_identity" in config


@pytest.mark.parametrize("action", ["./", "acme/meetings-as-code", "acme@v1", "a/b@v1\nrun: x", ""])
def test_init_refuses_anything_but_owner_repository_at_ref(tmp_path: Path, action: str) -> None:
    with pytest.raises(ConfigError, match="OWNER/REPOSITORY@REF"):
        init_repository(tmp_path / "repo", action=action)
    assert not (tmp_path / "repo").exists()


def test_init_refuses_a_target_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a directory"):
        init_repository(target, action=ACTION)


def test_the_default_action_is_this_version_of_this_project(tmp_path: Path) -> None:
    action = default_action()

    assert re.fullmatch(r"[\w-]+/meetings-as-code@v\d+\.\d+\.\d+", action)
    assert uses_placeholder("OWNER/meetings-as-code@v1")
    assert not uses_placeholder(ACTION)
    written = init_repository(tmp_path / "repo", today=TODAY)
    plan = next(p for p in written if p.name == "meetings-plan.yml")
    assert f"uses: {action}" in plan.read_text(encoding="utf-8")


def test_every_template_is_shipped_as_package_data() -> None:
    """`meetings init` reads the templates from the installed package, so a wheel must carry them."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["reconciler"]
    package = REPO / "reconciler"
    for template in (package / "templates").rglob("*"):
        if template.is_file():
            relative = template.relative_to(package)
            assert any(relative.match(pattern) for pattern in patterns), (
                f"{relative} is not package data: add 'templates/*' and 'templates/workflows/*' to "
                "[tool.setuptools.package-data] reconciler in pyproject.toml"
            )


def test_init_lists_the_organizers_of_existing_meeting_files_so_graph_validates_them(tmp_path: Path) -> None:
    target = tmp_path / "platform"
    (target / "meetings" / "office").mkdir(parents=True)
    offsite = "id: company/offsite\norganizer: Office@Contoso.com\nsubject: Offsite\nstart: 2027-01-12T09:00\n"
    (target / "meetings" / "office" / "offsite.yaml").write_text(offsite, encoding="utf-8")
    (target / "meetings" / "broken.yaml").write_text("organizer: [", encoding="utf-8")
    scaffold(target)

    config = load_yaml(target / "reconciler.yaml")

    assert config["organizers"] == ["office@contoso.com"]
    (target / "meetings" / "broken.yaml").unlink()
    validated = meetings(target, "validate", env={"MEETINGS_BACKEND": "graph"})
    assert validated.returncode == 0, validated.stderr


def test_init_without_meeting_files_writes_a_commented_organizers_example(tmp_path: Path) -> None:
    scaffold(tmp_path)

    text = (tmp_path / "reconciler.yaml").read_text(encoding="utf-8")

    assert "organizers" not in load_yaml(tmp_path / "reconciler.yaml")
    assert "# organizers:\n#   - lead@contoso.com\n" in text
    office = "id: company/offsite\norganizer: office@contoso.com\nsubject: Offsite\nstart: 2027-01-12T09:00\n"
    (tmp_path / "meetings" / "offsite.yaml").write_text(office, encoding="utf-8")
    refused = meetings(tmp_path, "validate", env={"MEETINGS_BACKEND": "graph"})
    assert refused.returncode == 1
    assert "add office@contoso.com to organizers: in reconciler.yaml" in refused.stderr
    uncommented = text.replace("# organizers:\n#   - lead@contoso.com", "organizers:\n  - office@contoso.com")
    (tmp_path / "reconciler.yaml").write_text(uncommented, encoding="utf-8")
    assert meetings(tmp_path, "validate", env={"MEETINGS_BACKEND": "graph"}).returncode == 0
