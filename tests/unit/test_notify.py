"""Which mail each change causes, for whom, per backend capabilities (reconciler.notify)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.model import ATTENDEE_FIELDS, FIELD_ORDER, ORGANIZER_ONLY_FIELDS, MailKind
from reconciler.notify import Notification, UpdateScope, for_cancel, update_scope
from reconciler.port import Capabilities
from reconciler.state import MeetingState, meeting_state
from tests.factories import mail_for_create, mail_for_update, meeting

SILENT = Capabilities(silent_organizer_fields=True)
LOUD = Capabilities(silent_organizer_fields=False)
VISIBLE_FIELDS = sorted(set(FIELD_ORDER) - ATTENDEE_FIELDS - ORGANIZER_ONLY_FIELDS)


def people(
    required: tuple[str, ...] = ("alice@x.com", "bob@x.com"),
    optional: tuple[str, ...] = ("carol@x.com",),
    rooms: tuple[str, ...] = ("room@x.com",),
) -> MeetingState:
    return replace(meeting_state(meeting()), required=required, optional=optional, rooms=rooms)


def by_kind(notices: tuple[Notification, ...]) -> dict[MailKind, tuple[str, ...]]:
    return {n.kind: n.recipients for n in notices}


ALL = ("alice@x.com", "bob@x.com", "carol@x.com", "room@x.com")


# -- update_scope -----------------------------------------------------------------------------------


def test_no_changed_field_is_a_silent_update() -> None:
    assert update_scope([]) is UpdateScope.SILENT


@pytest.mark.parametrize("name", sorted(ORGANIZER_ONLY_FIELDS))
def test_an_organizer_only_field_is_a_silent_update(name: str) -> None:
    assert update_scope([name]) is UpdateScope.SILENT


@pytest.mark.parametrize("name", sorted(ATTENDEE_FIELDS))
def test_an_attendee_list_alone_reaches_only_the_attendees_who_changed(name: str) -> None:
    assert update_scope([name]) is UpdateScope.ATTENDEES_ONLY


def test_attendee_lists_with_organizer_only_fields_still_reach_only_the_attendees_who_changed() -> None:
    assert update_scope(["required", "rooms", "categories"]) is UpdateScope.ATTENDEES_ONLY


@pytest.mark.parametrize("name", VISIBLE_FIELDS)
def test_any_field_attendees_see_reaches_everyone(name: str) -> None:
    assert update_scope([name]) is UpdateScope.EVERYONE
    assert update_scope([name, "required", "reminder_minutes"]) is UpdateScope.EVERYONE


# -- create and cancel ------------------------------------------------------------------------------


def test_a_create_invites_required_optional_and_rooms_sorted() -> None:
    fields = people(required=("zoe@x.com", "adam@x.com"), optional=("mia@x.com",), rooms=("b-room@x.com",))
    assert mail_for_create(fields) == (
        Notification(MailKind.INVITATION, ("adam@x.com", "b-room@x.com", "mia@x.com", "zoe@x.com")),
    )


def test_a_person_listed_twice_is_invited_once() -> None:
    assert by_kind(mail_for_create(people(optional=("alice@x.com",)))) == {
        MailKind.INVITATION: ("alice@x.com", "bob@x.com", "room@x.com")
    }


def test_a_create_without_attendees_sends_no_mail() -> None:
    assert mail_for_create(people((), (), ())) == ()


def test_a_cancel_sends_every_attendee_a_cancellation_with_the_message() -> None:
    assert for_cancel(people(), "Replaced.") == (Notification(MailKind.CANCELLATION, ALL, "Replaced."),)


def test_a_cancel_without_a_message_carries_none() -> None:
    assert for_cancel(people(), None) == (Notification(MailKind.CANCELLATION, ALL, None),)


def test_a_cancel_of_a_meeting_without_attendees_sends_no_mail() -> None:
    assert for_cancel(people((), (), ()), "Gone.") == ()


# -- update -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("capabilities", [SILENT, LOUD])
def test_a_visible_change_updates_every_attendee_whatever_the_backend(capabilities: Capabilities) -> None:
    fields = people()
    assert by_kind(mail_for_update(fields, fields, ["subject"], capabilities)) == {MailKind.UPDATE: ALL}


@pytest.mark.parametrize("capabilities", [SILENT, LOUD])
def test_an_attendee_only_change_invites_the_added_and_cancels_for_the_removed(capabilities: Capabilities) -> None:
    before = people()
    after = people(required=("alice@x.com", "dave@x.com"))
    assert mail_for_update(before, after, ["required"], capabilities) == (
        Notification(MailKind.INVITATION, ("dave@x.com",)),
        Notification(MailKind.CANCELLATION, ("bob@x.com",)),
    )


def test_a_visible_change_with_attendee_changes_invites_updates_and_cancels_in_that_order() -> None:
    before = people()
    after = people(required=("alice@x.com", "dave@x.com"))
    assert mail_for_update(before, after, ["required", "start"], SILENT) == (
        Notification(MailKind.INVITATION, ("dave@x.com",)),
        Notification(MailKind.UPDATE, ("alice@x.com", "carol@x.com", "room@x.com")),
        Notification(MailKind.CANCELLATION, ("bob@x.com",)),
    )


def test_a_room_added_alone_gets_an_invitation_and_nobody_else_any_mail() -> None:
    before = people()
    after = people(rooms=("room@x.com", "room-2@x.com"))
    assert by_kind(mail_for_update(before, after, ["rooms"], LOUD)) == {MailKind.INVITATION: ("room-2@x.com",)}


def test_an_organizer_only_change_is_silent_where_the_backend_allows_it() -> None:
    fields = people()
    assert mail_for_update(fields, fields, ["reminder_minutes", "categories"], SILENT) == ()


def test_an_organizer_only_change_updates_everyone_where_the_backend_cannot_write_it_silently() -> None:
    fields = people()
    assert by_kind(mail_for_update(fields, fields, ["show_as"], LOUD)) == {MailKind.UPDATE: ALL}


def test_rewriting_only_our_record_is_silent_where_the_backend_allows_it() -> None:
    fields = people()
    assert mail_for_update(fields, fields, [], SILENT) == ()
    assert by_kind(mail_for_update(fields, fields, [], LOUD)) == {MailKind.UPDATE: ALL}


def test_an_update_of_a_meeting_without_attendees_sends_no_mail() -> None:
    fields = people((), (), ())
    assert mail_for_update(fields, fields, ["subject"], LOUD) == ()


def test_update_recipients_are_sorted() -> None:
    before = people(required=("zoe@x.com", "adam@x.com", "mia@x.com"), optional=(), rooms=())
    notices = mail_for_update(before, before, ["location"], SILENT)
    assert notices[0].recipients == ("adam@x.com", "mia@x.com", "zoe@x.com")


def test_an_attendee_change_with_an_organizer_only_field_on_a_loud_backend_also_updates_those_who_stay() -> None:
    before = people()
    after = people(required=("alice@x.com", "dave@x.com"))
    mail = by_kind(mail_for_update(before, after, ["required", "categories"], LOUD))
    assert set(mail.get(MailKind.UPDATE, ())) >= {"alice@x.com", "carol@x.com", "room@x.com"}
