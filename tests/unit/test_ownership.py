"""The last-applied record and lossy-field fingerprints."""

from __future__ import annotations

import json

from reconciler.ownership import (
    body_fingerprint,
    body_text,
    decode_record,
    encode_record,
    join_block,
    keep_join_block,
    render_body,
    resolve_observed,
    transaction_id,
)
from reconciler.state import meeting_state as state_of
from reconciler.state import to_json
from tests.factories import meeting

FIELDS = state_of(meeting(subject="Sync", body="Agenda:\n\n- *status*", protect=True))
#: What a provider reads from the server: every field but the body and our own `protect`.
RAW = {k: v for k, v in to_json(FIELDS).items() if k not in ("body", "body_format", "protect")}


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
    fields, applied = resolve_observed(RAW, server_body, encode_record(FIELDS))
    assert (fields.body, fields.body_format, fields.protect) == (FIELDS.body, "markdown", True)
    assert applied == FIELDS


def test_a_body_edited_elsewhere_reads_back_as_its_visible_text() -> None:
    fields, _ = resolve_observed(RAW, "<html><body><p>New &amp; improved</p></body></html>", encode_record(FIELDS))
    assert (fields.body, fields.body_format) == ("New & improved", "text")


def test_a_missing_or_foreign_record_is_no_record() -> None:
    assert decode_record(None) == (None, {})
    assert decode_record("not json") == (None, {})
    assert decode_record('{"v": 99, "fields": {}}') == (None, {})
    assert decode_record('{"v": 1, "fields": {"subject": "Sync"}}') == (None, {})


def test_a_record_written_before_a_field_existed_reads_that_field_as_its_default() -> None:
    record = json.loads(encode_record(FIELDS))
    del record["fields"]["rooms"], record["fields"]["allow_new_time_proposals"]
    assert decode_record(json.dumps(record)) == (FIELDS, record["fingerprints"])


def test_transaction_ids_are_stable_per_plan_and_differ_between_plans() -> None:
    first = transaction_id("ns", "lead@contoso.com", "team/sync", "2026-11-24T12:00:00+00:00")
    assert first == transaction_id("ns", "lead@contoso.com", "team/sync", "2026-11-24T12:00:00+00:00")
    assert first != transaction_id("ns", "lead@contoso.com", "team/sync", "2026-11-25T12:00:00+00:00")


RULE = '<div style="width:100%; height:20px"><span style="white-space:nowrap">' + "_" * 80 + "</span>\r\n</div>\r\n"
BLOCK = (
    RULE
    + '<div class="me-email-text"><a href="https://teams.microsoft.com/l/meetup-join/x">'
    + "Join Microsoft Teams Meeting</a></div>"
    + RULE
)


def test_a_teams_join_block_added_by_the_server_does_not_change_the_fingerprint() -> None:
    sent = render_body(FIELDS)[1]
    assert body_fingerprint(f"<html><body>{sent}{BLOCK}</body></html>") == body_fingerprint(sent)


def test_an_edit_next_to_the_join_block_changes_the_fingerprint() -> None:
    sent = render_body(FIELDS)[1]
    edited = sent.replace("status", "status and budget")
    assert body_fingerprint(f"{edited}{BLOCK}") != body_fingerprint(sent)
    assert body_text(f"{edited}{BLOCK}") == "Agenda: status and budget"


def test_underscore_rules_that_do_not_frame_a_teams_block_are_the_users_text() -> None:
    own = f"Notes {'_' * 40} signature {'_' * 40} end"
    assert body_text(own) == own
    assert join_block(RULE + "<div>Signature</div>" + RULE) is None


def test_a_new_text_body_carries_the_servers_join_block_as_html() -> None:
    block = BLOCK.removesuffix("\r\n")  # the block ends with its last rule's element
    assert keep_join_block("text", "a < b\nc", f"<p>old</p>{BLOCK}") == ("html", f"a &lt; b<br>\r\nc\r\n{block}")
    assert keep_join_block("html", "<p>new</p>", "<p>old, no block</p>") == ("html", "<p>new</p>")
