"""The Markdown renderer's promises: user values stay inert, the output fits its limit, banners say
what matters, and the apply summary reports failures with their reasons (golden files under apply/).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.model import Action, MailKind
from reconciler.notices import ProtectedFileDeleted, StaleReason
from reconciler.notify import Notification
from reconciler.plan import Change, Plan
from reconciler.render import markdown
from reconciler.report import ApplyReport, Outcome, OutcomeStatus
from tests.golden.forms import plan_case
from tests.golden.test_golden import CASES_DIR, check_golden

APPLY_DIR = Path(__file__).parent / "apply"
NASTY = "Q&A | <b>Retro</b> `rm -rf` *not bold* @octocat $x$ [link](http://x)"


def case_plan(name: str) -> Plan:
    return plan_case(CASES_DIR / name)


def tables(text: str) -> list[list[str]]:
    """Each Markdown table of `text` as its rows (header and delimiter row included)."""
    found: list[list[str]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if previous.startswith("|"):
                found[-1].append(line)
            else:
                found.append([line])
        previous = line
    return found


def cells(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def ragged_rows(text: str) -> list[str]:
    """Rows with a different number of cells than their table's header."""
    return [row for table in tables(text) for row in table if cells(row) != cells(table[0])]


def many_changes(n: int, *, recipients: int = 3) -> Plan:
    people = tuple(f"p{k:05d}@contoso.com" for k in range(recipients))
    changes = tuple(
        Change(
            Action.CANCEL,
            f"team/meeting-{k:05d}",
            "lead@contoso.com",
            f"Meeting {k}",
            item_id=f"item-{k}",
            change_key=f"ck-{k}",
            notifications=(Notification(MailKind.CANCELLATION, people),),
        )
        for k in range(n)
    )
    return Plan("sandbox", "team", "2026-11-24T09:00:00+00:00", changes)


# -- escaping ---------------------------------------------------------------------------------------


def test_escape_turns_markdown_and_html_metacharacters_into_entities() -> None:
    assert markdown.escape("a|b <i> `x` *y* [z] \\ ~ $") == (
        "a&#124;b &lt;i&gt; &#96;x&#96; &#42;y&#42; &#91;z&#93; &#92; &#126; &#36;"
    )


def test_escape_keeps_underscores_inside_words_and_escapes_those_that_could_open_emphasis() -> None:
    assert markdown.escape("all_day _x_") == "all_day &#95;x&#95;"


def test_escape_breaks_mentions_but_not_addresses() -> None:
    assert markdown.escape("ping @octocat, mail a@contoso.com") == "ping @&#8203;octocat, mail a@contoso.com"


def test_escape_puts_every_line_of_a_multi_line_value_on_one_table_row() -> None:
    assert markdown.escape("one\ntwo\r\nthree") == "one<br>two<br>three"


def test_a_hostile_subject_cannot_add_table_cells_tags_or_mentions() -> None:
    text = markdown.render(case_plan("escaping-user-values"))
    assert ragged_rows(text) == []
    assert "<b>Retro" not in text
    assert "<script" not in text
    assert "`rm" not in text
    assert "@octocat" not in text
    assert "Q&amp;A &#124; &lt;b&gt;Retro&lt;/b&gt;" in text


def test_every_table_row_of_every_case_has_as_many_cells_as_its_header() -> None:
    for folder in sorted(p for p in CASES_DIR.iterdir() if (p / "desired.json").exists()):
        assert ragged_rows(markdown.render(plan_case(folder))) == [], folder.name


# -- banners ----------------------------------------------------------------------------------------


def test_a_plan_that_cancels_opens_with_a_warning_naming_the_meetings() -> None:
    text = markdown.render(case_plan("deleted-file-prune"))
    assert "> [!WARNING]\n> This plan **cancels 1 meeting**: <code>platform/retro</code>." in text
    assert "> 4 people will receive a cancellation." in text


def test_a_plan_without_cancellations_has_no_cancellation_warning() -> None:
    assert "[!WARNING]" not in markdown.render(case_plan("update-subject-and-time"))


def test_a_plan_with_errors_says_it_cannot_be_applied() -> None:
    text = markdown.render(case_plan("deleted-file-protected"))
    assert "> [!CAUTION]\n> **This plan cannot be applied:** it has 1 error. Fix it and plan again." in text
    assert "No changes to apply." in text


def test_a_plan_with_nothing_to_do_says_so() -> None:
    text = markdown.render(case_plan("no-changes"))
    assert "No changes. The calendars match the meeting files." in text
    assert "<details>" not in text


def test_drift_left_alone_by_policy_is_not_described_as_changed_back() -> None:
    text = markdown.render(case_plan("drift-warn-policy"))
    assert "location changed outside git; left as is (policy.drift: warn)." in text
    assert "changes it back" not in text


def test_drift_that_the_plan_reverts_is_described_as_changed_back() -> None:
    text = markdown.render(case_plan("drift"))
    assert "this plan changes it back to the file" in text


def test_cancellations_are_listed_before_updates_and_creates() -> None:
    plan = case_plan("create-with-attendees")
    cancel = Change(Action.CANCEL, "zz/last", "zz@contoso.com", "Cancelled", item_id="i", change_key="c")
    text = markdown.render(replace(plan, changes=(*plan.changes, cancel)))
    assert text.index("### Cancellations (1)") < text.index("### New meetings (3)")


# -- size -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1500, 3000, 5000, 20000])
def test_the_plan_never_exceeds_the_limit_and_counts_what_it_left_out(limit: int) -> None:
    plan = many_changes(200)
    text = markdown.render(plan, limit=limit)
    assert len(text) <= limit
    shown = text.count("<details>")
    assert (
        f"… and {200 - shown:,} more changes not shown: the comment would exceed its {limit:,}-character limit." in text
    )


def test_a_plan_that_fits_shows_every_change_and_no_note() -> None:
    text = markdown.render(many_changes(5))
    assert text.count("<details>") == 5
    assert "not shown" not in text


def test_a_limit_smaller_than_the_summary_still_holds() -> None:
    assert len(markdown.render(many_changes(50), limit=120)) <= 120


def test_a_meeting_with_thousands_of_attendees_lists_the_first_fifty_and_counts_the_rest() -> None:
    text = markdown.render(many_changes(1, recipients=5000))
    assert "and 4,950 more" in text
    assert len(text) < 10000


def test_thousands_of_errors_are_cut_so_the_summary_and_changes_still_show() -> None:
    plan = replace(many_changes(3), errors=tuple(ProtectedFileDeleted(f"team/m{k}") for k in range(5000)))
    text = markdown.render(plan)
    assert len(text) <= markdown.GITHUB_COMMENT_LIMIT
    assert "more errors not shown; run `meetings plan` to see all." in text
    assert "| Invitations | Updates | Cancellations |" in text
    assert text.count("<details>") == 3


def test_a_very_long_subject_is_shortened() -> None:
    plan = many_changes(1)
    plan = replace(plan, changes=(replace(plan.changes[0], subject="x" * 10000),))
    assert len(markdown.render(plan)) < 3000


# -- the apply summary ------------------------------------------------------------------------------


def mixed_report() -> ApplyReport:
    plan = case_plan("create-with-attendees")
    cancel = case_plan("cancelled-tombstone-with-reason").changes[0]
    update = case_plan("attendee-only-change").changes[0]
    first, second, third = plan.changes
    return ApplyReport(
        (
            Outcome(first, OutcomeStatus.APPLIED),
            Outcome(
                second,
                OutcomeStatus.FAILED,
                "platform/weekly-sync: Graph refused the request: the room is not bookable | 400.",
            ),
            Outcome(third, OutcomeStatus.APPLIED),
            Outcome(cancel, OutcomeStatus.APPLIED),
            Outcome(update, OutcomeStatus.STALE, stale=StaleReason.EDITED_IN_OUTLOOK),
        )
    )


def test_the_apply_summary_reports_what_was_applied_what_failed_and_who_got_mail(update_golden: bool) -> None:
    text = markdown.render_apply_summary(mixed_report())
    check_golden(APPLY_DIR, {"mixed-outcomes.md": text}, update_golden)
    assert text.startswith("## Meetings apply: 3 applied, 1 failed, 1 refused as stale\n")
    assert "> [!CAUTION]" in text
    assert "the room is not bookable &#124; 400." in text
    assert text.index("### Failed (1)") < text.index("### Refused as stale (1)") < text.index("### Applied (3)")
    # Mail counts only what the applied changes sent: 3 + 2 invitations, 4 cancellations, to 7 people.
    assert "| 5 | 0 | 4 | 7 |" in text


def test_an_apply_summary_of_nothing_says_there_was_nothing_to_do(update_golden: bool) -> None:
    text = markdown.render_apply_summary(ApplyReport(()))
    check_golden(APPLY_DIR, {"nothing.md": text}, update_golden)
    assert "Nothing to apply: the calendars match the meeting files." in text
    assert "[!CAUTION]" not in text


def test_an_apply_summary_with_only_successes_has_no_caution_banner() -> None:
    plan = case_plan("create-with-attendees")
    text = markdown.render_apply_summary(ApplyReport(tuple(Outcome(c, OutcomeStatus.APPLIED) for c in plan.changes)))
    assert "[!CAUTION]" not in text
    assert "### Applied (3)" in text


def test_a_huge_apply_summary_keeps_the_failures_and_fits_the_limit() -> None:
    plan = many_changes(3000, recipients=40)
    outcomes = [Outcome(c, OutcomeStatus.APPLIED) for c in plan.changes]
    outcomes[2999] = Outcome(plan.changes[2999], OutcomeStatus.FAILED, "The server timed out.")
    text = markdown.render_apply_summary(ApplyReport(tuple(outcomes)))
    assert len(text) <= markdown.GITHUB_COMMENT_LIMIT
    assert "<code>team/meeting-02999</code> (<code>lead@contoso.com</code>): The server timed out." in text
    assert "### Failed (1)" in text
    assert "more changes not shown: the summary would exceed GitHub's 65,536-character limit." in text
