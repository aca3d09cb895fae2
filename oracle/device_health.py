"""Device-driven health: a battery's *anchored* readings → the passport's dynamic figures, provably.

**The policy.** ``HealthPolicy`` is a server-side, versioned evaluation policy: an id and the
SHA-256 of its RFC 8785 canonical JSON (``HealthPolicy.digest``). It embeds the grading thresholds
(``oracle.health.GradingPolicy``), so the digest a result records pins both how the figures are
derived and how the grade is decided. ``HEALTH_POLICIES`` registers the published versions; the server
picks one from ``Settings.health_policy`` (default ``CURRENT_HEALTH_POLICY``) and no caller can choose
another. The pre-removal evaluation (``oracle.evaluation``) grades with the same embedded thresholds.

**The figures** (``compute_health``), from every anchored record of the battery, sorted by
(observation time, record digest) so the computation is deterministic:

* state of health, capacity fade, power fade and resistance increase, with uncertainty: the latest
  diagnostic snapshot graded by ``oracle.health.evaluate_health`` under the embedded thresholds,
  with every safety event used (the A-D grade and route follow ``oracle.evaluation``);
* equivalent full cycles = discharged Ah throughput / rated capacity (± the capacity uncertainty);
  energy and Ah throughput as the BMS counts them (latest snapshot);
* hours above ``high_temperature_c`` / below ``low_temperature_c``: a charging session whose peak cell
  temperature reached the limit counts whole (an upper bound); a parking period counts for the share
  of its min-max range beyond the limit (a linear estimate of the daily swing);
* hours at high state of charge (≥ ``high_soc_pct``): the part of each charging session spent above
  it (linear in SoC), plus each parking period that began within ``rest_after_charge_max_gap_h`` of
  a session that ended above it (SoC at rest is the end-of-charge SoC: an upper bound);
* fast-charge share: DC sessions over all sessions, by count and by energy.

**Provenance.** The result (``passport.model.DeviceHealth``) records the policy id and digest, the
record count and a digest committing to exactly which records were used (SHA-256 over their sorted
32-byte keccak digests), and the Merkle roots anchoring them. ``build_evidence`` packs the records,
their inclusion proofs and the policy into a ``HealthEvidence`` bundle; ``verify_health_evidence``
re-checks it offline and recomputes every figure, naming the check that fails.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oracle.errors import InsufficientData, MalformedEvidence, UnknownHealthPolicy
from oracle.evaluation import ROUTES, evaluation_grade
from oracle.health import GradingPolicy, RatedValues, evaluate_health, grading_policy
from oracle.merkle import keccak256, verify_proof
from oracle.ports import AnchorReader
from oracle.proofs import AnchoredRecord, HexBytes
from oracle.readings import (
    ChargingSession,
    DiagnosticSnapshot,
    ParkingPeriod,
    Parsed,
    SafetyEvent,
    parse_reading,
    validation_summary,
)
from passport.canonical import canonical_digest, canonical_json, parse_canonical_object
from passport.model import (
    BatteryPassport,
    DeviceHealth,
    HealthFigures,
    HealthPolicyRef,
    PolicyId,
)
from passport.model.performance import MeasurementMethod, Reading

EVIDENCE_FORMAT: Final = "battery-passport-health-evidence/1"


class HealthPolicy(BaseModel):
    """One named version of how device data becomes health figures; defaults are ``kr-health-2026-1``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: PolicyId
    grading: GradingPolicy = Field(description="The grading thresholds (a registered version).")
    high_temperature_c: float = Field(
        default=45.0,
        description="Cell temperature at or above which time counts as 'extreme hot': the usual upper "
        "limit of Li-ion operating windows in cell datasheets (ageing roughly doubles per +10 °C).",
    )
    low_temperature_c: float = Field(
        default=-10.0, description="At or below: 'extreme cold' (lithium-plating risk when charging)."
    )
    high_soc_pct: float = Field(
        default=90.0, ge=0, le=100, description="Storage at or above this SoC accelerates calendar ageing."
    )
    rest_after_charge_max_gap_h: float = Field(
        default=2.0, gt=0, description="A parking period this soon after a charge starts at its end SoC."
    )

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of this version's RFC 8785 canonical JSON: what a recorded result names."""
        return canonical_digest(self.model_dump(mode="json")).hex()

    @property
    def ref(self) -> HealthPolicyRef:
        return HealthPolicyRef(id=self.id, digest=self.digest)


CURRENT_HEALTH_POLICY: Final = "kr-health-2026-1"
#: Every published version by id; a change is a new id (the digest is pinned in the tests).
HEALTH_POLICIES: Final[Mapping[str, HealthPolicy]] = MappingProxyType(
    {p.id: p for p in (HealthPolicy(id="kr-health-2026-1", grading=grading_policy("kr-2026-1")),)}
)


def health_policy(policy_id: str | None = None) -> HealthPolicy:
    """The registered version ``policy_id`` (default: the current one); ``UnknownHealthPolicy`` if none."""
    policy = HEALTH_POLICIES.get(policy_id or CURRENT_HEALTH_POLICY)
    if policy is None:
        known = ", ".join(sorted(HEALTH_POLICIES))
        raise UnknownHealthPolicy(f"no device-health policy {policy_id!r}; known versions: {known}")
    return policy


@dataclass(frozen=True, slots=True)
class UsedRecord:
    """One anchored record a computation used: its canonical bytes, digest and anchoring root."""

    digest: bytes
    root: bytes
    canonical: bytes
    battery_id: str
    reading: Parsed

    @classmethod
    def parse(cls, canonical: bytes, root: bytes) -> UsedRecord:
        """From a record's canonical bytes (raises ``ReadingRejected`` / ``CanonicalJsonError``)."""
        envelope = parse_canonical_object(canonical)
        reading = parse_reading(canonical_json(envelope["reading"]))
        return cls(keccak256(canonical), root, canonical, str(envelope["battery_id"]), reading)

    @classmethod
    def of(cls, anchored: AnchoredRecord) -> UsedRecord:
        record = anchored.record
        return cls(record.digest, anchored.root, record.canonical, record.battery_id, record.reading)


def records_digest(digests: Iterable[bytes]) -> str:
    """SHA-256 (hex) over the sorted 32-byte record digests: commits to exactly which records were used."""
    return hashlib.sha256(b"".join(sorted(digests))).hexdigest()


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _share_beyond(low: float, high: float, limit: float, *, above: bool) -> float:
    """Share of a linear swing from ``low`` to ``high`` at or beyond ``limit``."""
    if high <= low:
        return 1.0 if (low >= limit if above else high <= limit) else 0.0
    share = (high - limit) / (high - low) if above else (limit - low) / (high - low)
    return min(1.0, max(0.0, share))


def _r(value: float) -> float:
    return round(value, 3)


def compute_figures(
    battery_id: str, rated: RatedValues, records: Sequence[UsedRecord], policy: HealthPolicy
) -> HealthFigures:
    """The health figures from ``records`` under ``policy`` (see the module docstring); pure."""
    ordered = sorted(records, key=lambda r: (r.reading.observed_at, r.digest))
    diagnostics = [r.reading for r in ordered if isinstance(r.reading, DiagnosticSnapshot)]
    if not diagnostics:
        raise InsufficientData(f"battery {battery_id} has no anchored diagnostic snapshot")
    latest = diagnostics[-1]
    safety = [r.reading for r in ordered if isinstance(r.reading, SafetyEvent)]
    charging = [r.reading for r in ordered if isinstance(r.reading, ChargingSession)]
    parking = [r.reading for r in ordered if isinstance(r.reading, ParkingPeriod)]
    grading = policy.grading
    assessment = evaluate_health(
        battery_id,
        rated,
        latest,
        safety,
        policy=grading,
        evaluator=f"oracle device health ({policy.id})",
        evaluated_at=latest.measured_at,
    )
    retention = assessment.capacity_retention_pct
    resistance_ratio = latest.internal_resistance_mohm / rated.initial_internal_resistance_mohm
    efc = latest.capacity_throughput_ah / rated.rated_capacity_ah

    hot = cold = high_soc = 0.0
    for session in charging:
        hours = _hours(session.started_at, session.ended_at)
        if session.max_cell_temp_c >= policy.high_temperature_c:
            hot += hours
        span = session.soc_end_pct - session.soc_start_pct
        if session.soc_end_pct >= policy.high_soc_pct:
            above = session.soc_end_pct - max(session.soc_start_pct, policy.high_soc_pct)
            high_soc += hours * (above / span if span > 0 else 1.0)
    # Sessions by end time, each with its place in ``charging``: a parking period's window is found by
    # bisection (a year has ~10^2 sessions and ~10^2 periods per battery; scanning every pair was the
    # fleet refresh's largest cost), and the latest-listed session in it decides, as before.
    ends = sorted((s.ended_at, i) for i, s in enumerate(charging))
    end_times = [ended for ended, _ in ends]
    gap = timedelta(hours=policy.rest_after_charge_max_gap_h)
    for period in parking:
        hours = period.duration_s / 3600
        hot += hours * _share_beyond(
            period.temp_min_c, period.temp_max_c, policy.high_temperature_c, above=True
        )
        cold += hours * _share_beyond(
            period.temp_min_c, period.temp_max_c, policy.low_temperature_c, above=False
        )
        lo = bisect_left(end_times, period.started_at - gap)
        hi = bisect_right(end_times, period.started_at)
        if lo < hi and charging[max(i for _, i in ends[lo:hi])].soc_end_pct >= policy.high_soc_pct:
            high_soc += hours
    fast = [s for s in charging if s.mode == "fast"]
    energy = sum(s.energy_kwh for s in charging)
    return HealthFigures(
        measured_at=latest.measured_at,
        soh_method=assessment.method,
        state_of_health_pct=_r(assessment.soh_pct),
        state_of_health_uncertainty_pct=_r(assessment.soh_uncertainty_pct),
        capacity_fade_pct=_r(100 - retention),
        capacity_fade_uncertainty_pct=_r(retention * grading.capacity_uncertainty_pct / 100),
        power_fade_pct=_r(100 - assessment.power_retention_pct),
        resistance_increase_pct=_r(assessment.resistance_increase_pct),
        resistance_increase_uncertainty_pct=_r(
            100 * resistance_ratio * grading.resistance_uncertainty_pct / 100
        ),
        remaining_capacity_ah=_r(latest.capacity_ah),
        equivalent_full_cycles=_r(efc),
        equivalent_full_cycles_uncertainty=_r(efc * grading.capacity_uncertainty_pct / 100),
        energy_throughput_kwh=_r(latest.energy_throughput_kwh),
        capacity_throughput_ah=_r(latest.capacity_throughput_ah),
        hours_above_high_temperature=_r(hot),
        hours_below_low_temperature=_r(cold),
        hours_at_high_soc=_r(high_soc),
        charging_sessions=len(charging),
        fast_charge_session_share_pct=_r(100 * len(fast) / len(charging)) if charging else 0.0,
        fast_charge_energy_share_pct=_r(100 * sum(s.energy_kwh for s in fast) / energy) if energy else 0.0,
        safety_events=len(safety),
        grade=evaluation_grade(assessment),
        route=ROUTES[assessment.grade],
        reasons=[reason[:500] for reason in assessment.reasons],
    )


def compute_health(
    battery_id: str,
    rated: RatedValues,
    records: Sequence[UsedRecord],
    policy: HealthPolicy,
    *,
    evaluated_at: datetime | None = None,
) -> DeviceHealth:
    """The passport's ``DeviceHealth`` from ``records`` (all anchored records of ``battery_id``)."""
    foreign = sorted({r.battery_id for r in records} - {battery_id})
    if foreign:
        raise InsufficientData(f"records of other batteries given for {battery_id}: {', '.join(foreign)}")
    figures = compute_figures(battery_id, rated, records, policy)
    return DeviceHealth(
        evaluated_at=evaluated_at or datetime.now(UTC),
        policy=policy.ref,
        figures=figures,
        record_count=len({r.digest for r in records}),
        records_digest=records_digest({r.digest for r in records}),
        anchors=sorted({"0x" + r.root.hex() for r in records}),
    )


def with_device_health(
    passport: BatteryPassport, health: DeviceHealth, policy: HealthPolicy
) -> BatteryPassport:
    """``passport`` with ``health`` recorded and the Annex XIII dynamic fields it determines updated."""
    f = health.figures
    originator = f"oracle device health {policy.id}"

    def reading(value: float, method: MeasurementMethod, uncertainty: float | None = None) -> Reading[float]:
        return Reading[float](
            value=value,
            measured_at=f.measured_at,
            method=method,
            originator=originator,
            uncertainty=uncertainty,
        )

    bms, calc = MeasurementMethod.BMS_ESTIMATE, MeasurementMethod.CALCULATED
    dynamic = passport.performance.dynamic
    update: dict[str, object] = {
        "device_health": health,
        "remaining_capacity_ah": reading(f.remaining_capacity_ah, bms),
        "capacity_fade_percent": reading(
            min(100.0, max(0.0, f.capacity_fade_pct)), calc, f.capacity_fade_uncertainty_pct
        ),
        "power_fade_percent": reading(min(100.0, max(0.0, f.power_fade_pct)), calc),
        "pack_resistance_increase_percent": reading(
            min(10_000.0, max(0.0, f.resistance_increase_pct)), calc, f.resistance_increase_uncertainty_pct
        ),
        "energy_throughput_kwh": reading(f.energy_throughput_kwh, bms),
        "capacity_throughput_ah": reading(f.capacity_throughput_ah, bms),
        "full_cycles": Reading[int](
            value=int(f.equivalent_full_cycles),
            measured_at=f.measured_at,
            method=calc,
            originator=originator,
            uncertainty=f.equivalent_full_cycles_uncertainty,
        ),
    }
    if f.soh_method == "soce":
        update["state_of_certified_energy_percent"] = reading(
            min(100.0, f.state_of_health_pct), bms, f.state_of_health_uncertainty_pct
        )
    # Validate the whole section again: a figure outside a field's range fails here, not at commit.
    plain = {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in update.items()}
    merged = type(dynamic).model_validate({**dynamic.model_dump(), **plain})
    performance = passport.performance.model_copy(update={"dynamic": merged})
    return passport.model_copy(update={"performance": performance})


# -- evidence ------------------------------------------------------------------------------------------


class EvidenceRecord(BaseModel):
    """One record used: its canonical bytes (UTF-8 JSON text), digest, anchoring root and proof."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record: str
    record_digest: HexBytes
    root: HexBytes
    proof: list[HexBytes]


class HealthEvidence(BaseModel):
    """Everything a reader needs to check a passport's health figures offline (format documented in
    README "Device-driven health")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["battery-passport-health-evidence/1"] = EVIDENCE_FORMAT
    passport_id: UUID
    version: int = Field(ge=1)
    battery_id: str
    rated: RatedValues
    health: DeviceHealth
    policy: HealthPolicy
    records: list[EvidenceRecord]

    @classmethod
    def parse(cls, data: bytes | str) -> HealthEvidence:
        """Parse a bundle; ``MalformedEvidence`` (naming the fields) if it is not one."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            problems = validation_summary(exc)
            raise MalformedEvidence(f"not a health evidence bundle: {problems}") from None


def used_records(history: Iterable[AnchoredRecord], anchors: Iterable[str]) -> list[AnchoredRecord]:
    """The records of a battery's anchored history that a result with ``anchors`` used.

    A refresh uses every anchored record of the battery, and anchored batches never change, so the
    battery's records in exactly those batches are the set it used (``records_digest`` confirms it).
    """
    roots = {bytes.fromhex(a.removeprefix("0x")) for a in anchors}
    return [a for a in history if a.root in roots]


def build_evidence(
    passport_id: UUID,
    version: int,
    battery_id: str,
    rated: RatedValues,
    health: DeviceHealth,
    history: Iterable[AnchoredRecord],
) -> HealthEvidence:
    """The evidence bundle for ``health`` (as recorded on the passport) from the battery's history."""
    policy = health_policy(health.policy.id)
    return HealthEvidence(
        passport_id=passport_id,
        version=version,
        battery_id=battery_id,
        rated=rated,
        health=health,
        policy=policy,
        records=[
            EvidenceRecord(
                record=a.record.canonical.decode(),
                record_digest=a.record.digest,
                root=a.root,
                proof=list(a.proof),
            )
            for a in used_records(history, health.anchors)
        ],
    )


CheckName = Literal[
    "policy.digest",
    "policy.registered",
    "record.digest",
    "record.battery",
    "record.readable",
    "record.proof",
    "record.anchor",
    "records.digest",
    "anchors.used",
    "anchors.on_chain",
    "figures.recompute",
]


class Check(BaseModel):
    """One named check of a health evidence bundle."""

    name: CheckName
    ok: bool
    detail: str = ""


class HealthVerification(BaseModel):
    """The outcome: ``ok`` only if every check passed."""

    ok: bool
    passport_id: UUID
    version: int
    policy: HealthPolicyRef
    record_count: int
    checks: list[Check]

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def verify_health_evidence(
    evidence: HealthEvidence, *, chain: AnchorReader | None = None
) -> HealthVerification:
    """Check a bundle offline (plus, given ``chain``, that each root is anchored on the registry).

    Each check is named (``CheckName``); a tampered reading fails ``record.digest`` (or its proof),
    a tampered policy ``policy.digest`` or ``policy.registered``, altered figures ``figures.recompute``.
    """
    health, policy = evidence.health, evidence.policy
    failures: dict[CheckName, list[str]] = {}

    def check(name: CheckName, ok: bool, detail: str) -> None:
        failures.setdefault(name, [])
        if not ok:
            failures[name].append(detail)

    check(
        "policy.digest",
        policy.id == health.policy.id and policy.digest == health.policy.digest,
        f"policy {policy.id} has digest {policy.digest}; the result names {health.policy.id} "
        f"{health.policy.digest}",
    )
    registered = HEALTH_POLICIES.get(policy.id)
    check(
        "policy.registered",
        registered is not None and registered == policy,
        f"policy {policy.id} ({policy.digest}) is not a published version",
    )
    anchors = set(health.anchors)
    used: list[UsedRecord] = []
    for i, item in enumerate(evidence.records):
        canonical = item.record.encode()
        digest = keccak256(canonical)
        check("record.digest", digest == item.record_digest, f"records[{i}]: keccak256 of the record differs")
        proven = len(item.record_digest) == 32 and verify_proof(item.root, item.record_digest, item.proof)
        check("record.proof", proven, f"records[{i}]: the proof does not lead to root 0x{item.root.hex()}")
        root_hex = "0x" + item.root.hex()
        check("record.anchor", root_hex in anchors, f"records[{i}]: root {root_hex} is not among the anchors")
        try:
            parsed = UsedRecord.parse(canonical, item.root)
        except (ValueError, KeyError) as exc:
            check("record.readable", False, f"records[{i}]: {exc}")
            continue
        check("record.readable", True, "")
        check(
            "record.battery",
            parsed.battery_id == evidence.battery_id,
            f"records[{i}] is of battery {parsed.battery_id}, not {evidence.battery_id}",
        )
        used.append(parsed)
    digests = [r.record_digest for r in evidence.records]
    check(
        "records.digest",
        len(set(digests)) == health.record_count and records_digest(set(digests)) == health.records_digest,
        f"{len(set(digests))} records with digest {records_digest(set(digests))}; the result names "
        f"{health.record_count} with {health.records_digest}",
    )
    roots = {"0x" + r.root.hex() for r in evidence.records}
    check(
        "anchors.used",
        roots == anchors,
        f"records are anchored under {len(roots)} roots, result names {len(anchors)}",
    )
    if chain is not None:
        for root in sorted(anchors):
            check(
                "anchors.on_chain",
                chain.get_anchor(bytes.fromhex(root[2:])) is not None,
                f"root {root} is not anchored on the registry",
            )
    try:
        figures = compute_figures(evidence.battery_id, evidence.rated, used, policy)
    except (InsufficientData, ValueError) as exc:
        check("figures.recompute", False, str(exc))
    else:
        shown, again = health.figures.model_dump(mode="json"), figures.model_dump(mode="json")
        differ = sorted(k for k in shown if shown[k] != again[k])
        check(
            "figures.recompute",
            not differ,
            "; ".join(f"{k}: recorded {shown[k]!r}, recomputed {again[k]!r}" for k in differ),
        )
    checks = [
        Check(name=name, ok=not details, detail="; ".join(details[:5])) for name, details in failures.items()
    ]
    return HealthVerification(
        ok=all(c.ok for c in checks),
        passport_id=evidence.passport_id,
        version=evidence.version,
        policy=health.policy,
        record_count=len(evidence.records),
        checks=checks,
    )
