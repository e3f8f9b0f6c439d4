"""The words of the commands' own results (`render.commands`) that no end-to-end test reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.lockstate import Holder, LockRecord
from reconciler.render import commands

SINCE = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
HOLDER = Holder(user="ci", host="runner-1", pid=42, command="meetings apply", token="t")


@pytest.mark.parametrize(("now", "state"), [(SINCE, "expires"), (SINCE + timedelta(minutes=10), "expired")])
def test_unlock_says_whose_lock_it_removed_and_whether_it_had_expired(now: datetime, state: str) -> None:
    record = LockRecord(holder=HOLDER, since=SINCE, expires=SINCE + timedelta(minutes=10))
    assert commands.lock_removed(record, "lead@contoso.com", now) == (
        "Removed the apply lock of ci@runner-1, pid 42, 'meetings apply' (since 2026-11-24 09:00:00 UTC,"
        f" {state} 2026-11-24 09:10:00 UTC) in lead@contoso.com's calendar."
    )


def test_unlock_of_an_unreadable_state_says_it_was_reset() -> None:
    assert commands.lock_state_reset("lead@contoso.com") == (
        "Reset an unreadable apply lock state in lead@contoso.com's calendar."
    )


def test_fmt_counts_files_in_the_singular_and_plural() -> None:
    assert commands.fmt_result(0, 1, check=True) == "0 of 1 meeting file would be reformatted."
    assert commands.fmt_result(2, 3, check=False) == "2 of 3 meeting files reformatted."


def test_init_says_what_to_do_next_and_which_placeholder_to_replace() -> None:
    assert commands.init_next_steps(Path("team")) == [
        "Next: cd team && meetings plan   (sandbox: nobody receives mail)",
        "Then push to GitHub; docs/github-actions.md explains how to switch it to Microsoft Graph.",
    ]
    assert commands.init_placeholder("OWNER/meetings-as-code@v1") == (
        "Replace OWNER in OWNER/meetings-as-code@v1 (.github/workflows/, .pre-commit-config.yaml), or run again"
        " with --action OWNER/REPOSITORY@REF --force."
    )


def test_plan_out_says_how_to_apply_the_saved_plan() -> None:
    assert commands.plan_saved(Path("plan.json")) == "Plan saved to plan.json; apply it with: meetings apply plan.json"
