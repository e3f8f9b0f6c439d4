"""What the wire log redacts: credentials in headers, URLs and bodies; nothing a reader needs."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.providers.wirelog import REDACTED, WireLog, redact_body, redact_headers, redact_url

JWT = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl"


def test_authentication_headers_keep_their_scheme_and_lose_their_value() -> None:
    assert redact_headers(
        [
            ("Authorization", f"Bearer {JWT}"),
            ("WWW-Authenticate", "NTLM TlRMTVNTUAACAAAADAAMADgAAAA="),
            ("Proxy-Authorization", "opaque-key-without-scheme"),
            ("Cookie", "exchangecookie=abc"),
            ("Set-Cookie", "X-BackEndCookie=xyz; path=/"),
            ("X-Api-Key", "k"),
            ("client-request-id", "1234"),
            ("Content-Type", "application/json"),
        ]
    ) == {
        "Authorization": "Bearer <redacted>",
        "WWW-Authenticate": "NTLM <redacted>",
        "Proxy-Authorization": REDACTED,
        "Cookie": REDACTED,
        "Set-Cookie": REDACTED,
        "X-Api-Key": REDACTED,
        "client-request-id": "1234",
        "Content-Type": "application/json",
    }


def test_an_oauth_token_requests_form_keeps_everything_but_the_secret() -> None:
    # The client-credentials request of OAuth 2.0 (RFC 6749 section 4.4) as exchangelib's oauthlib sends it.
    body = (
        b"grant_type=client_credentials&client_id=11111111-2222&client_secret=s3cr3t~value"
        b"&scope=https%3A%2F%2Foutlook.office365.com%2F.default"
    )
    text = redact_body(body, "application/x-www-form-urlencoded")
    assert text is not None and "s3cr3t" not in text
    assert "client_secret=%3Credacted%3E" in text and "client_id=11111111-2222" in text


def test_an_oauth_token_answer_loses_its_tokens_and_an_error_keeps_its_code() -> None:
    answer = json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": JWT, "refresh_token": "r"})
    assert json.loads(redact_body(answer, "application/json; charset=utf-8") or "") == {
        "token_type": REDACTED,
        "expires_in": 3599,
        "access_token": REDACTED,
        "refresh_token": REDACTED,
    }
    error = '{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}'
    assert json.loads(redact_body(error, "application/json") or "")["error"]["code"] == "ErrorItemNotFound"


def test_passwords_in_xml_and_tokens_anywhere_in_a_body_are_redacted() -> None:
    soap = f"<t:Password>hunter2</t:Password><t:Subject>Sync {JWT}</t:Subject>"
    assert (
        redact_body(soap, "text/xml; charset=utf-8")
        == "<t:Password><redacted></t:Password><t:Subject>Sync <redacted></t:Subject>"
    )


def test_a_url_keeps_its_query_byte_for_byte_unless_it_holds_a_secret() -> None:
    listing = (
        "https://graph.microsoft.com/v1.0/users/a%40b.c/events"
        "?$filter=singleValueExtendedProperties/any(ep:%20ep/value%20eq%20'x')&$top=100"
    )
    assert redact_url(listing) == listing
    assert redact_url("https://login.example/callback?code=abc&state=1") == (
        "https://login.example/callback?code=%3Credacted%3E&state=1"
    )


def test_each_exchange_is_one_json_line_appended_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    log = WireLog(path)
    for status in (200, 404):
        log.record(
            backend="graph",
            method="GET",
            url="https://graph.microsoft.com/v1.0/users/a%40b.c/events",
            request_headers=[("Authorization", f"Bearer {JWT}")],
            request_body=None,
            status=status,
            response_headers=[("Content-Type", "application/json")],
            response_body=b'{"value": []}',
            elapsed_ms=12.345,
        )
    first, second = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert (first["status"], second["status"], first["elapsed_ms"]) == (200, 404, 12.3)
    assert first["request"] == {"headers": {"Authorization": "Bearer <redacted>"}, "body": None}
    assert first["response"]["body"] == '{"value": []}'
    assert first["error"] is None
