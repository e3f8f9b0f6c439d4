"""The apply lock through the `meetings` command line (typer's runner, a temporary sandbox).

Another apply is played by a real `ApplyLock` over the same sandbox file, holding the lock of
lead@contoso.com (the mailbox of the example's weekly sync) the way a running apply would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.emulator.store import MailboxStore
from reconciler.locking import ApplyLock
from reconciler.lockstate import Holder, LockRecord, decode
from reconciler.model import PROP_NAMESPACE, extended_property_id
from reconciler.providers.sandbox import SandboxProvider
from tests.e2e.cli import run

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LEAD = "lead@contoso.com"
OTHER = Holder("ci", "runner-7", 4242, "meetings apply", "other-run")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    shutil.copytree(REPO / "meetings", tmp_path / "meetings")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEETINGS_NOW", NOW.isoformat())
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return tmp_path


@pytest.fixture
def sandbox(workdir: Path) -> Iterator[SandboxProvider]:
    provider = SandboxProvider(MailboxStore(workdir / ".meetings" / "sandbox.db"))
    yield provider
    provider.close()


def hold_lock(sandbox: SandboxProvider, *, at: datetime = NOW) -> ApplyLock:
    lock = ApplyLock(sandbox, "example", OTHER, clock=lambda: at, sleep=lambda _: None)
    lock.acquire([LEAD])
    return lock


def lock_record(sandbox: SandboxProvider) -> LockRecord:
    (item,) = sandbox.list_namespace_items(LEAD, "example")
    return decode(item.state)


def managed(sandbox: SandboxProvider, mailbox: str = LEAD) -> int:
    property_id = extended_property_id(PROP_NAMESPACE)
    return len(sandbox.store.list_items(mailbox, extended_equals=(property_id, "example")))


def test_apply_stops_while_another_apply_holds_the_lock_and_writes_nothing(sandbox: SandboxProvider) -> None:
    hold_lock(sandbox)
    code, _, err = run("apply", "--auto-approve", "--lock-timeout", "0")
    assert code == 1
    assert (
        "Error: Another apply (ci@runner-7, pid 4242, 'meetings apply', since 2026-11-24 12:00:00 UTC) is running"
        " for namespace 'example' in lead@contoso.com's calendar; nothing was written. Its lock expires at"
        " 2026-11-24 12:10:00 UTC unless renewed; run again later, or if that apply crashed, run"
        " `meetings unlock --organizer lead@contoso.com`." in err
    )
    assert managed(sandbox) == 0 and managed(sandbox, "office@contoso.com") == 0
    assert sandbox.store.mail() == []
    assert lock_record(sandbox).held_by("other-run")


def test_a_saved_plan_is_not_applied_while_another_apply_holds_the_lock(sandbox: SandboxProvider) -> None:
    assert run("plan", "--out", "plan.json")[0] == 0
    hold_lock(sandbox)
    code, _, err = run("apply", "plan.json", "--lock-timeout", "0")
    assert code == 1
    assert "Error: Another apply (ci@runner-7, pid 4242, 'meetings apply'" in err
    assert managed(sandbox) == 0 and sandbox.store.mail() == []


def test_plan_takes_no_lock_and_works_while_an_apply_runs(sandbox: SandboxProvider) -> None:
    hold_lock(sandbox)
    before = sandbox.list_namespace_items(LEAD, "example")
    code, out, _ = run("plan")
    assert code == 0 and "platform/weekly-sync" in out
    assert sandbox.list_namespace_items(LEAD, "example") == before


def test_an_apply_whose_holder_crashed_takes_the_expired_lock_over(sandbox: SandboxProvider) -> None:
    hold_lock(sandbox, at=NOW - timedelta(minutes=11))  # never released: the process died
    code, out, _ = run("apply", "--auto-approve", "--lock-timeout", "0")
    assert code == 0 and "Apply finished: 3 applied, 0 failed, 0 refused as stale." in out
    assert lock_record(sandbox).holder is None


def test_apply_frees_the_lock_when_it_ends_and_nobody_hears_of_the_lock_item(sandbox: SandboxProvider) -> None:
    assert run("apply", "--auto-approve")[0] == 0
    record = lock_record(sandbox)
    assert (record.holder, record.since, record.expires) == (None, None, None)
    # What the apply left, for the next plan: lead's meetings, and both mailboxes the namespace uses.
    assert record.meetings == frozenset({"platform/q1-planning", "platform/weekly-sync"})
    assert record.organizers == ("lead@contoso.com", "office@contoso.com")
    assert not [m for m in sandbox.store.mail() if m.subject.startswith("meetings-as-code")]
    code, out, _ = run("sandbox", "mail", LEAD)
    assert (code, out) == (0, "lead@contoso.com received no meeting mail.\n")
    assert run("apply", "--auto-approve")[1].endswith("Nothing to apply: the calendars match the meeting files.\n")
    assert len(sandbox.list_namespace_items(LEAD, "example")) == 1


def test_unlock_removes_the_holder_it_names_and_the_next_apply_runs(sandbox: SandboxProvider) -> None:
    hold_lock(sandbox)
    code, out, _ = run("unlock", "--organizer", LEAD)
    assert code == 0
    assert out == (
        "Removed the apply lock of ci@runner-7, pid 4242, 'meetings apply' (since 2026-11-24 12:00:00 UTC,"
        " expires 2026-11-24 12:10:00 UTC) in lead@contoso.com's calendar.\n"
    )
    code, out, _ = run("unlock")
    assert code == 0
    assert "No apply lock was held in lead@contoso.com's calendar.\n" in out
    assert "No apply lock was held in office@contoso.com's calendar.\n" in out
    code, out, _ = run("apply", "--auto-approve", "--lock-timeout", "0")
    assert code == 0 and "Apply finished: 3 applied" in out


def test_two_applies_waiting_as_processes_for_the_same_lock_create_each_meeting_once(
    sandbox: SandboxProvider,
) -> None:
    # Both processes start while a third apply holds the lock, so both are waiting when it is
    # released and then compete for it. Each plans at its own instant, so their creates carry
    # different transaction ids, as two real runs do: without the lock both would create everything.
    held = hold_lock(sandbox)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--lock-timeout", "60"]
    runs = [
        subprocess.Popen(
            command,
            cwd=Path.cwd(),
            env=env | {"MEETINGS_NOW": (NOW + timedelta(seconds=index + 1)).isoformat()},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(2)
    ]
    time.sleep(1.5)
    assert [run.poll() for run in runs] == [None, None]  # both still waiting
    held.release()
    outputs = sorted(run.communicate(timeout=120)[0] for run in runs)
    assert [run.returncode for run in runs] == [0, 0]
    assert "Apply finished: 3 applied, 0 failed, 0 refused as stale." in outputs[0]
    assert outputs[1].endswith("Nothing to apply: the calendars match the meeting files.\n")
    invitations = [(m.recipient, m.subject) for m in sandbox.store.mail() if m.kind == "invitation"]
    assert len(invitations) == len(set(invitations)) > 0
    assert sum(managed(sandbox, mailbox) for mailbox in (LEAD, "office@contoso.com")) == 3
    assert lock_record(sandbox).holder is None
