"""`meetings sandbox respond` and `meetings status` through the CLI on the quick start's sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.test_cli import workdir

__all__ = ["workdir"]


@pytest.fixture
def applied(workdir: Path) -> Path:
    assert run("apply", "--auto-approve")[0] == 0
    return workdir


def test_an_answer_given_in_the_sandbox_shows_in_status_per_attendee(applied: Path) -> None:
    assert run("sandbox", "respond", "alice@contoso.com", "platform/weekly-sync", "accept") == (
        0,
        "alice@contoso.com answered accept to platform/weekly-sync ('Platform weekly sync').\n",
        "",
    )
    assert run("sandbox", "respond", "room-berlin-3@contoso.com", "platform/weekly-sync", "decline")[0] == 0
    code, out, _ = run("status", "platform/weekly-sync", "--attendees")
    assert code == 0
    assert out == (
        'platform/weekly-sync  [lead@contoso.com] "Platform weekly sync"  2026-12-01 09:00 UTC\n'
        "    1 accepted, 0 tentative, 0 declined, 3 no answer\n"
        "    ! the room room-berlin-3@contoso.com declined\n"
        "      alice@contoso.com          accepted\n"
        "      bob@contoso.com            no answer\n"
        "      carol@contoso.com          no answer\n"
        "      dave@contoso.com           no answer\n"
        "      room-berlin-3@contoso.com  declined (room)\n"
    )


def test_answers_change_nothing_and_a_declined_room_shows_in_the_next_plan(applied: Path) -> None:
    run("sandbox", "respond", "room-berlin-3@contoso.com", "platform/weekly-sync", "decline")
    code, out, _ = run("plan", "--detailed-exitcode")
    assert code == 0
    assert "Warning: platform/weekly-sync: the room room-berlin-3@contoso.com declined the meeting" in out


def test_answering_for_someone_who_is_not_invited_is_a_clear_error(applied: Path) -> None:
    code, out, err = run("sandbox", "respond", "zed@contoso.com", "platform/weekly-sync", "tentative")
    assert (code, out, err) == (1, "", "Error: The meeting does not list zed@contoso.com as an attendee.\n")


def test_status_of_a_meeting_that_is_not_in_the_calendars_is_a_clear_error(applied: Path) -> None:
    code, _, err = run("status", "platform/nothing")
    assert (code, err) == (1, "Error: No managed meeting platform/nothing is in the calendars.\n")
