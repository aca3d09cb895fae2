"""Oracle throughput end to end on a real node (``python -m scripts.bench_oracle``), issue #16.

Usage::

    python -m scripts.bench_oracle [--n 10000 100000] [--batch-size 1000] [--naive-sample 200]
                                   [--chain anvil|ganache] [--shard RECORDS] [--json OUT] [--quick]

A benchmark, not a timed test: figures are printed (markdown tables for the README) and optionally
written as JSON; the issue's targets are reported against, never asserted. ``--quick`` is a tiny run
(CI checks it for correctness only).

Set-up (not timed): a fresh anvil (or ganache) on a free 127.0.0.1 port in a temp data dir, stopped by
its PID at the end (also on Ctrl-C / SIGTERM); freshly generated admin and oracle keys (never a node's
well-known dev accounts), funded over JSON-RPC; the registry deployed and ``ORACLE_ROLE`` granted to two
oracle accounts (the pipeline's and the naive baseline's, so neither's nonces disturb the other). Per N,
a fleet of simulated devices with fresh keys is registered in a new journal, and N readings are
generated, signed as uploads of ``--readings-per-upload`` (a realistic mix of diagnostics, parking,
charging and rare safety events along each device's own timeline) and written to a JSON-lines file.

Timed, per N — the pipeline, its stages running concurrently, connected only through the journal:

* ingestion (this process): each upload read from the file and parsed from JSON (as a server receives
  it), submitted to a ``GroupCommitter`` by ``--concurrency`` simulated clients; parse + signature +
  one-pass validation + journal, many uploads per fsync, each acknowledged after its commit;
* anchoring (a second process, the production ``Anchorer.run_once`` loop, started before the clock):
  seal full batches as they fill (Merkle tree + sealed batch document), store them, send
  ``anchorBatches`` with ``--roots-per-tx`` roots and up to ``--in-flight`` transactions unmined,
  anchored from the receipts, confirmed by block hash. When ingestion has finished, the remainder is
  sealed and anchored; the clock stops when every record is in a confirmed batch.

Each stage's wall time (time spent in it) and CPU time (its thread's) are reported; they overlap, so
they do not add up to the wall time. Then (not timed) gas from the receipts, a sample of inclusion
proofs verified offline and with the contract's ``verifyRecord`` view, and one batch document read back
from the store, decrypted and re-checked.

Naive baseline, interleaved: half of ``--naive-sample`` readings right before each N's pipeline and half
right after, on the same node: uploads ingested one per commit, then each record put in the store as
its own document and anchored by its own ``anchorBatch`` (single-leaf root, count 1), receipt awaited.
Its records/s is that end-to-end time per record; the speed-up is the pipeline's records/s over it.

Sampling: ``--shard K`` runs only K records for any N above K and scales time, gas and transactions
linearly (records/s, gas/record and proof sizes are the shard's).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import multiprocessing
import os
import platform
import random
import resource
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
    RecordProofs,
    RecordRow,
    SignedUpload,
    leaf_hash,
    open_batch_document,
    sign_upload,
)
from oracle.group_commit import GroupCommitter
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


def iter_uploads(fleet: list[SimulatedDevice], records: int, per_upload: int) -> Iterator[SignedUpload]:
    """``records`` readings as signed uploads, round-robin over the fleet (the last one may be short)."""
    remaining, made = records, 0
    while remaining > 0:
        count = min(per_upload, remaining)
        yield fleet[made % len(fleet)].upload(count)
        made += 1
        remaining -= count


def make_uploads(fleet: list[SimulatedDevice], records: int, per_upload: int) -> list[SignedUpload]:
    return list(iter_uploads(fleet, records, per_upload))


def write_uploads(path: Path, fleet: list[SimulatedDevice], records: int, per_upload: int) -> int:
    """Generate the uploads into a JSON-lines file (memory stays flat in N); how many were written."""
    count = 0
    with path.open("w") as fh:
        for upload in iter_uploads(fleet, records, per_upload):
            fh.write(json.dumps(upload.model_dump(), separators=(",", ":")) + "\n")
            count += 1
    return count


# -- the chain (set-up, not timed) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """The node this run started, and the two oracle accounts' clients of the registry on it."""

    node: LocalChainNode
    oracle: Web3ChainClient  # the naive baseline's account (and the checks')
    pipeline_key: bytes  # the anchoring process's account
    registry: str
    deploy_gas: int


@contextlib.contextmanager
def bench_ledger(kind: ChainKind, chain_dir: Path, settings: Settings) -> Iterator[Ledger]:
    """Start a fresh node, deploy the registry with fresh keys, grant ``ORACLE_ROLE``; stop it by PID."""
    node = NODE_KINDS[kind](chain_dir, port=free_port())
    node.start()
    try:
        admin_key, oracle_key, pipeline_key = (bytes(Account.create().key) for _ in range(3))
        oracles = [Account.from_key(k).address for k in (oracle_key, pipeline_key)]
        node.fund([Account.from_key(admin_key).address, *oracles])
        registry, receipt = deploy_registry(node.url, admin_key, settings=settings)
        admin = Web3ChainClient.from_rpc(node.url, admin_key, registry, settings=settings)
        for address in oracles:
            admin.grant_role(Role.ORACLE, address)
        oracle = Web3ChainClient.from_rpc(node.url, oracle_key, registry, settings=settings)
        log.info("%s pid %s at %s: registry %s", kind, node.pid, node.url, registry)
        yield Ledger(node, oracle, pipeline_key, registry, receipt.gas_used)
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


def _peak_rss_mib() -> float:
    """This process's peak resident set (Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the anchoring process -----------------------------------------------------------------------------

STAGES: Final = ("ingest", "seal", "store", "anchor", "receipts", "confirm")
STAGE_LABELS: Final = {
    "ingest": "ingest (JSON + signature + validate + group-committed journal)",
    "seal": "seal (Merkle tree + sealed batch document + journal)",
    "store": "store (sealed batch document, fsync)",
    "anchor": "anchor (anchorBatches sent, lookups)",
    "receipts": "receipts (collected, batches anchored)",
    "confirm": "confirm + re-check (block hashes)",
}


@dataclass(frozen=True)
class AnchoringJob:
    """What the anchoring process needs (plain values: it is spawned, not forked)."""

    journal: str
    store: str
    keys: str
    url: str
    key_hex: str
    registry: str
    batch_size: int
    roots_per_tx: int
    in_flight: int
    poll_latency: float
    idle_poll: float


class _StageClock:
    """Wall and CPU (this thread's) seconds spent inside wrapped callables, per stage."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._depth = 0

    def wrap(self, target: object, name: str, stage: str) -> None:
        inner = getattr(target, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:  # nested (a stage calling another wrapped one): the outer one counts it
                return inner(*args, **kwargs)
            self._depth += 1
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self._depth -= 1
                self.wall[stage] = self.wall.get(stage, 0.0) + time.perf_counter() - wall
                self.cpu[stage] = self.cpu.get(stage, 0.0) + time.thread_time() - cpu

        setattr(target, name, timed)


def _count_rpcs(chain: Web3ChainClient) -> list[int]:
    """Count the JSON-RPC requests ``chain`` makes from now on (a one-element list, updated in place)."""
    count = [0]
    provider = chain.w3.provider
    inner = provider.make_request

    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return inner(*args, **kwargs)

    setattr(provider, "make_request", counted)  # noqa: B010 — an instance attribute shadows the method
    return count


def anchoring_process(job: AnchoringJob, stop: Any, out: Any) -> None:
    """The anchoring worker's loop in its own process until ``stop``, then until all is confirmed."""
    logging.basicConfig(level=logging.WARNING)
    try:
        settings = Settings(environment="development", poll_latency=job.poll_latency, tx_timeout=120)
        chain = Web3ChainClient.from_rpc(job.url, bytes.fromhex(job.key_hex), job.registry, settings=settings)
        policy = AnchoringPolicy(
            batch_size=job.batch_size,
            confirmations=0,
            roots_per_tx=job.roots_per_tx,
            max_in_flight=job.in_flight,
            receipt_poll_s=job.poll_latency,
        )
        with Journal(job.journal) as journal:
            anchorer = Anchorer(
                journal, EmbeddedStore(Path(job.store)), chain, policy, keyring=KeyRing(Path(job.keys))
            )
            clock = _StageClock()
            clock.wrap(anchorer, "seal", "seal")
            clock.wrap(anchorer, "_store", "store")
            clock.wrap(chain, "send_anchor_batches", "anchor")
            clock.wrap(chain, "get_anchor", "anchor")
            clock.wrap(chain, "anchor_receipt", "receipts")
            clock.wrap(journal, "mark_anchored_many", "receipts")
            clock.wrap(anchorer, "_confirm_grouped", "confirm")
            clock.wrap(anchorer, "_recheck_recent_grouped", "confirm")
            chain.block_number()  # connect before the clock starts
            rpcs = _count_rpcs(chain)
            out.put(("ready", None))
            cpu = time.process_time()
            while not stop.is_set():
                report = anchorer.run_once()
                if report.error is not None:
                    log.warning("anchoring: %s", report.error)
                if report.idle or report.retry_in:
                    # As the worker does when idle (it waits poll_s, 1 s by default): nothing to seal
                    # yet. Every idle pass costs RPCs and CPU the ingestion process could use.
                    stop.wait(min(report.retry_in or job.idle_poll, 1.0))
            report = anchorer.drain()
            if report.error is not None:
                raise BenchmarkError(f"anchoring failed: {report.error}")
            out.put(
                (
                    "done",
                    {
                        "stage_s": clock.wall,
                        "stage_cpu_s": clock.cpu,
                        "cpu_s": time.process_time() - cpu,
                        "rpcs": rpcs[0],
                        "peak_rss_mib": _peak_rss_mib(),
                    },
                )
            )
    except BaseException as exc:
        out.put(("error", f"{type(exc).__name__}: {exc}"))
        raise


# -- the measured pipeline -----------------------------------------------------------------------------


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
class NaiveResult:
    """The naive baseline measured around one N (two interleaved halves)."""

    sample: int = 0
    seconds: float = 0.0
    store_s: float = 0.0
    gas: list[int] = field(default_factory=list)
    verified_on_chain: int = 0

    @property
    def records_per_s(self) -> float:
        return self.sample / self.seconds if self.seconds else 0.0

    @property
    def gas_per_record(self) -> float:
        return statistics.fmean(self.gas) if self.gas else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "sample": self.sample,
            "records_per_s": self.records_per_s,
            "ms_per_record": 1000 * self.seconds / max(self.sample, 1),
            "store_ms_per_record": 1000 * self.store_s / max(self.sample, 1),
            "gas_per_record": self.gas_per_record,
            "verified_on_chain": self.verified_on_chain,
        }


@dataclass
class RunResult:
    """One N's figures (scaled from the shard when ``sampled``)."""

    records: int
    measured_records: int
    sampled: bool
    batch_size: int
    devices: int
    uploads: int
    commits: int
    kinds: dict[str, int]
    pregen_s: float
    stage_s: dict[str, float]
    stage_cpu_s: dict[str, float]
    wall_s: float
    oracle_cpu_s: float
    node_cpu_s: float | None
    node_cpu_share: float | None
    records_per_s: float
    records_per_cpu_s: float
    txs: int
    batches: int
    rpcs_per_batch: float
    total_gas: int
    gas_per_record: float
    gas_per_record_full_batches: float | None
    peak_rss_mib: float
    anchoring_peak_rss_mib: float
    proofs: ProofStats
    document_rechecked: bool
    naive: dict[str, float] = field(default_factory=dict)
    naive_records_per_s: float = 0.0
    speedup: float = 0.0
    gas_saving: float = 0.0


def run_naive(
    args: argparse.Namespace, ledger: Ledger, workdir: Path, count: int, rng: random.Random, into: NaiveResult
) -> None:
    """Time ``count`` readings the naive way (one commit per upload, one transaction per record)."""
    if count < 1:
        return
    fleet = make_fleet(2, rng)
    uploads = make_uploads(fleet, count, args.readings_per_upload)
    chain = ledger.oracle
    with Journal(workdir / "journal.db") as journal:
        for device in fleet:
            journal.register_device(device.device_id, device.key.address, device.battery_id)
        store = EmbeddedStore(workdir / "store")
        ingestor = Ingestor(journal)
        anchored: list[RecordRow] = []
        started = time.perf_counter()
        for upload in uploads:
            ack = ingestor.ingest(upload)
            if ack.status != "accepted" or ack.rejected:
                raise BenchmarkError(f"naive upload not fully accepted: {ack}")
            for accepted in ack.accepted:
                record = journal.record(accepted.record_id)
                before = time.perf_counter()
                cid = store.put(record.canonical)
                into.store_s += time.perf_counter() - before
                # A one-leaf tree's root is the leaf itself, and its proof is empty (oracle.merkle).
                receipt = chain.anchor_batch(leaf_hash(record.digest), cid_digest(cid), 1, record.kind)
                into.gas.append(receipt.gas_used)
                anchored.append(record)
        into.seconds += time.perf_counter() - started
    into.sample += len(anchored)
    into.verified_on_chain += sum(chain.verify_record(leaf_hash(r.digest), r.digest, []) for r in anchored)


def _check_acks(window: list[Any]) -> None:
    for future in window:
        ack = future.result()
        if ack.status != "accepted" or ack.rejected:
            raise BenchmarkError(f"upload {ack.device_id}#{ack.seq} not fully accepted: {ack}")


def run_pipeline(
    args: argparse.Namespace, ledger: Ledger, workdir: Path, records: int, rng: random.Random
) -> RunResult:
    """Generate, then time ingestion through anchoring for ``records`` records (see the module doc)."""
    measured = min(records, args.shard) if args.shard else records
    run_dir = workdir / f"n{records}"
    run_dir.mkdir(parents=True)
    started = time.perf_counter()
    fleet = make_fleet(args.devices, rng)
    uploads_file = run_dir / "uploads.jsonl"
    upload_count = write_uploads(uploads_file, fleet, measured, args.readings_per_upload)
    pregen_s = time.perf_counter() - started
    log.info(
        "N=%d: %d signed uploads of %d records generated in %.1f s", records, upload_count, measured, pregen_s
    )

    journal_path = run_dir / "journal.db"
    with Journal(journal_path) as journal:
        for device in fleet:
            journal.register_device(device.device_id, device.key.address, device.battery_id)
    keyring = KeyRing(run_dir / "keys")
    keyring.current_key("telemetry")  # created once here, not raced by the two processes
    job = AnchoringJob(
        journal=str(journal_path),
        store=str(run_dir / "store"),
        keys=str(run_dir / "keys"),
        url=ledger.node.url,
        key_hex=ledger.pipeline_key.hex(),
        registry=ledger.registry,
        batch_size=args.batch_size,
        roots_per_tx=args.roots_per_tx,
        in_flight=args.in_flight,
        poll_latency=args.poll_latency,
        idle_poll=args.idle_poll,
    )
    context = multiprocessing.get_context("spawn")
    stop, out = context.Event(), context.Queue()
    worker = context.Process(target=anchoring_process, args=(job, stop, out), name="bench-anchoring")
    worker.start()
    try:
        kind, _ = out.get(timeout=120)
        if kind != "ready":
            raise BenchmarkError(f"the anchoring process did not start: {_}")
        with Journal(journal_path) as journal:
            committer = GroupCommitter(Ingestor(journal), max_group=args.max_group)
            node_cpu_before = _cpu_seconds(ledger.node.pid)
            cpu_before = time.process_time()
            wall_before = time.perf_counter()
            window: list[Any] = []
            with uploads_file.open("rb") as fh:
                for line in fh:
                    window.append(committer.submit(json.loads(line)))
                    if len(window) >= args.concurrency:
                        _check_acks(window[: args.concurrency // 2])
                        del window[: args.concurrency // 2]
            _check_acks(window)
            ingest_wall = time.perf_counter() - wall_before
            ingest_cpu = time.process_time() - cpu_before
            committer.close()
            stop.set()
            kind, stats = out.get(timeout=3600)
            wall_s = time.perf_counter() - wall_before
            main_cpu = time.process_time() - cpu_before
            # Before the checks below, which read batch documents back: the pipeline's own peak.
            ingest_peak_rss_mib = _peak_rss_mib()
            node_cpu_after = _cpu_seconds(ledger.node.pid)
        if kind != "done":
            raise BenchmarkError(f"the anchoring process failed: {stats}")
    finally:
        stop.set()
        worker.join(timeout=60)
        if worker.is_alive():
            worker.kill()
    node_cpu_s = (
        node_cpu_after - node_cpu_before
        if node_cpu_after is not None and node_cpu_before is not None
        else None
    )
    log.info("N=%d: %d records anchored in %.1f s", records, measured, wall_s)

    # -- not timed: checks and figures ----------------------------------------------------------
    with Journal(journal_path) as journal:
        batches = journal.batch_heads()  # without documents: all of them at 1M is about a GiB
        if journal.record_count() != measured or journal.pending():
            raise BenchmarkError(f"{journal.record_count()} of {measured} records journaled, or some pending")
        if any(b.state != "confirmed" for b in batches) or sum(b.record_count for b in batches) != measured:
            raise BenchmarkError("not every record is in a confirmed batch")
        w3 = ledger.oracle.w3
        tx_batches: dict[bytes, list[int]] = {}
        for b in batches:
            assert b.tx_hash is not None  # anchored by this run's own transactions
            tx_batches.setdefault(b.tx_hash, []).append(b.record_count)
        gas_of = {tx: int(w3.eth.get_transaction_receipt(HexBytes(tx))["gasUsed"]) for tx in tx_batches}
        total_gas = sum(gas_of.values())
        # Each kind's last batch is underfull; the target is about full batches, so report those apart.
        full = [tx for tx, counts in tx_batches.items() if all(c == args.batch_size for c in counts)]
        full_records = sum(sum(tx_batches[tx]) for tx in full)
        store = EmbeddedStore(run_dir / "store")
        proofs = _check_proofs(
            RecordProofs(journal, store, keyring=keyring),
            ledger.oracle,
            rng.sample(range(1, measured + 1), min(args.proof_sample, measured)),
        )
        last = batches[-1]
        assert last.cid is not None  # confirmed batches are stored
        document_rechecked = open_batch_document(store.get(last.cid), keyring).root == last.root
        kinds: Counter[str] = Counter()
        for batch in batches:
            kinds[batch.kind.name.lower()] += batch.record_count

    scale = records / measured
    oracle_cpu_s = main_cpu + stats["cpu_s"]
    stage_s = {"ingest": ingest_wall, **{s: stats["stage_s"].get(s, 0.0) for s in STAGES[1:]}}
    stage_cpu_s = {"ingest": ingest_cpu, **{s: stats["stage_cpu_s"].get(s, 0.0) for s in STAGES[1:]}}
    return RunResult(
        records=records,
        measured_records=measured,
        sampled=measured != records,
        batch_size=args.batch_size,
        devices=args.devices,
        uploads=math.ceil(upload_count * scale),
        commits=math.ceil(committer.commits * scale),
        kinds={k: round(v * scale) for k, v in sorted(kinds.items())},
        pregen_s=pregen_s,
        stage_s={k: v * scale for k, v in stage_s.items()},
        stage_cpu_s={k: v * scale for k, v in stage_cpu_s.items()},
        wall_s=wall_s * scale,
        oracle_cpu_s=oracle_cpu_s * scale,
        node_cpu_s=None if node_cpu_s is None else node_cpu_s * scale,
        node_cpu_share=None if node_cpu_s is None else node_cpu_s / (node_cpu_s + oracle_cpu_s),
        records_per_s=measured / wall_s,
        records_per_cpu_s=measured / oracle_cpu_s,
        txs=round(len(gas_of) * scale),
        batches=round(len(batches) * scale),
        rpcs_per_batch=stats["rpcs"] / len(batches),
        total_gas=round(total_gas * scale),
        gas_per_record=total_gas / measured,
        gas_per_record_full_batches=sum(gas_of[tx] for tx in full) / full_records if full else None,
        peak_rss_mib=ingest_peak_rss_mib,
        anchoring_peak_rss_mib=stats["peak_rss_mib"],
        proofs=proofs,
        document_rechecked=document_rechecked,
    )


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


def compare(result: RunResult, naive: NaiveResult) -> None:
    """Fill in the naive figures measured around ``result``'s run."""
    result.naive = naive.summary()
    result.naive_records_per_s = naive.records_per_s
    result.speedup = result.records_per_s / naive.records_per_s
    result.gas_saving = naive.gas_per_record / result.gas_per_record


# -- output --------------------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _n1(value: float) -> str:
    return f"{value:,.1f}"


def _label(result: RunResult) -> str:
    if result.sampled:
        factor = result.records / result.measured_records
        return f"{_n(result.records)} (sampled: {_n(result.measured_records)} run, x{factor:g})"
    return _n(result.records)


def markdown(results: list[RunResult], config: dict[str, Any]) -> str:
    lines = [
        f"Oracle end-to-end throughput on {config['chain']} ({config['machine']}; load average "
        f"{config['load_before']} before, {config['load_after']} after); batch size {config['batch_size']}, "
        f"{config['roots_per_tx']} roots per anchoring tx, {config['in_flight']} txs in flight, "
        f"{config['readings_per_upload']} readings per signed upload, {config['devices']} devices, "
        f"{config['concurrency']} concurrent uploads, anchoring polls every {config['idle_poll']} s when "
        "idle. "
        f"Reproduce: `{config['command']}`.",
        "",
        "| records | records/s | records/CPU-s (oracle) | wall s | uploads/fsync | txs (batches) "
        "| RPCs/batch | gas/record "
        "| peak RSS MiB (ingest / anchor) | node CPU share | proofs offline / on-chain "
        "| naive records/s | speed-up | gas saving |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p = r.proofs
        share = "n/a" if r.node_cpu_share is None else f"{r.node_cpu_share:.0%}"
        lines.append(
            f"| {_label(r)} | {_n(r.records_per_s)} | {_n(r.records_per_cpu_s)} | {_n1(r.wall_s)} "
            f"| {r.uploads / max(r.commits, 1):.1f} | {_n(r.txs)} ({_n(r.batches)}) "
            f"| {r.rpcs_per_batch:.1f} | {_n1(r.gas_per_record)} "
            f"| {_n(r.peak_rss_mib)} / {_n(r.anchoring_peak_rss_mib)} | {share} "
            f"| {p.verified_offline}/{p.sampled} / {p.verified_on_chain}/{p.sampled} "
            f"| {_n1(r.naive_records_per_s)} | {_n(r.speedup)}x | {_n(r.gas_saving)}x |"
        )
    lines += [
        "",
        "Time per stage: wall seconds spent in it / its CPU seconds (stages run concurrently, so they "
        "overlap and do not add up to the wall time):",
        "",
        "| records | " + " | ".join(STAGE_LABELS[s] for s in STAGES) + " |",
        "|---|" + "---|" * len(STAGES),
    ]
    for r in results:
        cells = [f"{_n1(r.stage_s[s])} / {_n1(r.stage_cpu_s[s])}" for s in STAGES]
        lines.append(f"| {_label(r)} | " + " | ".join(cells) + " |")
    largest = max(results, key=lambda r: r.records)
    full = largest.gas_per_record_full_batches
    gas_line = (
        f"{_n1(full)} in transactions of full batches of {largest.batch_size}"
        if full is not None
        else "no full batch"
    ) + f"; {_n1(largest.gas_per_record)} over all {_n(largest.txs)} txs"
    gas_ok = largest.gas_per_record <= TARGET_GAS_PER_RECORD
    naive = largest.naive
    lines += [
        "",
        f"Naive baseline around N = {_n(largest.records)} (half before, half after the run): "
        f"{naive.get('sample', 0):.0f} records, one upload per commit, then one store put + one "
        f"single-leaf `anchorBatch` per record (receipt awaited): {naive.get('ms_per_record', 0):.1f} ms "
        f"per record (store {naive.get('store_ms_per_record', 0):.1f} ms), "
        f"{_n(naive.get('gas_per_record', 0))} gas per record, "
        f"{naive.get('verified_on_chain', 0):.0f}/{naive.get('sample', 0):.0f} verified on-chain.",
        "",
        f"| target (issue #16) | measured (N = {_n(largest.records)}) | met |",
        "|---|---|---|",
        f"| ≥ {_n(TARGET_RECORDS_PER_CORE_S)} records/s | {_n(largest.records_per_s)} wall, "
        f"{_n(largest.records_per_cpu_s)} per oracle CPU-s "
        f"| {'yes' if largest.records_per_s >= TARGET_RECORDS_PER_CORE_S else 'no'} |",
        f"| ≥ {TARGET_SPEEDUP}x the naive baseline | {_n(largest.speedup)}x records/s, "
        f"{_n(largest.gas_saving)}x gas | {'yes' if largest.speedup >= TARGET_SPEEDUP else 'no'} |",
        f"| ≤ {TARGET_GAS_PER_RECORD} gas/record | {gas_line} | {'yes' if gas_ok else 'no'} |",
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


QUICK: Final = {"n": [1000], "batch_size": 100, "naive_sample": 10, "proof_sample": 10, "devices": 10}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench_oracle", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000], help="record counts to run")
    parser.add_argument("--batch-size", type=int, default=1000, help="records per anchored batch")
    parser.add_argument("--roots-per-tx", type=int, default=16, help="batch roots per anchoring tx")
    parser.add_argument("--in-flight", type=int, default=4, help="anchoring txs sent and not yet mined")
    parser.add_argument("--naive-sample", type=int, default=200, help="records anchored one tx each, per N")
    parser.add_argument("--chain", choices=["anvil", "ganache"], default="anvil")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument(
        "--shard", type=int, help="run at most this many records per N and scale (see the module doc)"
    )
    parser.add_argument("--readings-per-upload", type=int, default=50)
    parser.add_argument("--devices", type=int, default=200, help="simulated devices (fresh keys)")
    parser.add_argument("--concurrency", type=int, default=64, help="uploads in flight (simulated clients)")
    parser.add_argument("--max-group", type=int, default=256, help="uploads per journal commit at most")
    parser.add_argument("--proof-sample", type=int, default=100, help="proofs verified per N")
    parser.add_argument("--poll-latency", type=float, default=0.005, help="receipt polling interval, s")
    parser.add_argument(
        "--idle-poll", type=float, default=0.25, help="anchoring process's wait when idle, s (worker: 1)"
    )
    parser.add_argument("--seed", type=int, default=4, help="seed of the simulated readings")
    parser.add_argument("--workdir", type=Path, help="parent of the temp dir (journal, store, chain)")
    parser.add_argument("--quick", action="store_true", help="a tiny run (CI): " + str(QUICK))
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:  # the quick values replace the defaults; options given explicitly still win
        parser.set_defaults(**QUICK)
        args = parser.parse_args(argv)
    for name in (
        "batch_size", "roots_per_tx", "in_flight", "naive_sample", "readings_per_upload", "devices",
        "concurrency", "max_group",
    ):  # fmt: skip
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.concurrency < 2:
        parser.error("--concurrency must be at least 2")
    if min(args.n) < 1 or (args.shard is not None and args.shard < 1):
        parser.error("--n and --shard must be at least 1")
    return args


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}/{five:.2f}/{fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
    if not args.verbose:
        # One INFO line per sealed/anchored batch would bury the progress lines.
        logging.getLogger("oracle").setLevel(logging.WARNING)
    # The Python processes and the node share the machine; say so with the figures.
    config: dict[str, Any] = {
        "command": "python -m scripts.bench_oracle " + " ".join(sys.argv[1:] if argv is None else argv),
        "chain": args.chain,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}",
        "load_before": _load(),
        "batch_size": args.batch_size,
        "roots_per_tx": args.roots_per_tx,
        "in_flight": args.in_flight,
        "readings_per_upload": args.readings_per_upload,
        "devices": args.devices,
        "concurrency": args.concurrency,
        "idle_poll": args.idle_poll,
        "max_group": args.max_group,
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
            for records in sorted(args.n):
                naive = NaiveResult()
                half = args.naive_sample // 2
                run_naive(args, ledger, Path(tmp) / f"naive-{records}-before", half, rng, naive)
                result = run_pipeline(args, ledger, Path(tmp), records, rng)
                run_naive(
                    args, ledger, Path(tmp) / f"naive-{records}-after", args.naive_sample - half, rng, naive
                )
                compare(result, naive)
                results.append(result)
            config["deploy_gas"] = ledger.deploy_gas
    except KeyboardInterrupt:
        print("interrupted; the node was stopped", file=sys.stderr)
        return 130
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    config["load_after"] = _load()
    print(markdown(results, config))
    if args.json is not None:
        document = {
            "config": config,
            "targets": {
                "records_per_s": TARGET_RECORDS_PER_CORE_S,
                "speedup": TARGET_SPEEDUP,
                "gas_per_record": TARGET_GAS_PER_RECORD,
            },
            "runs": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
