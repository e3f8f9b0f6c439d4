"""The reference workflows, run step by step on a temporary meetings repository against the sandbox.

`runner.py` executes the `run:` steps of the workflow files themselves (and of `action.yml`, which they
call), with GITHUB_ACTIONS=true, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and runs the
`actions/github-script` steps with Node against a fake GitHub. So what a pull request shows is what
the CLI prints, and the workflows cannot drift from the CLI unnoticed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reconciler.emulator.store import MailboxStore, SendMode
from tests.workflows.conftest import NOW, meetings
from tests.workflows.runner import REPO, FakeGitHub, JobResult, Run, run_workflow

WORKFLOWS = REPO / ".github" / "workflows"
PLAN_MARKER = "<!-- meetings-plan -->"
CANCELLATIONS = "meetings:cancellations"
PR = 7

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="github-script steps need Node.js")


def pull_request(repo: Path, api: FakeGitHub, *, fork: bool = False, head_sha: str = "f00d") -> dict[str, JobResult]:
    head = "someone/meetings" if fork else "acme/meetings"
    github: dict[str, Any] = {
        "repository": "acme/meetings",
        "event_name": "pull_request",
        "sha": "3e3e",
        "run_id": "4242",
        "server_url": "https://github.com",
        "event": {
            "pull_request": {
                "number": PR,
                "head": {"sha": head_sha, "repo": {"full_name": head}},
                "labels": [],
            }
        },
    }
    return run_workflow(
        WORKFLOWS / "meetings-plan.yml", Run(repo, github, api, env={"MEETINGS_NOW": NOW}, scratch=scratch(repo))
    )


def push(
    workflow: str, repo: Path, api: FakeGitHub, *, sha: str = "m3rg3", event: str = "push"
) -> dict[str, JobResult]:
    github: dict[str, Any] = {
        "repository": "acme/meetings",
        "event_name": event,
        "sha": sha,
        "run_id": "4343",
        "server_url": "https://github.com",
        "ref": "refs/heads/main",
        "event": {},
    }
    return run_workflow(WORKFLOWS / workflow, Run(repo, github, api, env={"MEETINGS_NOW": NOW}, scratch=scratch(repo)))


def scratch(repo: Path) -> Path:
    """A runner's temporary directory for one run, beside the repository (pytest removes both)."""
    return Path(tempfile.mkdtemp(prefix="run-", dir=repo.parent))


def artifact(jobs: dict[str, JobResult], job: str, step: str) -> Path:
    """The directory the action wrote (`output-dir`), as it was uploaded."""
    return Path(jobs[job].step(step).outputs["output-dir"])


def plan_comments(api: FakeGitHub) -> list[dict[str, Any]]:
    return [c for c in api.comments if c["issue_number"] == PR and c["body"].startswith(PLAN_MARKER)]


def cli_markdown(repo: Path) -> str:
    result = meetings(repo, "plan", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_pull_request_gets_one_comment_with_the_cli_markdown_plan_and_the_json_plan_as_artifact(
    meetings_repo: Path,
) -> None:
    api = FakeGitHub()
    expected = cli_markdown(meetings_repo)

    jobs = pull_request(meetings_repo, api)

    assert {name: job.result for name, job in jobs.items()} == {
        "plan": "success",
        "validate": "skipped",
        "comment": "success",
    }
    [comment] = plan_comments(api)
    assert comment["body"].startswith(f"{PLAN_MARKER}\n{expected}")
    assert "Commit f00d" in comment["body"]
    assert "https://github.com/acme/meetings/actions/runs/4242" in comment["body"]
    assert expected in jobs["plan"].summary

    outputs = jobs["plan"].step("plan").outputs
    assert (outputs["exit-code"], outputs["has-changes"], outputs["cancellations"]) == ("0", "true", "0")
    document = json.loads(Path(outputs["plan-file"]).read_text(encoding="utf-8"))
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    assert document["summary"]["create"] == 2
    assert sorted(c["id"] for c in document["changes"]) == ["team/review", "team/sync"]

    assert api.issue_labels.get(str(PR), []) == []
    assert jobs["comment"].step("report").outputs["labels-add"] == ""
    assert jobs["comment"].step("report").outputs["labels-remove"] == CANCELLATIONS
    assert jobs["plan"].annotations == []


def test_a_new_push_updates_the_same_comment_in_place(meetings_repo: Path) -> None:
    api = FakeGitHub()
    pull_request(meetings_repo, api, head_sha="aaaa")
    sync = meetings_repo / "meetings" / "sync.yaml"
    sync.write_text(sync.read_text(encoding="utf-8").replace("Team sync", "Team standup"), encoding="utf-8")

    pull_request(meetings_repo, api, head_sha="bbbb")

    [comment] = plan_comments(api)
    assert "Team standup" in comment["body"]
    assert "Commit bbbb" in comment["body"]
    methods = [call["method"] for call in api.calls]
    assert methods.count("issues.createComment") == 1
    assert methods.count("issues.updateComment") == 1


def test_a_comment_with_the_marker_written_by_a_person_is_left_alone(meetings_repo: Path) -> None:
    api = FakeGitHub(
        comments=[
            {"id": 1, "issue_number": PR, "body": f"{PLAN_MARKER} hi", "user": {"login": "mallory", "type": "User"}}
        ]
    )

    pull_request(meetings_repo, api)

    assert api.comments[0]["body"] == f"{PLAN_MARKER} hi"
    assert len(plan_comments(api)) == 2


def test_a_plan_that_cancels_labels_the_pull_request_and_dropping_the_cancellation_removes_the_label(
    meetings_repo: Path,
) -> None:
    applied = meetings(meetings_repo, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    review = meetings_repo / "meetings" / "review.yaml"
    text = review.read_text(encoding="utf-8")
    review.unlink()
    api = FakeGitHub()

    jobs = pull_request(meetings_repo, api)

    assert jobs["plan"].step("plan").outputs["cancellations"] == "1"
    document = json.loads(Path(jobs["plan"].step("plan").outputs["plan-file"]).read_text(encoding="utf-8"))
    assert document["summary"]["cancel"] == 1
    assert api.issue_labels[str(PR)] == [CANCELLATIONS]
    assert [label["name"] for label in api.labels] == [CANCELLATIONS]
    assert api.labels[0]["description"]
    [comment] = plan_comments(api)
    assert "team/review" in comment["body"]
    assert "Cancellation" in comment["body"]

    review.write_text(text, encoding="utf-8")
    pull_request(meetings_repo, api)

    assert api.issue_labels[str(PR)] == []
    assert len(plan_comments(api)) == 1


def test_invalid_files_are_annotated_on_their_lines_and_the_comment_says_there_is_no_plan(
    meetings_repo: Path,
) -> None:
    (meetings_repo / "meetings" / "bad.yaml").write_text(
        'id: team/bad\nsubject: Bad\nstart: 2027-01-12T10:00\n"@everyone<b>": 1\n', encoding="utf-8"
    )
    api = FakeGitHub()

    jobs = pull_request(meetings_repo, api)

    assert jobs["plan"].result == "failure"
    assert jobs["plan"].step("plan").outputs["exit-code"] == "1"
    assert jobs["plan"].step("plan").outputs["plan-file"] == ""
    errors = [a for a in jobs["plan"].annotations if a.level == "error" and a.file == "meetings/bad.yaml"]
    assert [a.line for a in errors] == [4]
    [comment] = plan_comments(api)
    assert "No plan" in comment["body"]
    assert "meetings/bad.yaml:4:" in comment["body"]
    assert "&#64;everyone&lt;b&gt;" in comment["body"]
    assert "@everyone" not in comment["body"]
    assert "<b>" not in comment["body"].replace("<b>create</b>", "")


def test_a_pull_request_from_a_fork_is_only_validated_and_the_reason_is_posted(meetings_repo: Path) -> None:
    api = FakeGitHub()

    jobs = pull_request(meetings_repo, api, fork=True)

    assert {name: job.result for name, job in jobs.items()} == {
        "plan": "skipped",
        "validate": "success",
        "comment": "success",
    }
    assert not (meetings_repo / ".meetings").exists(), "a fork's pull request must never open a backend"
    [comment] = plan_comments(api)
    assert "comes from a fork" in comment["body"]
    assert "The meeting files are valid." in comment["body"]
    assert api.issue_labels.get(str(PR), []) == []


def test_a_fork_whose_token_cannot_comment_still_passes_and_explains_in_the_job_summary(meetings_repo: Path) -> None:
    api = FakeGitHub(read_only=True)

    jobs = pull_request(meetings_repo, api, fork=True)

    assert jobs["comment"].result == "success"
    assert jobs["comment"].step("Update the sticky comment and the labels").outcome == "failure"
    assert api.comments == []
    assert "comes from a fork" in jobs["comment"].summary


def test_a_fork_with_invalid_files_fails_with_annotations(meetings_repo: Path) -> None:
    (meetings_repo / "meetings" / "bad.yaml").write_text("id: team/bad\nsubject: Bad\n", encoding="utf-8")
    api = FakeGitHub()

    jobs = pull_request(meetings_repo, api, fork=True)

    assert jobs["validate"].result == "failure"
    assert any(a.file == "meetings/bad.yaml" for a in jobs["validate"].annotations)
    [comment] = plan_comments(api)
    assert "have problems" in comment["body"]


def test_a_merge_applies_the_plan_summarises_the_mail_and_comments_on_the_merged_pull_request(
    meetings_repo: Path,
) -> None:
    api = FakeGitHub(
        pulls=[{"number": PR, "merged_at": "2026-11-24T11:00:00Z", "merge_commit_sha": "m3rg3", "commits": ["m3rg3"]}]
    )

    jobs = push("meetings-apply.yml", meetings_repo, api)

    assert jobs["apply"].result == "success", jobs["apply"].steps
    assert jobs["comment"].result == "success"
    summary = jobs["apply"].summary
    assert "Invitations" in summary
    for attendee in ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com"):
        assert attendee in summary
    [comment] = [c for c in api.comments if c["issue_number"] == PR]
    assert comment["body"].startswith("<!-- meetings-apply -->\n### ✅ Applied to the calendars")
    applied = json.loads((artifact(jobs, "apply", "apply") / "plan.json").read_text(encoding="utf-8"))
    assert applied["summary"]["create"] == 2
    again = meetings(meetings_repo, "plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    mail = meetings(meetings_repo, "sandbox", "mail", "carol@contoso.com", "--format", "json")
    assert [m["subject"] for m in json.loads(mail.stdout)] == ["Quarterly review"]


def test_a_failed_apply_fails_the_job_and_says_so_on_the_pull_request(meetings_repo: Path) -> None:
    (meetings_repo / "meetings" / "bad.yaml").write_text("id: team/bad\nsubject: Bad\n", encoding="utf-8")
    api = FakeGitHub(
        pulls=[{"number": PR, "merged_at": "2026-11-24T11:00:00Z", "merge_commit_sha": "m3rg3", "commits": ["m3rg3"]}]
    )

    jobs = push("meetings-apply.yml", meetings_repo, api)

    assert jobs["apply"].result == "failure"
    assert [a.file for a in jobs["apply"].annotations if a.file] == ["meetings/bad.yaml"]
    [comment] = [c for c in api.comments if c["issue_number"] == PR]
    assert "Apply failed (exit code 1)" in comment["body"]
    assert "meetings/bad.yaml" in comment["body"]
    mail = meetings(meetings_repo, "sandbox", "mail", "alice@contoso.com", "--format", "json")
    assert json.loads(mail.stdout) == [], "nothing may be applied when the plan fails"


def test_drift_opens_one_issue_keeps_it_up_to_date_and_closes_it_when_the_calendars_match(
    meetings_repo: Path,
) -> None:
    api = FakeGitHub()

    first = push("meetings-drift.yml", meetings_repo, api, event="schedule")

    assert first["drift"].result == "success"
    assert first["drift"].step("plan").outputs["exit-code"] == "2"
    [issue] = api.issues
    assert issue["state"] == "open"
    assert issue["body"].startswith("<!-- meetings-drift -->")
    assert cli_markdown(meetings_repo) in issue["body"]
    assert api.issue_labels[str(issue["number"])] == ["meetings:drift"]

    push("meetings-drift.yml", meetings_repo, api, event="schedule")
    assert len(api.issues) == 1
    assert [c["method"] for c in api.calls].count("issues.create") == 1

    assert meetings(meetings_repo, "apply", "--auto-approve").returncode == 0
    last = push("meetings-drift.yml", meetings_repo, api, event="schedule")

    assert last["drift"].step("plan").outputs["exit-code"] == "0"
    assert api.issues[0]["state"] == "closed"
    assert any("No drift any more" in c["body"] for c in api.comments if c["issue_number"] == issue["number"])


def test_a_drift_run_without_a_plan_fails_and_leaves_the_issue_alone(meetings_repo: Path) -> None:
    (meetings_repo / "meetings" / "bad.yaml").write_text("id: team/bad\nsubject: Bad\n", encoding="utf-8")
    api = FakeGitHub()

    jobs = push("meetings-drift.yml", meetings_repo, api, event="schedule")

    assert jobs["drift"].result == "failure"
    assert jobs["issue"].step("report").outputs["state"] == "unknown"
    assert api.issues == []
    assert api.calls == []


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def test_the_opt_in_drift_pull_request_carries_the_outlook_edit_and_is_updated_not_duplicated(
    meetings_repo: Path,
) -> None:
    origin = meetings_repo.parent / "origin.git"
    git(meetings_repo.parent, "init", "--quiet", "--bare", str(origin))
    (meetings_repo / ".gitignore").write_text(".meetings/\n", encoding="utf-8")
    git(meetings_repo, "init", "--quiet", "--initial-branch=main")
    git(meetings_repo, "add", "-A")
    git(meetings_repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "meetings")
    git(meetings_repo, "remote", "add", "origin", str(origin))
    git(meetings_repo, "push", "--quiet", "origin", "main")
    assert meetings(meetings_repo, "apply", "--auto-approve").returncode == 0
    store = MailboxStore(meetings_repo / ".meetings" / "sandbox.db")
    try:
        (review,) = [i for i in store.list_items("lead@contoso.com") if i.doc.get("subject") == "Quarterly review"]
        store.update_item(review.item_id, {"location": "Room 7"}, send=SendMode.ALL)  # edited in Outlook
    finally:
        store.close()
    api = FakeGitHub()

    def nightly() -> dict[str, JobResult]:
        github: dict[str, Any] = {
            "repository": "acme/meetings",
            "event_name": "schedule",
            "sha": "n1ght",
            "run_id": "4444",
            "server_url": "https://github.com",
            "ref": "refs/heads/main",
            "ref_name": "main",
            "event": {},
        }
        run = Run(
            meetings_repo,
            github,
            api,
            env={"MEETINGS_NOW": NOW},
            scratch=scratch(meetings_repo),
            vars={"MEETINGS_DRIFT_PULL_REQUEST": "true"},
        )
        return run_workflow(WORKFLOWS / "meetings-drift.yml", run)

    first = nightly()
    assert first["pull-request"].result == "success", first["pull-request"].steps
    [pull] = api.pulls
    assert pull["head"] == "meetings/drift-write-back" and pull["base"] == "main"
    assert pull["body"].startswith("<!-- meetings-drift-write-back -->")
    diff = git(meetings_repo, "diff", "main", "meetings/drift-write-back")
    assert [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "+location: Room 7"
    ]
    assert git(meetings_repo.parent, "--git-dir", str(origin), "branch", "--list").split() == [
        "main",
        "meetings/drift-write-back",
    ]
    git(meetings_repo, "switch", "--quiet", "main")  # the next run's fresh checkout of main

    nightly()
    assert len(api.pulls) == 1
    assert [c["method"] for c in api.calls].count("pulls.create") == 1
    assert [c["method"] for c in api.calls].count("pulls.update") == 1
