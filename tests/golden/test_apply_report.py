"""The apply report for a terminal and as JSON (golden files under apply/): every outcome, the
problems with their reasons, the counts; the JSON document validates against its schema."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from reconciler.notices import StaleReason
from reconciler.render import human, jsonapply
from reconciler.report import ApplyReport, Outcome, OutcomeStatus
from tests.golden.test_golden import SCHEMA_PATH, check_golden
from tests.golden.test_markdown import APPLY_DIR, case_plan


def _report() -> ApplyReport:
    """One change of each status, a cancellation among the applied ones."""
    first, second, third = case_plan("create-with-attendees").changes
    cancel = case_plan("cancelled-tombstone-with-reason").changes[0]
    update = case_plan("attendee-only-change").changes[0]
    return ApplyReport(
        (
            Outcome(first, OutcomeStatus.APPLIED),
            Outcome(second, OutcomeStatus.FAILED, "platform/weekly-sync: Graph refused the request: 400."),
            Outcome(third, OutcomeStatus.APPLIED),
            Outcome(cancel, OutcomeStatus.APPLIED),
            Outcome(update, OutcomeStatus.STALE, stale=StaleReason.EDITED_IN_OUTLOOK),
        )
    )


def _apply_validator() -> Draft202012Validator:
    paths = (SCHEMA_PATH, SCHEMA_PATH.with_name("apply.schema.json"))
    plan_schema, apply_schema = (json.loads(path.read_text(encoding="utf-8")) for path in paths)
    Draft202012Validator.check_schema(apply_schema)
    registry: Registry[Any] = Registry().with_resource(plan_schema["$id"], Resource.from_contents(plan_schema))
    return Draft202012Validator(apply_schema, registry=registry)


def test_the_terminal_report_names_each_problem_with_its_reason_then_counts_every_outcome(
    update_golden: bool,
) -> None:
    report = _report()
    # Progress lines come only from writes; a stale change is refused before apply writes anything.
    text = "".join(human.render_progress(o) for o in report.outcomes if o.status is not OutcomeStatus.STALE)
    text += human.render_apply_problems(report) + human.render_apply_result(report)
    check_golden(APPLY_DIR, {"mixed-outcomes.txt": text}, update_golden)
    assert text.endswith("Apply finished: 3 applied, 1 failed, 1 refused as stale.\n")


def test_an_empty_report_says_the_calendars_match() -> None:
    empty = ApplyReport(())
    assert (human.render_apply_problems(empty), human.render_apply_result(empty)) == (
        "",
        "Nothing to apply: the calendars match the meeting files.\n",
    )


def test_the_json_document_holds_the_plan_and_every_outcome_and_validates_against_its_schema(
    update_golden: bool,
) -> None:
    plan = case_plan("create-with-attendees")
    text = jsonapply.render(plan, _report())
    check_golden(APPLY_DIR, {"mixed-outcomes.json": text}, update_golden)
    document = json.loads(text)
    _apply_validator().validate(document)
    assert document["apply"]["summary"] == {"applied": 3, "failed": 1, "stale": 1}
    assert [o["status"] for o in document["apply"]["outcomes"]] == ["applied", "failed", "applied", "applied", "stale"]
    assert document["plan"]["changes"][0]["id"] == document["apply"]["outcomes"][0]["id"]
