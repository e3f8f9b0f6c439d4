"""Issue 11: Exchange's IsEqualTo compares strings without regard to case, so the server's answer to
"our namespace" can hold another team's meetings. The provider keeps only exact matches."""

from __future__ import annotations

import pytest

from reconciler.providers.ews import EwsProvider
from tests.ews.conftest import NAMESPACE, PROPERTY, Emulator, code, create_request, find, messages
from tests.factories import ORGANIZER, meeting

FOREIGN = [NAMESPACE.upper(), "Ews-Tests", "old-ews-tests", "ews-tests-old", " ews-tests", "ews-tests "]


@pytest.mark.parametrize("foreign", FOREIGN, ids=["upper", "title", "prefix", "suffix", "leading-space", "trailing"])
def test_a_meeting_of_a_namespace_differing_by_case_prefix_suffix_or_whitespace_is_neither_listed_nor_found(
    provider: EwsProvider, foreign: str
) -> None:
    provider.create(create_request(meeting(), namespace=foreign))

    assert provider.list_managed(ORGANIZER, NAMESPACE) == []
    assert provider.find(ORGANIZER, NAMESPACE, "team/sync") is None
    found = provider.find(ORGANIZER, foreign, "team/sync")
    assert found is not None and found.meeting_id == "team/sync"


def test_ours_is_listed_next_to_a_foreign_namespace_that_differs_only_by_case(provider: EwsProvider) -> None:
    provider.create(create_request(meeting(), namespace=NAMESPACE.upper()))
    provider.create(create_request(meeting("team/retro", subject="Retro")))

    assert [o.meeting_id for o in provider.list_managed(ORGANIZER, NAMESPACE)] == ["team/retro"]
    assert [o.meeting_id for o in provider.list_managed(ORGANIZER, NAMESPACE.upper())] == ["team/sync"]


def test_a_meeting_id_differing_only_by_case_is_not_found(provider: EwsProvider) -> None:
    provider.create(create_request(meeting("Team/Sync")))

    assert provider.find(ORGANIZER, NAMESPACE, "team/sync") is None
    found = provider.find(ORGANIZER, NAMESPACE, "Team/Sync")
    assert found is not None and found.meeting_id == "Team/Sync"


def test_the_emulator_like_exchange_matches_is_equal_to_on_a_string_property_without_regard_to_case(
    emulator: Emulator, provider: EwsProvider
) -> None:
    provider.create(create_request(meeting()))
    restriction = (
        f"<m:Restriction><t:IsEqualTo>{PROPERTY}<t:FieldURIOrConstant><t:Constant Value='{NAMESPACE.upper()}'/>"
        "</t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>"
    )
    answer = find(emulator.url, '<m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/>',
                  restriction)  # fmt: skip
    (message,) = messages(answer)
    assert code(message) == "NoError"
    root = message.find("{http://schemas.microsoft.com/exchange/services/2006/messages}RootFolder")
    assert root is not None and root.get("TotalItemsInView") == "1"


def test_a_run_of_our_namespace_plans_nothing_for_and_never_cancels_a_namespace_differing_only_by_case(
    emulator: Emulator, provider: EwsProvider
) -> None:
    from datetime import UTC, datetime

    from reconciler.plan import PlanPolicy
    from reconciler.reconcile import apply_plan, make_plan

    provider.create(create_request(meeting(), namespace=NAMESPACE.upper()))
    sent = len(emulator.store.mail())

    made = make_plan(
        [],
        provider,
        namespace=NAMESPACE,
        policy=PlanPolicy(),
        now=datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
        extra_organizers=[ORGANIZER],
    )
    apply_plan(made, provider)

    assert made.changes == ()
    assert len(emulator.store.list_items(ORGANIZER)) == 1
    assert len(emulator.store.mail()) == sent
