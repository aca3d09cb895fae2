"""Second-life energy: the storage meter reading, its continuity at ingestion, the month's figure under
the boundary rule, and the offline proof (built on the real registry, checked with nothing but the file)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from oracle.energy import (
    EnergyProof,
    MeterRecord,
    meter_step_problems,
    month_bounds,
    month_energy,
    verify_energy_proof,
)
from oracle.energy_proofs import claim_energy, claim_period, proof_digest
from oracle.errors import EnergyProofInvalid, InvalidMonth, MalformedEnergyProof, MonthNotCovered
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.readings import parse_reading
from passport.canonical import canonical_json
from passport.chain.services import ClaimKind
from passport.ids import passport_id_bytes32
from passport.model import AnchorKind
from tests.chain_backends import ChainBackend, reverts
from tests.oracle.energy_samples import HOUR, INSTALLED, Proven, daily, ingest, meter, parsed, proven_month_on
from tests.oracle.oracle_samples import Fleet

# -- the reading and its continuity ---------------------------------------------------------------------


def test_the_reading_kind_is_anchored_as_energy() -> None:
    from oracle.readings import ANCHOR_KIND

    assert ANCHOR_KIND["storage_meter"] is AnchorKind.ENERGY == 4
    reading = parsed(meter(INSTALLED, 0, 0))
    assert reading.observed_at == INSTALLED


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"energy_in_wh": -1}, "energy_in_wh"),
        ({"energy_out_wh": 1.5}, "energy_out_wh"),  # meters count whole Wh
        ({"rated_energy_wh": 0}, "rated_energy_wh"),
        ({"rated_energy_wh": 60_000_000}, "rated_energy_wh"),  # kWh sent as Wh x 1000
        ({"soc_pct": 101}, "soc_pct"),
        ({"measured_at": "2026-03-01T00:00:00"}, "measured_at"),  # no offset
    ],
)
def test_a_malformed_meter_reading_is_rejected(override: dict[str, Any], path: str) -> None:
    from oracle.errors import ReadingRejected

    with pytest.raises(ReadingRejected) as caught:
        parse_reading(canonical_json({**meter(INSTALLED, 0, 0), **override}))
    assert path in {p for p, _ in caught.value.problems}


@pytest.mark.parametrize(
    ("after", "fields", "words"),
    [
        (meter(INSTALLED + HOUR, 1_000, 900), set(), ""),
        (meter(INSTALLED, 1_000, 900), {"measured_at"}, "not after"),
        (meter(INSTALLED - HOUR, 1_000, 900), {"measured_at"}, "not after"),
        (meter(INSTALLED + HOUR, 999, 900), {"energy_in_wh"}, "went backwards"),
        (meter(INSTALLED + HOUR, 1_000, 899), {"energy_out_wh"}, "went backwards"),
        # 2 C of 60 kWh for one hour is 120 kWh: 121 kWh more is implausible power.
        (meter(INSTALLED + HOUR, 1_000 + 121_000, 900), {"energy_in_wh"}, "kW on average"),
        (meter(INSTALLED + HOUR, 1_000 + 120_000, 900), set(), ""),
        # Delivering more than it took in plus a full pack.
        (meter(INSTALLED + 10 * HOUR, 1_000, 900 + 61_000), {"energy_out_wh"}, "more than its intake"),
        (meter(INSTALLED + HOUR, 1_000, 900, rated_energy_wh=50_000), {"rated_energy_wh"}, "changed"),
    ],
)
def test_a_meter_step_must_follow_on(after: dict[str, Any], fields: set[str], words: str) -> None:
    problems = meter_step_problems(parsed(meter(INSTALLED, 1_000, 900)), parsed(after))
    assert {p for p, _ in problems} == fields
    assert all(words in why for _, why in problems)


def test_ingestion_refuses_a_meter_going_backwards_across_uploads(journal: Journal) -> None:
    fleet = Fleet(journal, Ingestor(journal))
    fleet.device(0).register(journal)
    first = meter(INSTALLED, 10_000, 9_000)
    assert ingest(fleet, [first]) == ([0], {})
    # Within one upload and against the journaled reading of the previous upload: each reading must
    # follow the last one accepted, so the rejected one is not the reference for the next.
    accepted, rejected = ingest(
        fleet,
        [
            meter(INSTALLED + HOUR, 9_999, 9_000),  # backwards against the journal
            meter(INSTALLED + 2 * HOUR, 20_000, 18_000),
            meter(INSTALLED + 3 * HOUR, 20_000 + 200_000, 18_000),  # 200 kWh in an hour
            meter(INSTALLED + 90 * timedelta(minutes=1), 21_000, 18_000),  # before the previous
            meter(INSTALLED + 4 * HOUR, 30_000, 27_000),
        ],
    )
    assert accepted == [1, 4]
    assert rejected == {0: ["energy_in_wh"], 2: ["energy_in_wh"], 3: ["measured_at"]}
    kinds = {r.kind for r in journal.records_of_battery(fleet.battery_id(0))}
    assert kinds == {AnchorKind.ENERGY}
    assert len(journal.records_of_battery(fleet.battery_id(0))) == 3


# -- the month's figure -----------------------------------------------------------------------------------


def _records(readings: list[dict[str, Any]]) -> list[MeterRecord]:
    return [MeterRecord(bytes([n]) * 32, "dev-000", "B", parsed(r)) for n, r in enumerate(readings, start=1)]


def test_month_bounds_are_utc_calendar_months() -> None:
    assert month_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    for bad in ("2026-13", "2026-1", "26-01", "2026-01-01", "x", "1999-01"):
        with pytest.raises(InvalidMonth):
            month_bounds(bad)


def test_the_boundary_rule_partitions_the_meter_history() -> None:
    # Readings every day at 12:00 from 10 Feb; the installation month opens at the commissioning reading.
    readings = daily(INSTALLED.replace(hour=12), 60)
    records = _records(readings)
    feb, mar = (month_energy(records, m, INSTALLED) for m in ("2026-02", "2026-03"))
    # February: 10 Feb 12:00 (commissioning) to 28 Feb 12:00 = 18 days; March: 28 Feb 12:00 to 31 Mar.
    assert (feb.energy_delivered_wh, feb.energy_received_wh) == (18 * 36_000, 18 * 40_000)
    assert feb.readings == 19
    assert mar.opening_at == datetime(2026, 2, 28, 12, tzinfo=UTC) == feb.closing_at
    assert mar.energy_delivered_wh == 31 * 36_000
    # No double counting: the months add up to the meter's total up to the last closing reading.
    total = parsed(readings[18 + 31]).energy_out_wh - parsed(readings[0]).energy_out_wh
    assert feb.energy_delivered_wh + mar.energy_delivered_wh == total
    # A reading exactly at the boundary closes the month and opens the next.
    midnight = [
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
        datetime(2026, 4, 2, tzinfo=UTC),
    ]
    at_midnight = _records([meter(at, 40_000 * d, 36_000 * d) for d, at in enumerate(midnight)])
    assert month_energy(at_midnight, "2026-03", INSTALLED).energy_delivered_wh == 36_000
    assert month_energy(at_midnight, "2026-04", INSTALLED).energy_delivered_wh == 36_000
    with pytest.raises(MonthNotCovered):
        month_energy(records, "2026-01", INSTALLED)  # before the installation
    with pytest.raises(MonthNotCovered):
        month_energy(records, "2026-06", INSTALLED)  # after the last reading


# -- the proof on the registry ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proven_month(chain_backend: ChainBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proven]:
    """The month proof of ``proven_month_on``, built once per backend for the module (the tampering
    cases only edit copies of the file)."""
    with proven_month_on(chain_backend, tmp_path_factory.mktemp("energy")) as proven:
        yield proven


@pytest.fixture
def month_proof(proven_month: Proven) -> EnergyProof:
    return proven_month[0]


def test_a_month_is_proven_offline_and_on_the_registry(
    proven_month: Proven,
) -> None:
    month_proof, oracle, readings, _ = proven_month
    proof = EnergyProof.parse(month_proof.model_dump_json())  # what a reader gets: the file
    result = verify_energy_proof(proof)
    assert result.ok, result.failed()
    # Daily readings: the month's figure is 36 kWh per reading-to-reading day from opening to closing.
    start, end = month_bounds(proof.energy.month)
    times = [parsed(r).measured_at for r in readings]
    opening = max(i for i, t in enumerate(times) if t <= start)
    closing = max(i for i, t in enumerate(times) if t <= end)
    assert result.energy_delivered_wh == proof.energy.energy_delivered_wh == 36_000 * (closing - opening)
    assert result.energy_received_wh == 40_000 * (closing - opening)
    assert result.record_count == closing - opening + 1
    # Batches of 8: several roots, anchored together in one or more transactions, each receipt proven.
    assert len({r.root for r in proof.records}) >= 4
    assert len(proof.anchors) >= 1
    names = {c.name for c in result.checks}
    assert names >= {
        "installation.receipt",
        "record.proof",
        "anchor.receipt",
        "window.inside",
        "energy.recompute",
    }
    on_chain = verify_energy_proof(proof, chain=oracle.client)
    assert on_chain.ok
    assert "anchors.on_chain" in {c.name for c in on_chain.checks}


def _edit(proof: EnergyProof, change: Callable[[dict[str, Any]], None]) -> EnergyProof:
    data = json.loads(proof.model_dump_json())
    change(data)
    return EnergyProof.parse(json.dumps(data))


def _tamper_reading(data: dict[str, Any]) -> None:
    record = json.loads(data["records"][10]["record"])
    record["reading"]["energy_out_wh"] += 5_000
    data["records"][10]["record"] = canonical_json(record).decode()


def _missing_proof(data: dict[str, Any]) -> None:
    data["records"][5]["proof"] = []


def _wrong_root(data: dict[str, Any]) -> None:
    data["records"][3]["root"] = "0x" + "11" * 32


def _outside_the_month(data: dict[str, Any]) -> None:
    data["records"].insert(0, data["records"][0] | {"record": data["records"][0]["record"]})
    record = json.loads(data["records"][0]["record"])
    record["reading"]["measured_at"] = "2026-02-27T12:00:00+00:00"
    data["records"][0]["record"] = canonical_json(record).decode()


def _stated_more(data: dict[str, Any]) -> None:
    data["energy"]["energy_delivered_wh"] += 1


def _forged_receipt(data: dict[str, Any]) -> None:
    node = data["anchors"][0]["receipt_proof"][-1]
    data["anchors"][0]["receipt_proof"][-1] = node[:-2] + ("00" if node[-2:] != "00" else "01")


def _other_installation(data: dict[str, Any]) -> None:
    data["installation"]["rated_energy_wh"] = 80_000


def _other_role(data: dict[str, Any]) -> None:
    data["installation"]["role"] = "backup"


def _drop_the_closing(data: dict[str, Any]) -> None:
    data["records"].pop()


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        (_tamper_reading, {"record.digest"}),
        (_missing_proof, {"record.proof"}),
        (_wrong_root, {"record.proof", "record.anchor"}),
        (_outside_the_month, {"window.inside"}),
        (_stated_more, {"energy.recompute"}),
        (_forged_receipt, {"anchor.receipt"}),
        (_other_installation, {"installation.rated"}),
        (_other_role, {"installation.receipt"}),
        (_drop_the_closing, {"energy.recompute"}),
    ],
)
def test_tampering_fails_a_named_check(
    month_proof: EnergyProof, change: Callable[[dict[str, Any]], None], failing: set[str]
) -> None:
    result = verify_energy_proof(_edit(month_proof, change))
    assert not result.ok
    assert failing <= {c.name for c in result.failed()}, result.failed()


def test_a_file_that_is_not_a_proof_is_malformed() -> None:
    with pytest.raises(MalformedEnergyProof, match="installation"):
        EnergyProof.parse(json.dumps({"format": "battery-passport-energy-proof/1"}))
    with pytest.raises(MalformedEnergyProof):
        EnergyProof.parse("not json")


def test_the_month_is_claimed_once_and_only_from_a_valid_proof(proven_month: Proven) -> None:
    proof, _, _, world = proven_month
    custodian = world["repurposer"]
    pid = passport_id_bytes32(proof.installation.passport_id)
    period = claim_period(proof.energy.month)
    with pytest.raises(EnergyProofInvalid, match=r"energy\.recompute"):
        claim_energy(custodian, _edit(proof, _stated_more))  # nothing is sent
    assert custodian.get_claim(pid, ClaimKind.ENERGY_DELIVERED, period) is None
    receipt = claim_energy(custodian, proof)
    (event,) = [e for e in receipt.events if e.name == "ClaimRecorded"]
    assert event.args["quantity"] == proof.energy.energy_delivered_wh
    claim = custodian.get_claim(pid, ClaimKind.ENERGY_DELIVERED, period)
    assert claim is not None
    assert (claim.quantity, claim.evidence_digest) == (proof.energy.energy_delivered_wh, proof_digest(proof))
    with reverts("BatteryServicesClaimExists"):
        claim_energy(custodian, proof)
    with reverts("BatteryServicesClaimExists"):  # the same month from a re-built (equal) proof too
        claim_energy(custodian, EnergyProof.parse(proof.model_dump_json()))
