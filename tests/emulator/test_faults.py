"""The fault plan the emulator apps take injected faults from."""

from __future__ import annotations

from reconciler.emulator.faults import Fault, FaultPlan


def test_faults_are_taken_once_per_injection() -> None:
    plan = FaultPlan()
    plan.inject("graph", "create", "504", times=2)
    assert [plan.take("graph", "create") is not None for _ in range(3)] == [True, True, False]
    assert plan.take("ews", "create") is None


def test_the_oldest_matching_fault_comes_first_and_wildcards_match_anything() -> None:
    plan = FaultPlan()
    plan.inject("graph", "list", "429", retry_after=3)
    plan.inject("*", "*", "503")
    plan.inject("graph", "create", "500")
    assert plan.take("graph", "create") == Fault("503")
    assert plan.take("graph", "create") == Fault("500")
    assert plan.take("ews", "FindItem") is None
    assert plan.take("graph", "list") == Fault("429", {"retry_after": 3})
