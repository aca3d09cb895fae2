"""Device-driven health: the figures the oracle derives from a battery's anchored readings, and their
provenance (Annex XIII 4, Art. 14; Korea's pre-removal evaluation uses the same policy).

The record names the evaluation policy (id and SHA-256 of its canonical definition), commits to every
anchored record it was computed from (a digest over their record digests) and lists the Merkle roots
anchoring them, so a reader
holding the readings and their inclusion proofs can recompute every figure offline
(``oracle.device_health.verify_health_evidence``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from passport.model._base import PassportModel
from passport.model.documents import Sha256Hex
from passport.model.korea import EvaluationGrade, PolicyId, SecondLifeRoute

#: A keccak-256 digest or Merkle root as ``0x`` + 64 lowercase hex digits.
Bytes32Hex = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]
NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=100)]


class HealthPolicyRef(PassportModel):
    """The evaluation policy version the figures were computed under: id and SHA-256 (hex) of its RFC 8785
    canonical JSON, which embeds the grading thresholds."""

    id: PolicyId
    digest: Sha256Hex


class HealthFigures(PassportModel):
    """The dynamic figures derived from the readings; ``*_uncertainty`` are ± half-widths in the same unit."""

    measured_at: AwareDatetime = Field(description="When the latest diagnostic snapshot used was taken.")
    soh_method: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    state_of_health_pct: NonNegative
    state_of_health_uncertainty_pct: NonNegative
    capacity_fade_pct: float
    capacity_fade_uncertainty_pct: NonNegative
    power_fade_pct: float
    resistance_increase_pct: float
    resistance_increase_uncertainty_pct: NonNegative
    remaining_capacity_ah: NonNegative
    equivalent_full_cycles: NonNegative
    equivalent_full_cycles_uncertainty: NonNegative
    energy_throughput_kwh: NonNegative
    capacity_throughput_ah: NonNegative
    hours_above_high_temperature: NonNegative
    hours_below_low_temperature: NonNegative
    hours_at_high_soc: NonNegative
    charging_sessions: Annotated[int, Field(ge=0)]
    fast_charge_session_share_pct: Share
    fast_charge_energy_share_pct: Share
    safety_events: Annotated[int, Field(ge=0)]
    grade: EvaluationGrade
    route: SecondLifeRoute
    reasons: list[Annotated[str, StringConstraints(min_length=1, max_length=500)]] = Field(
        default_factory=list
    )


class DeviceHealth(PassportModel):
    """A device-driven health result with its provenance: policy, records used and their anchors."""

    evaluated_at: AwareDatetime
    policy: HealthPolicyRef
    figures: HealthFigures
    record_count: Annotated[int, Field(ge=1)]
    records_digest: Sha256Hex = Field(
        description="SHA-256 of the used records' keccak digests (32 bytes each), sorted ascending, "
        "concatenated: commits to exactly which readings were used."
    )
    anchors: list[Bytes32Hex] = Field(min_length=1, description="Merkle roots anchoring them, sorted.")

    @model_validator(mode="after")
    def _sorted_unique(self) -> DeviceHealth:
        if self.anchors != sorted(set(self.anchors)):
            raise ValueError("anchors must be sorted ascending without duplicates")
        return self
