"""Second-life energy: a storage system's metered energy, the month's figure, and its offline proof.

**The meter.** A repurposed pack's successor passport is bound to a collection device that reads the
storage system's energy meter: cumulative Wh taken in and delivered, state of charge, and the
installation's rated energy (``oracle.readings.StorageMeterReading``). Each reading is anchored like
any other telemetry, under ``AnchorKind.ENERGY``. At ingestion a reading must follow on from the same
meter's previous accepted one (``meter_step_problems``): later in time, counters never going back, the
rated energy unchanged, the average power the deltas imply within ``MAX_C_RATE`` of the rated energy,
and no more delivered than taken in plus one full pack. A reading that does not is rejected with its
problems, like a reading out of range.

**The month's figure** (``month_energy``). Month ``M`` runs from 00:00 UTC on its first day (``start``)
to 00:00 UTC on the first day of the next month (``end``). The *opening* reading is the meter's latest
reading at or before ``start`` -- or, in the month the pack was installed (``installed_at`` after
``start``), the first reading at or after ``installed_at`` (the commissioning reading). The *closing*
reading is the latest at or before ``end``. Energy delivered in ``M`` is closing ``energy_out_wh`` minus
opening ``energy_out_wh`` (received: the same for ``energy_in_wh``). So each interval between two
consecutive readings counts in the month its later reading falls in: consecutive months partition the
meter's history, and their figures add up to the meter's total with nothing counted twice. A reading
exactly at ``end`` closes ``M`` and opens ``M + 1``.

**The proof** (``EnergyProof``, built by ``build_energy_proof``): the installation facts (successor
passport, battery, site, role, rated energy, installation time), every anchored reading of the meter
from opening to closing with its Merkle inclusion proof and root, and for each anchoring transaction its
chain coordinates with the block header and the Merkle-Patricia proof of its receipt (the
``passport.bundle.AnchorReceipt`` a passport bundle carries). ``verify_energy_proof`` needs nothing but
the bundle: it re-hashes each reading, walks each proof to its root, finds the registry's
``BatchAnchored`` event of that root (kind ``Energy``) in a receipt proven against a header whose hash
is the stated block hash, checks the window and the meter's continuity, and recomputes the figure --
naming each check. Given a chain reader it also asks the registry whether each root is anchored.
What it cannot show offline is that no anchored reading was left out between opening and closing; a
prover leaving one out moves no energy (the counters are cumulative), and a prover choosing an earlier
closing reading only moves energy into the next month, whose claim is then larger.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Final, Literal, Protocol, runtime_checkable
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from oracle.device_health import EvidenceRecord
from oracle.errors import InvalidMonth, MalformedEnergyProof, MonthNotCovered, NotAnchored
from oracle.journal import Journal
from oracle.merkle import keccak256, verify_proof
from oracle.ports import AnchorReader
from oracle.proofs import AnchoredRecord
from oracle.readings import StorageMeterReading, parse_reading, validation_summary
from passport.bundle import Address, AnchorReceipt, Hex32, decode_header, prove_anchor
from passport.canonical import canonical_json, parse_canonical_object
from passport.chain.inclusion import HEADER_FIELDS, decode_receipt, proven_value
from passport.chain.protocol import ChainClient
from passport.chain.records import LedgerEvent
from passport.chain.services import StorageInstallation as StorageRecord
from passport.chain.services import StorageRole
from passport.errors import PassportError
from passport.ids import passport_id_bytes32
from passport.model import AnchorKind

PROOF_FORMAT: Final = "battery-passport-energy-proof/1"
#: Average power above twice the rated energy per hour is beyond any second-life storage duty (they
#: run at 0.25-1 C): a higher figure is a unit error or a counter from another meter.
MAX_C_RATE: Final = 2.0
#: Meters count whole Wh and two reads each round: this much slack keeps exact steps from failing.
METER_SLACK_WH: Final = 2
#: topic0 of ``IDataAnchors.BatchAnchored(bytes32 indexed root, bytes32 indexed cidDigest, AnchorKind
#: kind, uint32 recordCount)``.
BATCH_ANCHORED_TOPIC: Final = keccak256(b"BatchAnchored(bytes32,bytes32,uint8,uint32)")
#: topic0 of ``IBatteryServices.StorageInstalled(bytes32 indexed passportId, bytes32 indexed siteHash,
#: uint64 ratedEnergyWh, StorageRole role, address indexed recordedBy)``.
STORAGE_INSTALLED_TOPIC: Final = keccak256(b"StorageInstalled(bytes32,bytes32,uint64,uint8,address)")

Month = Annotated[str, StringConstraints(pattern=r"^20(1[5-9]|[2-9][0-9])-(0[1-9]|1[0-2])$")]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``(start, end)`` of a ``YYYY-MM`` month in UTC (``end`` is the next month's first instant)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=UTC)
    except ValueError:
        raise InvalidMonth(f"month {month!r} is not YYYY-MM") from None
    if len(month) != 7 or not 2015 <= year < 2100:
        raise InvalidMonth(f"month {month!r} is not YYYY-MM between 2015 and 2099")
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


# -- the meter's continuity ------------------------------------------------------------------------


def meter_step_problems(previous: StorageMeterReading, current: StorageMeterReading) -> list[tuple[str, str]]:
    """Why ``current`` cannot follow ``previous`` on the same meter, as ``(field path, why)``; empty if
    it can (see the module docstring)."""
    if current.measured_at <= previous.measured_at:
        return [
            (
                "measured_at",
                f"{current.measured_at.isoformat()} is not after the meter's previous reading at "
                f"{previous.measured_at.isoformat()}",
            )
        ]
    problems: list[tuple[str, str]] = []
    if current.rated_energy_wh != previous.rated_energy_wh:
        problems.append(
            (
                "rated_energy_wh",
                f"changed from {previous.rated_energy_wh} to {current.rated_energy_wh} Wh: a new "
                "installation needs its own meter binding",
            )
        )
    hours = (current.measured_at - previous.measured_at).total_seconds() / 3600
    ceiling = MAX_C_RATE * previous.rated_energy_wh * hours + METER_SLACK_WH
    deltas = {
        "energy_in_wh": current.energy_in_wh - previous.energy_in_wh,
        "energy_out_wh": current.energy_out_wh - previous.energy_out_wh,
    }
    for name, delta in deltas.items():
        before, after = getattr(previous, name), getattr(current, name)
        if delta < 0:
            problems.append((name, f"the meter went backwards, from {before} to {after} Wh"))
        elif delta > ceiling:
            problems.append(
                (
                    name,
                    f"{delta} Wh in {hours:.3f} h is {delta / hours / 1000:.1f} kW on average, above "
                    f"{MAX_C_RATE:g} C of the rated {previous.rated_energy_wh} Wh",
                )
            )
    if deltas["energy_out_wh"] > max(0, deltas["energy_in_wh"]) + previous.rated_energy_wh + METER_SLACK_WH:
        problems.append(
            (
                "energy_out_wh",
                f"delivered {deltas['energy_out_wh']} Wh while taking in {deltas['energy_in_wh']} Wh: more "
                f"than its intake plus its rated {previous.rated_energy_wh} Wh",
            )
        )
    return problems


def _meter_reading(canonical: bytes) -> StorageMeterReading:
    reading = parse_reading(canonical_json(parse_canonical_object(canonical)["reading"]))
    if not isinstance(reading, StorageMeterReading):
        raise ValueError(f"record is a {reading.kind} reading, not a storage meter reading")
    return reading


def previous_meter_reading(journal: Journal, battery_id: str, device_id: str) -> StorageMeterReading | None:
    """The latest journaled meter reading of ``device_id`` on ``battery_id`` (inside the caller's
    transaction, this sees the uploads it has written so far)."""
    rows = journal.query(
        "SELECT canonical FROM records WHERE battery_id = ? AND kind = ? AND device_id = ? "
        "ORDER BY observed_at DESC, id DESC LIMIT 1",
        (battery_id, int(AnchorKind.ENERGY), device_id),
    )
    return _meter_reading(bytes(rows[0][0])) if rows else None


# -- the month's figure ------------------------------------------------------------------------------


class StorageInstallation(BaseModel):
    """The successor passport's storage installation as ``BatteryServices`` recorded it, with the proof:
    ``receipt`` is the recording transaction's receipt, proven against its block header, which holds
    the ``StorageInstalled`` event of ``services``; ``installed_at`` is that block's timestamp."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    passport_id: UUID
    battery_id: str
    services: Address = Field(description="The BatteryServices contract that recorded the installation.")
    site_hash: Hex32
    role: Annotated[str, Field(description="StorageRole name, lower case (e.g. peak_shaving)")]
    rated_energy_wh: Annotated[int, Field(gt=0, le=1_000_000)]
    installed_at: AwareDatetime
    receipt: AnchorReceipt


def installation_facts(
    passport_id: UUID,
    battery_id: str,
    services: str,
    recorded: StorageRecord,
    receipt: AnchorReceipt,
) -> StorageInstallation:
    """The proof's installation facts from the services contract's record and the recording receipt."""
    return StorageInstallation(
        passport_id=passport_id,
        battery_id=battery_id,
        services=services,
        site_hash="0x" + recorded.site_hash.hex(),
        role=recorded.role.name.lower(),
        rated_energy_wh=recorded.rated_energy_wh,
        installed_at=datetime.fromtimestamp(recorded.installed_at, UTC),
        receipt=receipt,
    )


@runtime_checkable
class InstallationEvents(Protocol):
    """What finding the installation's transaction needs of the services client (``passport_events``
    of ``passport.chain.services_web3.Web3BatteryServices``)."""

    def passport_events(
        self, passport_id: bytes, names: Sequence[str], from_block: int = 0
    ) -> list[LedgerEvent]: ...


def installation_tx(
    services: InstallationEvents, passport_id: UUID, from_block: int = 0
) -> tuple[bytes, bytes]:
    """(tx hash, block hash) of the latest ``StorageInstalled`` of the passport; ``MonthNotCovered`` if
    none was recorded."""
    events = services.passport_events(passport_id_bytes32(passport_id), ("StorageInstalled",), from_block)
    if not events:
        raise MonthNotCovered(f"passport {passport_id} has no storage installation recorded")
    return events[-1].tx_hash, events[-1].block_hash


def _installation_checks(installation: StorageInstallation, check: _Checker) -> None:
    """``installation.receipt``: the facts are those of a ``StorageInstalled`` event in a receipt proven
    against a header hashing to the stated block; ``installation.time``: installed at its timestamp."""
    anchor = installation.receipt
    try:
        header = decode_header(anchor)
        receipt = decode_receipt(proven_value(header.receipts_root, anchor.tx_index, anchor.receipt_nodes()))
    except PassportError as exc:
        check("installation.receipt", False, f"installation receipt: {exc}")
        return
    try:
        role = StorageRole[installation.role.upper()]
    except KeyError:
        check("installation.receipt", False, f"no storage role {installation.role!r}")
        return
    wanted = (
        bytes.fromhex(installation.services[2:]),
        (
            STORAGE_INSTALLED_TOPIC,
            passport_id_bytes32(installation.passport_id),
            bytes.fromhex(installation.site_hash[2:]),
        ),
        installation.rated_energy_wh.to_bytes(32) + int(role).to_bytes(32),
    )
    found = any(
        (log.address, log.topics[:3], log.data) == wanted for log in receipt.logs if len(log.topics) == 4
    )
    check(
        "installation.receipt",
        "0x" + header.hash.hex() == anchor.block_hash and receipt.succeeded and found,
        f"the receipt of {anchor.tx_hash} in block {anchor.block_hash} holds no StorageInstalled event of "
        f"{installation.services} with these facts",
    )
    stamp = int.from_bytes(header.fields[HEADER_FIELDS.index("timestamp")])
    check(
        "installation.time",
        stamp == int(installation.installed_at.timestamp()),
        f"the installation block's timestamp is {datetime.fromtimestamp(stamp, UTC).isoformat()}, not "
        f"{installation.installed_at.isoformat()}",
    )


class MonthEnergy(BaseModel):
    """A month's metered energy and the two readings it is the difference of."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    month: Month
    device_id: str
    opening_at: AwareDatetime
    opening_digest: str
    closing_at: AwareDatetime
    closing_digest: str
    energy_delivered_wh: int = Field(ge=0)
    energy_received_wh: int = Field(ge=0)
    readings: int = Field(ge=2)


@dataclass(frozen=True, slots=True)
class MeterRecord:
    """One meter reading with the record it came in: digest, device, battery."""

    digest: bytes
    device_id: str
    battery_id: str
    reading: StorageMeterReading


def _window(
    records: Sequence[MeterRecord], month: str, installed_at: datetime
) -> tuple[MeterRecord, MeterRecord, list[MeterRecord]]:
    """(opening, closing, every reading from opening to closing) under the boundary rule."""
    start, end = month_bounds(month)
    ordered = sorted(records, key=lambda r: (r.reading.measured_at, r.digest))
    before = [r for r in ordered if r.reading.measured_at <= start]
    if before:
        opening = before[-1]
    else:
        commissioning = [r for r in ordered if installed_at <= r.reading.measured_at <= end]
        if installed_at <= start or not commissioning:
            raise MonthNotCovered(f"no meter reading opens {month}: none at or before {start.isoformat()}")
        opening = commissioning[0]
    closing = [r for r in ordered if r.reading.measured_at <= end][-1]
    if closing.reading.measured_at <= start or closing is opening:
        raise MonthNotCovered(
            f"no meter reading closes {month}: none in ({start.isoformat()}, {end.isoformat()}]"
        )
    span = [
        r
        for r in ordered
        if opening.reading.measured_at <= r.reading.measured_at <= closing.reading.measured_at
    ]
    return opening, closing, span


def month_energy(records: Sequence[MeterRecord], month: str, installed_at: datetime) -> MonthEnergy:
    """The month's figure from one meter's readings (see the module docstring); pure."""
    opening, closing, span = _window(records, month, installed_at)
    first, last = opening.reading, closing.reading
    return MonthEnergy(
        month=month,
        device_id=closing.device_id,
        opening_at=first.measured_at,
        opening_digest="0x" + opening.digest.hex(),
        closing_at=last.measured_at,
        closing_digest="0x" + closing.digest.hex(),
        energy_delivered_wh=max(0, last.energy_out_wh - first.energy_out_wh),
        energy_received_wh=max(0, last.energy_in_wh - first.energy_in_wh),
        readings=len(span),
    )


# -- the proof ----------------------------------------------------------------------------------------


class EnergyProof(BaseModel):
    """Everything a reader needs to check a month's energy offline (format in README "Second-life
    energy")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["battery-passport-energy-proof/1"] = PROOF_FORMAT
    installation: StorageInstallation
    energy: MonthEnergy
    records: list[EvidenceRecord]
    anchors: list[AnchorReceipt]

    @classmethod
    def parse(cls, data: bytes | str) -> EnergyProof:
        """Parse a bundle; ``MalformedEnergyProof`` (naming the fields) if it is not one."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            problems = validation_summary(exc)
            raise MalformedEnergyProof(f"not an energy proof bundle: {problems}") from None


def meter_records(history: Iterable[AnchoredRecord]) -> list[AnchoredRecord]:
    """The storage meter readings of a battery's anchored history."""
    return [a for a in history if isinstance(a.record.reading, StorageMeterReading)]


def build_energy_proof(
    installation: StorageInstallation,
    month: str,
    history: Iterable[AnchoredRecord],
    batches: Mapping[bytes, tuple[bytes | None, bytes | None]],
    chain: ChainClient,
) -> EnergyProof:
    """The proof of ``month`` from the battery's anchored history.

    ``batches`` maps each anchored root to its anchoring ``(tx_hash, block_hash)`` (from the journal);
    ``chain`` supplies each block's header, transactions and receipts for the receipt proofs.
    ``MonthNotCovered`` if the meter's readings cannot open and close the month.
    """
    anchored = [a for a in meter_records(history) if a.record.battery_id == installation.battery_id]
    if not anchored:
        raise MonthNotCovered(f"battery {installation.battery_id} has no anchored meter readings")
    latest_device = max(
        anchored, key=lambda a: (a.record.reading.observed_at, a.record.digest)
    ).record.device_id
    # A replaced meter starts its counters again: the month is read on one meter, the current one.
    by_digest = {a.record.digest: a for a in anchored if a.record.device_id == latest_device}
    meter = [
        MeterRecord(d, a.record.device_id, a.record.battery_id, reading)
        for d, a in by_digest.items()
        if isinstance(reading := a.record.reading, StorageMeterReading)
    ]
    energy = month_energy(meter, month, installation.installed_at)
    _, _, span = _window(meter, month, installation.installed_at)
    used = [by_digest[r.digest] for r in span]
    receipts: dict[bytes, AnchorReceipt] = {}
    for a in used:
        tx_hash, block_hash = batches.get(a.root, (None, None))
        if tx_hash is None or block_hash is None:
            raise NotAnchored(f"root 0x{a.root.hex()} has no anchoring transaction in the journal")
        if tx_hash not in receipts:
            receipts[tx_hash] = prove_anchor(chain, tx_hash, block_hash)
    return EnergyProof(
        installation=installation,
        energy=energy,
        records=[
            EvidenceRecord(
                record=a.record.canonical.decode(),
                record_digest=a.record.digest,
                root=a.root,
                proof=list(a.proof),
            )
            for a in used
        ],
        anchors=list(receipts.values()),
    )


EnergyCheckName = Literal[
    "record.digest",
    "record.proof",
    "record.readable",
    "record.battery",
    "record.meter",
    "anchor.header",
    "anchor.receipt",
    "anchor.registry",
    "record.anchor",
    "installation.receipt",
    "installation.time",
    "installation.rated",
    "installation.before",
    "window.opening",
    "window.closing",
    "window.inside",
    "meter.continuity",
    "energy.recompute",
    "anchors.on_chain",
]


class EnergyCheck(BaseModel):
    """One named check of an energy proof."""

    name: EnergyCheckName
    ok: bool
    detail: str = ""


class EnergyVerification(BaseModel):
    """The outcome: ``ok`` only if every check passed; ``energy`` is the recomputed figure, if any."""

    ok: bool
    passport_id: UUID
    battery_id: str
    month: str
    energy_delivered_wh: int | None
    energy_received_wh: int | None
    record_count: int
    checks: list[EnergyCheck]

    def failed(self) -> list[EnergyCheck]:
        return [c for c in self.checks if not c.ok]


def _anchored_roots(proof: EnergyProof, check: _Checker) -> dict[bytes, AnchorReceipt]:
    """Root -> the anchor whose proven receipt holds the registry's ``BatchAnchored`` event of it."""
    found: dict[bytes, AnchorReceipt] = {}
    registries = {(a.chain_id, a.registry) for a in proof.anchors}
    check(
        "anchor.registry",
        len(registries) <= 1,
        f"the anchors name {len(registries)} different chains or registries",
    )
    for i, anchor in enumerate(proof.anchors):
        try:
            header = decode_header(anchor)
        except PassportError as exc:
            check("anchor.header", False, f"anchors[{i}]: {exc}")
            continue
        check(
            "anchor.header",
            "0x" + header.hash.hex() == anchor.block_hash and header.number == anchor.block_number,
            f"anchors[{i}]: the header is block {header.number} hashing to 0x{header.hash.hex()}, not "
            f"{anchor.block_number} {anchor.block_hash}",
        )
        try:
            receipt = decode_receipt(
                proven_value(header.receipts_root, anchor.tx_index, anchor.receipt_nodes())
            )
        except PassportError as exc:
            check("anchor.receipt", False, f"anchors[{i}]: receipt proof: {exc}")
            continue
        registry = bytes.fromhex(anchor.registry[2:])
        roots = [
            log.topics[1]
            for log in receipt.logs
            if log.address == registry
            and len(log.topics) == 3
            and log.topics[0] == BATCH_ANCHORED_TOPIC
            and len(log.data) == 64
            and int.from_bytes(log.data[:32]) == int(AnchorKind.ENERGY)
        ]
        check(
            "anchor.receipt",
            receipt.succeeded and bool(roots),
            f"anchors[{i}]: the receipt of {anchor.tx_hash} holds no energy BatchAnchored event of "
            f"{anchor.registry}" + ("" if receipt.succeeded else " (the transaction failed)"),
        )
        if receipt.succeeded:
            found.update(dict.fromkeys(roots, anchor))
    return found


class _Checker:
    """Collects named checks in first-seen order, keeping the first few failure details of each."""

    def __init__(self) -> None:
        self.failures: dict[EnergyCheckName, list[str]] = {}

    def __call__(self, name: EnergyCheckName, ok: bool, detail: str) -> None:
        self.failures.setdefault(name, [])
        if not ok:
            self.failures[name].append(detail)

    def checks(self) -> list[EnergyCheck]:
        return [
            EnergyCheck(name=name, ok=not details, detail="; ".join(details[:5]))
            for name, details in self.failures.items()
        ]


def verify_energy_proof(proof: EnergyProof, *, chain: AnchorReader | None = None) -> EnergyVerification:
    """Check a month's energy proof offline (plus, given ``chain``, each root on the registry).

    A tampered reading fails ``record.digest``; a proof that does not lead to its root ``record.proof``;
    a root no proven receipt anchors ``record.anchor``; a reading outside the month ``window.inside``;
    a stated figure that differs from the readings ``energy.recompute``.
    """
    check = _Checker()
    installation, stated = proof.installation, proof.energy
    _installation_checks(installation, check)
    anchored = _anchored_roots(proof, check)
    meter: list[MeterRecord] = []
    for i, item in enumerate(proof.records):
        canonical = item.record.encode()
        check(
            "record.digest",
            keccak256(canonical) == item.record_digest,
            f"records[{i}]: keccak256 of the record differs",
        )
        proven = len(item.record_digest) == 32 and verify_proof(item.root, item.record_digest, item.proof)
        check("record.proof", proven, f"records[{i}]: the proof does not lead to root 0x{item.root.hex()}")
        check(
            "record.anchor",
            item.root in anchored,
            f"records[{i}]: no proven receipt anchors root 0x{item.root.hex()} as an energy batch",
        )
        try:
            envelope = parse_canonical_object(canonical)
            reading = _meter_reading(canonical)
        except (ValueError, KeyError) as exc:
            check("record.readable", False, f"records[{i}]: {exc}")
            continue
        check("record.readable", True, "")
        battery, device = str(envelope.get("battery_id")), str(envelope.get("device_id"))
        check(
            "record.battery",
            battery == installation.battery_id,
            f"records[{i}] is of battery {battery}, not {installation.battery_id}",
        )
        check(
            "record.meter",
            device == stated.device_id,
            f"records[{i}] comes from device {device}, not the meter {stated.device_id}",
        )
        check(
            "installation.rated",
            reading.rated_energy_wh == installation.rated_energy_wh,
            f"records[{i}] reports a rated {reading.rated_energy_wh} Wh, the installation "
            f"{installation.rated_energy_wh} Wh",
        )
        check(
            "installation.before",
            reading.measured_at >= installation.installed_at,
            f"records[{i}] at {reading.measured_at.isoformat()} precedes the installation",
        )
        meter.append(MeterRecord(item.record_digest, device, battery, reading))
    recomputed: MonthEnergy | None = None
    try:
        start, end = month_bounds(stated.month)
    except InvalidMonth as exc:
        check("window.inside", False, str(exc))
    else:
        ordered = sorted(meter, key=lambda r: (r.reading.measured_at, r.digest))
        for previous, current in itertools.pairwise(ordered):
            problems = meter_step_problems(previous.reading, current.reading)
            check(
                "meter.continuity",
                not problems,
                f"0x{current.digest.hex()[:12]}…: " + "; ".join(f"{p}: {why}" for p, why in problems),
            )
        if ordered:
            first, last = ordered[0].reading.measured_at, ordered[-1].reading.measured_at
            commissioning = installation.installed_at > start and first >= installation.installed_at
            check(
                "window.opening",
                first <= start or commissioning,
                f"the first reading, at {first.isoformat()}, is after the month's start and is not the "
                "commissioning reading",
            )
            outside = [r for r in ordered[1:] if not start < r.reading.measured_at <= end]
            check(
                "window.inside",
                not outside,
                ", ".join(f"0x{r.digest.hex()[:12]}… at {r.reading.measured_at.isoformat()}" for r in outside)
                + f" outside ({start.isoformat()}, {end.isoformat()}]",
            )
            check(
                "window.closing",
                start < last <= end,
                f"the last reading, at {last.isoformat()}, does not close {stated.month}",
            )
        try:
            recomputed = month_energy(meter, stated.month, installation.installed_at)
        except MonthNotCovered as exc:
            check("energy.recompute", False, str(exc))
        else:
            shown, again = stated.model_dump(mode="json"), recomputed.model_dump(mode="json")
            differ = sorted(k for k in shown if shown[k] != again[k])
            check(
                "energy.recompute",
                not differ,
                "; ".join(f"{k}: stated {shown[k]!r}, recomputed {again[k]!r}" for k in differ),
            )
    if chain is not None:
        for root in sorted({r.root for r in proof.records}):
            check(
                "anchors.on_chain",
                chain.get_anchor(root) is not None,
                f"root 0x{root.hex()} is not anchored on the registry",
            )
    checks = check.checks()
    ok = bool(proof.records) and all(c.ok for c in checks)
    return EnergyVerification(
        ok=ok,
        passport_id=installation.passport_id,
        battery_id=installation.battery_id,
        month=stated.month,
        energy_delivered_wh=recomputed.energy_delivered_wh if recomputed else None,
        energy_received_wh=recomputed.energy_received_wh if recomputed else None,
        record_count=len(proof.records),
        checks=checks,
    )


def anchoring_of(journal: Journal, battery_id: str) -> dict[bytes, tuple[bytes | None, bytes | None]]:
    """Root -> (tx hash, block hash) of each anchored batch holding a reading of ``battery_id``."""
    return {
        b.root: (b.tx_hash, b.block_hash)
        for b in journal.batches_of_battery(battery_id)
        if b.state in ("anchored", "confirmed")
    }


__all__ = [
    "MAX_C_RATE",
    "PROOF_FORMAT",
    "EnergyProof",
    "EnergyVerification",
    "MonthEnergy",
    "StorageInstallation",
    "anchoring_of",
    "build_energy_proof",
    "installation_facts",
    "installation_tx",
    "meter_step_problems",
    "month_bounds",
    "month_energy",
    "previous_meter_reading",
    "verify_energy_proof",
]
