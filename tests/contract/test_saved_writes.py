"""A saved plan is written as it was reviewed, on every backend: `apply PLANFILE` executes the
occurrence writes the plan file carries (`writes`), and no provider decides them again."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any

from reconciler.model import Action, Every, Meeting, Recurrence, Weekday
from reconciler.plan import Plan
from reconciler.reconcile import apply_plan, stale_changes
from reconciler.render import jsonplan
from reconciler.state import to_json
from tests.contract.backends.harness import Backend
from tests.contract.test_contract import NAMESPACE, last_seq, plan_for
from tests.contract.test_recurrence import OccurrenceMail, announced, occurrence_mail
from tests.factories import declared_override, meeting

WEEKLY = Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=10)
SERIES = meeting(
    "team/weekly", start=datetime(2026, 12, 1, 10, 0), end=datetime(2026, 12, 1, 10, 30), recurrence=WEEKLY
)
#: Two occurrences cancelled and one renamed: three occurrence writes after no master write.
EDITED = dataclasses.replace(
    SERIES,
    recurrence=dataclasses.replace(
        WEEKLY,
        skip=(date(2026, 12, 15), date(2026, 12, 22)),
        overrides=(declared_override(date(2027, 1, 5), {"subject": "Kick-off"}),),
    ),
)


def saved_plan(backend: Backend, meetings: list[Meeting]) -> dict[str, Any]:
    """`meetings plan --out`: the plan as the file holds it."""
    plan = plan_for(backend, meetings)
    assert not plan.errors, plan.errors
    document: dict[str, Any] = json.loads(jsonplan.render(plan))
    return document


def apply_saved(backend: Backend, document: dict[str, Any]) -> tuple[Plan, OccurrenceMail]:
    """`meetings apply PLANFILE`: read the file, refuse stale changes, write the rest."""
    saved = jsonplan.parse(json.dumps(document))
    valid, stale = stale_changes(saved, backend.provider)
    assert stale == [], [o.message for o in stale]
    seq = last_seq(backend)
    report = apply_plan(valid, backend.provider)
    assert report.ok, [o.message for o in report.outcomes if o.status != "applied"]
    return saved, occurrence_mail(backend, seq)


def written_occurrences(backend: Backend) -> tuple[list[str], dict[str, str]]:
    """The series' cancelled occurrences and renamed ones (date -> subject) as the backend lists them."""
    (item,) = [o for o in backend.provider.list_managed(SERIES.organizer, NAMESPACE) if o.meeting_id == SERIES.id]
    return list(to_json(item.fields)["skip"]), {o["date"]: o["subject"] for o in to_json(item.fields)["overrides"]}


def test_applying_a_saved_plan_writes_and_mails_exactly_the_saved_occurrence_writes(backend: Backend) -> None:
    apply_saved(backend, saved_plan(backend, [SERIES]))
    document = saved_plan(backend, [EDITED])
    (change,) = document["changes"]
    assert change["action"] == Action.UPDATE.value
    assert [(e["kind"], e["date"]) for e in change["writes"]["edits"]] == [
        ("cancel", "2026-12-15"),
        ("cancel", "2026-12-22"),
        ("change", "2027-01-05"),
    ]
    saved, sent = apply_saved(backend, document)
    assert sent == announced(saved)
    assert {occurrence for (_, _, _, occurrence) in sent} == {"2026-12-15", "2026-12-22", "2027-01-05"}
    assert written_occurrences(backend) == (["2026-12-15", "2026-12-22"], {"2027-01-05": "Kick-off"})


def test_a_provider_executes_the_saved_writes_and_never_decides_them_again(backend: Backend) -> None:
    """Dropping a write from the saved plan drops it from what is written: the file, not a
    recomputation from the desired state, decides the occurrence writes and their mail."""
    apply_saved(backend, saved_plan(backend, [SERIES]))
    document = saved_plan(backend, [EDITED])
    (change,) = document["changes"]
    change["writes"]["edits"] = [e for e in change["writes"]["edits"] if e["date"] != "2026-12-22"]
    change["notifications"] = [n for n in change["notifications"] if n["occurrence"] != "2026-12-22"]
    saved, sent = apply_saved(backend, document)
    assert sent == announced(saved)
    assert {occurrence for (_, _, _, occurrence) in sent} == {"2026-12-15", "2027-01-05"}
    assert written_occurrences(backend) == (["2026-12-15"], {"2027-01-05": "Kick-off"})


def test_a_plan_saved_before_writes_were_carried_is_applied_as_that_version_applied_it(backend: Backend) -> None:
    apply_saved(backend, saved_plan(backend, [SERIES]))
    document = saved_plan(backend, [EDITED])
    (change,) = document["changes"]
    planned = change.pop("writes")
    saved, sent = apply_saved(backend, document)
    assert jsonplan.to_document(saved)["changes"][0]["writes"] == planned
    assert sent == announced(saved)
    assert written_occurrences(backend) == (["2026-12-15", "2026-12-22"], {"2027-01-05": "Kick-off"})
