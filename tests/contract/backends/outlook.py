"""A person's Outlook, per backend: meetings made and edited with the protocol's real SDK and
without any of our properties, as Outlook itself would write them (Graph: a plain POST /events and
the occurrence's own cancel/PATCH through msgraph-sdk; EWS: CreateItem, DeleteItem and UpdateItem
of an occurrence through exchangelib; the sandbox: the store's own writes). Each write mails the
attendees as Exchange does for Outlook's writes (send to all).

`fields` are canonical meeting fields in their JSON form (`state.to_json`); a series is created first and its
occurrences are cancelled (`skip`) or moved (`move`) afterwards, one write each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from reconciler.emulator.store import MailboxStore, SendMode
from reconciler.state import MeetingState


class Outlook(Protocol):
    def create(self, organizer: str, fields: MeetingState) -> str:
        """Make the meeting, inviting everyone; returns the item's id as the backend names it."""
        ...

    def skip(self, organizer: str, item_id: str, day: str) -> None:
        """Cancel the occurrence of the series originally on `day` (ISO date)."""
        ...

    def move(self, organizer: str, item_id: str, day: str, start: str, end: str) -> None:
        """Move the occurrence originally on `day` to local wall times `start`-`end`."""
        ...

    def edit(self, organizer: str, item_id: str, changes: Mapping[str, Any]) -> None:
        """Change the meeting's `subject` or `location` (the keys given), mailing everyone."""
        ...


@dataclass
class StoreOutlook:
    """The sandbox's Outlook: its store, written directly."""

    store: MailboxStore

    def create(self, organizer: str, fields: MeetingState) -> str:
        from reconciler.providers.sandbox import to_document

        return self.store.create_item(organizer, to_document(fields), send=SendMode.ALL).item_id

    def skip(self, organizer: str, item_id: str, day: str) -> None:
        self.store.cancel_occurrence(item_id, day, comment=None)

    def move(self, organizer: str, item_id: str, day: str, start: str, end: str) -> None:
        self.store.update_occurrence(item_id, day, {"start": f"{start}:00", "end": f"{end}:00"}, send=SendMode.ALL)

    def edit(self, organizer: str, item_id: str, changes: Mapping[str, Any]) -> None:
        self.store.update_item(item_id, dict(changes), send=SendMode.ALL)


@dataclass
class GraphOutlook:
    """Outlook on Graph: msgraph-sdk requests without extended properties."""

    base_url: str

    def _call(self, work: Any) -> Any:
        from reconciler.providers.graph import sdk

        async def run() -> Any:
            client = sdk.GraphClient(self.base_url, sdk.anonymous_auth(), trust_env=False, timeout=10)
            try:
                return await work(client)
            finally:
                await client.aclose()

        return asyncio.run(run())

    def create(self, organizer: str, fields: MeetingState) -> str:
        from reconciler.providers.graph import wire

        body = wire.event_properties(fields)
        event = self._call(lambda client: client.create_event(organizer, body, prefer=wire.PREFER))
        return str(event["id"])

    async def _instance(self, client: Any, organizer: str, item_id: str, day: str) -> dict[str, Any]:
        from reconciler.providers.graph import wire

        page = await client.list_instances(
            organizer,
            item_id,
            start=f"{day}T00:00:00Z",
            end=f"{day}T23:59:59Z",
            select=("originalStart", "start", "end"),
            prefer=wire.PREFER,
        )
        (instance,) = [e for e in page.value if str(e["originalStart"]).startswith(day)]
        return dict(instance)

    def skip(self, organizer: str, item_id: str, day: str) -> None:
        from reconciler.providers.graph import wire

        async def work(client: Any) -> None:
            instance = await self._instance(client, organizer, item_id, day)
            await client.cancel_event(
                organizer, instance["id"], None, if_match=instance.get("@odata.etag", "*"), prefer=wire.PREFER
            )

        self._call(work)

    def move(self, organizer: str, item_id: str, day: str, start: str, end: str) -> None:
        from reconciler.providers.graph import wire

        async def work(client: Any) -> None:
            instance = await self._instance(client, organizer, item_id, day)
            zone = instance["start"].get("timeZone", "UTC")
            master = await client.get_event(organizer, item_id, expand=(), select=("originalStartTimeZone",), prefer=())
            zone = master.get("originalStartTimeZone") or zone
            body = {
                "start": {"dateTime": f"{start}:00", "timeZone": zone},
                "end": {"dateTime": f"{end}:00", "timeZone": zone},
            }
            await client.update_event(
                organizer, instance["id"], body, if_match=instance.get("@odata.etag", "*"), prefer=wire.PREFER
            )

        self._call(work)

    def edit(self, organizer: str, item_id: str, changes: Mapping[str, Any]) -> None:
        from reconciler.providers.graph import wire

        body: dict[str, Any] = {}
        if "subject" in changes:
            body["subject"] = changes["subject"]
        if "location" in changes:
            body["location"] = {"displayName": changes["location"]}

        async def work(client: Any) -> None:
            event = await client.get_event(organizer, item_id, expand=(), select=("subject",), prefer=wire.PREFER)
            await client.update_event(
                organizer, item_id, body, if_match=event.get("@odata.etag", "*"), prefer=wire.PREFER
            )

        self._call(work)


@dataclass
class EwsOutlook:
    """Outlook on EWS: exchangelib's CalendarItem without extended properties."""

    url: str

    def _account(self, organizer: str) -> Any:
        from exchangelib import BASIC, DELEGATE, Account, Build, Configuration, Credentials, EWSTimeZone, Version

        config = Configuration(
            service_endpoint=self.url,
            credentials=Credentials("svc-meetings@contoso.com", "loopback"),
            auth_type=BASIC,
            version=Version(build=Build(15, 1)),
        )
        return Account(
            organizer, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=EWSTimeZone("UTC")
        )

    def create(self, organizer: str, fields: MeetingState) -> str:
        from exchangelib import CalendarItem
        from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY

        from reconciler.providers.ews.sdk import item_kwargs
        from reconciler.providers.ews.wire import item_values

        account = self._account(organizer)
        item = CalendarItem(account=account, folder=account.calendar, **item_kwargs(item_values(fields)))
        item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        self._fields = getattr(self, "_fields", {}) | {item.id: fields}
        return str(item.id)

    def _occurrence(self, organizer: str, item_id: str, day: str, **values: Any) -> Any:
        """The occurrence as exchangelib addresses it: an OccurrenceItemId (master id, InstanceIndex)."""
        from exchangelib import CalendarItem
        from exchangelib.properties import OccurrenceItemId

        from reconciler.providers.ews.wire import occurrence_indexes

        account = self._account(organizer)
        (master,) = account.fetch(ids=[(item_id, None)], folder=account.calendar, only_fields=["subject"])
        index = occurrence_indexes(self._fields[item_id], [day])[day]
        occurrence = OccurrenceItemId(id=master.id, changekey=master.changekey, instance_index=index)
        return CalendarItem(account=account, folder=account.calendar, _id=occurrence, **values)

    def skip(self, organizer: str, item_id: str, day: str) -> None:
        from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY

        self._occurrence(organizer, item_id, day).delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)

    def move(self, organizer: str, item_id: str, day: str, start: str, end: str) -> None:
        from exchangelib import EWSDateTime
        from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY

        from reconciler.providers.ews.sdk import ews_zone

        zone = ews_zone(self._fields[item_id].timezone)
        occurrence = self._occurrence(
            organizer,
            item_id,
            day,
            start=EWSDateTime.from_datetime(datetime.fromisoformat(start)).replace(tzinfo=zone),
            end=EWSDateTime.from_datetime(datetime.fromisoformat(end)).replace(tzinfo=zone),
        )
        occurrence.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

    def edit(self, organizer: str, item_id: str, changes: Mapping[str, Any]) -> None:
        from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY

        account = self._account(organizer)
        (item,) = account.fetch(ids=[(item_id, None)], folder=account.calendar, only_fields=list(changes))
        for key, value in changes.items():
            setattr(item, key, value)
        item.save(update_fields=list(changes), send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
