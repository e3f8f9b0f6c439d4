"""Writing edits made outside git back into meeting files: times in the file's own notation."""

from __future__ import annotations

from datetime import date, datetime

from reconciler.writeback import edit_text

FILE = """id: team/demo
organizer: carol@contoso.com
subject: Demo
start: 2026-12-05T11:00
duration: 30m
timezone: Europe/Berlin
"""


def test_a_meeting_moved_in_outlook_is_written_back_as_start_and_duration() -> None:
    moved = {"team/demo": {"start": datetime(2026, 12, 5, 12, 0), "end": datetime(2026, 12, 5, 13, 15)}}
    assert edit_text(FILE, moved, {}) == FILE.replace(
        "start: 2026-12-05T11:00\nduration: 30m", ("start: 2026-12-05T12:00\nduration: 1h15m")
    )


def test_an_all_day_meeting_moved_in_outlook_is_written_back_as_dates() -> None:
    text = (
        "id: team/offsite\norganizer: carol@contoso.com\nsubject: Offsite\n"
        "all_day: true\nstart: 2026-12-07\nend: 2026-12-09\n"
    )
    moved = {"team/offsite": {"start": date(2026, 12, 14), "end": date(2026, 12, 16)}}
    assert edit_text(text, moved, {}) == text.replace("2026-12-07", "2026-12-14").replace("2026-12-09", "2026-12-16")
