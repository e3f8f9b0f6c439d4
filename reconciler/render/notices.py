"""The words of every plan error, warning and effect (`reconciler.notices`), written once.

The terminal, Markdown and the JSON plan all show `word(notice)` and `word_effect(effect)`, and
list a plan's errors and warnings in the order of `ordered`, so no two renderings can disagree; the
apply reports say why a change was not applied with `outcome_message`.
Each sentence starts with the meeting id it is about, where there is one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import assert_never

from reconciler.freebusy import BusyStatus
from reconciler.notices import (
    AddressBusy,
    AdoptedUnmanaged,
    AdoptMailNeeded,
    AlreadyEnded,
    AmbiguousFiles,
    AmbiguousItems,
    AttendeeChanged,
    AvailabilityUnknown,
    DriftKept,
    DstShift,
    DuplicateItem,
    Effect,
    FileDeletedKept,
    FileMayBeDeleted,
    FileNotRead,
    ForeignLookalike,
    ForeignLookalikes,
    InputFinding,
    LateChange,
    LateChanges,
    MarkerRemoval,
    MessageTooLarge,
    Moved,
    MovedIntoPast,
    NamespaceRewrite,
    NearDailyLimit,
    NothingToRelease,
    Notice,
    OccurrenceCancelled,
    OccurrenceChanged,
    OccurrenceDetail,
    OccurrenceRestored,
    OccurrencesAdded,
    OccurrencesDropped,
    OccurrencesRetimed,
    OnlineMeetingOff,
    OrganizerChanged,
    OverDailyLimit,
    PreviousNamespaceItemLeft,
    PreviousNamespaceTwin,
    ProtectedByAcceptances,
    ProtectedFileDeleted,
    Recreated,
    RemovedOutsideGitKept,
    RoomConflict,
    RoomDeclined,
    RoomDoubleBooked,
    SeriesEnded,
    SeriesRewritten,
    SkipLifted,
    Span,
    StaleReason,
    TextChanged,
    TooManyCancellations,
    UnmanagedAdoption,
    UnmanagedItem,
    ValueSet,
    Worded,
)
from reconciler.report import Outcome

#: Periods of a DST warning named; any further ones are only counted, to keep the plan readable.
MAX_PERIODS = 3
#: Dates named at most in one effect.
MAX_DATES = 4
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_UTC_MINUTE = "%Y-%m-%d %H:%M UTC"
#: Notices worded already, or the loader's: shown first, in the order they were listed.
_LISTED_FIRST = (FileNotRead, InputFinding, Worded)


def ordered(notices: Iterable[Notice]) -> list[str]:
    """`notices` worded, in the order every renderer lists them: the loader's findings (and the
    messages of a saved plan) first, as they were listed (file order); then the planner's, sorted by
    their words."""
    items = list(notices)
    first = [word(n) for n in items if isinstance(n, _LISTED_FIRST)]
    return first + sorted(word(n) for n in items if not isinstance(n, _LISTED_FIRST))


def word(notice: Notice) -> str:
    """One plan error or warning as the sentence a reviewer reads."""
    match notice:
        case TooManyCancellations(count, limit):
            return (
                f"The plan cancels {count} meetings, more than policy.max_cancellations ({limit});"
                " pass --allow-mass-cancel if this is intended."
            )
        case LateChanges(ids, notice_period):
            return (
                f"The plan changes or cancels {_count(len(ids), 'meeting')} starting within policy.min_notice"
                f" ({duration(notice_period)}): {', '.join(ids)}; attendees may not see the mail in time."
                " Pass --allow-late if this is intended."
            )
        case OrganizerChanged(meeting_id, before, after):
            return (
                f"{meeting_id}: the organizer changed from {before} to {after}; Exchange cannot move a meeting"
                " between mailboxes. Cancel it (cancelled:) and declare a new meeting with a new id instead."
            )
        case ProtectedFileDeleted(meeting_id):
            return (
                f"{meeting_id}: the meeting file was deleted but the meeting is protected (protect: true); restore"
                " the file, or keep it with `cancelled:` to cancel the meeting on purpose."
            )
        case PreviousNamespaceItemLeft(meeting_id, namespace, organizer):
            return (
                f"{meeting_id}: a calendar item of the previous namespace {namespace!r} in {organizer}'s"
                " calendar has no meeting file; it is left alone."
            )
        case PreviousNamespaceTwin(meeting_id, namespace, previous_id):
            return (
                f"{meeting_id}: a meeting with the same organizer, subject and start exists under the previous"
                f" namespace {namespace!r} as {previous_id}; creating it makes a duplicate. Give the file"
                f" the id {previous_id} (or moved_from: [{previous_id}]) to adopt it instead."
            )
        case MovedIntoPast(meeting_id):
            return f"{meeting_id}: the file puts the meeting in the past; a meeting is not moved into the past."
        case NothingToRelease(meeting_id):
            return f"{meeting_id}: release: true, but no calendar item carries this id; nothing to release."
        case AlreadyEnded(meeting_id):
            return f"{meeting_id}: the meeting already ended; it is not created."
        case RemovedOutsideGitKept(meeting_id):
            return (
                f"{meeting_id}: the meeting was cancelled or deleted outside git after the last apply; left as is"
                " (policy.drift: warn)."
            )
        case FileDeletedKept(meeting_id):
            return (
                f"{meeting_id}: the meeting file was deleted; the meeting is left in the calendar"
                " (policy.prune is off)."
            )
        case ForeignLookalikes(count, namespaces):
            names = ", ".join(repr(n) for n in namespaces)
            return (
                f"{_count(count, 'meeting')} this plan creates look{'s' if count == 1 else ''} identical to"
                f" meetings of namespace {names} in the same calendars. If this repository's namespace was renamed,"
                f" list {names} under previous_namespaces in reconciler.yaml: they are then adopted, not created"
                " again."
            )
        case ForeignLookalike(meeting_id, organizer, namespace, foreign_id):
            return (
                f"{meeting_id}: {organizer}'s calendar already holds a meeting with this subject and start"
                f" under namespace {namespace!r} ({foreign_id or 'no id'}); creating it invites everyone a"
                " second time."
            )
        case DriftKept(meeting_id, fields):
            return f"{meeting_id}: {', '.join(fields)} changed outside git; left as is (policy.drift: warn)."
        case DstShift():
            return _dst(notice)
        case OnlineMeetingOff(meeting_id):
            return (
                f"{meeting_id}: online_meeting turns off: the Teams join link is removed from the meeting, and"
                " attendees who kept the link can no longer join with it."
            )
        case Recreated(meeting_id):
            return (
                f"{meeting_id}: the meeting was cancelled or deleted outside git (in Outlook) after the last apply;"
                " this plan creates it again, so every attendee is invited anew."
            )
        case LateChange(meeting_id, starts, notice_period):
            return (
                f"{meeting_id}: late change: the meeting starts at {starts.strftime(_UTC_MINUTE)}, within"
                f" policy.min_notice ({duration(notice_period)})."
            )
        case DuplicateItem(meeting_id, starts):
            return (
                f"{meeting_id}: a second calendar item (starting {starts.strftime(_UTC_MINUTE)}) carries this id,"
                " left by two applies that ran at the same time or by a version without the apply lock; this copy"
                " is cancelled, so its attendees get one cancellation for it and no new invitation."
            )
        case SeriesEnded(meeting_id, last):
            return (
                f"{meeting_id}: the series has started, so it is ended after {last.isoformat()} instead of being"
                " cancelled; past occurrences stay."
            )
        case AdoptedUnmanaged(meeting_id, item):
            return (
                f"{meeting_id}: matches {_unmanaged(item)} (same organizer, subject, start and attendees; item id"
                f" {item.item_id}); it is adopted instead of created again."
            )
        case AmbiguousFiles(meeting_ids, item):
            return (
                f"{', '.join(meeting_ids)}: these meeting files all match {_unmanaged(item)}; give each file its own"
                " subject, start or attendees, or delete all but one."
            )
        case AmbiguousItems(meeting_id, item_ids):
            return (
                f"{meeting_id}: the file matches {len(item_ids)} unmanaged calendar items with the same organizer,"
                f" subject, start and attendees ({', '.join(item_ids)}); delete the duplicates in Outlook so one is"
                " left to adopt."
            )
        case AdoptMailNeeded(meeting_id, backend_title):
            return (
                f"{meeting_id}: adopting this unmanaged meeting writes our marker on it; {backend_title} documents no"
                " silent way to write it, so every attendee may receive an update. Pass --allow-adopt-mail to accept"
                " that; an adoption that also changes the meeting needs no flag (the marker goes with that one update)."
            )
        case OverDailyLimit(organizer, recipients, limit):
            return (
                f"{organizer}: the plan sends mail to {recipients:,} recipients, more than limits.recipients_per_day"
                f" ({limit:,}); Exchange would block the mailbox from sending for the rest of the day. Split the plan"
                " (fewer meeting files per pull request, or apply with --organizer/--shard on different days)."
            )
        case NearDailyLimit(organizer, recipients, limit):
            share = math.floor(recipients * 100 / limit)
            return (
                f"{organizer}: the plan sends mail to {recipients:,} recipients, {share}%"
                f" of limits.recipients_per_day ({limit:,}); mail the mailbox sends otherwise today counts too, and"
                " past the limit Exchange blocks it from sending."
            )
        case MessageTooLarge(meeting_id, organizer, kind, occurrence, recipients, limit):
            about = f" for the occurrence on {occurrence}" if occurrence else ""
            return (
                f"{meeting_id}: the {kind.value}{about} from {organizer} goes to {recipients:,} recipients, more than"
                f" limits.recipients_per_message ({limit:,}); Exchange refuses such a message. Invite a distribution"
                " group (it counts as one recipient) or split the attendees."
            )
        case ProtectedByAcceptances(meeting_id, accepted_by, threshold):
            return (
                f"{meeting_id}: the plan cancels a meeting {len(accepted_by)} people accepted"
                f" ({', '.join(accepted_by)}),"
                f" at least policy.protect_accepted ({threshold}); pass --allow-mass-cancel if this is intended."
            )
        case RoomDeclined(meeting_id, room):
            return f"{meeting_id}: the room {room} declined the meeting; book another room or change the time."
        case AddressBusy() | RoomDoubleBooked():
            return _room_conflict(notice)
        case AvailabilityUnknown(meeting_id, address, reason):
            return f"{meeting_id}: {address}'s availability is unknown ({reason}); it was not checked."
        case RoomConflict(conflict):
            return f"{_room_conflict(conflict)} policy.room_conflicts is error."
        case FileNotRead(path):
            return f"{path} is not read: only .yaml and .yml files are meeting files"
        case InputFinding(diagnostic):
            return str(diagnostic)
        case Worded(text):
            return text
        case _:
            assert_never(notice)


def _unmanaged(item: UnmanagedItem) -> str:
    starts = item.starts.strftime(_UTC_MINUTE)
    return f"the unmanaged calendar item {item.subject!r} starting {starts} in {item.organizer}'s calendar"


def _room_conflict(conflict: AddressBusy | RoomDoubleBooked) -> str:
    span = f"{conflict.start.strftime('%Y-%m-%d %H:%M')}-{conflict.end.strftime('%H:%M')} UTC"
    if isinstance(conflict, RoomDoubleBooked):
        return (
            f"{conflict.meeting_id}: the room {conflict.room} is also booked by {conflict.other} (both in this"
            f" repository), overlapping {span}."
        )
    what = "the room " if conflict.room else ""
    status = "busy" if conflict.status is BusyStatus.BUSY else f"busy ({conflict.status.value})"
    return f"{conflict.meeting_id}: {what}{conflict.address} is {status} {span} at the meeting's time."


def duration(value: timedelta) -> str:
    """A policy duration as reconciler.yaml writes it: `2d`, `12h` or `90m`."""
    minutes = int(value.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _count(n: int, singular: str) -> str:
    return f"{n} {singular}{'s' if n != 1 else ''}"


def _dst(shift: DstShift) -> str:
    periods = [
        f"{run.time} on {run.first}" if run.first == run.last else f"{run.time} from {run.first} to {run.last}"
        for run in shift.runs
    ]
    changing = shift.changing_zone
    reason = (
        "daylight-saving changes on different dates"
        if changing is None
        else f"{changing} changes for daylight saving, {shift.steady_zone} does not"
    )
    return (
        f"{shift.meeting_id}: {shift.wall} {shift.home_zone} is {shift.usual} in {shift.zone}, but"
        f" {_periods(periods)} ({reason})"
    )


def _periods(periods: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`, or `a, b, c and N more periods` beyond MAX_PERIODS."""
    hidden = len(periods) - MAX_PERIODS
    if hidden > 0:
        return f"{', '.join(periods[:MAX_PERIODS])} and {hidden} more period{'s' if hidden > 1 else ''}"
    return periods[0] if len(periods) == 1 else f"{', '.join(periods[:-1])} and {periods[-1]}"


# -- apply outcomes ----------------------------------------------------------------------------------

_STALE = {
    StaleReason.CREATED_SINCE: "created in the calendar after the plan was made",
    StaleReason.GONE: "no longer in the calendar",
    StaleReason.CHANGED_BY_APPLY: "changed by another apply after the plan was made",
    StaleReason.EDITED_IN_OUTLOOK: "edited in Outlook after the plan was made",
}


def outcome_message(outcome: Outcome) -> str:
    """Why a change was not applied: the provider's sentence, or why it was refused as stale ("" for
    a change applied)."""
    if outcome.stale is not None:
        return f"stale: {_STALE[outcome.stale]}; plan again."
    return outcome.message


# -- effects -----------------------------------------------------------------------------------------


def word_effect(effect: Effect) -> str:
    """One effect of a change as the line a reviewer reads."""
    match effect:
        case NamespaceRewrite(previous_namespace, silent):
            return _marker_write(f"rewrites the item's namespace marker from {previous_namespace!r}", silent)
        case UnmanagedAdoption(silent):
            return _marker_write("puts our marker and record on the unmanaged item", silent)
        case MarkerRemoval(silent):
            return _marker_write("removes our marker; the meeting stays in every calendar, no longer managed", silent)
        case FileMayBeDeleted():
            return "After this apply the meeting file can be deleted without cancelling the meeting."
        case OccurrencesDropped(dates):
            n = len(dates)
            return f"{n} future {_occurrences(n)} no longer {'takes' if n == 1 else 'take'} place: {_dates(dates)}"
        case OccurrencesAdded(dates):
            return f"{len(dates)} new {_occurrences(len(dates))}: {_dates(dates)}"
        case OccurrencesRetimed(count, first, endless, before, after, zones):
            notes = (f" {zones[0]}", f" {zones[1]}") if zones else ("", "")
            which = (
                f"every future occurrence (from {_day(first)})" if endless else f"{count} future {_occurrences(count)}"
            )
            verb = "moves" if endless or count == 1 else "move"
            return f"{which} {verb} from {_span(before)}{notes[0]} to {_span(after)}{notes[1]}"
        case SkipLifted(day):
            return f"occurrence on {_day(day)} restored"
        case SeriesRewritten(cancelled, changed, total):
            parts = [
                f"{n} {kind} {_occurrences(n)}" for kind, n in (("cancelled", cancelled), ("changed", changed)) if n
            ]
            return (
                f"the series is written again, which drops its {' and '.join(parts)} in Exchange;"
                f" {'it is' if total == 1 else 'they are'} re-applied"
            )
        case OccurrenceCancelled(day, again):
            return f"occurrence on {_day(day)} cancelled{_again(again)}"
        case OccurrenceRestored(day, back):
            at = f" (back at {_span(back)})" if back is not None else ""
            return f"occurrence on {_day(day)} restored to the series{at}"
        case OccurrenceChanged(day, again, details):
            listed = ": " + ", ".join(_detail(d) for d in details) if details else ""
            return f"occurrence on {_day(day)} changed{_again(again)}{listed}"
        case Worded(text):
            return text
        case _:
            assert_never(effect)


def _marker_write(what: str, silent: bool) -> str:
    """What writing only our marker costs in mail on this backend."""
    if silent:
        return f"The write {what}; that alone sends attendees no mail."
    return (
        f"The write {what}. This backend documents no silent way to change extended properties, so"
        " attendees may receive an update for it (listed below)."
    )


def _detail(detail: OccurrenceDetail) -> str:
    match detail:
        case Moved(before, after, same_day):
            target = _span(after) if same_day else f"{_day(after.start)} {_span(after)}"
            return f"moves from {_span(before)} to {target}"
        case ValueSet(field, value):
            return f'{field} "{value}"'
        case TextChanged():
            return "new text"
        case AttendeeChanged(address, role, added):
            return f"{'+' if added else '-'}{address} ({role})"
        case _:
            assert_never(detail)


def _again(again: bool) -> str:
    return " again" if again else ""


def _occurrences(n: int) -> str:
    return "occurrence" if n == 1 else "occurrences"


def _day(value: str) -> str:
    day = date.fromisoformat(value[:10])
    return f"{_DAY_NAMES[day.weekday()]} {day.isoformat()}"


def _dates(days: Sequence[str]) -> str:
    named = [_day(d) for d in days[:MAX_DATES]]
    rest = len(days) - len(named)
    if rest:
        return ", ".join(named) + f" and {rest} more"
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def _span(span: Span) -> str:
    """`HH:MM-HH:MM`, or `all day` for a span of dates."""
    if "T" not in span.start:
        return "all day"
    return f"{span.start[11:16]}-{span.end[11:16]}"
