"""Deleting every file of one organizer, through the real loader, on every backend.

Graph and EWS cannot enumerate mailboxes, so an organizer's meetings are found only when the
configuration lists it (`organizers:`); validation insists on that. With the list in place the plan
cancels the meetings of an organizer whose last file was deleted (or, with `policy.prune: false`,
leaves them in the calendar and says so), exactly as on the sandbox, which lists every mailbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from reconciler.config import load_config
from reconciler.loading import load_meetings
from reconciler.model import Action
from reconciler.notices import FileDeletedKept
from reconciler.plan import Plan, PlanPolicy
from reconciler.reconcile import apply_plan, make_plan
from tests.contract.backends.harness import Backend

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

SYNC = """\
id: platform/sync
organizer: lead@contoso.com
subject: Platform sync
start: 2026-12-01T10:00
timezone: Europe/Berlin
attendees: {required: [alice@contoso.com]}
"""

OFFSITE = """\
id: company/offsite
organizer: office@contoso.com
subject: Offsite
start: 2026-12-10T09:00
duration: 8h
timezone: Europe/Berlin
attendees: {required: [alice@contoso.com, bob@contoso.com]}
"""


def repository(root: Path, backend: str, *, prune: bool) -> None:
    (root / "meetings" / "office").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(
        f"namespace: contract\nbackend: {backend}\norganizers: [lead@contoso.com, office@contoso.com]\n"
        f"policy: {{prune: {str(prune).lower()}}}\n",
        encoding="utf-8",
    )
    (root / "meetings" / "sync.yaml").write_text(SYNC, encoding="utf-8")
    (root / "meetings" / "office" / "offsite.yaml").write_text(OFFSITE, encoding="utf-8")


def plan(root: Path, backend: Backend) -> Plan:
    """What `meetings plan` plans: the files as loaded, the organizers the configuration lists."""
    config = load_config(None, env={}, cwd=root)
    return make_plan(
        list(load_meetings(config).meetings),
        backend.provider,
        namespace=config.namespace,
        policy=PlanPolicy(prune=config.policy.prune),
        now=NOW,
        extra_organizers=config.listed_organizers,
    )


def test_deleting_every_file_of_a_listed_organizer_cancels_its_meetings(backend: Backend, tmp_path: Path) -> None:
    repository(tmp_path, backend.name, prune=True)
    assert apply_plan(plan(tmp_path, backend), backend.provider).ok
    (tmp_path / "meetings" / "office" / "offsite.yaml").unlink()
    seq = backend.store.mail()[-1].seq

    cancel = plan(tmp_path, backend)

    assert [(c.action, c.meeting_id, c.organizer) for c in cancel.changes] == [
        (Action.CANCEL, "company/offsite", "office@contoso.com")
    ]
    assert apply_plan(cancel, backend.provider).ok
    assert sorted((m.recipient, m.kind) for m in backend.store.mail() if m.seq > seq) == [
        ("alice@contoso.com", "cancellation"),
        ("bob@contoso.com", "cancellation"),
    ]
    assert plan(tmp_path, backend).changes == ()


def test_without_prune_the_deleted_organizers_meetings_are_released_with_a_warning(
    backend: Backend, tmp_path: Path
) -> None:
    repository(tmp_path, backend.name, prune=False)
    assert apply_plan(plan(tmp_path, backend), backend.provider).ok
    (tmp_path / "meetings" / "office" / "offsite.yaml").unlink()

    released = plan(tmp_path, backend)

    assert (released.changes, released.warnings) == (
        (),
        (FileDeletedKept("company/offsite"),),
    )
    assert [item.doc.get("subject") for item in backend.store.list_items("office@contoso.com")] == ["Offsite"]
