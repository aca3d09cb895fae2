"""The audit's event vocabulary is the registry's: every event the ABI declares, and nothing else."""

from __future__ import annotations

from passport.audit.kinds import LedgerEvent
from passport.chain.artifacts import load_artifact


def test_ledger_events_are_exactly_the_registry_abi_events() -> None:
    abi_events = {item["name"] for item in load_artifact().abi if item.get("type") == "event"}
    assert {e.value for e in LedgerEvent} == abi_events
