"""The pilot end to end: a simulated fleet driving the real ledger, measured stage by stage.

``run_pilot(PilotConfig(...))`` does what a Busan-style pilot does, on a managed local node:

1. **setup** — start anvil (or ganache) in the run's data directory, generate the participants' keys in
   a keystore (fresh random keys: no well-known development key is involved), fund them over JSON-RPC,
   deploy the registry, grant the roles (issuer, oracle, inspector, repurposer, recycler) and register
   the used-battery businesses (a collector, a repurposer/remanufacturer, a recycler);
2. **issue** — one passport per pack through ``PassportService.issue`` (a ``sample_passport`` carrying
   the fleet pack's rated capacity, energy, voltage and resistance), and each pack's collection device
   (its own secp256k1 key) registered in the oracle's journal;
3. **days** — every simulated day, each device signs its day's readings as one upload, and the uploads go
   through the real ingestion path: ``Ingestor.ingest_many`` (signature, sequence, validation, one
   fsynced group commit) → ``Anchorer`` (batch document into the embedded content store, Merkle root
   anchored on the node). Each diagnostic snapshot is graded with ``oracle.health.evaluate_health``;
4. **end of first life** — the pack's device is deactivated, custody goes from the issuer to the
   collector (offer → accept), and by the pack's grade either to the repurposer, who issues a
   ``REMANUFACTURED``/``REPURPOSED`` successor passport, or — after the collector marks it ``WASTE`` —
   to the recycler, who closes it as ``RECYCLED``. The vehicle's replacement pack gets a new passport;
   a pack going on to a second life is inspected before and after its transfer, and a few get injected
   incidents, a serious one blocking the transfer until a clearance inspection
   (``scripts.simulation.safety``);
5. **checks** — inclusion proofs of acknowledged readings verified against their on-chain roots
   (``verifyRecord``), the audit index synced from the chain and its event counts compared with what
   the pilot wrote, and a naive run anchoring one record per transaction on a small sample.

Determinism: the fleet's readings depend only on the seed, and the journal and the anchorer run on
*simulated* time, so batches, record digests and batch documents (hence roots and CIDs) repeat exactly.
Counts, grades and statuses are the same for the same seed; timings vary, and so does gas by a few
units per transaction, because calldata pays per zero byte and signatures and sealed (encrypted)
passport sections are randomised.
"""

from __future__ import annotations

import logging
import resource
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, cast

import numpy as np

from devtools.localchain import NODE_KINDS, LocalChainNode
from devtools.localnodes import free_port
from devtools.samples import sample_passport
from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.devices import DeviceKey, SignedUpload, canonical_readings, sign_upload
from oracle.health import Grade, GradingPolicy, HealthAssessment, RatedValues, evaluate_health
from oracle.ingestion import Acknowledgement, Ingestor
from oracle.journal import Journal
from oracle.merkle import keccak256
from oracle.readings import DiagnosticSnapshot, SafetyEvent, parse_reading
from passport.audit import EventQuery, IndexFollower, SqliteAuditIndex
from passport.audit.follower import FollowerConfig
from passport.chain import Role, TxReceipt, Web3ChainClient
from passport.chain.deploy import deploy_registry
from passport.chain.keystore import Keystore, keystore_password
from passport.envelope import KeyRing
from passport.ids import passport_id_bytes32
from passport.model import BatteryCategory, BusinessKind, LifecycleStatus
from passport.model.materials import Chemistry
from passport.model.passport import BatteryPassport
from passport.service import PassportService, VersionLog
from passport.settings import Settings
from passport.store import EmbeddedStore
from scripts.errors import PilotError
from scripts.simulation.fleet import (
    CHEMISTRIES,
    PACKS,
    FleetConfig,
    PackSpec,
    battery_id,
    device_id,
)
from scripts.simulation.fleet import Chemistry as PackChemistry
from scripts.simulation.generator import DayBatch, EndOfFirstLife, FleetSimulation
from scripts.simulation.health import HealthPilotConfig, PilotHealth
from scripts.simulation.histories import FleetHistories
from scripts.simulation.market import PilotMarket
from scripts.simulation.recycled import close_the_loop
from scripts.simulation.report import FleetReport
from scripts.simulation.safety import SafetyConfig, SafetyPilot
from scripts.simulation.service_models import ServiceModelsConfig, run_service_models
from scripts.simulation.signing import PendingUploads, SigningJob, UploadSigner

log = logging.getLogger(__name__)

ChainKind = Literal["anvil", "ganache"]

PARTICIPANTS: Final = ("admin", "issuer", "oracle", "inspector", "collector", "repurposer", "recycler")
ROLES: Final[dict[str, Role]] = {
    "issuer": Role.ISSUER,
    "oracle": Role.ORACLE,
    "inspector": Role.INSPECTOR,
    "repurposer": Role.REPURPOSER,
    "recycler": Role.RECYCLER,
}
BUSINESSES: Final[dict[str, BusinessKind]] = {
    "collector": BusinessKind.COLLECTOR,
    "repurposer": BusinessKind.REPURPOSER | BusinessKind.REMANUFACTURER,
    "recycler": BusinessKind.RECYCLER,
}

# Packs leave their cars at the 80 % warranty threshold, so a second-life threshold equal to the first
# life's would send every worn pack to recycling. Stationary storage takes packs from ~80 % down to the
# 60-70 % range in second-life studies and programmes; 70 % (on the SoH lower bound) is the middle of it.
# A simulation's own version (the server's registry has none like it): kr-2026-1 with that one change.
PILOT_GRADING: Final = GradingPolicy(id="pilot-2026-1", repurpose_min_soh_pct=70.0)

# The passport model knows chemistry families; the fleet's pack classes map onto them.
_CHEMISTRY: Final[dict[str, Chemistry]] = {
    "NCM811": Chemistry.NCM,
    "NCM622": Chemistry.NCM,
    "LFP": Chemistry.LFP,
}
_PASSPORT_NAMESPACE: Final = uuid.UUID("0b6d4f1e-6a57-4f0e-8f3c-8d6b5c2f7a11")
_CUSTODY_OFFER_S: Final = 7 * 86400
# First passports per ``issue_many`` call (each call is several issuePassports transactions); bounded so
# progress is reported and a chunk's sections are not all held at once.
FLEET_ISSUE_CHUNK: Final = 200

ProgressHook = Callable[[str, int, int], None]
"""``(stage, done, total)``: called as a stage advances (the CLI draws a progress bar from it)."""


@dataclass(frozen=True, slots=True)
class PilotConfig:
    """What a pilot run depends on; the same config (seed included) gives the same report numbers."""

    fleet: FleetConfig = field(default_factory=FleetConfig)
    chain: ChainKind = "anvil"
    # Where the node's state, keystore, store, journal and report go; None = a temporary directory
    # removed afterwards.
    data_dir: Path | None = None
    # Records per anchored batch, and how often (in simulated days) pending records are anchored.
    batch_size: int = 1000
    anchor_every_days: int = 1
    # An underfull batch is sealed once its oldest record has waited this long (simulated days), as the
    # production worker seals by size and age; everything left is sealed on the last day.
    max_batch_age_days: float = 7.0
    grading: GradingPolicy = PILOT_GRADING
    # Records anchored one per transaction for the naive comparison (0 skips it).
    naive_sample: int = 200
    # Acknowledged records whose proofs are checked on-chain; None checks every one.
    verify_sample: int | None = 200
    # fsync every stored block (the embedded store's default). Off only for throwaway runs.
    durable_store: bool = True
    audit: bool = True
    # Injected device faults and the end-of-run health refresh (``scripts.simulation.health``).
    health: HealthPilotConfig = field(default_factory=HealthPilotConfig)
    # Retired packs leave the collector through the market (listing, offer, signed terms, sale tied to
    # custody) instead of direct custody offers.
    market: bool = True
    # Inspections around used-pack transfers and injected incidents (scripts.simulation.safety).
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    # Close the recycled-material loop after the run (recycled packs -> lot -> credits -> new passports).
    recycled_loop: bool = True
    # Subscription share, swap station and second-life storage after the run (simulation.service_models).
    service_models: ServiceModelsConfig = field(default_factory=ServiceModelsConfig)
    # Processes signing the devices' uploads a day ahead of ingestion (``scripts.simulation.signing``);
    # 0 signs in the pilot's own process. Off by default: on this 2-core machine under load 3-5 a worker
    # measured no gain (its IPC runs on the pilot's GIL-bound process); try 1 where a core is idle.
    signing_workers: int = 0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.anchor_every_days < 1:
            raise ValueError("batch_size and anchor_every_days must be at least 1")
        if self.signing_workers < 0:
            raise ValueError("signing_workers must not be negative")
        if self.naive_sample < 0 or (self.verify_sample is not None and self.verify_sample < 0):
            raise ValueError("naive_sample and verify_sample must not be negative")


@dataclass(slots=True)
class PilotReport:
    """What a pilot run did and how long each part took; ``as_dict`` is the JSON report."""

    config: dict[str, Any]
    fleet: dict[str, Any]
    readings: dict[str, Any]
    batches: dict[str, Any]
    transactions: dict[str, Any]
    throughput: dict[str, Any]
    grades: dict[str, Any]
    passports_by_status: dict[str, int]
    end_of_first_life: dict[str, Any]
    stages_s: dict[str, float]
    peak_memory_mib: float
    naive: dict[str, Any]
    verification: dict[str, Any]
    audit: dict[str, Any]
    outputs: dict[str, str] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    safety: dict[str, Any] = field(default_factory=dict)
    # The recycled-material loop run after the pilot (``scripts.simulation.recycled``).
    recycled_material: dict[str, Any] = field(default_factory=dict)
    # The service-model scenarios run last (``scripts.simulation.service_models``).
    service_models: dict[str, Any] = field(default_factory=dict)
    # Wall time of the whole run (setup to chart, service models included; ``stages_s["total"]`` stops
    # before the service models) and anchoring gas per anchored reading: issue #16's headline figures.
    wall_s: float | None = None
    gas_per_reading: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall_s,
            "gas_per_reading": self.gas_per_reading,
            "config": self.config,
            "fleet": self.fleet,
            "readings": self.readings,
            "batches": self.batches,
            "transactions": self.transactions,
            "throughput": self.throughput,
            "grades": self.grades,
            "passports_by_status": self.passports_by_status,
            "end_of_first_life": self.end_of_first_life,
            "stages_s": self.stages_s,
            "peak_memory_mib": self.peak_memory_mib,
            "naive": self.naive,
            "verification": self.verification,
            "audit": self.audit,
            "health": self.health,
            "outputs": self.outputs,
            "safety": self.safety,
            "recycled_material": self.recycled_material,
            "service_models": self.service_models,
        }

    def deterministic(self) -> dict[str, Any]:
        """The parts a seed fixes: everything but timings, throughput, memory, gas and paths."""
        data = self.as_dict()
        for key in (
            "wall_s",
            "gas_per_reading",
            "stages_s",
            "throughput",
            "peak_memory_mib",
            "outputs",
            "naive",
        ):
            data.pop(key)
        data["transactions"] = {"count": self.transactions["count"]}
        data["config"] = {k: v for k, v in self.config.items() if k != "data_dir"}
        # Functions of the installation's keys (generated per run), like the registry address: the
        # material ledger's address and the usage certificate, which names the claimant's address.
        data["recycled_material"] = {
            k: v
            for k, v in (self.recycled_material or {}).items()
            if k not in ("material_ledger", "usage_certificate")
        }
        # How many anchor transactions precede the audit follows the wall clock (sealing by age).
        data["audit"] = {k: v for k, v in (self.audit or {}).items() if k != "to_block"}
        # A storage month's energy sums the days of the calendar month the run's date falls before.
        storage = (self.service_models or {}).get("second_life_storage", {})
        if storage:
            data["service_models"] = {
                **data["service_models"],
                "second_life_storage": {k: v for k, v in storage.items() if k != "energy_delivered_kwh"},
            }
        return data


# -- devices -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SimDevice:
    """A collection device as firmware would run it: its key, its battery, its next sequence number.

    It signs with ``oracle.devices`` (``DeviceKey.sign``, libsecp256k1 directly), the one signer.
    """

    device_id: str
    battery_id: str
    key: DeviceKey
    seq: int = 0

    @property
    def address(self) -> str:
        return self.key.address

    @classmethod
    def generate(cls, device_id: str, battery_id: str) -> SimDevice:
        return cls(device_id, battery_id, DeviceKey.generate())  # os.urandom: every device key is fresh

    def sign(self, readings: list[dict[str, Any]]) -> SignedUpload:
        self.seq += 1
        return sign_upload(self.key, self.device_id, self.battery_id, self.seq, readings)

    def next_job(self, readings: list[dict[str, Any]]) -> SigningJob:
        """The next upload to sign (``sign`` done by ``scripts.simulation.signing``), its number taken."""
        self.seq += 1
        values = [dict(reading) for reading in readings]
        return SigningJob(self.key.private_key, self.device_id, self.battery_id, self.seq, values)


# -- helpers ---------------------------------------------------------------------------------------------


def pack_passport(
    battery_id: str, spec: PackSpec, *, passport_id: uuid.UUID | None = None
) -> BatteryPassport:
    """A sample passport whose rated values are the fleet pack's (what the health evaluation uses)."""
    document = sample_passport(
        battery_id,
        _CHEMISTRY[spec.chemistry],
        passport_id=passport_id or uuid.uuid5(_PASSPORT_NAMESPACE, battery_id),
    )
    rated = document.performance.rated
    new_rated = rated.model_copy(
        update={
            "capacity": rated.capacity.model_copy(update={"rated_ah": spec.capacity_ah}),
            "energy": None
            if rated.energy is None
            else rated.energy.model_copy(update={"rated_kwh": spec.energy_kwh}),
            "voltage": rated.voltage.model_copy(
                update={
                    "min_v": round(spec.series_groups * spec.min_cell_v, 1),
                    "nominal_v": spec.nominal_voltage_v,
                    "max_v": round(spec.series_groups * spec.max_cell_v, 1),
                }
            ),
            "resistance": rated.resistance.model_copy(
                update={
                    "pack_ohm": round(spec.resistance_mohm / 1000.0, 4),
                    "cell_ohm": round(spec.resistance_mohm / 1000.0 / spec.series_groups, 6),
                }
            ),
        }
    )
    performance = document.performance.model_copy(update={"rated": new_rated})
    return document.model_copy(update={"performance": performance})


def rated_values(spec: PackSpec) -> RatedValues:
    return RatedValues(
        category=BatteryCategory.EV,
        rated_capacity_ah=spec.capacity_ah,
        initial_internal_resistance_mohm=spec.resistance_mohm,
    )


def successor_id(battery_id: str) -> uuid.UUID:
    """The second-life passport's id: derived from the battery, so reruns give the same ids."""
    return uuid.uuid5(_PASSPORT_NAMESPACE, f"{battery_id}/second-life")


class _Stages:
    """Wall time per stage, summed over every time the stage is entered."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started


@dataclass(slots=True)
class _Pack:
    """One pack in the ledger: its passport, device and what its readings say about it."""

    ev: int
    battery_id: str
    spec: PackSpec
    passport_id: uuid.UUID
    device: SimDevice
    rated: RatedValues
    safety: list[SafetyEvent] = field(default_factory=list)
    latest: HealthAssessment | None = None


# -- the pilot ------------------------------------------------------------------------------------------


class Pilot:
    """One pilot run on its own node; a context manager so the ledger can be inspected before it stops.

    ``with Pilot(config, data_dir) as pilot: report = pilot.run()`` — entering starts the node and
    deploys (the *setup* stage); leaving closes the journal and stops the node (by its PID).
    """

    def __init__(self, config: PilotConfig, data_dir: Path, progress: ProgressHook | None = None) -> None:
        self.config = config
        self.data_dir = data_dir
        self.progress = progress or (lambda _stage, _done, _total: None)
        self.stage = _Stages()
        self.tx_count: Counter[str] = Counter()
        self.tx_gas: Counter[str] = Counter()
        self.batch_issued = 0  # passports issued by issuePassports transactions
        self.packs: dict[str, _Pack] = {}
        # Devices of packs fitted on a day already generated (and signing) but not yet run: adopt takes them.
        self.fresh_devices: dict[str, SimDevice] = {}
        self.current: dict[int, _Pack] = {}  # vehicle -> the pack it carries
        self.sim_now = float(config.fleet.start_epoch_s)
        self.acked: list[int] = []  # every acknowledged record id (ints: ~8 bytes each in a year)
        self.rejected_readings = 0
        self.uploads = 0
        self.assessments = 0
        self.grade_log: list[tuple[str, Grade]] = []  # (battery, grade) per assessment, in order
        self.eol_routes: Counter[str] = Counter()
        self.eol_grades: Counter[str] = Counter()
        self.successors: dict[uuid.UUID, uuid.UUID] = {}  # successor -> predecessor
        self.recycled: list[uuid.UUID] = []
        self.retirements: list[dict[str, Any]] = []
        self.fleet_report = FleetReport(config.fleet)
        fleet = config.fleet
        self.health = PilotHealth(config.health, fleet.start_epoch_s, fleet.days, fleet.seed, fleet.n_evs)
        self.market: PilotMarket | None = None

    # -- clock: the journal and anchorer run on simulated time, so batch documents repeat exactly ---

    def clock(self) -> float:
        return self.sim_now

    def tx(self, kind: str, receipt: TxReceipt) -> TxReceipt:
        self.tx_count[kind] += 1
        self.tx_gas[kind] += receipt.gas_used
        return receipt

    # -- setup ----------------------------------------------------------------------------------------

    def setup(self) -> None:
        # Fast receipt polling: anvil mines on arrival, web3's 0.1 s default would dominate every tx.
        self.settings = Settings(
            environment="development", data_dir=self.data_dir, poll_latency=0.001, tx_timeout=60.0
        )
        node_type = NODE_KINDS[self.config.chain]
        self.node: LocalChainNode = node_type(self.settings.chain_dir, port=free_port())
        self.node.start()
        try:
            self._deploy()
        except BaseException:
            self.node.stop()
            raise

    def _deploy(self) -> None:
        keystore = Keystore(self.settings.keystore_dir, keystore_password(self.settings))
        keystore.ensure(PARTICIPANTS)
        self.keys = {name: keystore.private_key(name) for name in PARTICIPANTS}
        self.node.fund(keystore.addresses(PARTICIPANTS).values())
        address, receipt = deploy_registry(self.node.url, self.keys["admin"], settings=self.settings)
        self.tx("deploy", receipt)
        self.deploy_block = receipt.block_number
        admin = Web3ChainClient.from_rpc(self.node.url, self.keys["admin"], address, settings=self.settings)
        self.chains = {
            name: admin if name == "admin" else admin.as_account(self.keys[name]) for name in PARTICIPANTS
        }
        for name, role in ROLES.items():
            self.tx("grant_role", admin.grant_role(role, self.chains[name].account))
        for name, kinds in BUSINESSES.items():
            registration = keccak256(f"pilot business registration: {name}".encode())
            self.tx(
                "register_business", admin.register_business(self.chains[name].account, kinds, registration)
            )
        self.store = EmbeddedStore(self.settings.store_dir, durable=self.config.durable_store)
        signers = [self.chains[n].account for n in ("issuer", "inspector", "repurposer", "recycler")]
        self.keyring = KeyRing(self.settings.keys_dir)
        self.service = PassportService(
            self.chains["issuer"],
            self.store,
            self.keyring,
            versions=VersionLog(self.settings.version_log_path),
            trusted_issuers=signers,
            signer_key=self.keys["issuer"],
        )
        self.services = {
            n: self.service.acting_as(self.keys[n])
            for n in ("collector", "repurposer", "recycler", "inspector")
        }
        self.safety = SafetyPilot(
            self.config.safety,
            inspector=self.services["inspector"],
            custodian=self.services["collector"],
            chain_time=self.chain_time,
            tx=self.tx,
        )
        self.journal = Journal(self.data_dir / "oracle" / "journal.sqlite3", clock=self.clock)
        self.ingestor = Ingestor(self.journal)
        # A managed automining node does not reorganise: no confirmations to wait for, and re-checking
        # recent anchors (recheck_blocks) would cost two calls per anchored batch on every run.
        self.policy = AnchoringPolicy(
            batch_size=self.config.batch_size,
            max_batch_age_s=self.config.max_batch_age_days * 86400,
            confirmations=0,
            recheck_blocks=0,
        )
        self.anchorer = Anchorer(
            self.journal,
            self.store,
            self.chains["oracle"],
            self.policy,
            keyring=self.keyring,
            clock=self.clock,
        )
        # Proofs, and every battery's history opened once for the health stages and the month proofs.
        self.proofs = FleetHistories(self.journal, self.store, keyring=self.keyring)

    # -- passports and devices ---------------------------------------------------------------------------

    def issue(self, ev: int, battery_id: str, device_id: str, chemistry: str) -> None:
        spec = PACKS[cast(PackChemistry, chemistry)]
        issued = self.service.issue(pack_passport(battery_id, spec))
        self.tx("issue_passport", issued.receipt)
        self.adopt(ev, battery_id, device_id, spec, issued.passport_id)

    def adopt(self, ev: int, battery_id: str, device_id: str, spec: PackSpec, passport_id: uuid.UUID) -> None:
        device = self.fresh_devices.pop(battery_id, None) or SimDevice.generate(device_id, battery_id)
        self.journal.register_device(device_id, device.address, battery_id)
        pack = _Pack(ev, battery_id, spec, passport_id, device, rated_values(spec))
        self.packs[battery_id] = pack
        self.current[ev] = pack

    def issue_fleet(self, sim: FleetSimulation) -> None:
        """The first packs' passports, ``issuePassports`` transactions of ``ISSUE_BATCH_SIZE`` each."""
        n = sim.fleet.n
        # One journal transaction for all device registrations: one fsync instead of one per device.
        with self.journal.transaction():
            for start in range(0, n, FLEET_ISSUE_CHUNK):
                evs = range(start, min(start + FLEET_ISSUE_CHUNK, n))
                specs = [PACKS[CHEMISTRIES[int(sim.fleet.chem[ev])]] for ev in evs]
                issued = self.service.issue_many(
                    [pack_passport(battery_id(ev, 0), spec) for ev, spec in zip(evs, specs, strict=True)]
                )
                for receipt in {one.tx_hash: one.receipt for one in issued}.values():
                    self.tx("issue_passports", receipt)
                self.batch_issued += len(issued)
                for ev, spec, one in zip(evs, specs, issued, strict=True):
                    self.adopt(ev, battery_id(ev, 0), device_id(ev, 0), spec, one.passport_id)
                self.progress("issue", evs[-1] + 1, n)

    # -- a day --------------------------------------------------------------------------------------------

    def prepare(self, batch: DayBatch, signer: UploadSigner) -> PendingUploads:
        """A generated day: counted in the fleet report, its uploads (faults injected) sent to be signed.

        The pilot prepares day N+1 before it runs day N, so the signing overlaps day N's ingestion; the
        batch is counted at once, before the generator steps again.
        """
        self.fleet_report.add(batch)
        for installed in batch.installed:
            self.fresh_devices[installed.battery_id] = SimDevice.generate(
                installed.device_id, installed.battery_id
            )
        with self.stage("uploads"):
            uploads = self.health.inject(batch.day, batch.uploads())
        with self.stage("sign"):
            return signer.submit([self._device_of(u.battery_id).next_job(u.readings) for u in uploads])

    def _device_of(self, battery_id: str) -> SimDevice:
        pack = self.packs.get(battery_id)
        return pack.device if pack is not None else self.fresh_devices[battery_id]

    def ingest(self, pending: PendingUploads) -> None:
        with self.stage("sign"):
            signed = pending()  # waits for the worker if it has not finished the day yet
        with self.stage("ingest"):
            acks = self.ingestor.ingest_many(signed)
        self.uploads += len(signed)
        with self.stage("evaluate"):
            for upload, ack in zip(signed, acks, strict=True):
                self.take_ack(upload, ack)

    def take_ack(self, upload: SignedUpload, ack: Acknowledgement) -> None:
        if ack.status != "accepted":
            raise PilotError(
                f"upload {upload.device_id}#{upload.seq} was {ack.status}: {ack.code} {ack.reason}"
            )
        self.rejected_readings += len(ack.rejected)
        pack = self.packs[upload.battery_id]
        for accepted in ack.accepted:
            self.acked.append(accepted.record_id)
            if accepted.kind not in ("diagnostics", "safety"):
                continue
            reading = parse_reading(canonical_readings([upload.readings[accepted.index]])[0])
            if isinstance(reading, SafetyEvent):
                pack.safety.append(reading)
            elif isinstance(reading, DiagnosticSnapshot):
                pack.latest = evaluate_health(
                    pack.battery_id,
                    pack.rated,
                    reading,
                    pack.safety,
                    policy=self.config.grading,
                    evaluator="pilot oracle (oracle.health)",
                    evaluated_at=reading.measured_at,
                    diagnostics_record_digest=accepted.digest,
                )
                self.assessments += 1
                self.grade_log.append((pack.battery_id, pack.latest.grade))

    def anchor(self, *, final: bool = False) -> None:
        """One pass of the production worker: seal by size and age, anchor what is sealed.

        Full batches, and underfull ones whose oldest record is ``max_batch_age_days`` old (simulated
        time), several roots per transaction; ``final`` seals and anchors everything left.
        """
        report = self.anchorer.drain() if final else self.anchorer.run_once()
        if report.error is not None:
            raise PilotError(f"anchoring failed: {report.error}")

    # -- end of first life -------------------------------------------------------------------------------

    def retire(self, ended: EndOfFirstLife) -> None:
        pack = self.packs[ended.battery_id]
        self.journal.deactivate_device(pack.device.device_id)  # the device leaves with the pack
        pid32 = passport_id_bytes32(pack.passport_id)
        # The grade the pack leaves with: its latest assessment, re-evaluated with every safety event it
        # had (a collision that ends its life is newer than its last weekly snapshot).
        latest = pack.latest
        grade: Grade
        if latest is None:
            grade = "recycle"  # never diagnosed in the pilot: nothing supports a second life
        else:
            latest = evaluate_health(
                pack.battery_id,
                pack.rated,
                latest.inputs.diagnostics,
                pack.safety,
                policy=self.config.grading,
                evaluator="pilot inspector (oracle.health)",
                evaluated_at=ended.at,
                diagnostics_record_digest=latest.inputs.diagnostics_record_digest,
            )
            grade = latest.grade
        self.eol_grades[grade] += 1
        retirement: dict[str, Any] = {
            "battery_id": pack.battery_id,
            "passport_id": str(pack.passport_id),
            "day": (ended.at.date() - self.config.fleet.start).days,
            "reason": ended.reason,
            "soh_pct": None if latest is None else latest.soh_pct,
            "grade": grade,
        }
        self.retirements.append(retirement)
        expires = self.chain_time() + _CUSTODY_OFFER_S
        issuer, collector = self.chains["issuer"], self.chains["collector"]
        self.tx("offer_custody", issuer.offer_custody(pid32, collector.account, expires))
        self.tx("accept_custody", collector.accept_custody(pid32))
        document = pack_passport(pack.battery_id, pack.spec, passport_id=pack.passport_id)
        if grade == "recycle":
            waste = self.services["collector"].change_status(
                pack.passport_id, LifecycleStatus.WASTE, document
            )
            self.tx("change_status", waste.receipt)
            recycler = self.chains["recycler"]
            if self.config.market:
                retirement["sale"] = self.trade(pack, grade, latest, "recycler")
            else:
                self.tx("offer_custody", collector.offer_custody(pid32, recycler.account, expires))
                self.tx("accept_custody", recycler.accept_custody(pid32))
            recycled = self.services["recycler"].recycle(pack.passport_id, document)
            self.tx("recycle", recycled.receipt)
            self.recycled.append(pack.passport_id)
            self.eol_routes["recycled"] += 1
            retirement["route"] = "recycled"
            return
        repurposer = self.chains["repurposer"]
        self.safety.before_distribution(
            pack.passport_id, lambda: collector.offer_custody(pid32, repurposer.account, expires)
        )
        if self.config.market:
            retirement["sale"] = self.trade(pack, grade, latest, "repurposer")
        else:
            self.tx("offer_custody", collector.offer_custody(pid32, repurposer.account, expires))
            self.tx("accept_custody", repurposer.accept_custody(pid32))
        self.safety.after_distribution(pack.passport_id)
        status = (
            LifecycleStatus.REMANUFACTURED
            if grade == "reuse_or_remanufacture"
            else LifecycleStatus.REPURPOSED
        )
        new_id = successor_id(pack.battery_id)
        second_life = pack_passport(pack.battery_id, pack.spec, passport_id=new_id)
        issued = self.services["repurposer"].issue_successor(pack.passport_id, second_life, status)
        self.tx("issue_successor", issued.receipt)
        self.successors[new_id] = pack.passport_id
        self.eol_routes[status.name.lower()] += 1
        retirement.update(route=status.name.lower(), successor_id=str(new_id))

    def trade(self, pack: _Pack, grade: Grade, latest: Any, buyer: str) -> dict[str, Any]:
        """Sell a retired pack from the collector to ``buyer`` through the market (``simulation.market``)."""
        if self.market is None:
            self.market = PilotMarket(
                data_dir=self.data_dir,
                service=self.service,
                chains=self.chains,
                keys=self.keys,
                deploy_block=self.deploy_block,
                sim_now=self.clock,
                chain_time=self.chain_time,
                tx=self.tx,
            )
        soh = None if latest is None else float(latest.soh_pct)
        return self.market.sell(pack.passport_id, pack.battery_id, grade, soh, pack.spec.energy_kwh, buyer)

    def chain_time(self) -> int:
        w3 = self.chains["admin"].w3
        return int(w3.eth.get_block("latest")["timestamp"])

    # -- the run --------------------------------------------------------------------------------------------

    def __enter__(self) -> Pilot:
        self.started = time.perf_counter()
        with self.stage("setup"):
            self.setup()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.market is not None:
            self.market.close()
        self.journal.close()
        self.node.stop()

    def run(self) -> PilotReport:
        """Issue, run every simulated day, check, and report (call once, inside ``with``)."""
        return self._run(self.started, self.config.fleet)

    def _run(self, started: float, fleet_config: FleetConfig) -> PilotReport:
        with self.stage("generate"):
            sim = FleetSimulation(fleet_config)
        with self.stage("issue"):
            self.issue_fleet(sim)
        days = fleet_config.days
        iterator = iter(sim)
        run_started = time.perf_counter()
        signer = UploadSigner(self.config.signing_workers)
        try:
            with self.stage("generate"):
                ahead = next(iterator)
            ahead_signed = self.prepare(ahead, signer)
            for day in range(days):
                batch, signed = ahead, ahead_signed
                # Tomorrow is generated and sent to be signed before today runs (see ``prepare``).
                if day + 1 < days:
                    with self.stage("generate"):
                        ahead = next(iterator)
                    ahead_signed = self.prepare(ahead, signer)
                # A pack fitted today reports today already: its passport and device come first.
                with self.stage("lifecycle"):
                    for installed in batch.installed:
                        self.issue(
                            installed.ev, installed.battery_id, installed.device_id, installed.chemistry
                        )
                # Readings of the day are received at its end (devices upload overnight).
                self.sim_now = float(fleet_config.start_epoch_s + (day + 1) * 86400)
                self.ingest(signed)
                if (day + 1) % self.config.anchor_every_days == 0 or day == days - 1:
                    with self.stage("anchor"):
                        self.anchor(final=day == days - 1)
                # Removal after the day's readings: the last ones the pack's device sent are in the ledger.
                with self.stage("lifecycle"):
                    for ended in batch.ended:
                        self.retire(ended)
                self.progress("days", day + 1, days)
        finally:
            signer.close()
        run_seconds = time.perf_counter() - run_started
        health = self.health.finish(self)
        with self.stage("accounting"):
            batches = self.account_anchors()
        with self.stage("verify"):
            verification = self.verify()
        with self.stage("audit"):
            audit = self.audit() if self.config.audit else {}
        with self.stage("naive"):
            naive = self.naive(batches)
        with self.stage("statuses"):
            statuses = self.statuses()
        # After the checks above: the loop adds its own contract, passports and transactions.
        with self.stage("recycled_material"):
            recycled_material = close_the_loop(self) if self.config.recycled_loop else {}
        report = self.report(
            self.fleet_report, batches, verification, audit, naive, statuses, started, run_seconds
        )
        report.recycled_material = recycled_material
        with self.stage("service_models"):
            report.service_models = run_service_models(self, self.config.service_models)
        report.stages_s["service_models"] = round(self.stage.seconds["service_models"], 3)
        report.health = health
        return report

    # -- after the run ---------------------------------------------------------------------------------------

    def account_anchors(self) -> dict[str, Any]:
        """Anchor transactions' gas (the anchorer keeps hashes, not receipts) and the batch figures."""
        w3 = self.chains["admin"].w3
        by_kind: Counter[str] = Counter()
        records: Counter[str] = Counter()
        sizes: list[int] = []
        counted: set[bytes] = set()  # one transaction anchors several batches: count it once
        for batch in self.journal.batches(("confirmed",)):
            assert batch.tx_hash is not None  # confirmed batches were sent by us or adopted with a hash
            if batch.tx_hash not in counted:
                counted.add(batch.tx_hash)
                receipt = w3.eth.get_transaction_receipt(batch.tx_hash)  # type: ignore[arg-type]
                self.tx_count["anchor_batch"] += 1
                self.tx_gas["anchor_batch"] += int(receipt["gasUsed"])
            by_kind[batch.kind.name.lower()] += 1
            records[batch.kind.name.lower()] += batch.record_count
            sizes.append(len(batch.document))
        unfinished = len(self.journal.batches(("open", "stored", "sent", "anchored")))
        return {
            "count": sum(by_kind.values()),
            "by_kind": dict(sorted(by_kind.items())),
            "records_by_kind": dict(sorted(records.items())),
            "records_anchored": sum(records.values()),
            "unfinished": unfinished,
            "mean_document_bytes": round(sum(sizes) / len(sizes)) if sizes else 0,
        }

    def verify(self) -> dict[str, Any]:
        """Proofs of acknowledged records checked by the registry's ``verifyRecord`` (sample or all)."""
        ids = self.acked
        sample = self.config.verify_sample
        if sample is not None and sample < len(ids):
            rng = np.random.default_rng(self.config.fleet.seed)
            ids = sorted(int(i) for i in rng.choice(np.asarray(ids), size=sample, replace=False))
        chain = self.chains["inspector"]
        checked = 0
        for record_id in ids:
            proof = self.proofs.proof_for(record_id)
            if not (proof.verify_offline() and proof.verify_on_chain(chain)):
                raise PilotError(f"record {record_id} does not verify against root 0x{proof.root.hex()}")
            checked += 1
        return {"acknowledged": len(self.acked), "checked_on_chain": checked, "all_valid": True}

    def audit(self) -> dict[str, Any]:
        """Sync the audit index from the chain and compare its event counts with what the pilot wrote."""
        index = SqliteAuditIndex(self.settings.audit_index_path)
        try:
            IndexFollower(index, FollowerConfig(start_block=self.deploy_block)).sync(self.chains["admin"])
            counted: Counter[str] = Counter()
            for event in index.iter_events(EventQuery()):
                counted[event.name] += 1
            cursor = index.cursor()
        finally:
            index.close()
        expected = {
            "PassportIssued": self.tx_count["issue_passport"]
            + self.batch_issued
            + self.tx_count["issue_successor"],
            # One event per anchored batch; a transaction may anchor several (anchorBatches).
            "BatchAnchored": len(self.journal.batch_heads(("confirmed",))),
            "PassportSuperseded": self.tx_count["issue_successor"],
            "PassportRecycled": self.tx_count["recycle"],
            "PassportStatusChanged": self.tx_count["change_status"],
            "CustodyTransferred": self.tx_count["accept_custody"],
            # Every market sale is agreed, then completed by the buyer's custody acceptance.
            "SaleAgreed": self.tx_count["agree_sale"],
            "SaleCompleted": self.tx_count["agree_sale"],
            "InspectionRecorded": self.tx_count["record_inspection"],
            "IncidentRecorded": self.tx_count["record_incident"],
        }
        indexed = {name: counted[name] for name in expected}
        return {
            # The block the index reached: later stages (naive sample, recycled loop) add their own events.
            "to_block": None if cursor is None else cursor.number,
            "events_indexed": sum(counted.values()),
            "by_name": dict(sorted(counted.items())),
            "expected": expected,
            "agrees": indexed == expected,
        }

    def naive(self, batches: dict[str, Any]) -> dict[str, Any]:
        """Anchor ``naive_sample`` records one per transaction, through the same path, for the ratio.

        The sample replays the first day's first uploads under separate devices (so every record, and
        every single-leaf root, differs from the main run's) into a separate journal.
        """
        n = self.config.naive_sample
        if n == 0:
            return {}
        sim = FleetSimulation(
            FleetConfig(**{**_fleet_dict(self.config.fleet), "days": 1, "forced_removals": ()})
        )
        journal = Journal(self.data_dir / "oracle" / "naive.sqlite3", clock=self.clock)
        try:
            ingestor = Ingestor(journal)
            anchorer = Anchorer(
                journal,
                self.store,
                self.chains["oracle"],
                # One record, one root, one transaction, mined before the next is sent.
                AnchoringPolicy(
                    batch_size=1, roots_per_tx=1, max_in_flight=1, confirmations=0, recheck_blocks=0
                ),
                keyring=self.keyring,
                clock=self.clock,
            )
            uploads = []
            for upload in next(iter(sim)).uploads():
                uploads.append(upload)
                if sum(len(u.readings) for u in uploads) >= n:
                    break
            devices = {}
            with journal.transaction():
                for upload in uploads:
                    device = SimDevice.generate(f"naive-{upload.device_id}", upload.battery_id)
                    journal.register_device(device.device_id, device.address, device.battery_id)
                    devices[upload.device_id] = device
            started = time.perf_counter()
            block_before = self.chains["oracle"].block_number()
            signed = [devices[u.device_id].sign(u.readings) for u in uploads]
            acks = ingestor.ingest_many(signed)
            records = sum(len(a.accepted) for a in acks)
            anchorer.drain()
            seconds = time.perf_counter() - started
            gas = 0
            w3 = self.chains["admin"].w3
            sent = journal.batches(("confirmed",))
            for batch in sent:
                assert batch.tx_hash is not None
                gas += int(w3.eth.get_transaction_receipt(batch.tx_hash)["gasUsed"])  # type: ignore[arg-type]
            blocks = self.chains["oracle"].block_number() - block_before
        finally:
            journal.close()
        batched_gas = self.tx_gas["anchor_batch"] / max(batches["records_anchored"], 1)
        naive_gas = gas / max(records, 1)
        return {
            "records": records,
            "transactions": len(sent),
            "blocks": blocks,
            "seconds": round(seconds, 3),
            "records_per_s": round(records / seconds, 1) if seconds else None,
            "gas_per_record": round(naive_gas),
            "batched_gas_per_record": round(batched_gas, 1),
            "gas_ratio": round(naive_gas / batched_gas, 1) if batched_gas else None,
        }

    def statuses(self) -> dict[str, int]:
        """Every passport the pilot wrote, by its status on the ledger (closed ones counted apart)."""
        chain = self.chains["admin"]
        counted: Counter[str] = Counter()
        ids = [pack.passport_id for pack in self.packs.values()] + list(self.successors)
        for pid in ids:
            record = chain.get_passport(passport_id_bytes32(pid))
            if record is None:
                raise PilotError(f"passport {pid} is not on the ledger")
            counted["superseded" if record.successor != b"\x00" * 32 else record.status.name.lower()] += 1
        return dict(sorted(counted.items()))

    def report(
        self,
        fleet_report: FleetReport,
        batches: dict[str, Any],
        verification: dict[str, Any],
        audit: dict[str, Any],
        naive: dict[str, Any],
        statuses: dict[str, int],
        started: float,
        run_seconds: float,
    ) -> PilotReport:
        total_seconds = time.perf_counter() - started
        summary = fleet_report.summary()
        readings_total = summary["readings_total"]
        latest: dict[str, Grade] = {}
        for battery, grade in self.grade_log:
            latest[battery] = grade
        in_use = {pack.battery_id for pack in self.current.values()}
        self.stage.seconds["total"] = total_seconds
        rusage = resource.getrusage(resource.RUSAGE_SELF)
        config = self.config
        return PilotReport(
            config={
                "n_evs": config.fleet.n_evs,
                "days": config.fleet.days,
                "seed": config.fleet.seed,
                "chain": config.chain,
                "batch_size": config.batch_size,
                "anchor_every_days": config.anchor_every_days,
                "max_batch_age_days": config.max_batch_age_days,
                "grading": {**config.grading.model_dump(mode="json"), "digest": config.grading.digest},
                "data_dir": str(self.data_dir),
            },
            fleet={k: v for k, v in summary.items() if k not in ("config", "grade_distribution")},
            readings={
                "total": readings_total,
                "by_kind": summary["readings_by_kind"],
                "uploads": self.uploads,
                "acknowledged": len(self.acked),
                "rejected": self.rejected_readings,
            },
            batches=batches,
            transactions={
                "count": dict(sorted(self.tx_count.items())),
                "total": sum(self.tx_count.values()),
                "gas": dict(sorted(self.tx_gas.items())),
                "gas_total": sum(self.tx_gas.values()),
            },
            throughput={
                "readings_per_s_days": round(readings_total / run_seconds, 1) if run_seconds else None,
                "readings_per_s_end_to_end": round(readings_total / total_seconds, 1),
                "days_seconds": round(run_seconds, 2),
                "issue_passports_per_s": round(
                    (self.tx_count["issue_passport"] + self.batch_issued) / self.stage.seconds["issue"], 1
                )
                if self.stage.seconds["issue"]
                else None,
            },
            grades={
                "assessments": self.assessments,
                "latest_of_packs_in_use": dict(
                    sorted(Counter(latest[b] for b in in_use if b in latest).items())
                ),
                "packs_in_use_never_assessed": sum(1 for b in in_use if b not in latest),
                "at_end_of_first_life": dict(sorted(self.eol_grades.items())),
            },
            passports_by_status=statuses,
            end_of_first_life={
                "total": sum(self.eol_routes.values()),
                "routes": dict(sorted(self.eol_routes.items())),
                "by_reason": summary["end_of_first_life"]["by_reason"],
                "packs": self.retirements,
                "market": None if self.market is None else self.market.report(),
            },
            stages_s={name: round(seconds, 3) for name, seconds in sorted(self.stage.seconds.items())},
            gas_per_reading=round(self.tx_gas["anchor_batch"] / batches["records_anchored"], 1)
            if batches["records_anchored"]
            else None,
            peak_memory_mib=round(rusage.ru_maxrss / 1024, 1),  # Linux reports KiB
            naive=naive,
            verification=verification,
            audit=audit,
            safety=self.safety.report(),
        )


def _fleet_dict(config: FleetConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in FleetConfig.__dataclass_fields__}


def run_pilot(
    config: PilotConfig, *, progress: ProgressHook | None = None, chart: Path | None = None
) -> PilotReport:
    """Run the pilot (see the module docstring); raises ``PilotError`` if any check fails.

    ``chart`` (default: ``<data_dir>/fleet-soh.png`` when a data directory is given) receives the SoH
    distribution chart; ``PilotReport.outputs`` lists what was written.
    """
    if config.data_dir is not None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        return _run_in(config, config.data_dir, progress, chart or config.data_dir / "fleet-soh.png")
    with tempfile.TemporaryDirectory(prefix="pilot-") as tmp:
        return _run_in(config, Path(tmp), progress, chart)


def _run_in(
    config: PilotConfig, data_dir: Path, progress: ProgressHook | None, chart: Path | None
) -> PilotReport:
    started = time.perf_counter()
    with Pilot(config, data_dir, progress) as pilot:
        report = pilot.run()
    if chart is not None:
        chart_started = time.perf_counter()
        pilot.fleet_report.write_png(chart)
        report.stages_s["chart"] = round(time.perf_counter() - chart_started, 3)
        report.outputs["chart"] = str(chart)
    report.wall_s = round(time.perf_counter() - started, 2)
    return report
