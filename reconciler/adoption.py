"""Which unmanaged calendar item a meeting file describes (pure): the matching behind `adopt` of
items that carry no namespace marker (made in Outlook, or released), and how such an item is
compared with its file.

A file matches an unmanaged item when both have the same organizer, subject, start (as an
instant) and attendee set (required, optional and rooms together, ignoring case). A file that
matches several items, or an item that several files match, is a plan error: the planner never
guesses which meeting a file means.

An unmanaged item has no last-applied record, so its body reads back as its visible text
(`body_format: text`, `ownership.resolve_observed`). `with_file_body` takes the file's body
instead when the file's rendered body has the same visible text as the item's: the body was not
changed, only its notation differs (Markdown in git, HTML in Exchange).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from reconciler.model import Meeting, ObservedMeeting
from reconciler.notices import AmbiguousFiles, AmbiguousItems, UnmanagedItem
from reconciler.ownership import body_fingerprint, render_body
from reconciler.recurrence import span_utc
from reconciler.state import MeetingState, meeting_state

#: (organizer, subject, start instant, attendees) of a meeting or item.
MatchKey = tuple[str, str, datetime, frozenset[str]]


def match_key(organizer: str, fields: MeetingState) -> MatchKey:
    """What a file and an unmanaged item must share to be the same meeting."""
    people = frozenset(a.lower() for a in (*fields.required, *fields.optional, *fields.rooms))
    return organizer.lower(), fields.subject, span_utc(fields)[0], people


def match_unmanaged(
    meetings: Sequence[Meeting], items: Sequence[ObservedMeeting]
) -> tuple[dict[str, ObservedMeeting], tuple[AmbiguousFiles | AmbiguousItems, ...]]:
    """(meeting id -> the one unmanaged item it matches, errors for ambiguous matches)."""
    by_key: dict[MatchKey, list[ObservedMeeting]] = defaultdict(list)
    for item in items:
        by_key[match_key(item.organizer, item.fields)].append(item)
    wanted: dict[MatchKey, list[Meeting]] = defaultdict(list)
    for meeting in meetings:
        wanted[match_key(meeting.organizer, meeting_state(meeting))].append(meeting)
    matched: dict[str, ObservedMeeting] = {}
    errors: list[AmbiguousFiles | AmbiguousItems] = []
    for key, files in wanted.items():
        found = by_key.get(key, [])
        if not found:
            continue
        if len(files) > 1:
            errors.append(AmbiguousFiles(tuple(sorted(m.id for m in files)), unmanaged_item(found[0])))
        elif len(found) > 1:
            errors.append(AmbiguousItems(files[0].id, tuple(sorted(i.item_id for i in found))))
        else:
            matched[files[0].id] = found[0]
    return matched, tuple(errors)


def with_file_body(item: MeetingState, desired: MeetingState) -> MeetingState:
    """The item's fields with the file's body and body format when their visible text is the same."""
    if body_fingerprint(render_body(desired)[1]) == body_fingerprint(item.body):
        return replace(item, body=desired.body, body_format=desired.body_format)
    return item


def unmanaged_item(item: ObservedMeeting) -> UnmanagedItem:
    """An unmanaged item as plan messages name it."""
    return UnmanagedItem(item.fields.subject, item.starts_at_utc, item.organizer, item.item_id)
