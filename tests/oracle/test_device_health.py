"""Device-driven health: figures from anchored readings, their provenance, and offline verification."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oracle.device_health import (
    CURRENT_HEALTH_POLICY,
    HEALTH_POLICIES,
    HealthEvidence,
    HealthPolicy,
    UsedRecord,
    compute_figures,
    health_policy,
    verify_health_evidence,
    with_device_health,
)
from oracle.errors import InsufficientData, MalformedEvidence, UnknownHealthPolicy
from oracle.health import grading_policy
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.merkle import keccak256
from oracle.proofs import RecordProofs
from oracle.readings import ChargingSession, ParkingPeriod
from passport.interop import export_catenax, schema_problems
from passport.model import AccessTier, BatteryPassport
from tests.builders import charging, reading_model
from tests.oracle.health_samples import RATED, anchored_stream, evidence_bundle, health_of, stream
from tests.oracle.oracle_doubles import FakeChain, FakeStore
from tests.oracle.oracle_samples import Fleet, anchorer, journal_keyring


def test_the_figures_follow_the_documented_rules(journal: Journal) -> None:
    fleet, history = anchored_stream(journal)
    health = health_of(history, fleet.battery_id(0))
    f = health.figures
    assert f.state_of_health_pct == 93.5  # SOCE of the latest snapshot
    assert f.state_of_health_uncertainty_pct == 2.0
    assert f.capacity_fade_pct == 10.0  # 180 of 200 Ah
    assert f.resistance_increase_pct == 10.0  # 99 of 90 mΩ
    assert f.equivalent_full_cycles == 600.0  # 120,000 Ah / 200 Ah
    assert f.hours_above_high_temperature == 1.0
    assert f.hours_below_low_temperature == 5.0
    assert f.hours_at_high_soc == pytest.approx(0.25 + 10.0)
    assert f.charging_sessions == 2
    assert f.fast_charge_session_share_pct == 50.0
    assert f.fast_charge_energy_share_pct == 75.0
    assert f.safety_events == 1
    assert f.measured_at == datetime(2025, 3, 5, tzinfo=UTC)
    assert health.policy == health_policy().ref
    assert health.record_count == len(stream())
    digests = sorted(a.record.digest for a in history)
    assert health.records_digest == hashlib.sha256(b"".join(digests)).hexdigest()
    assert health.anchors == sorted({"0x" + a.root.hex() for a in history})
    assert len(health.anchors) >= 2  # batches of 3: the stream spans several anchors


def test_the_policy_is_versioned_and_its_digest_recomputes() -> None:
    policy = health_policy()
    assert policy.id == CURRENT_HEALTH_POLICY
    assert policy.grading == grading_policy()  # the pre-removal evaluation's thresholds, embedded
    assert policy.digest == hashlib.sha256(rfc8785.dumps(policy.model_dump(mode="json"))).hexdigest()
    assert set(HEALTH_POLICIES) == {"kr-health-2026-1"}
    with pytest.raises(UnknownHealthPolicy):
        health_policy("lenient-1")


def test_no_diagnostics_is_insufficient_data(journal: Journal) -> None:
    fleet = Fleet(journal, Ingestor(journal))
    fleet.device(0).register(journal)
    fleet.ingestor.ingest(fleet.upload(0, [charging()]))
    store, chain = FakeStore(), FakeChain()
    anchorer(journal, store, chain).drain()
    history = RecordProofs(journal, store, keyring=journal_keyring(journal)).battery_history(
        fleet.battery_id(0)
    )
    with pytest.raises(InsufficientData):
        health_of(history, fleet.battery_id(0))


def test_the_passport_carries_the_figures_and_the_annex_xiii_fields(journal: Journal) -> None:
    from devtools.samples import sample_passport

    fleet, history = anchored_stream(journal)
    health = health_of(history, fleet.battery_id(0))
    passport = sample_passport(fleet.battery_id(0))
    updated = with_device_health(passport, health, health_policy())
    dynamic = updated.performance.dynamic
    assert dynamic.device_health == health
    assert dynamic.full_cycles is not None
    assert dynamic.full_cycles.value == 600
    assert dynamic.capacity_fade_percent is not None
    assert dynamic.capacity_fade_percent.value == 10.0
    assert dynamic.state_of_certified_energy_percent is not None
    assert dynamic.state_of_certified_energy_percent.uncertainty == 2.0
    # It survives the tier split: the health record sits in the legitimate-interest section.
    sections = updated.sections()
    assert "device_health" in json.dumps(sections[AccessTier.LEGITIMATE_INTEREST])
    assert "device_health" not in json.dumps(sections[AccessTier.PUBLIC])
    assert BatteryPassport.from_sections(sections) == updated
    # Catena-X export still validates: the updated Annex XIII fields map, the provenance record stays ours.
    exported = export_catenax(updated)
    assert schema_problems(exported) == []


# -- offline verification -----------------------------------------------------------------------------


def _tamper(evidence: HealthEvidence, change: Any) -> HealthEvidence:
    data = json.loads(evidence.model_dump_json())
    change(data)
    return HealthEvidence.parse(json.dumps(data))


def test_offline_verification_passes_and_checks_the_chain(journal: Journal) -> None:
    evidence = evidence_bundle(journal)
    result = verify_health_evidence(evidence)
    assert result.ok, result.failed()
    assert result.record_count == len(stream())
    assert {c.name for c in result.checks} >= {
        "policy.digest",
        "policy.registered",
        "record.digest",
        "record.proof",
        "records.digest",
        "figures.recompute",
    }
    unknown_root = FakeChain()  # a chain on which nothing is anchored
    on_chain = verify_health_evidence(evidence, chain=unknown_root)
    assert [c.name for c in on_chain.failed()] == ["anchors.on_chain"]


def _bump_capacity(data: dict[str, Any]) -> None:
    # Rewrite the latest diagnostic reading as if the pack had kept more capacity.
    for item in data["records"]:
        if '"measured_at":"2025-03-05' in item["record"]:
            item["record"] = item["record"].replace('"capacity_ah":180', '"capacity_ah":199')


def _bump_capacity_and_digest(data: dict[str, Any]) -> None:
    from oracle.merkle import keccak256

    _bump_capacity(data)
    for item in data["records"]:
        if '"capacity_ah":199' in item["record"]:
            item["record_digest"] = "0x" + keccak256(item["record"].encode()).hex()


def _lenient_policy(data: dict[str, Any]) -> None:
    data["policy"]["grading"]["repurpose_min_soh_pct"] = 0


def _lenient_policy_renamed(data: dict[str, Any]) -> None:
    _lenient_policy(data)
    policy = HealthPolicy.model_validate(data["policy"])
    data["health"]["policy"]["digest"] = policy.digest


def _drop_record(data: dict[str, Any]) -> None:
    data["records"] = [r for r in data["records"] if '"kind":"safety"' not in r["record"]]


def _better_figure(data: dict[str, Any]) -> None:
    data["health"]["figures"]["state_of_health_pct"] = 99.0


def _short_digest(data: dict[str, Any]) -> None:
    data["records"][0]["record_digest"] = "0x1234"


def _wrong_proof(data: dict[str, Any]) -> None:
    item = next(r for r in data["records"] if r["proof"])
    item["proof"][0] = "0x" + "11" * 32


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        (_bump_capacity, {"record.digest", "figures.recompute"}),
        (_bump_capacity_and_digest, {"record.proof", "records.digest", "figures.recompute"}),
        (_lenient_policy, {"policy.digest", "policy.registered", "figures.recompute"}),
        (_lenient_policy_renamed, {"policy.registered", "figures.recompute"}),
        (_drop_record, {"records.digest", "anchors.used", "figures.recompute"}),
        (_better_figure, {"figures.recompute"}),
        (_wrong_proof, {"record.proof"}),
        (_short_digest, {"record.digest", "record.proof", "records.digest"}),
    ],
)
def test_tampering_fails_a_named_check(journal: Journal, change: Any, failing: set[str]) -> None:
    evidence = evidence_bundle(journal)
    result = verify_health_evidence(_tamper(evidence, change))
    assert not result.ok
    assert {c.name for c in result.failed()} == failing, result.failed()


def test_a_bundle_that_is_not_one_is_malformed() -> None:
    with pytest.raises(MalformedEvidence, match="format"):
        HealthEvidence.parse('{"format": "something-else/1"}')


def _at(hours: float) -> str:
    return (datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


@settings(max_examples=40, deadline=None)
@example([(0, 3, 100), (1, 1, 80)], [(4, 5)])  # two sessions end in the window: the later-listed decides
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(1, 6), st.sampled_from([80, 90, 95, 100])), max_size=12
    ),
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 12)), min_size=1, max_size=12),
)
def test_high_soc_rest_hours_match_a_scan_of_every_pair(
    sessions: list[tuple[int, int, int]], periods: list[tuple[int, int]]
) -> None:
    # Overlapping and out-of-order sessions on purpose: the window search must pick the same session
    # (the latest listed in observation order) as scanning every session for every period.
    policy = health_policy()
    readings = [
        reading_model("charging", started_at=_at(s), ended_at=_at(s + d), soc_start_pct=10, soc_end_pct=end)
        for s, d, end in sessions
    ] + [reading_model("parking", started_at=_at(s), ended_at=_at(s + d)) for s, d in periods]
    readings.append(reading_model("diagnostics", measured_at=_at(300)))
    records = [
        UsedRecord(keccak256(str(i).encode()), b"\x01" * 32, b"{}", "B-1", r) for i, r in enumerate(readings)
    ]
    got = compute_figures("B-1", RATED, records, policy).hours_at_high_soc
    ordered = sorted(records, key=lambda r: (r.reading.observed_at, r.digest))
    charging = [r.reading for r in ordered if isinstance(r.reading, ChargingSession)]
    gap = timedelta(hours=policy.rest_after_charge_max_gap_h)
    expected = 0.0
    for c in charging:
        hours = (c.ended_at - c.started_at).total_seconds() / 3600
        if c.soc_end_pct >= policy.high_soc_pct:
            expected += (
                hours
                * (c.soc_end_pct - max(c.soc_start_pct, policy.high_soc_pct))
                / (c.soc_end_pct - c.soc_start_pct)
            )
    for p in (r.reading for r in ordered if isinstance(r.reading, ParkingPeriod)):
        before = [c.soc_end_pct for c in charging if p.started_at - gap <= c.ended_at <= p.started_at]
        if before and before[-1] >= policy.high_soc_pct:
            expected += p.duration_s / 3600
    assert got == round(expected, 3)
