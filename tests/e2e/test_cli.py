"""The `meetings` command line end to end, through typer's runner, on a temporary sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema
import pytest

from reconciler.emulator.faults import FaultPlan
from reconciler.emulator.store import MailboxStore, SendMode, StoredItem, UnavailableReason
from reconciler.model import PROP_NAMESPACE, PROP_NAMESPACE_ITEM, extended_property_id
from reconciler.providers.sandbox import SandboxProvider
from tests.e2e.cli import run

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


def items_in(calendar: MailboxStore, mailbox: str) -> list[StoredItem]:
    """Every calendar item of a mailbox but the apply lock's (managed, released or foreign)."""
    lock = extended_property_id(PROP_NAMESPACE_ITEM)
    return [item for item in calendar.list_items(mailbox) if lock not in item.doc.get("extended", {})]


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


def test_asking_what_someone_received_before_any_apply_says_nothing_and_creates_no_sandbox(workdir: Path) -> None:
    assert run("sandbox", "mail", "frank@contoso.com") == (0, "frank@contoso.com received no meeting mail.\n", "")
    assert run("sandbox", "mail", "frank@contoso.com", "--format", "json")[:2] == (0, "[]\n")
    assert not (workdir / ".meetings" / "sandbox.db").exists()


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
    assert "company/offsite-2027: stale: edited in Outlook after the plan was made; plan again." in err
    assert "company/offsite-2027: company/offsite-2027" not in err
    assert "Apply finished: 1 applied, 0 failed, 1 refused as stale." in out
    subjects = sorted(i.doc["subject"] for i in meetings_in(calendar, "lead@contoso.com"))
    assert subjects == ["Platform weekly sync", "Renamed Q1 planning"]


def test_apply_asks_for_confirmation_and_refuses_without_a_terminal(workdir: Path, store: OpenStore) -> None:
    code, _, err = run("apply")
    assert code == 1
    assert "Pass --auto-approve to apply non-interactively." in err
    assert not (workdir / ".meetings" / "sandbox.db").exists() or meetings_in(store(), "lead@contoso.com") == []


def test_a_failing_change_does_not_stop_the_others(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("plan")  # creates the sandbox file
    faults = FaultPlan()
    faults.inject("sandbox", "create", "fail", times=2)
    opened = SandboxProvider.open

    def open_with_faults(path: Path) -> SandboxProvider:
        """The CLI's sandbox, with the fault drills' hook on (the product never sets one)."""
        provider = opened(path)
        provider.faults = faults
        return provider

    monkeypatch.setattr(SandboxProvider, "open", open_with_faults)
    # One mailbox: its changes go in plan order (mailboxes in parallel would race for the faults).
    only_lead = ("--organizer", "lead@contoso.com")
    code, out, err = run("apply", "--auto-approve", *only_lead)
    assert code == 1, (out, err)
    assert "Apply finished: 1 applied, 1 failed, 0 refused as stale." in out
    assert "FAILED: The sandbox failed to create" in err
    assert run("apply", "--auto-approve", *only_lead)[1].count("Apply finished: 1 applied") == 1


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


def test_validate_and_plan_name_the_files_they_do_not_read(workdir: Path) -> None:
    (workdir / "meetings" / "standup.json").write_text("{}", encoding="utf-8")
    (workdir / "meetings" / "offsite.yaml~").write_text("id: x\n", encoding="utf-8")
    (workdir / "meetings" / "README.md").write_text("# Our meetings\n", encoding="utf-8")
    code, out, err = run("validate")
    assert code == 0
    assert err.splitlines() == [
        "Warning: meetings/offsite.yaml~ is not read: only .yaml and .yml files are meeting files",
        "Warning: meetings/standup.json is not read: only .yaml and .yml files are meeting files",
    ]
    assert "3 meetings in" in out
    code, out, _ = run("plan")
    assert code == 0
    assert "Warning: meetings/standup.json is not read: only .yaml and .yml files are meeting files" in out
    code, out, _ = run("plan", "--format", "json")
    assert json.loads(out)["warnings"][:2] == [
        "meetings/offsite.yaml~ is not read: only .yaml and .yml files are meeting files",
        "meetings/standup.json is not read: only .yaml and .yml files are meeting files",
    ]


def test_emptying_a_meeting_file_is_an_error_and_cancels_nothing(workdir: Path, store: OpenStore) -> None:
    assert run("apply", "--auto-approve")[0] == 0
    sent = len(store().mail())
    (workdir / "meetings" / "offsite.yaml").write_text("# moved to next year\n", encoding="utf-8")
    code, _, err = run("apply", "--auto-approve")
    assert code == 1
    assert err.splitlines() == [
        "meetings/offsite.yaml:1:1: the file declares no meeting (it is empty or only comments); delete the file"
        " to cancel the meeting, or write the meeting with `cancelled: <text>`",
        "1 problem found; nothing was changed.",
    ]
    assert len(store().mail()) == sent


def test_a_symlinked_directory_of_meetings_is_planned_not_cancelled(workdir: Path) -> None:
    shutil.move(workdir / "meetings" / "platform", workdir / "platform-meetings")
    (workdir / "meetings" / "platform").symlink_to(workdir / "platform-meetings", target_is_directory=True)
    code, out, _ = run("apply", "--auto-approve")
    assert (code, "Plan: 3 to create, 0 to update, 0 to cancel" in out) == (0, True)
    code, out, _ = run("plan")
    assert (code, "No changes. The calendars match the meeting files." in out) == (0, True)


#: Runs the CLI with the SDK modules of one extra made unimportable, as in a base install.
_WITHOUT_MODULES = """\
import sys
from importlib.abc import MetaPathFinder

class Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

BLOCKED = set(sys.argv[1].split(","))
for loaded in [m for m in sys.modules if m.partition(".")[0] in BLOCKED]:
    del sys.modules[loaded]
sys.meta_path.insert(0, Missing())
sys.argv = ["meetings", *sys.argv[2:]]
from reconciler.cli import main
main()
"""


@pytest.mark.parametrize(
    ("backend", "blocked", "missing"),
    [
        ("graph", "httpx", "httpx"),
        ("graph", "msgraph,kiota_abstractions,kiota_http,azure", "kiota_abstractions"),
        ("ews", "exchangelib", "exchangelib"),
    ],
)
def test_a_backend_whose_extra_is_not_installed_names_the_pip_command(
    workdir: Path, backend: str, blocked: str, missing: str
) -> None:
    config = (
        (workdir / "reconciler.yaml").read_text(encoding="utf-8").replace("backend: sandbox", f"backend: {backend}")
    )
    extra = {
        "graph": "graph:\n  base_url: http://127.0.0.1:9/v1.0\n",
        "ews": "ews:\n  endpoint: http://127.0.0.1:9/EWS/Exchange.asmx\n  auth: basic\n  username: svc@contoso.com\n",
    }[backend]
    for path in (workdir / "meetings").rglob("*.yaml"):  # EWS cannot create Teams meetings
        path.write_text(path.read_text(encoding="utf-8").replace("online_meeting: true", ""), encoding="utf-8")
    (workdir / "reconciler.yaml").write_text(
        config + extra + "organizers: [lead@contoso.com, office@contoso.com]\n", encoding="utf-8"
    )
    env = {**os.environ, "MEETINGS_EWS_PASSWORD": "unused", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_MODULES, blocked, "plan"], capture_output=True, text=True, env=env, check=False
    )
    assert (done.returncode, done.stderr.splitlines()) == (
        1,
        [
            f"Error: The {backend} backend needs the {backend} extra of meetings-as-code, which is not installed "
            f"(no module named '{missing}'); install it with: pip install 'meetings-as-code[{backend}]'"
        ],
    )
    validated = subprocess.run(
        [sys.executable, "-c", _WITHOUT_MODULES, blocked, "validate"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert validated.returncode == 0, validated.stderr


def test_an_unreadable_mailbox_fails_the_run_after_the_other_organizers_were_applied(
    workdir: Path, store: OpenStore
) -> None:
    run("apply", "--auto-approve")
    calendar = store()
    calendar.set_unavailable("office@contoso.com", UnavailableReason.DENIED)
    for name in ("offsite.yaml", "platform/q1-planning.yaml"):
        path = workdir / "meetings" / name
        path.write_text(path.read_text().replace("subject: ", "subject: Renamed "))
    code, out, _ = run("plan")
    assert code == 1
    assert "Unavailable mailbox office@contoso.com: The sandbox cannot use office@contoso.com's mailbox" in out
    assert "Not planned: company/offsite-2027." in out
    code, out, err = run("plan", "--format", "json")
    document = json.loads(out)
    assert document["unavailable_mailboxes"][0]["meetings"] == ["company/offsite-2027"]
    jsonschema.validate(document, json.loads((REPO / "schemas" / "plan.schema.json").read_text(encoding="utf-8")))
    code, out, err = run("apply", "--auto-approve")
    assert code == 1
    assert "Apply finished: 1 applied, 0 failed, 0 refused as stale." in out
    assert "office@contoso.com: not planned, not applied" in err
    (offsite,) = meetings_in(calendar, "office@contoso.com")
    assert not offsite.doc["subject"].startswith("Renamed")


def test_a_late_change_needs_allow_late_and_is_marked_in_the_plan(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = (
        (workdir / "reconciler.yaml")
        .read_text()
        .replace("max_cancellations: 10", "max_cancellations: 10\n  min_notice: 2h")
    )
    (workdir / "reconciler.yaml").write_text(config)
    run("apply", "--auto-approve")
    monkeypatch.setenv("MEETINGS_NOW", "2026-12-01T08:30:00+00:00")  # the weekly sync starts at 09:00 UTC
    path = workdir / "meetings" / "platform" / "weekly-sync.yaml"
    path.write_text(path.read_text().replace("subject: ", "subject: Renamed "))
    code, out, _ = run("apply", "--auto-approve")
    assert code == 1
    assert "[LATE]" in out and "Pass --allow-late if this is intended." in out
    code, out, _ = run("apply", "--auto-approve", "--allow-late")
    assert code == 0
    assert "Apply finished: 1 applied, 0 failed, 0 refused as stale." in out


def test_a_released_meeting_file_can_be_deleted_without_cancelling_the_meeting(workdir: Path, store: OpenStore) -> None:
    run("apply", "--auto-approve")
    path = workdir / "meetings" / "offsite.yaml"
    path.write_text(path.read_text() + "release: true\n")
    code, out, _ = run("apply", "--auto-approve")
    assert code == 0
    assert "= company/offsite-2027 (released)" in out and "mail: none" in out
    path.unlink()
    code, out, _ = run("apply", "--auto-approve")
    assert code == 0 and "Nothing to apply" in out
    (offsite,) = items_in(store(), "office@contoso.com")
    assert offsite.doc["subject"] == "Company offsite"


def test_changing_the_namespace_with_previous_namespaces_adopts_every_meeting_without_mail(
    workdir: Path, store: OpenStore
) -> None:
    run("apply", "--auto-approve")
    before = len(store().mail())
    config = (workdir / "reconciler.yaml").read_text().replace("namespace: example", "namespace: example-2")
    (workdir / "reconciler.yaml").write_text(config + "previous_namespaces: [example]\n")
    code, out, _ = run("apply", "--auto-approve")
    assert code == 0
    assert "3 to adopt" in out
    assert len(store().mail()) == before
    code, out, _ = run("plan")
    assert code == 0 and "No changes. The calendars match the meeting files." in out
