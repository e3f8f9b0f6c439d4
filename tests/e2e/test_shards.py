"""`--organizer` and `--shard I/N`: plan and apply restricted to some mailboxes, end to end on a
temporary sandbox (one CI job per shard)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.store import MailboxStore
from reconciler.lockstate import decode
from reconciler.model import PROP_NAMESPACE, extended_property_id
from reconciler.providers.sandbox import SandboxProvider
from reconciler.shards import Selection, Shard, parse_shard, shard_of
from tests.e2e.cli import run

NOW = "2026-11-24T12:00:00+00:00"
#: Shards of 2 (see test_the_shard_of_an_address_is_stable_and_ignores_case): 1, 1, 2, 2.
LEAD, OPS, OFFICE, SALES = "lead@contoso.com", "ops@contoso.com", "office@contoso.com", "sales@contoso.com"
ORGANIZERS = (LEAD, OPS, OFFICE, SALES)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sandbox repository with three meetings for each of four organizers."""
    (tmp_path / "reconciler.yaml").write_text(
        "namespace: example\nbackend: sandbox\npolicy:\n  max_cancellations: 3\n", encoding="utf-8"
    )
    (tmp_path / "meetings").mkdir()
    for organizer in ORGANIZERS:
        for day in (1, 2, 3):
            write_meeting(tmp_path, organizer, day)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEETINGS_NOW", NOW)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return tmp_path


def write_meeting(root: Path, organizer: str, day: int) -> None:
    name = organizer.split("@")[0]
    (root / "meetings" / f"{name}-{day}.yaml").write_text(
        f"id: {name}/meeting-{day}\norganizer: {organizer}\nsubject: {name} {day}\n"
        f"start: 2026-12-0{day}T10:00\ntimezone: Europe/Berlin\nattendees:\n  required: [alice@contoso.com]\n",
        encoding="utf-8",
    )


@pytest.fixture
def sandbox(workdir: Path) -> Iterator[SandboxProvider]:
    provider = SandboxProvider(MailboxStore(workdir / ".meetings" / "sandbox.db"))
    yield provider
    provider.close()


def managed(sandbox: SandboxProvider, mailbox: str) -> int:
    property_id = extended_property_id(PROP_NAMESPACE)
    return len(sandbox.store.list_items(mailbox, extended_equals=(property_id, "example")))


def test_the_shard_of_an_address_is_stable_and_ignores_case() -> None:
    # Pinned: a different value means every CI job of every user would move mailboxes between shards.
    assert [shard_of(a, 2) for a in ORGANIZERS] == [1, 1, 2, 2]
    assert [shard_of(a, 3) for a in ORGANIZERS] == [1, 2, 3, 1]
    assert shard_of("Lead@Contoso.COM", 7) == shard_of(LEAD, 7)


def test_every_address_falls_in_exactly_one_shard() -> None:
    addresses = [f"user{i}@contoso.com" for i in range(200)]
    shards = [Selection(shard=Shard(i, 5)) for i in range(1, 6)]
    assert all(sum(s.includes(a) for s in shards) == 1 for a in addresses)
    assert all(len([a for a in addresses if s.includes(a)]) > 20 for s in shards)  # spread, not lumped


@pytest.mark.parametrize("text", ["3/2", "0/2", "1/0", "x", "1/2/3", "-1/2", ""])
def test_a_shard_that_is_not_i_of_n_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="I/N"):
        parse_shard(text)


@pytest.mark.usefixtures("workdir")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "--shard", "3/2"), "'3/2' is not a shard of 2; I in I/N runs from 1 to N"),
        (("plan", "--shard", "x"), "'x' is not a shard; write I/N, for example 2/4"),
        (("apply", "--shard", "1/0"), "'1/0' is not a shard of 0"),
        (("plan", "--organizer", "not-an-address"), "'not-an-address' is not an e-mail address."),
    ],
)
def test_bad_selections_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args)
    assert code == 1
    assert message in " ".join(err.split())


def test_each_shard_plans_locks_and_applies_only_its_own_mailboxes(sandbox: SandboxProvider) -> None:
    code, out, err = run("apply", "--auto-approve", "--shard", "1/2")
    assert code == 0, err
    assert "Only the mailboxes of shard 1/2 are planned." in err
    assert "Plan: 6 to create" in out
    assert [managed(sandbox, m) for m in ORGANIZERS] == [3, 3, 0, 0]
    # The apply lock was taken only in the shard's mailboxes.
    assert [bool(sandbox.list_namespace_items(m, "example")) for m in ORGANIZERS] == [True, True, False, False]
    code, out, _ = run("plan", "--shard", "2/2", "--format", "json")
    assert code == 0
    assert '"create": 6' in out
    assert run("apply", "--auto-approve", "--shard", "2/2")[0] == 0
    assert run("plan", "--detailed-exitcode")[0] == 0


def test_a_shards_record_keeps_the_mailboxes_of_the_other_shards(sandbox: SandboxProvider, workdir: Path) -> None:
    assert run("apply", "--auto-approve")[0] == 0
    assert run("apply", "--auto-approve", "--shard", "1/2")[0] == 0
    (item,) = sandbox.list_namespace_items(LEAD, "example")
    assert set(decode(item.state).organizers) == set(ORGANIZERS)


def test_the_organizer_option_restricts_to_the_named_mailboxes(sandbox: SandboxProvider) -> None:
    code, out, err = run("apply", "--auto-approve", "--organizer", "OFFICE@contoso.com", "--organizer", SALES)
    assert code == 0, err
    assert "Only the mailboxes of organizers office@contoso.com, sales@contoso.com are planned." in err
    assert [managed(sandbox, m) for m in ORGANIZERS] == [0, 0, 3, 3]
    # Both given: the named mailboxes that fall in the shard.
    code, out, _ = run("plan", "--organizer", LEAD, "--organizer", OFFICE, "--shard", "1/2")
    assert "[lead@contoso.com]" in out and "[office@contoso.com]" not in out


def test_the_mass_cancel_guard_counts_the_cancellations_of_the_shard(sandbox: SandboxProvider, workdir: Path) -> None:
    assert run("apply", "--auto-approve")[0] == 0
    for path in (workdir / "meetings").glob("*.yaml"):
        if path.name.startswith(("lead", "office")):
            path.unlink()
    # Six cancellations in all, more than policy.max_cancellations (3); three in each shard.
    assert "more than policy.max_cancellations (3)" in run("plan")[1]
    code, out, _ = run("apply", "--auto-approve", "--shard", "1/2")
    assert code == 0
    assert "Plan: 0 to create, 0 to update, 3 to cancel" in out
    assert managed(sandbox, LEAD) == 0 and managed(sandbox, OFFICE) == 3


def test_a_saved_plan_is_applied_as_planned_not_restricted_again(workdir: Path) -> None:
    assert run("plan", "--shard", "1/2", "--out", "plan.json")[0] == 0
    code, _, err = run("apply", "plan.json", "--shard", "1/2")
    assert code == 1
    assert "--shard is given to `meetings plan --out`, not to `meetings apply PLANFILE`" in " ".join(err.split())
