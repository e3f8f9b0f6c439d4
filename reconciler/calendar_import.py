"""The shell of `meetings import`: read the organizer's unmanaged meetings, leave out those the
repository already declares, make their files (`importing`) and prove each one means exactly the
item it came from, by loading it with the real loader and comparing the canonical fields.

A generated file that would not read back as its item (a field the file format cannot say) is
never written: it is reported as skipped with the fields that differ, so a plan right after the
import shows only `adopt`s without field changes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.adoption import match_key, with_file_body
from reconciler.config import Config
from reconciler.diff import diff_fields
from reconciler.errors import InputError, MeetingsError
from reconciler.formatting import format_text
from reconciler.importing import ImportedMeeting, ImportFilter, import_meetings
from reconciler.loading import load_meetings
from reconciler.model import Meeting
from reconciler.port import Provider, UnmanagedMeeting
from reconciler.state import meeting_state


@dataclass(frozen=True)
class Skipped:
    """An unmanaged meeting that is not imported, and why (a sentence)."""

    subject: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    files: tuple[ImportedMeeting, ...]
    skipped: tuple[Skipped, ...]


def run_import(
    provider: Provider, config: Config, existing: Sequence[Meeting], organizer: str, choose: ImportFilter
) -> ImportResult:
    """The files to write for `organizer`'s unmanaged meetings that `choose` accepts."""
    declared = {match_key(m.organizer, meeting_state(m)): m.id for m in existing}
    skipped: list[Skipped] = []
    wanted: list[UnmanagedMeeting] = []
    for found in provider.list_unmanaged(organizer):
        if not choose.accepts(found):
            continue
        known = declared.get(match_key(found.meeting.organizer, found.meeting.fields))
        if known is not None:
            subject = found.meeting.fields.subject
            skipped.append(Skipped(subject, f"already in the repository as {known}"))
            continue
        wanted.append(found)
    files = import_meetings(wanted, taken_ids={m.id for m in existing}, groups=config.groups, defaults=config.defaults)
    files = [replace(f, text=format_text(f.text)) for f in files]
    items = {found.meeting.item_id: found for found in wanted}
    good, bad = _checked(config, [(file, items[file.item_id]) for file in files])
    return ImportResult(tuple(good), (*skipped, *bad))


def _checked(
    config: Config, pairs: list[tuple[ImportedMeeting, UnmanagedMeeting]]
) -> tuple[list[ImportedMeeting], list[Skipped]]:
    """The files that load back as their items' canonical fields, and the others as skipped."""
    if not pairs:
        return [], []
    with tempfile.TemporaryDirectory(prefix="meetings-import-") as scratch:
        root = Path(scratch)
        (root / "meetings").mkdir()
        for file, _ in pairs:
            (root / "meetings" / file.file_name).write_text(file.text, encoding="utf-8")
        try:
            loaded = {
                m.id: m for m in load_meetings(replace(config, root=root, meetings_dir=root / "meetings")).meetings
            }
        except InputError as error:
            problems = "; ".join(str(d) for d in error.diagnostics[:3])
            raise MeetingsError(
                f"meetings import generated files that do not validate ({problems}); nothing was written. This is a"
                " bug in meetings import: please report it."
            ) from error
    good, bad = [], []
    for file, found in pairs:
        desired = meeting_state(loaded[file.meeting_id])
        seen = with_file_body(found.meeting.fields, desired)
        differing = sorted(f.name for f in diff_fields(seen, desired))
        if differing:
            subject = found.meeting.fields.subject
            bad.append(
                Skipped(subject, f"its file would not say exactly what the calendar holds ({', '.join(differing)})")
            )
        else:
            good.append(file)
    return good, bad
