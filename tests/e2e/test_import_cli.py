"""`meetings import` end to end on a temporary sandbox: files written, adopted, never written twice;
`--drift` writes Outlook's edits back."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.store import MailboxStore, SendMode
from reconciler.providers.sandbox import to_document
from reconciler.state import meeting_state
from tests.e2e.cli import run
from tests.e2e.test_cli import items_in, workdir
from tests.factories import meeting

__all__ = ["workdir"]


def outlook_meeting(root: Path) -> str:
    """A meeting made in the sandbox's calendar without our marker (as Outlook would)."""
    store = MailboxStore(root / ".meetings" / "sandbox.db")
    try:
        fields = meeting_state(meeting(subject="Design review"))
        return store.create_item("lead@contoso.com", to_document(fields), send=SendMode.ALL).item_id
    finally:
        store.close()


def test_import_writes_a_file_that_the_next_plan_adopts_and_a_second_import_writes_nothing(workdir: Path) -> None:
    assert run("apply", "--auto-approve")[0] == 0
    outlook_meeting(workdir)

    code, out, err = run("import", "--organizer", "lead@contoso.com", "--dry-run")
    assert code == 0, err
    assert "id: design-review\n" in out and "subject: Design review\n" in out
    assert "duration: 30m\n" in out
    assert not (workdir / "meetings" / "design-review.yaml").exists()

    code, out, err = run("import", "--organizer", "lead@contoso.com")
    assert code == 0, err
    assert (workdir / "meetings" / "design-review.yaml").is_file()
    assert run("validate")[0] == 0

    code, out, _ = run("plan")
    assert "  <- design-review (adopted: an unmanaged calendar item)  [lead@contoso.com]" in out
    assert "matches the unmanaged calendar item 'Design review'" in out

    code, out, err = run("import", "--organizer", "lead@contoso.com")
    assert code == 0
    assert "skipped 'Design review': already in the repository as design-review" in err
    assert "0 meeting files written" in out

    # A saved plan adopts the same item: its change key is checked like any other change's.
    assert run("plan", "--out", "adopt.json")[0] == 0
    code, out, err = run("apply", "adopt.json")
    assert code == 0, err
    assert "Apply finished: 1 applied, 0 failed, 0 refused as stale." in out
    code, out, _ = run("plan", "--detailed-exitcode")
    assert code == 0, out


def test_import_drift_writes_an_outlook_edit_back_into_the_file(workdir: Path) -> None:
    assert run("apply", "--auto-approve")[0] == 0
    store = MailboxStore(workdir / ".meetings" / "sandbox.db")
    try:
        (item,) = [i for i in items_in(store, "lead@contoso.com") if i.doc["subject"] == "Platform weekly sync"]
        store.update_item(item.item_id, {"location": "Berlin 4.01"}, send=SendMode.ALL)
    finally:
        store.close()
    code, out, err = run("import", "--drift", "--dry-run")
    assert code == 0, err
    assert "+location: Berlin 4.01" in out
    assert run("import", "--drift")[0] == 0
    code, out, _ = run("plan", "--detailed-exitcode")
    assert code == 0, out


def test_import_without_an_organizer_or_drift_says_what_it_needs(workdir: Path) -> None:
    code, _, err = run("import")
    assert code == 1
    assert "meetings import needs --organizer" in err
