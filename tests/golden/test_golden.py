"""Golden plans: each folder under cases/ is meetings + observed calendar state -> three renderings.

`pytest tests/golden --update-golden` rewrites plan.txt, plan.json and plan.md; a reviewer reads the
diff. Every plan.json is also validated against schemas/plan.schema.json, the public contract.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.model import Meeting
from reconciler.notices import Worded
from reconciler.plan import Plan
from reconciler.render import human, jsonplan, markdown, notices
from tests.golden.forms import case_settings, meeting_from_json, plan_case, plan_from

HERE = Path(__file__).parent
CASES_DIR = HERE / "cases"
SCHEMA_PATH = HERE.parent.parent / "schemas" / "plan.schema.json"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "desired.json").exists())
TRUNCATION_NOTE = "more changes not shown: the comment would exceed GitHub's 65,536-character limit"


def renderings(plan: Plan) -> dict[str, str]:
    return {
        "plan.txt": human.render(plan),
        "plan.json": jsonplan.render(plan),
        "plan.md": markdown.render(plan),
    }


def check_golden(folder: Path, outputs: dict[str, str], update: bool) -> None:
    """Compare each output with its file in `folder`, or rewrite the files when `update`."""
    for name, actual in outputs.items():
        path = folder / name
        if update:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            continue
        if not path.exists():
            pytest.fail(f"{path} is missing; run pytest with --update-golden and review it.")
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"{path} differs; if the change is intended, run pytest --update-golden."


@pytest.fixture(scope="module")
def plan_validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(validator: Draft202012Validator, document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("case", CASES)
def test_each_case_renders_exactly_as_recorded(case: str, update_golden: bool) -> None:
    check_golden(CASES_DIR / case, renderings(plan_case(CASES_DIR / case)), update_golden)


@pytest.mark.parametrize("case", CASES)
def test_each_recorded_json_plan_validates_against_the_published_schema(
    case: str, plan_validator: Draft202012Validator
) -> None:
    document = json.loads((CASES_DIR / case / "plan.json").read_text(encoding="utf-8"))
    assert schema_errors(plan_validator, document) == []


def worded(plan: Plan) -> Plan:
    """`plan` with every error, warning and effect replaced by its words, in the order shown: the
    form a saved plan keeps them in."""
    changes = tuple(
        replace(
            c,
            warnings=tuple(Worded(notices.word(w)) for w in c.warnings),
            effects=tuple(Worded(notices.word_effect(e)) for e in c.effects),
        )
        for c in plan.changes
    )
    errors, warnings = (tuple(map(Worded, notices.ordered(n))) for n in (plan.errors, plan.warnings))
    return replace(plan, changes=changes, errors=errors, warnings=warnings)


@pytest.mark.parametrize("case", CASES)
def test_each_json_plan_reads_back_as_the_same_plan_with_its_messages_as_shown(case: str) -> None:
    plan = plan_case(CASES_DIR / case)
    saved = jsonplan.parse(jsonplan.render(plan))
    assert saved == worded(plan)
    assert renderings(saved) == renderings(plan)


@pytest.mark.parametrize("case", CASES)
def test_each_markdown_plan_fits_in_a_github_comment(case: str) -> None:
    text = (CASES_DIR / case / "plan.md").read_text(encoding="utf-8")
    assert len(text) <= markdown.GITHUB_COMMENT_LIMIT
    assert TRUNCATION_NOTE not in text


# -- a plan too large for one comment ----------------------------------------------------------------

LARGE_CASE = CASES_DIR / "markdown-too-large"  # case.json and plan.md; meetings are generated
LARGE_CREATES = 3000


def many_meetings() -> Iterator[Meeting]:
    """3,000 weekly meetings of three organizers, each with 40 attendees and a long body."""
    for n in range(LARGE_CREATES):
        team = f"team-{n % 50:02d}"
        yield meeting_from_json(
            {
                "id": f"{team}/sync-{n:04d}",
                "organizer": f"lead-{n % 3}@contoso.com",
                "subject": f"Sync {n:04d} | {team} <all hands>",
                "start": "2026-12-01T10:00",
                "end": "2026-12-01T10:30",
                "timezone": "Europe/Berlin",
                "recurrence": {"every": "week", "on": ["tuesday"], "until": "2027-06-29"},
                "required": sorted(f"person-{(n + k) % 500:03d}@contoso.com" for k in range(30)),
                "optional": sorted(f"guest-{(n + k) % 200:03d}@fabrikam.com" for k in range(10)),
                "location": "Berlin 3.14",
                "body": "Agenda:\n" + "\n".join(f"- item {k}" for k in range(40)),
                "source": f"meetings/{team}/sync-{n:04d}.yaml:1",
            }
        )


@pytest.fixture(scope="module")
def large_plan() -> Plan:
    return plan_from(list(many_meetings()), [], case_settings(LARGE_CASE))


def test_a_plan_too_large_for_one_comment_keeps_the_summary_and_says_what_is_left_out(
    large_plan: Plan, update_golden: bool
) -> None:
    text = markdown.render(large_plan)
    check_golden(LARGE_CASE, {"plan.md": text}, update_golden)
    assert len(text) <= markdown.GITHUB_COMMENT_LIMIT
    shown = text.count("<details>")
    assert 0 < shown < LARGE_CREATES
    assert f"… and {LARGE_CREATES - shown:,} {TRUNCATION_NOTE}." in text
    assert "Run `meetings plan` locally or download the plan artifact to see them all." in text
    assert f"| {LARGE_CREATES:,} | 0 | 0 | 0 | 0 |" in text  # the summary counts every change
    assert text.endswith("see them all.\n")


def test_the_json_plan_of_a_large_plan_is_complete_and_valid(
    large_plan: Plan, plan_validator: Draft202012Validator
) -> None:
    document = json.loads(jsonplan.render(large_plan))
    assert len(document["changes"]) == LARGE_CREATES
    assert document["summary"]["mail"]["invitation"] == LARGE_CREATES * 40
    # The changes are alike; validating a slice keeps the test fast (all 3,000 take seconds).
    document["changes"] = document["changes"][:100]
    assert schema_errors(plan_validator, document) == []


# -- the schema refuses what the contract does not allow ---------------------------------------------


def recorded(case: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CASES_DIR / case / "plan.json").read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize(
    ("case", "path", "value"),
    [
        ("create-with-attendees", ("format_version",), 2),
        ("create-with-attendees", ("backend",), "exchange"),
        ("create-with-attendees", ("summary", "unchanged"), 0),
        ("create-with-attendees", ("changes", 0, "action"), "no-op"),
        ("create-with-attendees", ("changes", 0, "item_id"), "item-1"),
        ("create-with-attendees", ("changes", 0, "fields", "colour"), {"before": None, "after": "red"}),
        ("create-with-attendees", ("changes", 0, "fields", "subject", "after"), 42),
        ("create-with-attendees", ("changes", 0, "desired", "show_as"), "away"),
        ("create-with-attendees", ("changes", 0, "notifications", 0, "kind"), "reminder"),
        ("create-with-attendees", ("changes", 0, "notifications", 0, "recipients"), []),
        ("deleted-file-prune", ("changes", 0, "desired"), {}),
        ("deleted-file-prune", ("changes", 0, "fields", "subject"), {"before": "a", "after": "b"}),
        ("update-subject-and-time", ("changes", 0, "change_key"), None),
        ("update-subject-and-time", ("changes", 0, "extra"), True),
    ],
)
def test_the_schema_refuses_a_document_outside_the_contract(
    case: str, path: tuple[str | int, ...], value: Any, plan_validator: Draft202012Validator
) -> None:
    document = recorded(case)
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    assert schema_errors(plan_validator, document) != []
