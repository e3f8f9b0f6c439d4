"""`meetings inspect ID` end to end on a temporary sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from tests.e2e.cli import run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    shutil.copytree(REPO / "meetings", tmp_path / "meetings")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEETINGS_NOW", "2026-11-24T12:00:00+00:00")
    return tmp_path


def test_inspect_shows_the_item_its_record_and_what_the_plan_would_change(workdir: Path) -> None:
    assert run("apply", "--auto-approve")[0] == 0
    path = workdir / "meetings" / "offsite.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Company offsite", "Company offsite 2027"), "utf-8")
    code, out, _ = run("inspect", "company/offsite-2027")
    assert code == 0
    assert out.startswith(
        "company/offsite-2027 in office@contoso.com's calendar (backend sandbox, namespace 'example')"
    )
    assert '  subject: "Company offsite"' in out  # the record
    assert 'subject: "Company offsite" -> "Company offsite 2027"' in out
    assert "why subject: the meeting file changed since the last apply" in out
    assert "Raw item (json, as the server answered):" in out


def test_inspect_without_an_item_or_a_file_says_what_is_missing(workdir: Path) -> None:
    code, _, err = run("inspect", "company/offsite-2027")
    assert code == 1
    assert "No calendar item in office@contoso.com's calendar carries the id 'company/offsite-2027'" in err
    code, _, err = run("inspect", "team/nothing")
    assert code == 1
    assert "No meeting file declares 'team/nothing'; pass --organizer with the mailbox holding it." in err
    code, _, err = run("inspect", "team/nothing", "--organizer", "nobody")
    assert code == 1 and "'nobody' is not an e-mail address." in err


def test_inspect_as_json_validates_against_its_schema(workdir: Path) -> None:
    assert run("apply", "--auto-approve")[0] == 0
    code, out, _ = run("inspect", "platform/weekly-sync", "--format", "json")
    assert code == 0
    document = json.loads(out)
    jsonschema.validate(document, json.loads((REPO / "schemas" / "inspect.schema.json").read_text("utf-8")))
    assert (document["item"]["id"], document["plan"]["action"], document["raw"]["format"]) == (
        "platform/weekly-sync",
        None,
        "json",
    )
