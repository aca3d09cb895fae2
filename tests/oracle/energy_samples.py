"""Shared second-life energy test material: meter readings, and a month proven on a real registry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from oracle.energy import EnergyProof, anchoring_of, build_energy_proof, installation_facts, installation_tx
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.proofs import RecordProofs
from oracle.readings import StorageMeterReading, parse_reading
from passport.bundle import prove_anchor
from passport.canonical import canonical_json
from passport.chain.services import StorageRole, site_hash
from passport.ids import parse_passport_id
from passport.store import EmbeddedStore
from tests.chain_backends import Actor, ChainBackend
from tests.contracts.services_world import ServicesWorld, repurposed, services_world
from tests.oracle.oracle_samples import Fleet, anchorer, journal_keyring

RATED_WH = 60_000  # a 60 kWh repurposed EV pack
INSTALLED = datetime(2026, 2, 10, 9, tzinfo=UTC)


HOUR = timedelta(hours=1)


def meter(at: datetime, energy_in_wh: int, energy_out_wh: int, **overrides: Any) -> dict[str, Any]:
    """A storage meter reading as a device sends it."""
    return {
        "kind": "storage_meter",
        "measured_at": at.isoformat(),
        "energy_in_wh": energy_in_wh,
        "energy_out_wh": energy_out_wh,
        "soc_pct": 50.0,
        "rated_energy_wh": RATED_WH,
        **overrides,
    }


def parsed(reading: dict[str, Any]) -> StorageMeterReading:
    model = parse_reading(canonical_json(reading))
    assert isinstance(model, StorageMeterReading)
    return model


def daily(start: datetime, days: int, *, in_wh: int = 0, out_wh: int = 0) -> list[dict[str, Any]]:
    """One reading a day from ``start``: 40 kWh in and 36 kWh out each day (a 90 % round trip)."""
    return [meter(start + timedelta(days=d), in_wh + 40_000 * d, out_wh + 36_000 * d) for d in range(days)]


def ingest(fleet: Fleet, readings: list[dict[str, Any]]) -> tuple[list[int], dict[int, list[str]]]:
    ack = fleet.ingestor.ingest(fleet.upload(0, readings))
    assert ack.status == "accepted"
    return [a.index for a in ack.accepted], {r.index: [p.path for p in r.problems] for r in ack.rejected}


Proven = tuple[EnergyProof, Actor, list[dict[str, Any]], ServicesWorld]


@contextmanager
def proven_month_on(chain_backend: ChainBackend, tmp_path: Path) -> Iterator[Proven]:
    """A repurposed pack installed in storage (recorded on ``BatteryServices``), its meter read daily
    for 70 days, anchored in batches of 8; the proof of the month after the installation month.

    Everything happens inside a snapshot of ``chain_backend``, reverted on exit."""
    oracle = chain_backend.actors["oracle"]
    store = EmbeddedStore(tmp_path / "store", durable=False)
    with chain_backend.isolated(), Journal(tmp_path / "journal.db") as journal:
        world = services_world(chain_backend)
        world.wire(chain_backend)
        pid = repurposed(chain_backend, "energy-proof")
        tx = world["repurposer"].record_storage_installation(
            pid, site_hash("jeju-pv-3/container-2"), RATED_WH, StorageRole.RENEWABLE_FIRMING
        )
        recorded = world["repurposer"].get_storage_installation(pid)
        assert recorded is not None
        installed = datetime.fromtimestamp(recorded.installed_at, UTC)
        fleet = Fleet(journal, Ingestor(journal))
        fleet.device(0).register(journal)
        readings = daily(installed + HOUR, 70)
        for start in range(0, len(readings), 10):
            _, rejected = ingest(fleet, readings[start : start + 10])
            assert not rejected
        report = anchorer(journal, store, oracle.client, batch_size=8).drain()
        assert report.error is None
        proofs = RecordProofs(journal, store, keyring=journal_keyring(journal))
        battery = fleet.battery_id(0)
        history = proofs.battery_history(battery, chain=oracle.client)
        assert installation_tx(world["repurposer"], parse_passport_id(pid)) == (tx.tx_hash, tx.block_hash)
        installation = installation_facts(
            parse_passport_id(pid),
            battery,
            world.address,
            recorded,
            prove_anchor(oracle.client, tx.tx_hash, tx.block_hash),
        )
        month = _next_month(installed)
        proof = build_energy_proof(
            installation, month, history, anchoring_of(journal, battery), oracle.client
        )
        yield proof, oracle, readings, world


def _next_month(at: datetime) -> str:
    return f"{at.year + at.month // 12}-{at.month % 12 + 1:02d}"


def _next_month(at: datetime) -> str:
    return f"{at.year + at.month // 12}-{at.month % 12 + 1:02d}"
