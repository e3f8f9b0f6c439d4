"""The EWS emulator's GetUserAvailability and AcceptItem answers have the documented shapes, read
by the real exchangelib through the provider.

The shape is Microsoft's: the GetUserAvailability response of MicrosoftDocs/office-developer-
exchange-docs docs/exchange-web-services/how-to-get-free-busy-information-by-using-ews-in-exchange.md
(FreeBusyResponseArray, one FreeBusyResponse per mailbox with ResponseMessage and FreeBusyView,
CalendarEventArray of CalendarEvent with StartTime, EndTime, BusyType).
"""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.emulator.store import SendMode, UnavailableReason
from reconciler.freebusy import BusyPeriod, BusyStatus, Schedule
from reconciler.people import Response
from tests.contract.backends.ews import answer
from tests.ews.conftest import Emulator

TENTATIVE = BusyStatus.TENTATIVE


def test_free_busy_reads_back_as_schedules_and_an_unreadable_mailbox_as_unknown(emulator: Emulator) -> None:
    doc = {
        "subject": "Lunch",
        "start": "2026-12-01T12:00:00",
        "end": "2026-12-01T13:00:00",
        "timezone": "Europe/Berlin",
    }
    emulator.store.create_item(
        "alice@contoso.com", {**doc, "attendees": [], "show_as": "tentative"}, send=SendMode.NONE
    )
    emulator.store.set_unavailable("bob@contoso.com", UnavailableReason.DENIED)
    provider = emulator.provider()
    try:
        found = provider.schedules(
            "lead@contoso.com",
            ["alice@contoso.com", "bob@contoso.com"],
            datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
            datetime(2026, 12, 2, 0, 0, tzinfo=UTC),
        )
    finally:
        provider.close()
    (envelope,) = emulator.recorder.bodies("GetUserAvailabilityRequest")
    (request,) = envelope.iterfind(".//{*}GetUserAvailabilityRequest")
    assert [e.tag.split("}")[1] for e in request] == ["TimeZone", "MailboxDataArray", "FreeBusyViewOptions"]
    assert found == [
        Schedule(
            "alice@contoso.com",
            (
                BusyPeriod(
                    datetime(2026, 12, 1, 11, tzinfo=UTC), datetime(2026, 12, 1, 12, tzinfo=UTC), BusyStatus.TENTATIVE
                ),
            ),
        ),
        Schedule("bob@contoso.com", unknown="ErrorNoFreeBusyAccess: No free/busy access to the mailbox"),
    ]


def test_accept_item_records_the_answer_on_the_organizers_item(emulator: Emulator) -> None:
    attendees = [{"email": "alice@contoso.com", "name": "Alice", "type": "required", "response": "none"}]
    doc = {"subject": "Sync", "start": "2026-12-01T10:00:00", "end": "2026-12-01T10:30:00", "timezone": "UTC"}
    item = emulator.store.create_item("lead@contoso.com", {**doc, "attendees": attendees})
    answer(emulator.url, "alice@contoso.com", item.item_id, Response.TENTATIVE)
    answered = emulator.store.get_item(item.item_id)
    assert answered.doc["attendees"][0]["response"] == "tentativelyAccepted"
    assert answered.change_key != item.change_key
