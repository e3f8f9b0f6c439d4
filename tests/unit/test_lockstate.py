"""The namespace item's state record: its JSON form, unknown keys kept, liveness, the survivor."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.lockstate import Holder, LockRecord, LockRecordError, decode, encode, survivor
from reconciler.port import NamespaceItem

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
HOLDER = Holder("ci", "runner-7", 4242, "meetings apply", "token-1")
TTL = timedelta(minutes=10)


def test_an_empty_payload_is_a_free_lock() -> None:
    assert decode("") == LockRecord()
    assert not LockRecord().live(NOW)


def test_a_taken_record_reads_back_with_its_holder_and_times() -> None:
    record = LockRecord().taken(HOLDER, NOW, TTL)
    document = json.loads(encode(record))
    assert document["version"] == 1
    assert document["holder"] == {
        "user": "ci",
        "host": "runner-7",
        "pid": 4242,
        "command": "meetings apply",
        "token": "token-1",
    }
    assert document["since"] == "2026-12-01T10:00:00.000000Z"
    assert document["expires"] == "2026-12-01T10:10:00.000000Z"
    assert decode(encode(record)) == record


def test_a_lock_is_live_until_it_expires_and_free_after() -> None:
    record = LockRecord().taken(HOLDER, NOW, TTL)
    assert record.live(NOW + TTL - timedelta(seconds=1))
    assert not record.live(NOW + TTL)
    assert not record.released().live(NOW)


def test_keys_of_later_versions_survive_taking_renewing_and_releasing() -> None:
    later = json.dumps({"version": 2, "holder": None, "inventory": ["a/b", "c/d"], "organizers": ["x@y"]})
    record = decode(later).taken(HOLDER, NOW, TTL).renewed(NOW + TTL / 2, TTL).released()
    document = json.loads(encode(record))
    assert document["inventory"] == ["a/b", "c/d"] and document["organizers"] == ["x@y"]
    assert document["holder"] is None


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"holder": null}', '{"version": 1, "holder": {"user": "x"}}'])
def test_a_payload_that_is_not_a_record_is_refused(text: str) -> None:
    with pytest.raises(LockRecordError):
        decode(text)


def test_the_survivor_is_the_earliest_item_and_ties_go_to_the_smaller_id() -> None:
    early = NamespaceItem("B", "k1", NOW, "")
    same_second = NamespaceItem("A", "k2", NOW, "")
    later = NamespaceItem("0", "k3", NOW + timedelta(microseconds=1), "")
    assert survivor([later, early]) is early
    assert survivor([early, later, same_second]) is same_second
