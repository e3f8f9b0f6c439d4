"""What the provider's writes put on the wire: the JSON body `wire` built, byte for byte in meaning.

The bodies go out as JSON through the SDK's request adapter (no SDK model in between), so what the
emulator receives must be exactly the body Graph documents: no `@odata.type` annotations the SDK's
models would add, only the properties given (sparse PATCH), and JSON `null` where a property is
cleared.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from reconciler.emulator.graph import GraphServer
from reconciler.model import Every, Recurrence, Weekday
from reconciler.providers.graph import wire
from tests.graph.conftest import fields


def _client_calls(graph: GraphServer, create: dict[str, Any], patch: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(msgraph|kiota_abstractions)\.")
        from reconciler.providers.graph import sdk

    async def calls() -> None:
        client = sdk.GraphClient(graph.graph_url, sdk.anonymous_auth(), trust_env=False, timeout=10)
        try:
            created = await client.create_event("lead@contoso.com", create, prefer=wire.PREFER)
            await client.update_event(
                "lead@contoso.com", str(created["id"]), patch, if_match=str(created["@odata.etag"]), prefer=wire.PREFER
            )
        finally:
            await client.aclose()

    asyncio.run(calls())


def test_a_create_and_a_patch_send_exactly_the_json_bodies_built_including_explicit_nulls(
    graph: GraphServer,
) -> None:
    weekly = fields(recurrence=Recurrence(every=Every.WEEK, on=(Weekday.TUESDAY,), count=5))
    create = wire.create_body("ns", "team/sync", weekly, "tx-1")
    patch = {"subject": "New", "recurrence": None}
    _client_calls(graph, create, patch)
    post, update = [r for r in graph.app.requests if r.method in ("POST", "PATCH")]
    assert (post.method, post.json()) == ("POST", create)
    assert (update.method, update.json()) == ("PATCH", patch)
    assert {post.headers["content-type"], update.headers["content-type"]} == {"application/json"}
    assert update.headers["if-match"].startswith('W/"')
