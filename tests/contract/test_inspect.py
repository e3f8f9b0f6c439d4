"""`Provider.inspect` and `meetings inspect`'s verdicts, on every backend: the raw item as the
server answered, our marker and record, the fingerprints, and the plan's reasons per field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema

from reconciler.emulator.store import SendMode
from reconciler.inspection import Reason, inspect_item
from reconciler.model import Action
from reconciler.ownership import decode_record
from reconciler.plan import PlanPolicy
from reconciler.port import RawItem
from reconciler.render.inspection import render, to_document
from tests.contract.backends.harness import Backend
from tests.contract.test_contract import NAMESPACE, NOW, converge
from tests.factories import ORGANIZER, meeting

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "inspect.schema.json").read_text("utf-8"))
#: How each backend's answer names the subject: Graph's event JSON, EWS's SOAP, the store's document.
SUBJECT_ON_THE_WIRE = {"json": '"subject": "{}"', "xml": "<t:Subject>{}</t:Subject>"}


def raw_item(backend: Backend, meeting_id: str = "team/sync") -> RawItem:
    raw = backend.provider.inspect(ORGANIZER, NAMESPACE, meeting_id)
    assert raw is not None
    return raw


def test_inspect_returns_the_item_find_returns_with_the_servers_answer_and_our_record(backend: Backend) -> None:
    converge(backend, [meeting()])
    raw = raw_item(backend)
    assert raw.observed == backend.provider.find(ORGANIZER, NAMESPACE, "team/sync")
    assert SUBJECT_ON_THE_WIRE[raw.wire_format].format("Team sync") in raw.wire
    if raw.wire_format == "json":
        json.loads(raw.wire)  # the whole answer, parseable
    fields, fingerprints = decode_record(raw.record)
    assert fields is not None and fields.subject == "Team sync"
    assert set(fingerprints) == {"body"}
    assert backend.provider.inspect(ORGANIZER, NAMESPACE, "team/other") is None


def test_an_untouched_item_has_equal_body_fingerprints_and_no_change(backend: Backend) -> None:
    converge(backend, [meeting()])
    inspection = inspect_item(
        raw_item(backend),
        meeting(),
        now=NOW,
        policy=PlanPolicy(),
        capabilities=backend.provider.capabilities,
        backend=backend.provider.name,
        namespace=NAMESPACE,
    )
    assert inspection.body_untouched
    assert inspection.change is None and inspection.fields == ()
    assert "Plan: no change; the item matches the meeting file." in render(inspection)


def test_each_changed_field_says_whether_git_or_someone_outside_git_changed_it(backend: Backend) -> None:
    converge(backend, [meeting()])
    (item,) = backend.provider.list_managed(ORGANIZER, NAMESPACE)
    backend.store.update_item(backend.store_id(item.item_id), {"subject": "Edited in Outlook"}, send=SendMode.ALL)
    edited_in_git = dataclasses.replace(meeting(), location="Room 2")
    inspection = inspect_item(
        raw_item(backend),
        edited_in_git,
        now=NOW,
        policy=PlanPolicy(),
        capabilities=backend.provider.capabilities,
        backend=backend.provider.name,
        namespace=NAMESPACE,
    )
    assert inspection.change is not None and inspection.change.action is Action.UPDATE
    assert {(f.name, f.item, f.file, f.reason) for f in inspection.fields} == {
        ("location", "Berlin 3.14", "Room 2", Reason.CHANGED_IN_GIT),
        ("subject", "Edited in Outlook", "Team sync", Reason.EDITED_OUTSIDE_GIT),
    }
    text = render(inspection)
    assert "why subject: edited outside git (the item differs from the last-applied record)" in text
    assert "why location: the meeting file changed since the last apply" in text
    document = to_document(inspection)
    jsonschema.validate(document, SCHEMA)
    assert document["plan"]["action"] == "update"
    assert {f["name"]: f["reason"] for f in document["plan"]["fields"]} == {
        "location": "changed-in-git",
        "subject": "edited-outside-git",
    }
    assert document["fingerprints"]["body_untouched"] is True


def test_an_item_no_file_declares_is_shown_as_the_plan_would_cancel_it(backend: Backend) -> None:
    converge(backend, [meeting()])
    inspection = inspect_item(
        raw_item(backend),
        None,
        now=NOW,
        policy=PlanPolicy(),
        capabilities=backend.provider.capabilities,
        backend=backend.provider.name,
        namespace=NAMESPACE,
    )
    assert inspection.change is not None and inspection.change.action is Action.CANCEL
    assert "file:       no meeting file declares this id" in render(inspection)
