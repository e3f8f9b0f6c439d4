"""The last-applied record and lossy-field fingerprints."""

from __future__ import annotations

from reconciler.ownership import (
    body_fingerprint,
    decode_record,
    encode_record,
    render_body,
    resolve_observed,
    transaction_id,
)

FIELDS = {"subject": "Sync", "body": "Agenda:\n\n- *status*", "body_format": "markdown", "protect": True}


def test_a_markdown_body_is_sent_as_html() -> None:
    assert render_body(FIELDS) == ("html", "<p>Agenda:</p>\n<ul>\n<li><em>status</em></li>\n</ul>\n")


def test_a_body_wrapped_by_exchange_in_an_html_document_keeps_its_fingerprint() -> None:
    sent = render_body(FIELDS)[1]
    returned = (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
        f"<body>\r\n{sent}\r\n</body>\r\n</html>\r\n"
    )
    assert body_fingerprint(returned) == body_fingerprint(sent)


def test_an_unchanged_body_reads_back_as_the_text_of_the_file() -> None:
    server_body = "<html><head></head><body>" + render_body(FIELDS)[1] + "</body></html>"
    fields, applied = resolve_observed({"subject": "Sync"}, server_body, encode_record(FIELDS))
    assert (fields["body"], fields["body_format"], fields["protect"]) == (FIELDS["body"], "markdown", True)
    assert applied == FIELDS


def test_a_body_edited_elsewhere_reads_back_as_its_visible_text() -> None:
    fields, _ = resolve_observed({}, "<html><body><p>New &amp; improved</p></body></html>", encode_record(FIELDS))
    assert (fields["body"], fields["body_format"]) == ("New & improved", "text")


def test_a_missing_or_foreign_record_is_no_record() -> None:
    assert decode_record(None) == (None, {})
    assert decode_record("not json") == (None, {})
    assert decode_record('{"v": 99, "fields": {}}') == (None, {})


def test_transaction_ids_are_stable_per_plan_and_differ_between_plans() -> None:
    first = transaction_id("ns", "lead@contoso.com", "team/sync", "2026-11-24T12:00:00+00:00")
    assert first == transaction_id("ns", "lead@contoso.com", "team/sync", "2026-11-24T12:00:00+00:00")
    assert first != transaction_id("ns", "lead@contoso.com", "team/sync", "2026-11-25T12:00:00+00:00")
