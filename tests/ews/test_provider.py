"""EwsProvider (real exchangelib) against the EWS emulator: what lands in the store, who gets mail,
what goes on the wire, and what the provider reads back."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from reconciler.config import Config, EwsSettings
from reconciler.emulator.store import MailboxStore, SendMode
from reconciler.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    NotFoundError,
    RequestRejectedError,
    ThrottledError,
    TransientError,
)
from reconciler.model import (
    PROP_LAST_APPLIED,
    PROP_MEETING_ID,
    PROP_NAMESPACE,
    Every,
    Recurrence,
    ShowAs,
    Weekday,
    WeekOfMonth,
    extended_property_id,
)
from reconciler.ownership import marker_properties
from reconciler.port import CancelRequest
from reconciler.providers.ews import EwsProvider
from reconciler.providers.sandbox import to_document
from reconciler.state import meeting_state, to_json
from tests.ews.conftest import NAMESPACE, Emulator, create_request, send_mode, set_fields, update_request
from tests.factories import ORGANIZER, found, meeting, written

ATTENDEES = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")


def mail(store: MailboxStore, since: int = 0) -> list[tuple[str, str]]:
    return [(m.recipient, m.kind) for m in store.mail()[since:]]


# -- create, list, find ------------------------------------------------------------------------


def test_create_stores_the_meeting_with_graph_compatible_ownership_properties_and_invites_everyone(
    emulator: Emulator, provider: EwsProvider
) -> None:
    desired = meeting()
    provider.create(create_request(desired))
    assert emulator.recorder.operations() == ["GetFolder", "CreateItem"]  # no read-back
    observed = found(provider, NAMESPACE, desired.id)
    item = emulator.store.get_item(observed.item_id)
    extended = item.doc["extended"]
    assert extended[extended_property_id(PROP_NAMESPACE)] == NAMESPACE
    assert extended[extended_property_id(PROP_MEETING_ID)] == "team/sync"
    assert (
        extended[extended_property_id(PROP_LAST_APPLIED)]
        == marker_properties(NAMESPACE, "team/sync", meeting_state(desired))[PROP_LAST_APPLIED]
    )
    assert (item.doc["start"], item.doc["timezone"], item.doc["subject"]) == (
        "2026-12-01T10:00:00",
        "Europe/Berlin",
        "Team sync",
    )
    assert sorted(mail(emulator.store)) == [(a, "invitation") for a in ATTENDEES]
    assert observed.change_key == item.change_key
    create = emulator.recorder.bodies("CreateItem")[0].find(".//{*}CreateItem")
    assert create is not None and create.get("SendMeetingInvitations") == "SendToAllAndSaveCopy"


def test_listing_reads_back_exactly_the_fields_that_were_written(provider: EwsProvider) -> None:
    desired = meeting(
        reminder_minutes=None,
        show_as=ShowAs.TENTATIVE,
        categories=("Platform", "Ops"),
        rooms=("room-3@contoso.com",),
        response_requested=False,
        allow_new_time_proposals=False,
        protect=True,
    )
    provider.create(create_request(desired))
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert observed.fields == meeting_state(desired)
    assert observed.last_applied == meeting_state(desired)
    assert (observed.meeting_id, observed.organizer, observed.protect) == ("team/sync", ORGANIZER, True)


def test_listing_uses_find_item_with_a_restriction_then_get_item_never_a_calendar_view(
    emulator: Emulator, provider: EwsProvider
) -> None:
    provider.create(create_request(meeting()))
    emulator.recorder.clear()
    provider.list_managed(ORGANIZER, NAMESPACE)
    assert emulator.recorder.operations() == ["FindItem", "GetItem"]
    find = emulator.recorder.bodies("FindItem")[0]
    assert find.find(".//{*}CalendarView") is None
    paging = find.find(".//{*}IndexedPageItemView")
    assert paging is not None and paging.get("MaxEntriesReturned") == "1000"
    restriction = find.find(".//{*}Restriction/{*}IsEqualTo/{*}ExtendedFieldURI")
    assert restriction is not None and restriction.get("PropertyName") == PROP_NAMESPACE
    shape = find.find(".//{*}ItemShape/{*}BaseShape")
    assert shape is not None and shape.text == "IdOnly"


def test_items_without_the_marker_or_in_another_namespace_are_never_listed_or_found(
    emulator: Emulator, provider: EwsProvider
) -> None:
    ours = meeting()
    provider.create(create_request(ours))
    provider.create(create_request(meeting("team/retro", subject="Other team's"), namespace="other-team"))
    emulator.store.create_item(ORGANIZER, to_document(meeting_state(meeting(subject="Team sync"))), send=SendMode.NONE)
    assert [o.meeting_id for o in provider.list_managed(ORGANIZER, NAMESPACE)] == ["team/sync"]
    assert provider.find(ORGANIZER, NAMESPACE, "team/retro") is None
    found = provider.find(ORGANIZER, "other-team", "team/retro")
    assert found is not None and to_json(found.fields)["subject"] == "Other team's"
    assert provider.list_managed("nobody@contoso.com", NAMESPACE) == []


def test_a_thousand_managed_meetings_are_listed_in_a_few_requests(emulator: Emulator, provider: EwsProvider) -> None:
    for n in range(1000):
        fields = meeting_state(meeting(f"team/m{n:04}"))
        extended = {
            extended_property_id(k): v for k, v in marker_properties(NAMESPACE, f"team/m{n:04}", fields).items()
        }
        emulator.store.create_item(ORGANIZER, to_document(fields) | {"extended": extended}, send=SendMode.NONE)
    started = time.perf_counter()
    listed = provider.list_managed(ORGANIZER, NAMESPACE)
    elapsed = time.perf_counter() - started
    assert len(listed) == 1000 and len({o.item_id for o in listed}) == 1000
    operations = emulator.recorder.operations()
    # Exchange answers a restricted FindItem with at most 250 items: 4 pages, and 10 GetItem batches.
    assert (operations.count("FindItem"), operations.count("GetItem")) == (4, 10)
    assert elapsed < 20


# -- update --------------------------------------------------------------------------------------


def test_changing_the_subject_sets_only_the_subject_and_the_record_and_updates_every_attendee(
    emulator: Emulator, provider: EwsProvider
) -> None:
    before = meeting()
    provider.create(create_request(before))
    seq = len(emulator.store.mail())
    after = dataclasses.replace(before, subject="Team sync (moved)")
    observed = written(provider, update_request(provider, before, after))
    assert set(set_fields(emulator)) == {"item:Subject", PROP_LAST_APPLIED}
    assert send_mode(emulator) == "SendToAllAndSaveCopy"
    assert sorted(mail(emulator.store, seq)) == [(a, "update") for a in ATTENDEES]
    assert to_json(observed.fields)["subject"] == "Team sync (moved)"
    assert observed.change_key == emulator.store.get_item(observed.item_id).change_key


def test_an_update_without_occurrence_edits_is_one_update_item_and_nothing_read_back(
    emulator: Emulator, provider: EwsProvider
) -> None:
    before = meeting()
    provider.create(create_request(before))
    after = dataclasses.replace(before, location="Berlin 4.01")
    request = update_request(provider, before, after)
    emulator.recorder.clear()
    provider.update(request)
    assert emulator.recorder.operations() == ["UpdateItem"]
    observed = found(provider, NAMESPACE, before.id)
    stored = emulator.store.get_item(observed.item_id)
    assert (observed.item_id, observed.change_key) == (request.item_id, stored.change_key)
    assert observed.change_key != request.change_key
    (listed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert (listed.fields, listed.last_applied, listed.change_key) == (
        observed.fields,
        observed.last_applied,
        observed.change_key,
    )


def test_moving_the_time_sends_start_end_and_their_time_zones(emulator: Emulator, provider: EwsProvider) -> None:
    before = meeting()
    provider.create(create_request(before))
    after = dataclasses.replace(before, start=datetime(2026, 12, 1, 11, 0), end=datetime(2026, 12, 1, 11, 45))
    observed = written(provider, update_request(provider, before, after))
    assert set(set_fields(emulator)) == {
        "calendar:Start",
        "calendar:End",
        "calendar:StartTimeZone",
        "calendar:EndTimeZone",
        PROP_LAST_APPLIED,
    }
    assert (to_json(observed.fields)["start"], to_json(observed.fields)["end"]) == (
        "2026-12-01T11:00",
        "2026-12-01T11:45",
    )


def test_an_attendee_only_change_mails_only_the_added_and_removed_attendees(
    emulator: Emulator, provider: EwsProvider
) -> None:
    before = meeting()
    provider.create(create_request(before))
    seq = len(emulator.store.mail())
    after = dataclasses.replace(before, required=("alice@contoso.com", "erin@contoso.com"))
    provider.update(update_request(provider, before, after))
    assert set(set_fields(emulator)) == {"calendar:RequiredAttendees", PROP_LAST_APPLIED}
    assert send_mode(emulator) == "SendToChangedAndSaveCopy"
    assert sorted(mail(emulator.store, seq)) == [
        ("bob@contoso.com", "cancellation"),
        ("erin@contoso.com", "invitation"),
    ]


def test_removing_every_optional_attendee_deletes_the_property(emulator: Emulator, provider: EwsProvider) -> None:
    before = meeting()
    provider.create(create_request(before))
    seq = len(emulator.store.mail())
    observed = written(provider, update_request(provider, before, dataclasses.replace(before, optional=())))
    assert set(set_fields(emulator)) == {"calendar:OptionalAttendees", PROP_LAST_APPLIED}
    assert mail(emulator.store, seq) == [("carol@contoso.com", "cancellation")]
    assert to_json(observed.fields)["optional"] == []


def test_an_organizer_only_change_mails_nobody(emulator: Emulator, provider: EwsProvider) -> None:
    before = meeting()
    provider.create(create_request(before))
    seq = len(emulator.store.mail())
    after = dataclasses.replace(before, categories=("Platform",), reminder_minutes=5, show_as=ShowAs.FREE, protect=True)
    observed = written(provider, update_request(provider, before, after))
    assert send_mode(emulator) == "SendToNone"
    assert set(set_fields(emulator)) == {
        "item:Categories",
        "item:ReminderIsSet",
        "item:ReminderMinutesBeforeStart",
        "calendar:LegacyFreeBusyStatus",
        PROP_LAST_APPLIED,
    }
    assert mail(emulator.store, seq) == []
    assert observed.fields == meeting_state(after)


def test_a_move_rewrites_the_meeting_id_silently_on_the_same_item(emulator: Emulator, provider: EwsProvider) -> None:
    old = meeting("team/old-sync")
    created = written(provider, create_request(old))
    seq = len(emulator.store.mail())
    new = dataclasses.replace(old, id="team/sync", moved_from=("team/old-sync",))
    observed = written(provider, update_request(provider, old, new, previous="team/old-sync"))
    assert (observed.item_id, observed.meeting_id) == (created.item_id, "team/sync")
    assert set(set_fields(emulator)) == {PROP_LAST_APPLIED, PROP_MEETING_ID}
    assert mail(emulator.store, seq) == []


def test_a_stale_change_key_raises_conflict_and_writes_and_mails_nothing(
    emulator: Emulator, provider: EwsProvider
) -> None:
    before = meeting()
    provider.create(create_request(before))
    request = update_request(provider, before, dataclasses.replace(before, subject="Overwritten"))
    emulator.store.update_item(request.item_id, {"location": "Elsewhere"}, send=SendMode.NONE)
    seq = len(emulator.store.mail())
    with pytest.raises(ConflictError) as raised:
        provider.update(request)
    assert type(raised.value.__cause__).__name__ == "ErrorIrresolvableConflict"
    assert emulator.store.get_item(request.item_id).doc["subject"] == "Team sync"
    assert mail(emulator.store, seq) == []


def test_an_edit_made_elsewhere_reads_as_the_servers_value_with_the_record_unchanged(
    emulator: Emulator, provider: EwsProvider
) -> None:
    created = written(provider, create_request(meeting()))
    edit = {"subject": "Edited in Outlook", "body": {"type": "html", "content": "<p>x</p>"}}
    emulator.store.update_item(created.item_id, edit, send=SendMode.NONE)
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert to_json(observed.fields)["subject"] == "Edited in Outlook"
    assert (to_json(observed.fields)["body"], to_json(observed.fields)["body_format"]) == ("x", "text")
    assert observed.last_applied is not None and to_json(observed.last_applied)["subject"] == "Team sync"


def test_updating_an_item_that_is_gone_raises_not_found(emulator: Emulator, provider: EwsProvider) -> None:
    before = meeting()
    provider.create(create_request(before))
    request = update_request(provider, before, dataclasses.replace(before, subject="Late"))
    emulator.store.delete_item(request.item_id, send_cancellations=False)
    with pytest.raises(NotFoundError):
        provider.update(request)


# -- cancel --------------------------------------------------------------------------------------


def test_cancel_sends_every_attendee_one_cancellation_with_the_text_and_removes_the_item(
    emulator: Emulator, provider: EwsProvider
) -> None:
    created = written(provider, create_request(meeting()))
    seq = len(emulator.store.mail())
    provider.cancel(
        CancelRequest(ORGANIZER, "team/sync", created.item_id, created.change_key, "Replaced by Q1 planning.")
    )
    assert sorted((m.recipient, m.kind, m.comment) for m in emulator.store.mail()[seq:]) == [
        (a, "cancellation", "Replaced by Q1 planning.") for a in ATTENDEES
    ]
    assert provider.list_managed(ORGANIZER, NAMESPACE) == []
    assert "DeleteItem" not in emulator.recorder.operations()
    cancel = emulator.recorder.bodies("CreateItem")[-1].find(".//{*}CancelCalendarItem/{*}NewBodyContent")
    assert cancel is not None and cancel.text == "Replaced by Q1 planning."


def test_cancelling_a_meeting_without_attendees_deletes_it_silently(emulator: Emulator, provider: EwsProvider) -> None:
    created = written(provider, create_request(meeting(required=(), optional=())))
    provider.cancel(CancelRequest(ORGANIZER, "team/sync", created.item_id, created.change_key, "Gone."))
    assert emulator.store.mail() == []
    assert emulator.store.list_items(ORGANIZER) == []
    delete = emulator.recorder.bodies("DeleteItem")[0].find(".//{*}DeleteItem")
    assert delete is not None and delete.get("SendMeetingCancellations") == "SendToNone"


def test_cancelling_with_a_stale_change_key_is_a_conflict(emulator: Emulator, provider: EwsProvider) -> None:
    created = written(provider, create_request(meeting()))
    emulator.store.update_item(created.item_id, {"location": "Elsewhere"}, send=SendMode.NONE)
    seq = len(emulator.store.mail())
    with pytest.raises(ConflictError):
        provider.cancel(CancelRequest(ORGANIZER, "team/sync", created.item_id, created.change_key, None))
    assert mail(emulator.store, seq) == []
    assert len(emulator.store.list_items(ORGANIZER)) == 1


# -- time zones, series, all-day -----------------------------------------------------------------


def test_a_berlin_weekly_series_across_daylight_saving_round_trips(emulator: Emulator, provider: EwsProvider) -> None:
    series = meeting(
        start=datetime(2027, 3, 16, 10, 0),
        end=datetime(2027, 3, 16, 10, 30),
        recurrence=Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY, Weekday.THURSDAY), until=date(2027, 4, 30)),
    )
    created = written(provider, create_request(series))
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert observed.fields == meeting_state(series)
    assert observed.starts_at_utc == datetime(2027, 3, 16, 9, 0, tzinfo=observed.starts_at_utc.tzinfo)
    # The last occurrence (Thursday 29 April, summer time) ends at 10:30 Berlin = 08:30 UTC.
    assert observed.ends_at_utc is not None and observed.ends_at_utc.isoformat() == "2027-04-29T08:30:00+00:00"
    doc = emulator.store.get_item(created.item_id).doc
    assert doc["recurrence"]["pattern"]["daysOfWeek"] == ["tuesday", "thursday"]
    assert doc["recurrence"]["range"] == {
        "type": "endDate",
        "startDate": "2027-03-16",
        "endDate": "2027-04-30",
        "recurrenceTimeZone": "Europe/Berlin",
    }


@pytest.mark.parametrize(
    "recurrence",
    [
        Recurrence(every=Every.DAY, interval=2, count=10),
        Recurrence(every=Every.MONTH, day_of_month=1, count=6),
        Recurrence(every=Every.MONTH, on=(Weekday.TUESDAY,), week_of_month=WeekOfMonth.FIRST),
        Recurrence(
            every=Every.MONTH,
            on=(Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY),
            week_of_month=WeekOfMonth.LAST,
            until=date(2027, 12, 31),
        ),
        Recurrence(every=Every.YEAR, day_of_month=1, month=12),
        Recurrence(every=Every.YEAR, on=(Weekday.TUESDAY,), week_of_month=WeekOfMonth.FIRST, month=12, count=3),
    ],
    ids=["daily", "absolute-monthly", "relative-monthly", "last-weekday", "absolute-yearly", "relative-yearly"],
)
def test_every_recurrence_pattern_round_trips(provider: EwsProvider, recurrence: Recurrence) -> None:
    series = meeting(recurrence=recurrence)
    provider.create(create_request(series))
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert to_json(observed.fields)["recurrence"] == to_json(meeting_state(series))["recurrence"]


def test_a_series_becoming_a_single_meeting_deletes_the_recurrence(emulator: Emulator, provider: EwsProvider) -> None:
    series = meeting(recurrence=Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=4))
    provider.create(create_request(series))
    single = dataclasses.replace(series, recurrence=None)
    observed = written(provider, update_request(provider, series, single))
    assert "calendar:Recurrence" in set_fields(emulator)
    assert to_json(observed.fields)["recurrence"] is None


def test_a_zone_sharing_its_windows_id_reads_back_under_the_recorded_iana_name(provider: EwsProvider) -> None:
    desired = meeting(timezone="Europe/Copenhagen")
    provider.create(create_request(desired))
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert (to_json(observed.fields)["timezone"], to_json(observed.fields)["start"]) == (
        "Europe/Copenhagen",
        "2026-12-01T10:00",
    )


def test_an_all_day_meeting_round_trips_with_an_exclusive_end(emulator: Emulator, provider: EwsProvider) -> None:
    offsite = meeting(all_day=True, start=date(2026, 12, 14), end=date(2026, 12, 16), show_as=ShowAs.FREE)
    created = written(provider, create_request(offsite))
    doc = emulator.store.get_item(created.item_id).doc
    assert (doc["start"], doc["end"], doc["is_all_day"]) == ("2026-12-14T00:00:00", "2026-12-16T00:00:00", True)
    (observed,) = provider.list_managed(ORGANIZER, NAMESPACE)
    assert observed.fields == meeting_state(offsite)


def test_a_teams_meeting_is_refused_before_anything_is_sent(emulator: Emulator, provider: EwsProvider) -> None:
    with pytest.raises(RequestRejectedError, match="Teams"):
        provider.create(create_request(meeting(online_meeting=True)))
    assert "CreateItem" not in emulator.recorder.operations()
    assert emulator.store.mail() == []


def test_a_yearly_pattern_with_an_interval_is_refused(provider: EwsProvider) -> None:
    with pytest.raises(RequestRejectedError, match="every 2 years"):
        provider.create(
            create_request(meeting(recurrence=Recurrence(every=Every.YEAR, interval=2, day_of_month=1, month=12)))
        )


# -- throttling, timeouts, auth -------------------------------------------------------------------


def test_server_busy_is_retried_after_the_servers_back_off_hint(emulator: Emulator) -> None:
    provider = emulator.provider()
    emulator.faults.inject("ews", "FindItem", "server-busy", times=2, back_off_ms=50)
    assert provider.list_managed(ORGANIZER, NAMESPACE) == []
    assert emulator.sleeps == [0.05, 0.05]
    provider.close()


@pytest.mark.parametrize("kind", ["http-429", "http-503"])
def test_http_throttling_is_retried_after_retry_after(emulator: Emulator, kind: str) -> None:
    provider = emulator.provider()
    emulator.faults.inject("ews", "CreateItem", kind, retry_after=3)
    provider.create(create_request(meeting()))
    assert emulator.sleeps == [3.0]
    assert len(emulator.store.list_items(ORGANIZER)) == 1
    assert sorted(mail(emulator.store)) == [(a, "invitation") for a in ATTENDEES]
    provider.close()


def test_busy_answers_beyond_the_retry_budget_raise_throttled(emulator: Emulator) -> None:
    provider = emulator.provider(max_attempts=3)
    emulator.faults.inject("ews", "FindItem", "server-busy", times=5, back_off_ms=10)
    with pytest.raises(ThrottledError) as raised:
        provider.list_managed(ORGANIZER, NAMESPACE)
    assert type(raised.value.__cause__).__name__ == "ErrorServerBusy"
    assert emulator.sleeps == [0.01, 0.01]
    provider.close()


def test_a_back_off_hint_beyond_the_wait_budget_is_not_slept(emulator: Emulator) -> None:
    provider = emulator.provider(max_wait=60)
    emulator.faults.inject("ews", "FindItem", "server-busy", back_off_ms=297_749)
    with pytest.raises(ThrottledError):
        provider.list_managed(ORGANIZER, NAMESPACE)
    assert emulator.sleeps == []
    provider.close()


def test_a_create_whose_answer_is_lost_raises_transient_without_retrying_and_find_sees_it(
    emulator: Emulator, provider: EwsProvider
) -> None:
    emulator.faults.inject("ews", "CreateItem", "timeout-after-commit")
    with pytest.raises(TransientError):
        provider.create(create_request(meeting()))
    assert emulator.recorder.operations().count("CreateItem") == 1
    found = provider.find(ORGANIZER, NAMESPACE, "team/sync")
    assert found is not None and to_json(found.fields)["subject"] == "Team sync"
    assert sorted(mail(emulator.store)) == [(a, "invitation") for a in ATTENDEES]


def test_a_read_whose_answer_is_lost_is_retried(emulator: Emulator, provider: EwsProvider) -> None:
    provider.create(create_request(meeting()))
    emulator.faults.inject("ews", "GetItem", "timeout-after-commit")
    assert [o.meeting_id for o in provider.list_managed(ORGANIZER, NAMESPACE)] == ["team/sync"]


def test_a_slow_answer_past_the_client_timeout_is_a_transient_error(emulator: Emulator) -> None:
    provider = emulator.provider(timeout=0.5)
    emulator.faults.inject("ews", "CreateItem", "timeout-after-commit", seconds=1.5)
    with pytest.raises(TransientError):
        provider.create(create_request(meeting()))
    assert len(emulator.store.list_items(ORGANIZER)) == 1
    provider.close()


def test_a_refused_password_is_an_auth_error_without_retry(emulator: Emulator, provider: EwsProvider) -> None:
    emulator.faults.inject("ews", "*", "unauthorized")
    with pytest.raises(AuthError):
        provider.list_managed(ORGANIZER, NAMESPACE)
    assert emulator.sleeps == []


def test_an_expired_token_is_fetched_again_once_and_the_request_retried(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks http on loopback
    tokens: list[str] = []

    def token() -> str:
        tokens.append(f"token-{len(tokens)}")
        return tokens[-1]

    provider = EwsProvider(emulator.url, auth="token", token_provider=token, sleep=emulator.sleeps.append)
    provider.list_managed(ORGANIZER, NAMESPACE)
    emulator.faults.inject("ews", "FindItem", "unauthorized")
    assert provider.list_managed(ORGANIZER, NAMESPACE) == []
    assert tokens == ["token-0", "token-1"]
    emulator.faults.inject("ews", "FindItem", "unauthorized", times=2)
    with pytest.raises(AuthError):
        provider.list_managed(ORGANIZER, NAMESPACE)
    provider.close()


# -- configuration -------------------------------------------------------------------------------


def config(
    tmp_path: Path, env: dict[str, str], endpoint: str | None = "https://mail.contoso.com/EWS/Exchange.asmx", **ews: str
) -> Config:
    settings = EwsSettings(endpoint=endpoint, **ews)
    return Config(root=tmp_path, meetings_dir=tmp_path, backend="ews", ews=settings, env=env)


def test_from_config_names_the_missing_secret_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MEETINGS_EWS_CLIENT_SECRET"):
        EwsProvider.from_config(config(tmp_path, {}, tenant_id="t", client_id="c"))
    with pytest.raises(ConfigError, match="MEETINGS_EWS_PASSWORD"):
        EwsProvider.from_config(config(tmp_path, {}, auth="ntlm", username="svc@contoso.com"))


def test_from_config_refuses_a_missing_endpoint_or_an_unknown_version(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ews\.endpoint"):
        EwsProvider.from_config(config(tmp_path, {}, endpoint=None))
    with pytest.raises(ConfigError, match="Exchange2007"):
        EwsProvider.from_config(config(tmp_path, {"MEETINGS_EWS_PASSWORD": "p"}, auth="basic", username="u",
                                       version="Exchange2007"))  # fmt: skip


@pytest.mark.parametrize(
    ("ews", "env"),
    [
        ({"tenant_id": "t", "client_id": "c"}, {"MEETINGS_EWS_CLIENT_SECRET": "s"}),
        ({"auth": "ntlm", "username": "svc@contoso.com", "version": "ExchangeSE"}, {"MEETINGS_EWS_PASSWORD": "p"}),
        ({"auth": "basic", "username": "svc@contoso.com", "version": "15.2.2562.17"}, {"MEETINGS_EWS_PASSWORD": "p"}),
    ],
    ids=["oauth2", "ntlm", "basic"],
)
def test_from_config_builds_a_provider_without_contacting_the_server(
    tmp_path: Path, ews: dict[str, str], env: dict[str, str]
) -> None:
    provider = EwsProvider.from_config(config(tmp_path, env, **ews))
    assert (provider.name, provider.capabilities.online_meetings, provider.capabilities.silent_organizer_fields) == (
        "ews",
        False,
        True,
    )
    provider.close()


def test_the_wire_carries_the_configured_version_and_a_utc_time_zone_context(emulator: Emulator) -> None:
    provider = emulator.provider(version="Exchange2019")
    provider.list_managed(ORGANIZER, NAMESPACE)
    root = emulator.recorder.bodies("FindItem")[0]
    version = root.find(".//{*}RequestServerVersion")
    zone = root.find(".//{*}TimeZoneContext/{*}TimeZoneDefinition")
    assert version is not None and version.get("Version") == "Exchange2016"  # 15.2 speaks the 2016 schema
    assert zone is not None and zone.get("Id") == "UTC"
    assert root.find(".//{*}ExchangeImpersonation") is None  # basic auth: delegate access
    provider.close()


def test_no_request_reaches_the_server_before_the_first_operation(emulator: Emulator) -> None:
    emulator.provider().close()
    assert emulator.recorder.operations() == []


def test_importing_the_ews_backend_and_its_pure_modules_does_not_import_exchangelib() -> None:
    probe = (
        "import sys, reconciler.providers.ews, reconciler.providers.ews.wire, reconciler.providers.ews.people\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('exchangelib', 'requests_ntlm', 'oauthlib')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "[]"
