"""Run our GitHub workflows locally, step by step, the way the runner would.

Only what our workflows use is supported, and anything else fails loudly:

* `run:` steps run with bash (`shell: bash` is `bash --noprofile --norc -eo pipefail`), with fresh
  GITHUB_OUTPUT files, one GITHUB_STEP_SUMMARY per job, RUNNER_TEMP per job and GITHUB_ACTIONS=true;
* `uses: ./` expands this repository's composite `action.yml` (its `install` step is skipped: the
  package under test is already installed, and `setup-python` is skipped for the same reason);
* `actions/checkout` is a no-op (the workspace is the repository), `actions/upload-artifact` and
  `actions/download-artifact` copy directories through an in-memory artifact store;
* `actions/github-script` runs the step's script with Node against a fake GitHub (`github_script.cjs`)
  whose state (comments, labels, issues, pull requests) persists across runs in `FakeGitHub`.

Expressions go through `expressions.py`; `if:`, `continue-on-error`, job `needs` and `outputs` behave
as on GitHub for the cases our workflows use.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.workflows.expressions import condition, evaluate, interpolate, to_string, truthy

REPO = Path(__file__).resolve().parents[2]
GITHUB_SCRIPT = Path(__file__).with_name("github_script.cjs")
_ANNOTATION = re.compile(r"^::(?P<level>error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)$")
#: Steps of the composite action that would install software; the test environment has it already.
SKIPPED_ACTION_STEPS = frozenset({"install"})


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Annotation:
    level: str
    file: str | None
    line: int | None
    message: str


@dataclass
class StepResult:
    name: str
    id: str | None
    outcome: str  # success | failure | skipped
    conclusion: str
    outputs: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""


@dataclass
class JobResult:
    result: str  # success | failure | skipped
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def annotations(self) -> list[Annotation]:
        found = []
        for step in self.steps:
            for line in step.stdout.splitlines():
                match = _ANNOTATION.match(line)
                if match:
                    props = dict(p.split("=", 1) for p in (match.group("props") or "").split(",") if "=" in p)
                    found.append(
                        Annotation(
                            match.group("level"),
                            props.get("file"),
                            int(props["line"]) if "line" in props else None,
                            match.group("message"),
                        )
                    )
        return found

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name or s.id == name)


@dataclass
class FakeGitHub:
    """What the GitHub API holds between runs: comments, labels, issues and pull requests."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    issue_labels: dict[str, list[str]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    read_only: bool = False  # the token of a fork's pull request in a public repository
    next_id: int = 1000
    calls: list[dict[str, Any]] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "calls"}

    def update(self, state: Mapping[str, Any], calls: list[dict[str, Any]]) -> None:
        for key, value in state.items():
            setattr(self, key, value)
        self.calls.extend(calls)


@dataclass
class Run:
    """One workflow run: the event, the workspace and where artifacts go."""

    workspace: Path
    github: dict[str, Any]
    api: FakeGitHub
    scratch: Path  # the runner's temporary directory: job temp dirs and artifacts
    env: dict[str, str] = field(default_factory=dict)  # extra environment (e.g. MEETINGS_NOW)
    vars: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)


def _base_environment(run: Run, runner_temp: Path) -> dict[str, str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {key: os.environ[key] for key in ("HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT") if key in os.environ}
    env.update(
        {
            "PATH": path,
            # The code under test is this checkout's, not whichever copy is installed in the venv.
            "PYTHONPATH": str(REPO),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "RUNNER_TEMP": str(runner_temp),
            "RUNNER_OS": "Linux",
            "GITHUB_WORKSPACE": str(run.workspace),
            "GITHUB_REPOSITORY": to_string(run.github.get("repository")),
            "GITHUB_SHA": to_string(run.github.get("sha")),
            "GITHUB_EVENT_NAME": to_string(run.github.get("event_name")),
            "GITHUB_RUN_ID": to_string(run.github.get("run_id")),
            "GITHUB_SERVER_URL": to_string(run.github.get("server_url")),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(run.env)
    return env


def _read_outputs(path: Path) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            while lines[index] != delimiter:
                value.append(lines[index])
                index += 1
            index += 1
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


class _Job:
    def __init__(self, run: Run, job_id: str, job: Mapping[str, Any], workflow: Mapping[str, Any]) -> None:
        self.run = run
        self.job_id = job_id
        self.job = job
        self.workflow = workflow
        self.temp = Path(tempfile.mkdtemp(prefix=f"{job_id}-", dir=run.scratch))
        self.summary = self.temp / "_summary.md"
        self.summary.touch()
        self.env = _base_environment(run, self.temp)
        self.env["GITHUB_STEP_SUMMARY"] = str(self.summary)

    def contexts(
        self, steps: Mapping[str, Any], inputs: Mapping[str, Any] | None, needs: Mapping[str, Any]
    ) -> dict[str, Any]:
        github = dict(self.run.github)
        github.setdefault("workspace", str(self.run.workspace))
        return {
            "github": github,
            "runner": {"temp": str(self.temp), "os": "Linux"},
            "vars": self.run.vars,
            "inputs": inputs if inputs is not None else self.run.inputs,
            "steps": steps,
            "needs": needs,
            "env": {},
            "secrets": {},
        }

    def run_steps(
        self,
        steps: list[Mapping[str, Any]],
        *,
        inputs: Mapping[str, Any] | None,
        needs: Mapping[str, Any],
        env: Mapping[str, str],
        in_action: bool,
        results: list[StepResult],
    ) -> tuple[bool, dict[str, Any]]:
        """Run `steps`; return whether they all succeeded and the `steps` context they built."""
        context_steps: dict[str, Any] = {}
        ok = True
        for index, step in enumerate(steps):
            contexts = self.contexts(context_steps, inputs, needs)
            status = {"success": ok, "failure": not ok, "always": True, "cancelled": False}
            name = to_string(step.get("name") or step.get("uses") or f"step {index}")
            name = interpolate(name, contexts)
            step_id = step.get("id")
            if not condition(step.get("if"), contexts, status) or (in_action and step_id in SKIPPED_ACTION_STEPS):
                result = StepResult(name, step_id, "skipped", "skipped")
            else:
                step_env = {**env, **{k: interpolate(v, contexts) for k, v in (step.get("env") or {}).items()}}
                result = self.run_step(step, name, step_id, contexts, step_env, needs, in_action, results)
                continue_on_error = step.get("continue-on-error", False)
                if isinstance(continue_on_error, str):
                    continue_on_error = truthy(evaluate(continue_on_error, contexts))
                if result.outcome == "failure" and not continue_on_error:
                    ok = False
                elif result.outcome == "failure":
                    result.conclusion = "success"
            results.append(result)
            if step_id:
                context_steps[step_id] = {
                    "outputs": result.outputs,
                    "outcome": result.outcome,
                    "conclusion": result.conclusion,
                }
        return ok, context_steps

    def run_step(
        self,
        step: Mapping[str, Any],
        name: str,
        step_id: str | None,
        contexts: dict[str, Any],
        env: dict[str, str],
        needs: Mapping[str, Any],
        in_action: bool,
        results: list[StepResult],
    ) -> StepResult:
        if "run" in step:
            return self.run_script(step, name, step_id, contexts, env)
        uses = to_string(step["uses"])
        with_ = {k: interpolate(v, contexts) for k, v in (step.get("with") or {}).items()}
        if uses == "./":
            return self.run_action(name, step_id, with_, env, needs, results)
        action = uses.split("@", 1)[0]
        if action in ("actions/checkout", "actions/setup-python"):
            return StepResult(name, step_id, "success", "success")
        if action == "actions/upload-artifact":
            source = Path(with_["path"])
            if not source.exists() or not any(source.iterdir()):
                outcome = "success" if with_.get("if-no-files-found") == "ignore" else "failure"
                return StepResult(name, step_id, outcome, outcome)
            stored = self.run.scratch / "artifacts" / with_["name"]
            if stored.exists():
                return StepResult(name, step_id, "failure", "failure", stderr="artifact already exists")
            shutil.copytree(source, stored)
            self.run.artifacts[with_["name"]] = stored
            return StepResult(name, step_id, "success", "success")
        if action == "actions/download-artifact":
            if with_["name"] not in self.run.artifacts:
                return StepResult(name, step_id, "failure", "failure", stderr="artifact not found")
            shutil.copytree(self.run.artifacts[with_["name"]], Path(with_["path"]), dirs_exist_ok=True)
            return StepResult(name, step_id, "success", "success")
        if action == "actions/github-script":
            return self.run_github_script(name, step_id, with_["script"], env)
        raise AssertionError(f"the local runner does not know the action {uses!r}")

    def run_script(
        self, step: Mapping[str, Any], name: str, step_id: str | None, contexts: dict[str, Any], env: dict[str, str]
    ) -> StepResult:
        script = interpolate(step["run"], contexts)
        shell = step.get("shell") or self.job.get("defaults", {}).get("run", {}).get("shell")
        script_file = self.temp / f"_step-{len(list(self.temp.glob('_step-*')))}.sh"
        script_file.write_text(script, encoding="utf-8")
        command = (
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)]
            if shell == "bash"
            else ["bash", "-e", str(script_file)]
        )
        if shell not in (None, "bash"):
            raise AssertionError(f"the local runner does not know the shell {shell!r}")
        output_file = self.temp / f"_output-{script_file.stem}"
        output_file.touch()
        directory = self.run.workspace / interpolate(step.get("working-directory", "."), contexts)
        completed = subprocess.run(
            command,
            cwd=directory,
            env={**self.env, **env, "GITHUB_OUTPUT": str(output_file)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        outcome = "success" if completed.returncode == 0 else "failure"
        return StepResult(
            name, step_id, outcome, outcome, _read_outputs(output_file), completed.stdout, completed.stderr
        )

    def run_action(
        self,
        name: str,
        step_id: str | None,
        with_: Mapping[str, str],
        env: Mapping[str, str],
        needs: Mapping[str, Any],
        results: list[StepResult],
    ) -> StepResult:
        action = load_yaml(REPO / "action.yml")
        declared = action.get("inputs") or {}
        unknown = set(with_) - set(declared)
        if unknown:
            raise AssertionError(f"unknown inputs of the action: {sorted(unknown)}")
        inputs = {key: with_.get(key, to_string(spec.get("default", ""))) for key, spec in declared.items()}
        inner: list[StepResult] = []
        action_env = {**env, "GITHUB_ACTION_PATH": str(REPO), "GITHUB_ACTION_REPOSITORY": ""}
        ok, steps = self.run_steps(
            action["runs"]["steps"], inputs=inputs, needs=needs, env=action_env, in_action=True, results=inner
        )
        results.extend(inner)
        contexts = self.contexts(steps, inputs, needs)
        outputs = {key: interpolate(spec["value"], contexts) for key, spec in (action.get("outputs") or {}).items()}
        outcome = "success" if ok else "failure"
        # The action's own steps are in the job's list with their output; this one only summarises.
        return StepResult(name, step_id, outcome, outcome, outputs)

    def run_github_script(self, name: str, step_id: str | None, script: str, env: Mapping[str, str]) -> StepResult:
        request = self.temp / "_github_script_request.json"
        response = self.temp / "_github_script_response.json"
        owner, _, repo = to_string(self.run.github["repository"]).partition("/")
        event = self.run.github.get("event") or {}
        number = (event.get("pull_request") or {}).get("number") or (event.get("issue") or {}).get("number")
        context = {
            "repo": {"owner": owner, "repo": repo},
            "issue": {"owner": owner, "repo": repo, "number": number},
            "sha": self.run.github.get("sha"),
            "payload": event,
            "eventName": self.run.github.get("event_name"),
        }
        request.write_text(
            json.dumps({"script": script, "context": context, "state": self.run.api.state()}), encoding="utf-8"
        )
        completed = subprocess.run(
            ["node", str(GITHUB_SCRIPT), str(request), str(response)],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if completed.returncode != 0 or not response.exists():
            raise AssertionError(f"the github-script harness broke: {completed.stderr}")
        answer = json.loads(response.read_text(encoding="utf-8"))
        self.run.api.update(answer["state"], answer["calls"])
        outcome = "success" if answer["ok"] else "failure"
        return StepResult(name, step_id, outcome, outcome, stdout=answer["log"], stderr=answer.get("error") or "")


def run_workflow(path: Path, run: Run, jobs: list[str] | None = None) -> dict[str, JobResult]:
    """Run the workflow's jobs in `needs` order; return each job's result."""
    workflow = load_yaml(path)
    results: dict[str, JobResult] = {}
    pending = dict(workflow["jobs"])
    while pending:
        ready = [job_id for job_id, job in pending.items() if all(need in results for need in _needs(job))]
        if not ready:
            raise AssertionError(f"jobs with unmet needs: {sorted(pending)}")
        for job_id in ready:
            job = pending.pop(job_id)
            if jobs is not None and job_id not in jobs:
                results[job_id] = JobResult("skipped")
                continue
            results[job_id] = _run_job(run, job_id, job, workflow, results)
    return results


def _needs(job: Mapping[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _run_job(
    run: Run, job_id: str, job: Mapping[str, Any], workflow: Mapping[str, Any], done: Mapping[str, JobResult]
) -> JobResult:
    needs = {name: {"result": done[name].result, "outputs": done[name].outputs} for name in _needs(job)}
    runner = _Job(run, job_id, job, workflow)
    contexts = runner.contexts({}, None, needs)
    all_needs_ok = all(n["result"] == "success" for n in needs.values())
    status = {"success": all_needs_ok, "failure": not all_needs_ok, "always": True, "cancelled": False}
    if not condition(job.get("if"), contexts, status):
        return JobResult("skipped")
    env = {k: interpolate(v, contexts) for k, v in {**(workflow.get("env") or {}), **(job.get("env") or {})}.items()}
    steps: list[StepResult] = []
    ok, context_steps = runner.run_steps(
        job["steps"], inputs=None, needs=needs, env=env, in_action=False, results=steps
    )
    final = runner.contexts(context_steps, None, needs)
    outputs = {k: interpolate(v, final) for k, v in (job.get("outputs") or {}).items()}
    return JobResult("success" if ok else "failure", steps, runner.summary.read_text(encoding="utf-8"), outputs)
