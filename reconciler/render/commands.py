"""The words of the commands' own results: validate, fmt, unlock, init, `sandbox serve`, and the
lines plan and apply print around a plan (defaults used, plan saved, nothing changed).

The CLI decides what happened and where a line goes (stdout or stderr); these functions say it.
Plans and apply reports have their own renderers (`human`, `markdown`, `jsonplan`, `jsonapply`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from reconciler.lockstate import LockRecord


def _count(n: int, singular: str) -> str:
    return f"{n} {singular}{'s' if n != 1 else ''}"


def using_defaults(directory: Path, config_file: str, backend: str, meetings_dir: Path) -> str:
    """No configuration file was found from `directory` up: the defaults are used."""
    return (
        f"No {config_file} in {directory} or its parents: using the defaults (backend {backend},"
        f" meetings in {meetings_dir})."
    )


def plan_saved(path: Path) -> str:
    """`plan --out` saved the plan."""
    return f"Plan saved to {path}; apply it with: meetings apply {path}"


#: `apply` refuses a plan with errors.
PLAN_HAS_ERRORS = "The plan has errors; nothing was changed."
#: The user answered no at `apply`'s prompt.
APPLY_CANCELLED = "Apply cancelled; nothing was changed."


def problems_found(count: int) -> str:
    """The closing line after the diagnostics of invalid input."""
    return f"{_count(count, 'problem')} found; nothing was changed."


def valid_meetings(count: int, directory: Path) -> str:
    """`validate`'s result when every file is valid."""
    return f"{_count(count, 'meeting')} in {directory} are valid."


def warning_line(text: str) -> str:
    """A warning of the loader, as `validate` prints it."""
    return f"Warning: {text}"


def reformatted_file(display: str, *, check: bool) -> str:
    """`fmt` names a file it rewrote, or under `--check` one it would rewrite."""
    return f"{'would reformat' if check else 'reformatted'} {display}"


def fmt_result(changed: int, total: int, *, check: bool) -> str:
    """`fmt`'s closing line: how many of the meeting files were (or would be) reformatted."""
    verb = "would be reformatted" if check else "reformatted"
    return f"{changed} of {_count(total, 'meeting file')} {verb}."


def lock_state_reset(mailbox: str) -> str:
    """`unlock` cleared a namespace item whose lock state could not be read."""
    return f"Reset an unreadable apply lock state in {mailbox}'s calendar."


def lock_removed(record: LockRecord, mailbox: str, now: datetime) -> str:
    """`unlock` removed a lock someone held (`record.holder` is set); `now` tells expired from not."""
    assert record.holder is not None
    expired = record.expires is not None and record.expires <= now
    return (
        f"Removed the apply lock of {record.holder.describe()} (since {_utc(record.since)},"
        f" {'expired' if expired else 'expires'} {_utc(record.expires)}) in {mailbox}'s calendar."
    )


def no_lock(mailbox: str) -> str:
    """`unlock` found no lock in the mailbox."""
    return f"No apply lock was held in {mailbox}'s calendar."


def _utc(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "?"


def init_wrote(path: Path) -> str:
    """`init` wrote one file of the scaffold."""
    return f"  wrote {path}"


def init_next_steps(directory: Path) -> list[str]:
    """What to do after `init`."""
    return [
        f"Next: cd {directory} && meetings plan   (sandbox: nobody receives mail)",
        "Then push to GitHub; docs/github-actions.md explains how to switch it to Microsoft Graph.",
    ]


def init_placeholder(action: str) -> str:
    """`init` wrote workflows that name the placeholder OWNER in the action reference."""
    return (
        f"Replace OWNER in {action} (.github/workflows/, .pre-commit-config.yaml), or run again with "
        "--action OWNER/REPOSITORY@REF --force."
    )


def serving(graph_url: str, ews_url: str) -> list[str]:
    """`sandbox serve` is listening: where each emulator answers, and how to stop it."""
    return [
        f"Graph emulator: {graph_url}/v1.0",
        f"EWS emulator:   {ews_url}/EWS/Exchange.asmx",
        "Press Ctrl+C to stop.",
    ]


#: `sandbox serve` was interrupted.
STOPPED = "Stopped."


def import_skipped(subject: str, reason: str) -> str:
    """`import` leaves a calendar item out, and why."""
    return f"skipped {subject!r}: {reason}"


def import_wrote(target: Path, meeting_id: str) -> str:
    """`import` wrote the file of one meeting."""
    return f"wrote {target} ({meeting_id})"


def import_result(count: int, *, dry_run: bool) -> str:
    """`import`'s closing line."""
    verb = "would be written" if dry_run else "written"
    return f"{_count(count, 'meeting file')} {verb}; `meetings plan` shows them as adopt."


def drift_written(names: list[str] | tuple[str, ...], meeting_id: str, path: Path, *, dry_run: bool) -> str:
    """`import --drift` wrote (or would write) the Outlook edits of one meeting into its file."""
    return f"{'would write' if dry_run else 'wrote'} {', '.join(names)} of {meeting_id} into {path}"


def drift_not_written(meeting_id: str, names: list[str] | tuple[str, ...]) -> str:
    """Outlook edits `import --drift` cannot write back into a file."""
    return (
        f"{meeting_id}: {', '.join(names)} changed in Outlook but cannot be written back simply;"
        " edit the file by hand to keep them (the plan reverts them otherwise)."
    )


def drift_result(count: int, *, dry_run: bool) -> str:
    """`import --drift`'s closing line."""
    return f"{_count(count, 'meeting')} edited outside git {'would be ' if dry_run else ''}written back."
