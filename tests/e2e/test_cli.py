"""The `meetings` command line end to end, through typer's runner, on a temporary sandbox."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.emulator.store import MailboxStore, SendMode, StoredItem
from reconciler.model import PROP_NAMESPACE, extended_property_id

REPO = Path(__file__).resolve().parents[2]
NOW = "2026-11-24T12:00:00+00:00"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the quick start: this repository's reconciler.yaml and example meetings."""
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    shutil.copytree(REPO / "meetings", tmp_path / "meetings")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEETINGS_NOW", NOW)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


OpenStore = Callable[[], MailboxStore]


@pytest.fixture
def store(workdir: Path) -> Iterator[OpenStore]:
    """Opens the sandbox behind the CLI (call it after the CLI created the file)."""
    opened: list[MailboxStore] = []

    def open_store() -> MailboxStore:
        opened.append(MailboxStore(workdir / ".meetings" / "sandbox.db"))
        return opened[-1]

    yield open_store
    for s in opened:
        s.close()


def meetings_in(calendar: MailboxStore, mailbox: str) -> list[StoredItem]:
    """The example namespace's managed meetings in a mailbox (not the apply lock's item)."""
    return calendar.list_items(mailbox, extended_equals=(extended_property_id(PROP_NAMESPACE), "example"))


def write_meeting(workdir: Path, name: str, text: str) -> None:
    (workdir / "meetings" / name).write_text(text, encoding="utf-8")


def test_the_quick_start_applies_the_examples_and_a_second_run_changes_nothing(workdir: Path) -> None:
    code, out, _ = run("apply", "--auto-approve")
    assert code == 0
    assert "  + platform/weekly-sync  [lead@contoso.com]" in out
    assert "Plan: 3 to create, 0 to update, 0 to cancel, 0 to move, 0 unchanged." in out
    assert "Apply finished: 3 applied, 0 failed, 0 refused as stale." in out
    code, out, _ = run("apply", "--auto-approve")
    assert code == 0
    assert "No changes. The calendars match the meeting files." in out
    assert "Nothing to apply" in out


def test_plan_with_detailed_exitcode_says_2_with_changes_and_0_without(workdir: Path) -> None:
    assert run("plan", "--detailed-exitcode")[0] == 2
    assert run("plan")[0] == 0
    run("apply", "--auto-approve")
    assert run("plan", "--detailed-exitcode")[0] == 0


def test_the_json_plan_validates_against_the_published_schema(workdir: Path) -> None:
    code, out, _ = run("plan", "--format", "json")
    assert code == 0
    document = json.loads(out)
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["format_version"] == 1
    assert document["summary"]["create"] == 3


def test_the_markdown_plan_is_ready_for_a_pull_request_comment(workdir: Path) -> None:
    code, out, _ = run("plan", "--format", "markdown")
    assert code == 0
    assert "<details>" in out and "platform/weekly-sync" in out


def test_sandbox_mail_lists_what_one_person_received(workdir: Path) -> None:
    run("apply", "--auto-approve")
    write_meeting(
        workdir,
        "offsite.yaml",
        (workdir / "meetings" / "offsite.yaml").read_text().replace("Company offsite", "Company offsite 2027"),
    )
    run("apply", "--auto-approve")
    code, out, _ = run("sandbox", "mail", "frank@contoso.com")
    assert code == 0
    when = "2027-03-10 00:00 Europe/Berlin"
    assert out.splitlines() == [
        f"invitation   'Company offsite' from office@contoso.com [company/offsite-2027] {when}",
        f"update       'Company offsite 2027' from office@contoso.com [company/offsite-2027] {when}",
    ]
    code, out, _ = run("sandbox", "mail", "frank@contoso.com", "--format", "json")
    rows = json.loads(out)
    assert [(r["kind"], r["meeting_id"], r["organizer"]) for r in rows] == [
        ("invitation", "company/offsite-2027", "office@contoso.com"),
        ("update", "company/offsite-2027", "office@contoso.com"),
    ]


def test_a_deleted_file_cancels_and_a_tombstone_sends_its_text(workdir: Path) -> None:
    run("apply", "--auto-approve")
    (workdir / "meetings" / "offsite.yaml").unlink()
    _, out, _ = run("plan")
    assert "  - company/offsite-2027  [office@contoso.com]" in out
    assert "mail: cancellation -> alice@contoso.com, bob@contoso.com, carol@contoso.com, frank@contoso.com (4)" in out
    run("apply", "--auto-approve")
    mail = json.loads(run("sandbox", "mail", "frank@contoso.com", "--format", "json")[1])
    assert [r["kind"] for r in mail] == ["invitation", "cancellation"]


def test_deleting_a_protected_meeting_is_a_plan_error_and_nothing_is_written(workdir: Path, store: OpenStore) -> None:
    run("apply", "--auto-approve")
    (workdir / "meetings" / "platform" / "q1-planning.yaml").unlink()
    code, out, _ = run("apply", "--auto-approve")
    assert code == 1
    assert "Error: platform/q1-planning: the meeting file was deleted but the meeting is protected" in out
    assert len(meetings_in(store(), "lead@contoso.com")) == 2


def test_more_cancellations_than_the_policy_allows_need_the_override(workdir: Path) -> None:
    config = (workdir / "reconciler.yaml").read_text().replace("max_cancellations: 10", "max_cancellations: 1")
    (workdir / "reconciler.yaml").write_text(config)
    run("apply", "--auto-approve")
    (workdir / "meetings" / "offsite.yaml").unlink()
    (workdir / "meetings" / "platform" / "q1-planning.yaml").write_text(
        (workdir / "meetings" / "platform" / "q1-planning.yaml")
        .read_text()
        .replace("protect: true", "cancelled: Moved to Q2.")
    )
    code, out, _ = run("apply", "--auto-approve")
    assert code == 1
    assert "The plan cancels 2 meetings, more than policy.max_cancellations (1)" in out
    code, out, _ = run("apply", "--auto-approve", "--allow-mass-cancel")
    assert code == 0
    assert "Apply finished: 2 applied, 0 failed, 0 refused as stale." in out


def test_a_saved_plan_refuses_items_edited_since_and_applies_the_rest(workdir: Path, store: OpenStore) -> None:
    run("apply", "--auto-approve")
    for name in ("offsite.yaml", "platform/q1-planning.yaml"):
        path = workdir / "meetings" / name
        path.write_text(path.read_text().replace("subject: ", "subject: Renamed "))
    assert run("plan", "--out", "plan.json")[0] == 0
    calendar = store()
    (offsite,) = meetings_in(calendar, "office@contoso.com")
    calendar.update_item(offsite.item_id, {"location": "Edited in Outlook"}, send=SendMode.NONE)
    code, out, err = run("apply", "plan.json")
    assert code == 1
    assert "company/offsite-2027: stale: edited in Outlook after review; plan again." in err
    assert "Apply finished: 1 applied, 0 failed, 1 refused as stale." in out
    subjects = sorted(i.doc["subject"] for i in meetings_in(calendar, "lead@contoso.com"))
    assert subjects == ["Platform weekly sync", "Renamed Q1 planning"]


def test_apply_asks_for_confirmation_and_refuses_without_a_terminal(workdir: Path, store: OpenStore) -> None:
    code, _, err = run("apply")
    assert code == 1
    assert "Pass --auto-approve to apply non-interactively." in err
    assert not (workdir / ".meetings" / "sandbox.db").exists() or meetings_in(store(), "lead@contoso.com") == []


def test_a_failing_change_does_not_stop_the_others(workdir: Path, store: OpenStore) -> None:
    run("plan")  # creates the sandbox file
    store().inject_fault("sandbox", "create", "fail", times=2)
    code, out, err = run("apply", "--auto-approve")
    assert code == 1
    assert "Apply finished: 2 applied, 1 failed, 0 refused as stale." in out
    assert "FAILED: The sandbox failed to create" in err
    assert run("apply", "--auto-approve")[1].count("Apply finished: 1 applied") == 1


def test_invalid_input_is_reported_and_nothing_is_written(workdir: Path) -> None:
    write_meeting(workdir, "broken.yaml", "id: team/broken\nsubject: [unclosed\n")
    write_meeting(workdir, "bad.yaml", "id: team/bad\nsubjekt: x\nstart: 2026-12-01T10:00\ntimezone: Europe/Berln\n")
    code, _, err = run("apply", "--auto-approve")
    assert code == 1
    assert err.splitlines() == [
        'meetings/bad.yaml:1:1: missing required key "subject"',
        'meetings/bad.yaml:2:1: unknown key "subjekt"; did you mean "subject"?',
        'meetings/bad.yaml:4:11: unknown time zone "Europe/Berln"; did you mean "Europe/Berlin"?',
        "meetings/broken.yaml:3:1: invalid YAML: expected ',' or ']', but got '<stream end>'"
        " (while parsing a flow sequence)",
        "4 problems found; nothing was changed.",
    ]
    assert not (workdir / ".meetings" / "sandbox.db").exists()


def test_help_imports_no_sdk() -> None:
    probe = (
        "import sys, runpy; sys.argv=['meetings','--help']\n"
        "try:\n    runpy.run_module('reconciler', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('msgraph', 'exchangelib', 'azure', 'kiota_http')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
