"""Issue 11: a failed read on EWS is retried (bounded, after the server's back-off hint) instead of
ending the run; a failed write whose outcome is unknown is not repeated; and what the user finally
reads is a sentence, never a library repr."""

from __future__ import annotations

import pytest

from reconciler.errors import TransientError
from tests.ews.conftest import NAMESPACE, Emulator, create_request
from tests.factories import ORGANIZER, meeting

ATTENDEES = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")


@pytest.mark.parametrize("kind", ["http-502", "http-504"])
@pytest.mark.parametrize("operation", ["FindItem", "GetItem"])
def test_a_proxy_error_page_on_a_listing_is_retried_and_the_listing_completes(
    emulator: Emulator, kind: str, operation: str
) -> None:
    provider = emulator.provider()
    provider.create(create_request(meeting()))
    emulator.faults.inject("ews", operation, kind, times=2)

    assert [o.meeting_id for o in provider.list_managed(ORGANIZER, NAMESPACE)] == ["team/sync"]
    assert emulator.sleeps == [2.0, 4.0]
    provider.close()


def test_a_proxy_error_page_with_retry_after_waits_as_long_as_it_says(emulator: Emulator) -> None:
    provider = emulator.provider()
    emulator.faults.inject("ews", "FindItem", "http-502", retry_after=7)
    assert provider.find(ORGANIZER, NAMESPACE, "team/sync") is None
    assert emulator.sleeps == [7.0]
    provider.close()


def test_a_server_busy_response_message_is_retried_after_its_back_off_milliseconds(emulator: Emulator) -> None:
    provider = emulator.provider()
    emulator.faults.inject("ews", "FindItem", "server-busy-message", times=2, back_off_ms=250)
    assert provider.list_managed(ORGANIZER, NAMESPACE) == []
    assert emulator.sleeps == [0.25, 0.25]
    provider.close()


def test_proxy_errors_beyond_the_retry_budget_end_in_a_sentence_without_library_text(emulator: Emulator) -> None:
    provider = emulator.provider(max_attempts=3)
    emulator.faults.inject("ews", "FindItem", "http-504", times=5)
    with pytest.raises(TransientError) as raised:
        provider.list_managed(ORGANIZER, NAMESPACE)
    assert str(raised.value) == (
        "Exchange failed while listing lead@contoso.com's managed meetings: the server or a proxy in front of it "
        "answered HTTP 504 Gateway Timeout instead of an EWS answer."
    )
    assert emulator.sleeps == [2.0, 4.0]
    provider.close()


def test_a_proxy_error_after_a_create_was_committed_is_not_repeated_and_nothing_is_mailed_twice(
    emulator: Emulator,
) -> None:
    provider = emulator.provider()
    emulator.faults.inject("ews", "CreateItem", "http-502", commit=True)
    with pytest.raises(TransientError) as raised:
        provider.create(create_request(meeting()))
    assert "may or may not have been made" in str(raised.value)
    assert emulator.recorder.operations().count("CreateItem") == 1
    assert len(emulator.store.list_items(ORGANIZER)) == 1
    assert sorted(m.recipient for m in emulator.store.mail()) == sorted(ATTENDEES)
    found = provider.find(ORGANIZER, NAMESPACE, "team/sync")
    assert found is not None
    provider.close()


def test_an_unreachable_server_is_reported_as_a_sentence_without_urllib3_text(emulator: Emulator) -> None:
    from tests.contract.backends.ews import ews_provider

    sleeps: list[float] = []
    provider = ews_provider("http://127.0.0.1:9/EWS/Exchange.asmx", sleep=sleeps.append, max_attempts=2)
    with pytest.raises(TransientError) as raised:
        provider.list_managed(ORGANIZER, NAMESPACE)
    assert str(raised.value) == (
        "Exchange did not answer while listing lead@contoso.com's managed meetings (the connection was refused)."
    )
    assert sleeps == [2.0]
    provider.close()


@pytest.mark.parametrize(
    ("library_text", "sentence"),
    [
        (
            "Reraised from ConnectionError(HTTPSConnectionPool(host='ews.contoso.com', port=443): Read timed out. "
            "(read timeout=120))",
            "no answer came within the timeout",
        ),
        (
            "HTTPSConnectionPool(host='ews.contoso.invalid', port=443): Max retries exceeded with url: "
            '/EWS/Exchange.asmx (Caused by NameResolutionError("<urllib3.connection.HTTPSConnection object at '
            "0x7f>: Failed to resolve 'ews.contoso.invalid'\"))",
            "the server name could not be resolved",
        ),
        (
            "HTTPSConnectionPool(host='ews.contoso.com', port=443): Max retries exceeded with url: /EWS/Exchange.asmx "
            "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
            "failed')))",
            "the server's TLS certificate was not trusted",
        ),
        (
            "Unknown failure in response. Code: 404 headers: {'Content-Type': 'text/html'} content: <html>Not found"
            "</html>",
            "the server answered HTTP 404 with something that is not an EWS answer",
        ),
    ],
    ids=["read-timeout", "dns", "tls", "not-ews"],
)
def test_transport_failures_are_described_without_the_librarys_text(library_text: str, sentence: str) -> None:
    from exchangelib.errors import TransportError

    from reconciler.providers.ews.sdk import translate

    error = translate(TransportError(library_text), "listing lead@contoso.com's managed meetings", write=False)
    assert str(error) == f"Talking to Exchange failed while listing lead@contoso.com's managed meetings: {sentence}."
