"""What the workflow files promise, read from the files: permissions, fork safety, concurrency, pins."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.scaffold import WORKFLOWS as TEMPLATE_WORKFLOWS
from reconciler.scaffold import render_workflows
from tests.workflows.runner import REPO, load_yaml

WORKFLOW_DIR = REPO / ".github" / "workflows"
ALL_WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"
FORK = "github.event.pull_request.head.repo.full_name != github.repository"
#: The jobs that may request the OIDC token (and so reach the calendars).
CREDENTIAL_JOBS = {
    "meetings-plan.yml": {"plan"},
    "meetings-apply.yml": {"apply"},
    "meetings-drift.yml": {"drift"},
    "ci.yml": set(),
}


#: The jobs that may push (a branch of their own, never main): they hold no calendar credentials and
#: run no code of a pull request.
REPOSITORY_WRITERS = {"meetings-drift.yml": {"pull-request"}}


def workflow(name: str) -> dict[str, Any]:
    document = load_yaml(WORKFLOW_DIR / name)
    assert isinstance(document, dict)
    return document


def triggers(document: dict[str, Any]) -> dict[str, Any]:
    value = document["on"]  # a YAML 1.2 reader keeps `on` a string (YAML 1.1 would read True)
    assert isinstance(value, dict)
    return value


def steps_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    if "jobs" in document:
        return [step for job in document["jobs"].values() for step in job.get("steps", [])]
    return list(document["runs"]["steps"])


def test_the_reference_workflows_are_exactly_the_init_templates_with_the_local_action() -> None:
    rendered = render_workflows("./")
    assert sorted(rendered) == sorted(TEMPLATE_WORKFLOWS)
    for name, text in rendered.items():
        assert (WORKFLOW_DIR / name).read_text(encoding="utf-8") == text, (
            f"{name} differs from reconciler/templates/workflows/{name}; regenerate it with "
            "reconciler.scaffold.render_workflows('./')"
        )


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_grants_nothing_by_default_and_each_job_only_what_it_needs(path: Path) -> None:
    document = workflow(path.name)
    assert document["permissions"] == {}
    for job_id, job in document["jobs"].items():
        permissions = job["permissions"]
        assert isinstance(permissions, dict), f"{job_id} must list its permissions"
        assert set(permissions.values()) <= {"read", "write"}
        writer = job_id in REPOSITORY_WRITERS.get(path.name, set())
        assert permissions.get("contents", "read") == ("write" if writer else "read"), f"{job_id}: contents"
        has_token = permissions.get("id-token") == "write"
        assert has_token == (job_id in CREDENTIAL_JOBS[path.name]), f"{job_id}: id-token"
        if has_token:
            others = {k: v for k, v in permissions.items() if k != "id-token"}
            assert others == {"contents": "read"}, f"{job_id} holds calendar credentials: it must not write to GitHub"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_no_workflow_runs_code_of_a_pull_request_with_write_access(path: Path) -> None:
    on = triggers(workflow(path.name))
    assert "pull_request_target" not in on
    assert "workflow_run" not in on


def test_only_pull_requests_from_this_repository_are_planned_and_forks_are_validated() -> None:
    document = workflow("meetings-plan.yml")
    assert set(triggers(document)) == {"pull_request"}
    paths = triggers(document)["pull_request"]["paths"]
    assert {"meetings/**", "reconciler.yaml"} <= set(paths)
    jobs = document["jobs"]
    assert jobs["plan"]["if"] == SAME_REPOSITORY
    assert jobs["validate"]["if"] == FORK
    assert jobs["validate"]["permissions"] == {"contents": "read"}
    assert [s["with"]["command"] for s in jobs["validate"]["steps"] if s.get("uses") == "./"] == ["validate"]
    assert [s["with"]["command"] for s in jobs["plan"]["steps"] if s.get("uses") == "./"] == ["plan"]
    assert jobs["comment"]["permissions"] == {"pull-requests": "write", "issues": "write"}
    assert jobs["comment"]["needs"] == ["plan", "validate"]
    assert document["concurrency"]["cancel-in-progress"] is True


def test_apply_runs_on_main_one_at_a_time_behind_the_protected_environment() -> None:
    document = workflow("meetings-apply.yml")
    on = triggers(document)
    assert on["push"]["branches"] == ["main"]
    assert set(on) == {"push", "workflow_dispatch"}
    assert document["concurrency"] == {"group": "meetings-apply", "cancel-in-progress": False}
    job = document["jobs"]["apply"]
    assert job["environment"] == "meetings-production"
    [apply] = [s for s in job["steps"] if s.get("uses") == "./"]
    assert apply["with"]["command"] == "apply"
    assert document["jobs"]["comment"]["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_drift_runs_nightly_and_on_demand_and_only_its_issue_job_writes_issues() -> None:
    document = workflow("meetings-drift.yml")
    on = triggers(document)
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert len(on["schedule"]) == 1
    assert document["concurrency"]["cancel-in-progress"] is False
    [plan] = [s for s in document["jobs"]["drift"]["steps"] if s.get("id") == "plan"]
    assert plan["uses"] == "./"
    assert plan["with"]["command"] == "plan"
    assert plan["with"]["detailed-exitcode"] == "true"
    assert document["jobs"]["issue"]["permissions"] == {"issues": "write"}


def test_the_drift_pull_request_is_opt_in_and_its_job_pushes_only_its_own_branch_without_credentials() -> None:
    document = workflow("meetings-drift.yml")
    job = document["jobs"]["pull-request"]
    assert "vars.MEETINGS_DRIFT_PULL_REQUEST == 'true'" in job["if"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    [push] = [s for s in job["steps"] if s.get("id") == "branch"]
    assert "push --quiet --force origin HEAD:refs/heads/meetings/drift-write-back" in push["run"]
    [write_back] = [s for s in document["jobs"]["drift"]["steps"] if s.get("id") == "write-back"]
    assert write_back["with"]["command"] == "write-back-drift"


@pytest.mark.parametrize("path", [*ALL_WORKFLOWS, REPO / "action.yml"], ids=lambda p: p.name)
def test_actions_are_pinned_to_a_major_version_or_a_commit(path: Path) -> None:
    for step in steps_of(load_yaml(path)):
        uses = step.get("uses")
        if uses is None or uses == "./":
            continue
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})", uses), uses


@pytest.mark.parametrize("path", [*ALL_WORKFLOWS, REPO / "action.yml"], ids=lambda p: p.name)
def test_no_script_interpolates_an_expression_so_no_value_can_inject_shell_or_javascript(path: Path) -> None:
    for step in steps_of(load_yaml(path)):
        assert "${{" not in step.get("run", ""), step.get("name")
        assert "${{" not in (step.get("with") or {}).get("script", ""), step.get("name")


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_do_not_leave_the_token_on_disk(path: Path) -> None:
    for step in steps_of(workflow(path.name)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_the_workflows_pass_the_non_secret_app_ids_from_variables_and_no_secret_at_all() -> None:
    for name in TEMPLATE_WORKFLOWS:
        text = (WORKFLOW_DIR / name).read_text(encoding="utf-8")
        assert "secrets." not in text
        for step in steps_of(workflow(name)):
            if step.get("uses") == "./" and step["with"]["command"] != "validate":
                assert step["with"]["tenant-id"] == "${{ vars.AZURE_TENANT_ID }}"
                assert step["with"]["client-id"] == "${{ vars.AZURE_CLIENT_ID }}"


def test_the_action_declares_the_inputs_and_outputs_the_workflows_rely_on() -> None:
    action = load_yaml(REPO / "action.yml")
    assert action["runs"]["using"] == "composite"
    assert {"command", "config", "backend", "format", "python-version", "version"} <= set(action["inputs"])
    assert {"plan-file", "has-changes", "cancellations", "exit-code", "output-dir"} <= set(action["outputs"])


def test_the_pre_commit_hook_validates_the_repository_once_when_yaml_changes() -> None:
    hook, formatting = load_yaml(REPO / ".pre-commit-hooks.yaml")
    assert (formatting["id"], formatting["entry"], formatting["pass_filenames"]) == (
        "meetings-fmt",
        "meetings fmt --check",
        False,
    )
    assert hook["id"] == "meetings-validate"
    assert hook["entry"] == "meetings validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    assert files.search("meetings/team/sync.yaml")
    assert files.search("reconciler.yaml")
    assert files.search("meetings/a.yml")
    assert not files.search("README.md")
