"""`meetings apply --format json`: one document holding the plan and what the apply did
(schemas/apply.schema.json), so a script reads a single value from stdout.

The plan inside is exactly `jsonplan.to_document` (it validates against plan.schema.json); the
report lists every outcome (refused stale changes of a saved plan included) and counts them.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan import Plan
from reconciler.render import jsonplan
from reconciler.render.notices import outcome_message
from reconciler.report import ApplyReport, Outcome, OutcomeStatus

#: Version of the apply document; a field is added only with a new version.
APPLY_FORMAT_VERSION = 1


def _outcome(outcome: Outcome) -> dict[str, Any]:
    change = outcome.change
    return {
        "id": change.meeting_id,
        "organizer": change.organizer,
        "action": change.action.value,
        "status": outcome.status.value,
        "message": outcome_message(outcome),
    }


def report_document(report: ApplyReport) -> dict[str, Any]:
    """The apply report: each outcome in the order apply wrote them, and the count per status."""
    return {
        "outcomes": [_outcome(o) for o in report.outcomes],
        "summary": {status.value: len(report.with_status(status)) for status in OutcomeStatus},
    }


def to_document(plan: Plan, report: ApplyReport) -> dict[str, Any]:
    return {
        "format_version": APPLY_FORMAT_VERSION,
        "plan": jsonplan.to_document(plan),
        "apply": report_document(report),
    }


def render(plan: Plan, report: ApplyReport) -> str:
    return json.dumps(to_document(plan, report), indent=2, ensure_ascii=False) + "\n"
