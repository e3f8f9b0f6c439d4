"""Command-line conventions a Terraform user relies on: usage errors, --version, -h, the clock."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from typer.testing import CliRunner

from reconciler.cli import EXIT_CHANGES, EXIT_FAILURE, EXIT_OK, app
from reconciler.emulator.store import MailboxStore, SendMode
from reconciler.model import PROP_NAMESPACE, extended_property_id

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    shutil.copytree(REPO / "meetings", tmp_path / "meetings")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEETINGS_NOW", "2026-11-24T12:00:00+00:00")
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("plan", "--format", "xml"), "'xml' is not one of"),
        (("plan", "--no-such-flag"), "No such option: --no-such-flag"),
        (("sandbox", "mail"), "Missing argument"),
        (("no-such-command",), "No such command"),
    ],
)
def test_a_usage_error_exits_1_with_the_usage_hint_never_2_which_means_changes_present(
    args: tuple[str, ...], complaint: str
) -> None:
    code, _, err = run(*args)
    assert code == EXIT_FAILURE
    assert complaint in err
    assert "Usage:" in err


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    code, out, _ = run("--version")
    assert (code, out) == (EXIT_OK, f"meetings-as-code {version('meetings-as-code')}\n")


def test_dash_h_is_help_for_the_program_and_for_each_command() -> None:
    code, out, _ = run("-h")
    assert code == EXIT_OK and "plan" in out and "apply" in out
    code, out, _ = run("plan", "-h")
    assert code == EXIT_OK and "--detailed-exitcode" in out
    assert "<bool>" not in out  # a flag takes no value, and its help must not suggest one


def test_an_unreadable_pinned_clock_is_a_clear_error_not_an_internal_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETINGS_NOW", "yesterday")
    code, out, err = run("plan")
    assert code == EXIT_FAILURE
    assert "MEETINGS_NOW must be an ISO 8601 time" in err and "'yesterday'" in err
    assert "Internal error" not in err + out


def test_terminal_escapes_in_a_subject_reach_neither_the_terminal_nor_the_pull_request_comment(workdir: Path) -> None:
    (workdir / "meetings" / "escape.yaml").write_text(
        'id: team/escape\nsubject: "X\\x07\\x1b[31mRED"\nstart: 2026-12-02T10:00\nduration: 30m\n'
        "attendees:\n  required: [alice@contoso.com]\n",
        encoding="utf-8",
    )
    for output in ("human", "markdown"):
        code, out, _ = run("plan", "--format", output)
        assert code == EXIT_OK
        assert "\x1b" not in out and "\x07" not in out
        assert "x07" in out and "x1b" in out


def test_show_renders_a_saved_plan_exactly_as_plan_printed_it_without_reading_any_calendar(workdir: Path) -> None:
    code, planned, _ = run("plan", "--out", "plan.json")
    assert code == EXIT_OK
    (workdir / "reconciler.yaml").write_text("backend: graph\n", encoding="utf-8")  # no calendar is reachable
    assert run("show", "plan.json") == (EXIT_OK, planned, "")
    code, out, _ = run("show", "plan.json", "--format", "json")
    assert (code, out) == (EXIT_OK, (workdir / "plan.json").read_text(encoding="utf-8"))
    code, out, _ = run("show", "plan.json", "--format", "markdown")
    assert code == EXIT_OK and "<summary>" in out


def test_show_of_a_missing_or_foreign_file_says_what_is_wrong(workdir: Path) -> None:
    code, _, err = run("show", "nothing.json")
    assert code == EXIT_FAILURE and "Cannot read the plan file nothing.json" in err
    (workdir / "other.json").write_text('{"hello": 1}', encoding="utf-8")
    code, _, err = run("show", "other.json")
    assert code == EXIT_FAILURE and "format_version" in err


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _free_port_pair() -> int:
    """A port P such that P and P+1 are both free right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as first, socket.socket() as second:
            try:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        if port < 65534:
            return port
    raise AssertionError("no two adjacent free ports")


def test_sandbox_serve_listens_on_the_port_asked_for_graph_and_the_next_for_ews_until_interrupted() -> None:
    port = _free_port_pair()
    server = _serve("--port", str(port))
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(3)]
        assert lines[0] == f"Graph emulator: http://127.0.0.1:{port}/v1.0\n"
        assert lines[1] == f"EWS emulator:   http://127.0.0.1:{port + 1}/EWS/Exchange.asmx\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1.0/users/lead@contoso.com/events") as answer:
            assert json.load(answer)["value"] == []
    finally:
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=10)
    assert server.returncode == EXIT_OK and "Stopped." in out


def test_sandbox_serve_on_a_port_in_use_says_so_and_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        server = _serve("--port", str(port))
        _, err = server.communicate(timeout=20)
    assert server.returncode == EXIT_FAILURE
    assert f"Cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert "Traceback" not in err


def test_global_options_are_accepted_after_the_command_too(workdir: Path) -> None:
    config = (workdir / "reconciler.yaml").read_text(encoding="utf-8")
    elsewhere = config.replace("namespace: example", "namespace: elsewhere")
    (workdir / "elsewhere.yaml").write_text(elsewhere, encoding="utf-8")
    code, out, _ = run("plan", "--config", "elsewhere.yaml", "--no-color")
    assert code == EXIT_OK and "namespace 'elsewhere'" in out
    code, out, _ = run("plan", "--config=elsewhere.yaml")
    assert code == EXIT_OK and "namespace 'elsewhere'" in out


def test_a_plan_file_that_cannot_be_written_is_refused_before_any_calendar_is_read(workdir: Path) -> None:
    code, out, err = run("plan", "--out", "nodir/plan.json")
    assert code == EXIT_FAILURE
    assert "Cannot save the plan to nodir/plan.json: the directory nodir does not exist." in err
    assert out == "" and "Internal error" not in err
    code, _, err = run("plan", "--out", "meetings")
    assert code == EXIT_FAILURE and "--out meetings is a directory" in err


@pytest.mark.parametrize("damage", ["directory", "garbage"])
def test_a_sandbox_path_that_is_a_directory_or_not_a_database_is_a_configuration_error(
    workdir: Path, damage: str
) -> None:
    sandbox = workdir / ".meetings" / "sandbox.db"
    sandbox.parent.mkdir(exist_ok=True)
    if damage == "directory":
        sandbox.mkdir()
    else:
        sandbox.write_bytes(b"this is not sqlite" * 100)
    code, out, err = run("plan")
    assert code == EXIT_FAILURE
    assert "sandbox" in err and ("is a directory" in err or "is not a sandbox database" in err)
    assert "Internal error" not in err + out


def test_drift_kept_by_policy_warn_still_counts_as_changes_present_for_the_drift_check(workdir: Path) -> None:
    assert run("apply", "--auto-approve")[0] == EXIT_OK
    config = workdir / "reconciler.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("policy:\n", "policy:\n  drift: warn\n"), "utf-8")
    store = MailboxStore(workdir / ".meetings" / "sandbox.db")
    try:
        (offsite,) = store.list_items(
            "office@contoso.com", extended_equals=(extended_property_id(PROP_NAMESPACE), "example")
        )
        store.update_item(offsite.item_id, {"location": "Edited in Outlook"}, send=SendMode.NONE)
    finally:
        store.close()
    code, out, _ = run("plan", "--detailed-exitcode")
    assert code == EXIT_CHANGES
    assert "location changed outside git; left as is (policy.drift: warn)" in out
    code, out, _ = run("plan", "--format", "json")
    assert json.loads(out)["drift_kept"] == ["company/offsite-2027"]
    assert run("plan")[0] == EXIT_OK  # without --detailed-exitcode nothing is wrong


def test_fmt_check_names_unformatted_files_and_fmt_rewrites_them_without_changing_the_plan(workdir: Path) -> None:
    messy = workdir / "meetings" / "messy.yaml"
    messy.write_text(
        "subject: 'Retro'  # monthly\nid: team/retro\nduration: 60m\nstart: 2026-12-03T15:00\n"
        "attendees:\n  required: [alice@contoso.com]\n",
        encoding="utf-8",
    )
    _, planned_before, _ = run("plan", "--format", "json")
    code, _, err = run("fmt", "--check")
    assert code == EXIT_FAILURE
    assert err.splitlines() == ["would reformat meetings/messy.yaml", "1 of 4 meeting files would be reformatted."]
    assert "subject: 'Retro'" in messy.read_text(encoding="utf-8")  # --check writes nothing
    code, out, _ = run("fmt")
    assert code == EXIT_OK and "reformatted meetings/messy.yaml" in out
    assert messy.read_text(encoding="utf-8") == (
        'id: team/retro\nsubject: "Retro"  # monthly\nstart: 2026-12-03T15:00\nduration: 1h\n'
        "attendees:\n  required: [alice@contoso.com]\n"
    )
    assert run("fmt", "--check")[0] == EXIT_OK
    _, planned_after, _ = run("plan", "--format", "json")
    assert _changes_without_source(planned_after) == _changes_without_source(planned_before)


def _changes_without_source(plan_json: str) -> list[dict[str, object]]:
    """The planned changes, without the file:line they come from (formatting may move a line)."""
    return [{k: v for k, v in c.items() if k != "source"} for c in json.loads(plan_json)["changes"]]


def test_fmt_refuses_invalid_files_and_reports_every_problem_first(workdir: Path) -> None:
    (workdir / "meetings" / "broken.yaml").write_text("id: team/broken\nstart: someday\n", encoding="utf-8")
    code, _, err = run("fmt")
    assert code == EXIT_FAILURE and "meetings/broken.yaml:2:8" in err and "nothing was changed" in err


def test_a_command_run_in_a_subdirectory_finds_the_repositorys_configuration(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / ".git").mkdir()
    monkeypatch.chdir(workdir / "meetings" / "platform")
    code, out, err = run("plan")
    assert code == EXIT_OK and "namespace 'example'" in out and "Plan: 3 to create" in out
    assert "No reconciler.yaml" not in err


def test_without_a_configuration_up_to_the_repository_top_the_defaults_are_named(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "reconciler.yaml").rename(workdir / "elsewhere.yaml")
    (workdir / "meetings" / ".git").mkdir()  # the repository's top: the search stops here
    (workdir / "meetings" / "reconciler.yaml").unlink(missing_ok=True)
    monkeypatch.chdir(workdir / "meetings")
    code, _, err = run("validate")
    assert f"No reconciler.yaml in {workdir / 'meetings'} or its parents: using the defaults (backend sandbox" in err
    assert code == EXIT_FAILURE  # the defaults look for ./meetings, which this directory has not


def _rename_subjects(workdir: Path, prefix: str) -> None:
    for name in ("offsite.yaml", "platform/q1-planning.yaml"):
        path = workdir / "meetings" / name
        path.write_text(path.read_text(encoding="utf-8").replace("subject: ", f"subject: {prefix} "), "utf-8")


def test_a_saved_plan_overtaken_by_another_apply_says_so_once_and_never_claims_no_changes(workdir: Path) -> None:
    assert run("apply", "--auto-approve")[0] == EXIT_OK
    _rename_subjects(workdir, "Renamed")
    assert run("plan", "--out", "plan.json")[0] == EXIT_OK
    assert run("apply", "--auto-approve")[0] == EXIT_OK  # another apply writes the same change first
    code, out, err = run("apply", "plan.json")
    assert code == EXIT_FAILURE
    assert "No changes" not in out
    assert "company/offsite-2027: stale: changed by another apply after the plan was made; plan again." in err
    assert "company/offsite-2027: company/offsite-2027" not in err
    assert "Apply finished: 0 applied, 0 failed, 2 refused as stale." in out


@pytest.mark.parametrize("flag", ["--allow-mass-cancel", "--allow-late"])
def test_an_override_flag_with_a_saved_plan_is_refused_with_the_reason(workdir: Path, flag: str) -> None:
    assert run("plan", "--out", "plan.json")[0] == EXIT_OK
    code, _, err = run("apply", "plan.json", flag)
    assert code == EXIT_FAILURE
    assert f"{flag} is given to `meetings plan --out`, not to `meetings apply PLANFILE`" in err


def test_apply_in_json_prints_one_json_document_on_stdout_and_everything_else_on_stderr(workdir: Path) -> None:
    code, out, err = run("apply", "--auto-approve", "--format", "json")
    assert code == EXIT_OK
    document = json.loads(out)  # the whole of stdout is one document: the plan and the apply report
    plan_schema, apply_schema = (_schema(name) for name in ("plan", "apply"))
    jsonschema.validate(document["plan"], plan_schema)
    registry = Registry().with_resource(plan_schema["$id"], Resource.from_contents(plan_schema))
    jsonschema.Draft202012Validator(apply_schema, registry=registry).validate(document)
    assert document["plan"]["summary"]["create"] == 3
    assert document["apply"]["summary"] == {"applied": 3, "failed": 0, "stale": 0}
    assert sorted((o["id"], o["action"], o["status"], o["message"]) for o in document["apply"]["outcomes"]) == [
        ("company/offsite-2027", "create", "applied", ""),
        ("platform/q1-planning", "create", "applied", ""),
        ("platform/weekly-sync", "create", "applied", ""),
    ]
    assert "Apply finished: 3 applied" in err


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((REPO / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    return schema


def _break_json(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Make the standard library's JSON encoder fail, as a bug of ours would (no module of ours is touched)."""

    def broken(*args: object, **kwargs: object) -> str:
        raise error

    monkeypatch.setattr(json, "dumps", broken)


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_exits_3_and_shows_the_traceback_only_with_debug(
    monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    _break_json(monkeypatch, RuntimeError("boom"))
    code, _, err = run(*(["--debug"] if debug else []), "plan", "--format", "json")
    assert code == 3
    assert "Internal error: RuntimeError: boom." in err and "Please report it." in err
    assert ("Traceback (most recent call last)" in err) is debug


def test_an_interrupt_exits_130_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    _break_json(monkeypatch, KeyboardInterrupt())
    code, _, err = run("plan", "--format", "json")
    assert (code, err.strip().splitlines()[-1]) == (130, "Interrupted.")


def _meeting_file(workdir: Path, name: str, text: str) -> None:
    (workdir / "meetings" / name).write_text(text, encoding="utf-8")


def test_validate_reports_later_lines_correctly_after_a_unicode_line_separator_in_a_value(workdir: Path) -> None:
    _meeting_file(workdir, "sep.yaml", 'id: team/sep\nsubject: "A\u2028B"\nstart: 2026-12-03T10:00\nbogus: 1\n')
    code, _, err = run("validate")
    assert code == EXIT_FAILURE and 'meetings/sep.yaml:4:1: unknown key "bogus"' in err


def test_a_daily_series_until_the_year_9999_is_planned_like_any_other(workdir: Path) -> None:
    _meeting_file(
        workdir,
        "forever.yaml",
        "id: team/forever\nsubject: Daily\nstart: 2026-12-03T09:00\nrecurrence: {every: day, until: 9999-12-31}\n",
    )
    code, out, _ = run("plan")
    assert code == EXIT_OK and "+ team/forever" in out and "Plan: 4 to create" in out


def test_validate_warns_of_a_time_daylight_saving_skips_and_of_a_skip_date_listed_twice(workdir: Path) -> None:
    _meeting_file(
        workdir,
        "dst.yaml",
        "id: team/dst\nsubject: Early\ntimezone: Europe/Berlin\nstart: 2027-03-28T02:30\n"
        "recurrence: {every: week, skip: [2027-04-04, 2027-04-04]}\n",
    )
    code, out, err = run("validate")
    assert code == EXIT_OK and "4 meetings in" in out
    assert 'meetings/dst.yaml:4:8: "start" 2027-03-28T02:30 does not exist in Europe/Berlin' in err
    assert "skip date 2027-04-04 is already listed at line 5" in err


def test_an_ews_secret_in_the_configuration_names_the_variable_that_is_read(workdir: Path) -> None:
    config = workdir / "reconciler.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "ews:\n  client_secret: hunter2\n", encoding="utf-8")
    code, _, err = run("validate")
    assert code == EXIT_FAILURE and "set the environment variable MEETINGS_EWS_CLIENT_SECRET instead" in err
    assert "hunter2" not in err


def test_an_unusable_certificate_file_is_a_configuration_error_not_an_internal_one(workdir: Path) -> None:
    (workdir / "app.pem").write_text("not a certificate", encoding="utf-8")
    config = workdir / "reconciler.yaml"
    text = config.read_text(encoding="utf-8").replace("backend: sandbox", "backend: graph")
    text += "organizers: [lead@contoso.com, office@contoso.com]\n"
    text += "graph:\n  tenant_id: t\n  client_id: c\n  auth: certificate\n  certificate_path: app.pem\n"
    config.write_text(text, encoding="utf-8")
    code, out, err = run("plan")
    assert code == EXIT_FAILURE
    assert "graph.certificate_path" in err and "holds no certificate this can use" in err
    assert "Internal error" not in err + out


def test_github_annotations_show_hidden_characters_escaped(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    _meeting_file(workdir, "tz.yaml", 'id: team/tz\nsubject: Z\nstart: 2026-12-03T10:00\ntimezone: "Mars\\x1b[2J"\n')
    code, out, err = run("validate")
    assert code == EXIT_FAILURE
    annotations = [line for line in out.splitlines() if line.startswith("::error file=meetings/tz.yaml")]
    assert annotations and all("\x1b" not in line for line in annotations)
    assert "Mars" in annotations[0] and "[2J" in annotations[0] and "\x1b" not in err


def test_the_mail_a_person_received_is_listed_with_hidden_characters_escaped(workdir: Path) -> None:
    _meeting_file(
        workdir,
        "esc.yaml",
        'id: team/esc\nsubject: "X\\x1b[31mRED"\nstart: 2026-12-03T10:00\ncancelled: "Bye\\x07"\n'
        "attendees:\n  required: [dana@contoso.com]\n",
    )
    _meeting_file(
        workdir,
        "esc2.yaml",
        'id: team/esc2\nsubject: "Y\\x1b]0;t\\x07"\nstart: 2026-12-03T11:00\n'
        "attendees:\n  required: [dana@contoso.com]\n",
    )
    assert run("apply", "--auto-approve")[0] == EXIT_OK
    code, out, _ = run("sandbox", "mail", "dana@contoso.com")
    assert code == EXIT_OK and "\x1b" not in out and "\x07" not in out and "invitation" in out
