"""Oracle throughput end to end on a real node (``python -m scripts.bench_oracle``), issue #4.

Usage::

    python -m scripts.bench_oracle [--n 10000 100000 1000000] [--batch-size 1000] [--naive-sample 200]
                                   [--chain anvil|ganache] [--shard RECORDS] [--json OUT]

A benchmark, not a timed test: figures are printed (a markdown table for the README) and optionally
written as JSON; the issue's targets are reported against, never asserted.

Set-up (not timed): a fresh anvil (or ganache) on a free 127.0.0.1 port in a temp data dir, stopped by
its PID at the end (also on Ctrl-C / SIGTERM); freshly generated admin and oracle keys (never a node's
well-known dev accounts), funded over JSON-RPC; the registry deployed and ``ORACLE_ROLE`` granted. Per
N, a fleet of simulated devices with fresh keys is registered in a new journal, and N readings are
generated and signed as uploads of ``--readings-per-upload`` (a realistic mix of diagnostics, parking,
charging and rare safety events along each device's own timeline).

Timed, per N, in one thread, stage by stage until every record is anchored:

1. ingest: parse + verify each upload's signature + validate every reading + journal (SQLite WAL,
   ``synchronous=FULL``: one fsync per commit; one upload per commit by default, as a server acks);
2. seal: ``Anchorer.seal`` — pending records into batches of ``--batch-size`` per kind: Merkle tree and
   canonical batch document, encrypted (AES-256-GCM envelope, telemetry KEK), committed to the journal;
3. store: each sealed batch document into the embedded content store (fsynced file per CID);
4. anchor: one ``anchorBatch`` transaction per batch, mined on the node (receipt awaited);
5. read-back + confirm: the registry's ``getAnchor`` checked against the batch, block hash recorded.

Stages 3-5 are ``Anchorer.step`` — the production state machine, unmodified. Then (not timed) gas
from the receipts, a sample of inclusion proofs verified offline and with the contract's
``verifyRecord`` view, and one batch document read back from the store, decrypted and re-checked.

Naive baseline (once per run): ``--naive-sample`` journaled records, each put in the store as its own
document and anchored by its own ``anchorBatch`` (single-leaf root = the record's leaf, count 1),
receipt awaited. It skips the read-back the batched pipeline does, so it is the cheapest honest
per-record anchoring; ingestion is the same code, so the naive end-to-end time per record is the
measured ingest time per record plus the naive anchoring time per record, extrapolated to N.

Sampling: ``--shard K`` runs only K records for any N above K and scales time, gas and transactions
linearly (records/s, gas/record and proof sizes are the shard's). Batches are fixed-size, so the
per-record work does not depend on N; what is not captured is the journal's and store's growth (B-tree
depth, directory sizes), which does show at 1,000,000 (ingest per record ~3x the 10,000 figure). Without
``--shard`` every N runs in full; ``--n 10000 100000 1000000`` took 8 minutes on a 2-core machine
(pre-generation and checks included), so 1,000,000 runs in full unless ``--shard`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Final

from eth_account import Account
from hexbytes import HexBytes

from devtools.localchain import NODE_KINDS, ChainKind, LocalChainNode
from devtools.localnodes import free_port
from oracle import (
    Anchorer,
    AnchoringPolicy,
    DeviceKey,
    Ingestor,
    Journal,
    MerkleTree,
    RecordProofs,
    RecordRow,
    SignedUpload,
    leaf_hash,
    open_batch_document,
    sign_upload,
)
from oracle.journal import BatchState
from oracle.readings import (
    ChargingSession,
    DeviceReading,
    DiagnosticSnapshot,
    ParkingPeriod,
    SafetyEvent,
    reading_json,
)
from passport.chain import Role, Web3ChainClient, deploy_registry
from passport.envelope import KeyRing
from passport.settings import Settings
from passport.store import EmbeddedStore, cid_digest
from scripts._console import configure_logging
from scripts.errors import BenchmarkError

log = logging.getLogger("scripts.bench_oracle")

# The targets (reported against, never asserted).
TARGET_RECORDS_PER_CORE_S: Final = 20_000
TARGET_SPEEDUP: Final = 500
TARGET_GAS_PER_RECORD: Final = 50
TARGET_BATCH_SIZE: Final = 1000

# Share of each reading kind in an upload: a BMS snapshots its state-of-health figures every few
# hours, a car parks a few times and charges about once a day, and safety events are rare.
KIND_WEIGHTS: Final[dict[str, float]] = {
    "diagnostics": 0.40,
    "parking": 0.30,
    "charging": 0.28,
    "safety": 0.02,
}
_SAFETY_EVENTS: Final = ("over_temperature", "cell_imbalance", "deep_discharge", "over_current", "overcharge")
_SEVERITIES: Final = ("info", "warning", "serious", "critical")
_EPOCH: Final = datetime(2024, 1, 1, tzinfo=UTC)


# -- simulated devices (set-up, not timed) -------------------------------------------------------------


def _stamp(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)  # devices report whole seconds


class SimulatedDevice:
    """One collection device on one battery: its key, sequence counter and the pack's evolving state."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.device_id = f"bench-dev-{index:05d}"
        self.battery_id = f"BENCH-BAT-{index:05d}"
        self.key = DeviceKey.generate()
        self.seq = 0
        self._rng = rng
        self._clock = _EPOCH + timedelta(minutes=7 * index)
        # A fleet of 60-120 kWh packs at ~400 V nominal.
        self._pack_kwh = 60.0 + 15.0 * (index % 5)
        self._nominal_ah = self._pack_kwh * 1000 / 400
        self._soc = rng.uniform(30, 90)
        self._cycles = rng.uniform(0, 300)
        self._energy_kwh = self._cycles * self._pack_kwh
        self._throughput_ah = self._cycles * self._nominal_ah

    def _advance(self, hours: float) -> tuple[datetime, datetime]:
        start = self._clock
        end = start + timedelta(seconds=max(60, round(hours * 3600)))
        # Driving (not a reading) between events: time passes and charge is used.
        self._clock = end + timedelta(minutes=self._rng.uniform(10, 240))
        self._soc = max(5.0, self._soc - self._rng.uniform(0, 15))
        return start, end

    def reading(self, kind: str) -> DeviceReading:
        """The next reading of ``kind`` on this device's timeline (valid by ``oracle.readings``)."""
        rng = self._rng
        if kind == "charging":
            fast = rng.random() < 0.3
            hours = rng.uniform(0.3, 1.2) if fast else rng.uniform(2.0, 9.0)
            max_kw = round(rng.uniform(50, 250) if fast else rng.choice((7.4, 11.0, 22.0)), 1)
            avg_kw = round(max_kw * rng.uniform(0.55, 0.9), 1)
            soc_start = round(self._soc, 1)
            energy = round(min(avg_kw * hours, self._pack_kwh * (100 - soc_start) / 100), 2)
            soc_end = min(100.0, round(soc_start + energy / self._pack_kwh * 100, 1))
            start, end = self._advance(hours)
            self._soc = soc_end
            self._cycles += energy / self._pack_kwh
            self._energy_kwh += energy
            self._throughput_ah += energy * 1000 / 400
            return ChargingSession(
                started_at=_stamp(start),
                ended_at=_stamp(end),
                energy_kwh=energy,
                soc_start_pct=soc_start,
                soc_end_pct=soc_end,
                avg_power_kw=avg_kw,
                max_power_kw=max_kw,
                max_cell_temp_c=round(rng.uniform(30, 48) if fast else rng.uniform(18, 35), 1),
                mode="fast" if fast else "slow",
            )
        if kind == "parking":
            hours = rng.uniform(1, 60)
            low = round(rng.uniform(-15, 25), 1)
            start, end = self._advance(hours)
            loss = round(min(self._soc, hours * rng.uniform(0.002, 0.01)), 2)
            self._soc -= loss
            return ParkingPeriod(
                started_at=_stamp(start),
                ended_at=_stamp(end),
                temp_min_c=low,
                temp_max_c=round(low + rng.uniform(0, 12), 1),
                self_discharge_pct=loss,
            )
        if kind == "diagnostics":
            fade = 1 - 0.00004 * self._cycles
            moment, _ = self._advance(0)
            return DiagnosticSnapshot(
                measured_at=_stamp(moment),
                capacity_ah=round(self._nominal_ah * fade * rng.uniform(0.99, 1.01), 2),
                soce_pct=round(100 * fade * rng.uniform(0.99, 1.01), 2),
                internal_resistance_mohm=round(60 + 0.01 * self._cycles + rng.uniform(-2, 2), 2),
                cell_voltage_spread_mv=round(rng.uniform(5, 40), 1),
                cycle_count=int(self._cycles),
                energy_throughput_kwh=round(self._energy_kwh, 1),
                capacity_throughput_ah=round(self._throughput_ah, 1),
                cell_soh_spread_pct=round(rng.uniform(0.3, 3.0), 2),
            )
        moment, _ = self._advance(0)
        high = round(rng.uniform(45, 65), 1)
        return SafetyEvent(
            occurred_at=_stamp(moment),
            event=rng.choice(_SAFETY_EVENTS),
            severity=rng.choices(_SEVERITIES, weights=(60, 30, 8, 2))[0],
            max_cell_temp_c=high,
            min_cell_temp_c=round(high - rng.uniform(5, 20), 1),
        )

    def upload(self, count: int) -> SignedUpload:
        kinds = self._rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()), k=count)
        self.seq += 1
        return sign_upload(
            self.key,
            self.device_id,
            self.battery_id,
            self.seq,
            [reading_json(self.reading(k)) for k in kinds],
        )


def make_fleet(devices: int, rng: random.Random) -> list[SimulatedDevice]:
    return [SimulatedDevice(index, rng) for index in range(devices)]


def make_uploads(fleet: list[SimulatedDevice], records: int, per_upload: int) -> list[SignedUpload]:
    """``records`` readings as signed uploads, round-robin over the fleet (the last one may be short)."""
    uploads: list[SignedUpload] = []
    remaining = records
    while remaining > 0:
        count = min(per_upload, remaining)
        uploads.append(fleet[len(uploads) % len(fleet)].upload(count))
        remaining -= count
    return uploads


# -- the chain (set-up, not timed) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """The node this run started, and the oracle's client of the registry deployed on it."""

    node: LocalChainNode
    oracle: Web3ChainClient
    registry: str
    deploy_gas: int


@contextlib.contextmanager
def bench_ledger(kind: ChainKind, chain_dir: Path, settings: Settings) -> Iterator[Ledger]:
    """Start a fresh node, deploy the registry with fresh keys, grant ``ORACLE_ROLE``; stop it by PID."""
    node = NODE_KINDS[kind](chain_dir, port=free_port())
    node.start()
    try:
        admin_key = bytes(Account.create().key)
        oracle_key = bytes(Account.create().key)
        oracle_address = Account.from_key(oracle_key).address
        node.fund([Account.from_key(admin_key).address, oracle_address])
        registry, receipt = deploy_registry(node.url, admin_key, settings=settings)
        admin = Web3ChainClient.from_rpc(node.url, admin_key, registry, settings=settings)
        admin.grant_role(Role.ORACLE, oracle_address)
        oracle = Web3ChainClient.from_rpc(node.url, oracle_key, registry, settings=settings)
        log.info("%s pid %s at %s: registry %s", kind, node.pid, node.url, registry)
        yield Ledger(node, oracle, registry, receipt.gas_used)
    finally:
        node.stop()
        log.info("%s stopped", kind)


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds a process has used (Linux /proc), or None if it cannot be read."""
    if pid is None:
        return None
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()  # fields[0] is field 3 (state) of proc(5)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the measured pipeline -----------------------------------------------------------------------------

STAGES: Final = ("ingest", "seal", "store", "anchor", "read_back_confirm")
STAGE_LABELS: Final = {
    "ingest": "ingest (parse + signature + validate + journal fsync)",
    "seal": "seal (Merkle tree + sealed batch document + journal)",
    "store": "store (sealed batch document, fsync)",
    "anchor": "anchor (1 tx per batch, mined)",
    "read_back_confirm": "read-back + confirm",
}


@dataclass
class ProofStats:
    sampled: int = 0
    verified_offline: int = 0
    verified_on_chain: int = 0
    hashes_min: int = 0
    hashes_max: int = 0
    hashes_mean: float = 0.0
    sibling_bytes_mean: float = 0.0
    json_bytes_mean: float = 0.0


@dataclass
class RunResult:
    """One N's figures (scaled from the shard when ``sampled``)."""

    records: int
    measured_records: int
    sampled: bool
    batch_size: int
    devices: int
    uploads: int
    kinds: dict[str, int]
    pregen_s: float
    stage_s: dict[str, float]
    merkle_s: float
    wall_s: float
    oracle_cpu_s: float
    node_cpu_s: float | None
    records_per_s: float
    records_per_cpu_s: float
    txs: int
    total_gas: int
    gas_per_record: float
    gas_per_tx_mean: float
    gas_per_record_full_batches: float | None
    proofs: ProofStats
    document_rechecked: bool
    naive_records_per_s: float = 0.0
    naive_hours: float = 0.0
    speedup: float = 0.0
    gas_saving: float = 0.0


@dataclass
class NaiveResult:
    sample: int
    anchor_s: float
    anchor_s_per_record: float
    store_s_per_record: float
    gas_per_record: float
    verified_on_chain: int


@dataclass
class Measured:
    """What ``run_pipeline`` returns: the result, plus records the naive baseline may reuse."""

    result: RunResult
    naive_candidates: list[RecordRow] = field(default_factory=list)


@contextlib.contextmanager
def _stage(times: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        times[name] = times.get(name, 0.0) + time.perf_counter() - started


def _advance_all(
    anchorer: Anchorer, journal: Journal, state: BatchState, stage: str, times: dict[str, float]
) -> None:
    """Move every batch in ``state`` one step (``Anchorer.step``), timed as ``stage``."""
    with _stage(times, stage):
        for batch in journal.batches((state,)):
            moved = anchorer.step(batch)
            if moved.state == batch.state:
                raise BenchmarkError(f"batch {batch.id} did not leave {state}: {moved.last_error}")


def run_pipeline(
    args: argparse.Namespace, ledger: Ledger, workdir: Path, records: int, rng: random.Random
) -> Measured:
    """Generate, then time ingestion through anchoring for ``records`` records (see the module doc)."""
    measured = min(records, args.shard) if args.shard else records
    started = time.perf_counter()
    fleet = make_fleet(args.devices, rng)
    uploads = make_uploads(fleet, measured, args.readings_per_upload)
    pregen_s = time.perf_counter() - started
    log.info(
        "N=%d: %d signed uploads of %d records generated in %.1f s", records, len(uploads), measured, pregen_s
    )

    run_dir = workdir / f"n{records}"
    policy = AnchoringPolicy(batch_size=args.batch_size, confirmations=0)
    with Journal(run_dir / "journal.db") as journal:
        for device in fleet:
            journal.register_device(device.device_id, device.key.address, device.battery_id)
        store = EmbeddedStore(run_dir / "store")  # durable: fsync per document, as in production
        ingestor = Ingestor(journal)
        keyring = KeyRing(run_dir / "keys")
        anchorer = Anchorer(journal, store, ledger.oracle, policy, keyring=keyring)
        times: dict[str, float] = {}
        record_ids: list[int] = []
        node_cpu_before = _cpu_seconds(ledger.node.pid)
        cpu_before = time.process_time()
        wall_before = time.perf_counter()

        with _stage(times, "ingest"):
            group = args.uploads_per_commit
            for i in range(0, len(uploads), group):
                for ack in ingestor.ingest_many(uploads[i : i + group]):
                    if ack.status != "accepted" or ack.rejected:
                        raise BenchmarkError(f"upload {ack.device_id}#{ack.seq} not fully accepted: {ack}")
                    record_ids.extend(a.record_id for a in ack.accepted)
        with _stage(times, "seal"):
            anchorer.seal(force=True)
        _advance_all(anchorer, journal, "open", "store", times)
        _advance_all(anchorer, journal, "stored", "anchor", times)
        _advance_all(anchorer, journal, "sent", "read_back_confirm", times)
        _advance_all(anchorer, journal, "anchored", "read_back_confirm", times)

        wall_s = time.perf_counter() - wall_before
        oracle_cpu_s = time.process_time() - cpu_before
        node_cpu_after = _cpu_seconds(ledger.node.pid)
        node_cpu_s = (
            node_cpu_after - node_cpu_before
            if node_cpu_after is not None and node_cpu_before is not None
            else None
        )
        log.info("N=%d: %d records anchored in %.1f s", records, len(record_ids), wall_s)

        # -- not timed: checks and figures ----------------------------------------------------------
        batches = journal.batches()
        if len(record_ids) != measured or journal.pending():
            raise BenchmarkError(f"{len(record_ids)} of {measured} records journaled, or some still pending")
        if any(b.state != "confirmed" for b in batches) or sum(b.record_count for b in batches) != measured:
            raise BenchmarkError("not every record is in a confirmed batch")
        w3 = ledger.oracle.w3
        gas_of = {
            b.id: int(w3.eth.get_transaction_receipt(HexBytes(b.tx_hash))["gasUsed"])
            for b in batches
            if b.tx_hash
        }
        gas = list(gas_of.values())
        # Each kind's last batch is underfull; the target is about full batches, so report those apart.
        full = [gas_of[b.id] for b in batches if b.id in gas_of and b.record_count == args.batch_size]
        merkle_s = 0.0
        for batch in batches:
            digests = [r.digest for r in journal.batch_records(batch.id)]
            before = time.perf_counter()
            MerkleTree.from_digests(digests)
            merkle_s += time.perf_counter() - before
        proofs = _check_proofs(
            RecordProofs(journal, store, keyring=keyring),
            ledger.oracle,
            rng.sample(record_ids, min(args.proof_sample, measured)),
        )
        last = batches[-1]
        assert last.cid is not None  # confirmed batches are stored
        document_rechecked = open_batch_document(store.get(last.cid), keyring).root == last.root
        kinds: Counter[str] = Counter()
        for batch in batches:
            kinds[batch.kind.name.lower()] += batch.record_count
        naive_ids = rng.sample(record_ids, min(args.naive_sample, measured))
        candidates = [journal.record(record_id) for record_id in naive_ids]

    scale = records / measured
    total_gas = sum(gas)
    result = RunResult(
        records=records,
        measured_records=measured,
        sampled=measured != records,
        batch_size=args.batch_size,
        devices=args.devices,
        uploads=math.ceil(len(uploads) * scale),
        kinds={k: round(v * scale) for k, v in sorted(kinds.items())},
        pregen_s=pregen_s,
        stage_s={name: times.get(name, 0.0) * scale for name in STAGES},
        merkle_s=merkle_s * scale,
        wall_s=wall_s * scale,
        oracle_cpu_s=oracle_cpu_s * scale,
        node_cpu_s=None if node_cpu_s is None else node_cpu_s * scale,
        records_per_s=measured / wall_s,
        records_per_cpu_s=measured / oracle_cpu_s,
        txs=round(len(gas) * scale),
        total_gas=round(total_gas * scale),
        gas_per_record=total_gas / measured,
        gas_per_tx_mean=statistics.fmean(gas),
        gas_per_record_full_batches=statistics.fmean(full) / args.batch_size if full else None,
        proofs=proofs,
        document_rechecked=document_rechecked,
    )
    return Measured(result, candidates)


def _check_proofs(proofs: RecordProofs, chain: Web3ChainClient, record_ids: list[int]) -> ProofStats:
    stats = ProofStats(sampled=len(record_ids))
    hashes: list[int] = []
    json_sizes: list[int] = []
    for record_id in record_ids:
        proof = proofs.proof_for(record_id)
        stats.verified_offline += proof.verify_offline()
        stats.verified_on_chain += proof.verify_on_chain(chain)
        hashes.append(len(proof.proof))
        json_sizes.append(len(proof.model_dump_json()))
    if hashes:
        stats.hashes_min, stats.hashes_max = min(hashes), max(hashes)
        stats.hashes_mean = statistics.fmean(hashes)
        stats.sibling_bytes_mean = 32 * stats.hashes_mean
        stats.json_bytes_mean = statistics.fmean(json_sizes)
    return stats


def run_naive(records: list[RecordRow], chain: Web3ChainClient, store_dir: Path) -> NaiveResult:
    """One store put and one single-leaf ``anchorBatch`` per record, receipt awaited (timed)."""
    store = EmbeddedStore(store_dir)
    gas: list[int] = []
    store_s = 0.0
    started = time.perf_counter()
    for record in records:
        before = time.perf_counter()
        cid = store.put(record.canonical)
        store_s += time.perf_counter() - before
        # A one-leaf tree's root is the leaf itself, and its proof is empty (oracle.merkle).
        receipt = chain.anchor_batch(leaf_hash(record.digest), cid_digest(cid), 1, record.kind)
        gas.append(receipt.gas_used)
    elapsed = time.perf_counter() - started
    verified = sum(chain.verify_record(leaf_hash(r.digest), r.digest, []) for r in records)
    return NaiveResult(
        sample=len(records),
        anchor_s=elapsed,
        anchor_s_per_record=elapsed / len(records),
        store_s_per_record=store_s / len(records),
        gas_per_record=statistics.fmean(gas),
        verified_on_chain=verified,
    )


def compare(result: RunResult, naive: NaiveResult) -> None:
    """Fill in the naive figures for ``result``'s N: same ingestion, then one tx per record."""
    per_record = result.stage_s["ingest"] / result.records + naive.anchor_s_per_record
    result.naive_records_per_s = 1 / per_record
    result.naive_hours = per_record * result.records / 3600
    result.speedup = result.records_per_s / result.naive_records_per_s
    result.gas_saving = naive.gas_per_record / result.gas_per_record


# -- output --------------------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _n1(value: float) -> str:
    return f"{value:,.1f}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 60:,.1f} min" if seconds >= 60 else f"{seconds:,.1f} s"


def _label(result: RunResult) -> str:
    if result.sampled:
        factor = result.records / result.measured_records
        return f"{_n(result.records)} (sampled: {_n(result.measured_records)} run, x{factor:g})"
    return _n(result.records)


def markdown(results: list[RunResult], naive: NaiveResult, config: dict[str, Any]) -> str:
    lines = [
        f"Oracle end-to-end throughput on {config['chain']} ({config['machine']}); batch size "
        f"{config['batch_size']}, {config['readings_per_upload']} readings per signed upload, "
        f"{config['devices']} devices, {config['uploads_per_commit']} upload(s) per journal commit. "
        f"Reproduce: `{config['command']}`.",
        "",
        "| records | records/s | records/CPU-s (oracle) | wall s | txs | total gas | gas/record "
        "| proof: hashes (bytes) | proofs verified offline / on-chain | naive records/s | speed-up "
        "| gas saving |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p = r.proofs
        lines.append(
            f"| {_label(r)} | {_n(r.records_per_s)} | {_n(r.records_per_cpu_s)} | {_n1(r.wall_s)} "
            f"| {_n(r.txs)} "
            f"| {_n(r.total_gas)} | {_n1(r.gas_per_record)} "
            f"| {p.hashes_min}-{p.hashes_max} ({_n(p.sibling_bytes_mean)} B; JSON {_n(p.json_bytes_mean)} B) "
            f"| {p.verified_offline}/{p.sampled} / {p.verified_on_chain}/{p.sampled} "
            f"| {_n1(r.naive_records_per_s)} ({_duration(r.naive_hours * 3600)} for N) "
            f"| {_n(r.speedup)}x | {_n(r.gas_saving)}x |"
        )
    lines += [
        "",
        "Time per stage (seconds, µs per record, share of the wall time):",
        "",
        "| records | " + " | ".join(STAGE_LABELS[s] for s in STAGES) + " | of seal: Merkle trees |",
        "|---|" + "---|" * (len(STAGES) + 1),
    ]
    for r in results:
        cells = [
            f"{_n1(r.stage_s[s])} s, {_n1(r.stage_s[s] / r.records * 1e6)} µs, {r.stage_s[s] / r.wall_s:.0%}"
            for s in STAGES
        ]
        merkle = f"{_n1(r.merkle_s)} s, {_n1(r.merkle_s / r.records * 1e6)} µs"
        lines.append(f"| {_label(r)} | " + " | ".join(cells) + f" | {merkle} |")
    largest = max(results, key=lambda r: r.records)
    full = largest.gas_per_record_full_batches
    gas_line = (
        f"{_n1(full)} in full batches of {largest.batch_size}" if full is not None else "no full batch"
    ) + f"; {_n1(largest.gas_per_record)} over all {_n(largest.txs)} txs (each kind's last is underfull)"
    gas_ok = largest.batch_size == TARGET_BATCH_SIZE and full is not None and full <= TARGET_GAS_PER_RECORD
    lines += [
        "",
        f"Naive baseline: {naive.sample} records, one store put + one single-leaf `anchorBatch` each "
        f"(receipt awaited): {naive.anchor_s_per_record * 1000:.1f} ms (of which store "
        f"{naive.store_s_per_record * 1000:.1f} ms) and {_n(naive.gas_per_record)} gas per record, "
        f"{naive.verified_on_chain}/{naive.sample} verified on-chain; naive records/s adds the "
        "same ingestion time per record and is extrapolated to each N.",
        "",
        f"| target (issue #4) | measured (N = {_n(largest.records)}) | met |",
        "|---|---|---|",
        f"| ≥ {_n(TARGET_RECORDS_PER_CORE_S)} records/s per core | {_n(largest.records_per_s)} wall "
        f"(one thread), {_n(largest.records_per_cpu_s)} per oracle CPU-s "
        f"| {'yes' if largest.records_per_s >= TARGET_RECORDS_PER_CORE_S else 'no'} |",
        f"| ≥ {TARGET_SPEEDUP}x the naive baseline | {_n(largest.speedup)}x records/s, "
        f"{_n(largest.gas_saving)}x gas | {'yes' if largest.speedup >= TARGET_SPEEDUP else 'no'} |",
        f"| ≤ {TARGET_GAS_PER_RECORD} gas/record at batch {TARGET_BATCH_SIZE} | {gas_line} "
        f"| {'yes' if gas_ok else 'no'} |",
    ]
    sampled = [r for r in results if r.sampled]
    if sampled:
        lines += [
            "",
            "Sampled: "
            + "; ".join(
                f"N = {_n(r.records)} ran {_n(r.measured_records)} records and scaled time, gas and txs "
                f"x{r.records / r.measured_records:g} (records/s, gas/record and proofs are the shard's)"
                for r in sampled
            )
            + ".",
        ]
    return "\n".join(lines)


# -- CLI -----------------------------------------------------------------------------------------------


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM takes the same path as Ctrl-C, so the finally blocks stop the node by its PID.
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench_oracle", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000], help="record counts to run")
    parser.add_argument("--batch-size", type=int, default=1000, help="records per anchored batch")
    parser.add_argument("--naive-sample", type=int, default=200, help="records anchored one tx each")
    parser.add_argument("--chain", choices=["anvil", "ganache"], default="anvil")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument(
        "--shard", type=int, help="run at most this many records per N and scale (see the module doc)"
    )
    parser.add_argument("--readings-per-upload", type=int, default=50)
    parser.add_argument("--devices", type=int, default=200, help="simulated devices (fresh keys)")
    parser.add_argument("--uploads-per-commit", type=int, default=1, help="journal group commit size")
    parser.add_argument("--proof-sample", type=int, default=100, help="proofs verified per N")
    parser.add_argument("--poll-latency", type=float, default=0.005, help="receipt polling interval, s")
    parser.add_argument("--seed", type=int, default=4, help="seed of the simulated readings")
    parser.add_argument("--workdir", type=Path, help="parent of the temp dir (journal, store, chain)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    for name in ("batch_size", "naive_sample", "readings_per_upload", "devices", "uploads_per_commit"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(args.n) < 1 or (args.shard is not None and args.shard < 1):
        parser.error("--n and --shard must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
    if not args.verbose:
        # One INFO line per sealed/anchored batch would bury the progress lines.
        logging.getLogger("oracle").setLevel(logging.WARNING)
    # The Python process and the node share the machine; say so with the figures.
    config: dict[str, Any] = {
        "command": "python -m scripts.bench_oracle " + " ".join(sys.argv[1:] if argv is None else argv),
        "chain": args.chain,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}",
        "batch_size": args.batch_size,
        "readings_per_upload": args.readings_per_upload,
        "devices": args.devices,
        "uploads_per_commit": args.uploads_per_commit,
        "naive_sample": args.naive_sample,
        "proof_sample": args.proof_sample,
        "poll_latency_s": args.poll_latency,
        "shard": args.shard,
        "seed": args.seed,
        "kind_weights": KIND_WEIGHTS,
    }
    settings = Settings(environment="development", poll_latency=args.poll_latency, tx_timeout=120)
    rng = random.Random(args.seed)  # noqa: S311  # simulated sensor values, not secrets
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-oracle-", dir=args.workdir) as tmp,
            bench_ledger(args.chain, Path(tmp) / "chain", settings) as ledger,
        ):
            results: list[RunResult] = []
            candidates: list[RecordRow] = []
            for records in sorted(args.n):
                measured = run_pipeline(args, ledger, Path(tmp), records, rng)
                results.append(measured.result)
                candidates = candidates or measured.naive_candidates
            log.info("naive baseline: %d records, one transaction each", len(candidates))
            naive = run_naive(candidates, ledger.oracle, Path(tmp) / "naive-store")
            config["deploy_gas"] = ledger.deploy_gas
    except KeyboardInterrupt:
        print("interrupted; the node was stopped", file=sys.stderr)
        return 130
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    for result in results:
        compare(result, naive)
    print(markdown(results, naive, config))
    if args.json is not None:
        document = {
            "config": config,
            "targets": {
                "records_per_core_s": TARGET_RECORDS_PER_CORE_S,
                "speedup": TARGET_SPEEDUP,
                "gas_per_record": TARGET_GAS_PER_RECORD,
                "at_batch_size": TARGET_BATCH_SIZE,
            },
            "naive": asdict(naive),
            "runs": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
