"""Typed readings reported by the collection devices, validated against physically plausible ranges.

Five kinds travel in one discriminated union on ``kind``: ``charging``, ``safety``, ``parking``,
``diagnostics`` and ``storage_meter`` (a second-life storage system's energy meter); each maps to the
``AnchorKind`` its batches are anchored under.

Readings are validated *strictly* from their canonical JSON bytes: a number must be a JSON number, a
time an RFC 3339 string with an offset, an unknown field is an error. A reading that fails is rejected
with every problem as ``(field path, why)`` — it is never clamped, rounded or dropped silently, since the
journaled bytes are what gets hashed and anchored and must be exactly what the device signed.

Ranges are deliberately wide (a 2,500-car fleet of passenger EVs, buses and trucks) so that they catch
unit mistakes and corrupt frames (Wh sent as kWh, mV as V, a °F value, an uninitialised 0xFFFF) without
rejecting real extremes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from oracle.errors import ReadingRejected
from passport.model import AnchorKind

# Earliest plausible timestamp: before the pilot's devices existed, a reading's clock is unset/corrupt.
_EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# -- unit-carrying field types ----------------------------------------------------------------------
# Pack energy of road EVs tops out around 1 MWh (heavy trucks); a single session cannot exceed it.
EnergyKWh = Annotated[float, Field(ge=0, le=1000, description="kWh")]
Percent = Annotated[float, Field(ge=0, le=100, description="%")]
# Megawatt charging (MCS) reaches 3.75 MW; more than that is a unit error (W sent as kW).
PowerKW = Annotated[float, Field(ge=0, le=4000, description="kW")]
# Cell temperatures: -40 °C is the lowest any automotive cell is rated to report; above 200 °C a sensor
# is reading thermal runaway or is broken — a safety event may carry that, an ordinary session may not.
CellTempC = Annotated[float, Field(ge=-40, le=100, description="°C")]
EventTempC = Annotated[float, Field(ge=-40, le=1000, description="°C")]
AmbientTempC = Annotated[float, Field(ge=-50, le=90, description="°C")]
Timestamp = Annotated[AwareDatetime, Field(description="RFC 3339 with offset")]

_MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True)


def _check_time(value: datetime, name: str) -> None:
    if not _EARLIEST <= value < _LATEST:
        raise ValueError(f"{name} {value.isoformat()} is outside {_EARLIEST.year}..{_LATEST.year - 1}")


class ChargingSession(BaseModel):
    """One charging session, plugged in to unplugged."""

    model_config = _MODEL_CONFIG

    kind: Literal["charging"] = "charging"
    started_at: Timestamp
    ended_at: Timestamp
    energy_kwh: EnergyKWh
    soc_start_pct: Percent
    soc_end_pct: Percent
    avg_power_kw: PowerKW
    max_power_kw: PowerKW
    max_cell_temp_c: CellTempC
    mode: Literal["fast", "slow"] = Field(description="fast = DC, slow = AC")

    @model_validator(mode="after")
    def _consistent(self) -> ChargingSession:
        _check_time(self.started_at, "started_at")
        _check_time(self.ended_at, "ended_at")
        duration = self.ended_at - self.started_at
        if duration <= timedelta(0):
            raise ValueError("ended_at must be after started_at")
        if duration > timedelta(hours=72):
            raise ValueError(f"session lasts {duration}, more than 72 h")
        if self.soc_end_pct < self.soc_start_pct:
            raise ValueError("soc_end_pct is below soc_start_pct: not a charging session")
        if self.max_power_kw < self.avg_power_kw:
            raise ValueError("max_power_kw is below avg_power_kw")
        # Energy cannot exceed peak power held for the whole session (5 % + 0.1 kWh for meter rounding).
        hours = duration.total_seconds() / 3600
        ceiling = self.max_power_kw * hours * 1.05 + 0.1
        if self.energy_kwh > ceiling:
            raise ValueError(
                f"energy_kwh {self.energy_kwh} exceeds max_power_kw x duration ({ceiling:.3f} kWh)"
            )
        return self

    @property
    def observed_at(self) -> datetime:
        return self.ended_at


SafetyEventKind = Literal[
    "over_temperature",
    "under_temperature",
    "deep_discharge",
    "overcharge",
    "over_current",
    "insulation_fault",
    "collision",
    "thermal_runaway_warning",
    "cell_imbalance",
]
Severity = Literal["info", "warning", "serious", "critical"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "serious": 2, "critical": 3}


class SafetyEvent(BaseModel):
    """A safety-relevant event the BMS raised, with the thermal/electrical state around it."""

    model_config = _MODEL_CONFIG

    kind: Literal["safety"] = "safety"
    occurred_at: Timestamp
    event: SafetyEventKind
    severity: Severity
    max_cell_temp_c: EventTempC | None = None
    min_cell_temp_c: EventTempC | None = None
    temp_rise_c_per_min: Annotated[float, Field(ge=0, le=1000, description="°C/min")] | None = None
    min_cell_voltage_v: Annotated[float, Field(ge=0, le=5, description="V")] | None = None
    max_cell_voltage_v: Annotated[float, Field(ge=0, le=5, description="V")] | None = None
    # Insulation monitoring: 0 kΩ is a dead short; above 100 MΩ a sensor is saturated.
    insulation_resistance_kohm: Annotated[float, Field(ge=0, le=100_000, description="kΩ")] | None = None
    description: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SafetyEvent:
        _check_time(self.occurred_at, "occurred_at")
        if (
            self.min_cell_temp_c is not None
            and self.max_cell_temp_c is not None
            and self.min_cell_temp_c > self.max_cell_temp_c
        ):
            raise ValueError("min_cell_temp_c is above max_cell_temp_c")
        if (
            self.min_cell_voltage_v is not None
            and self.max_cell_voltage_v is not None
            and self.min_cell_voltage_v > self.max_cell_voltage_v
        ):
            raise ValueError("min_cell_voltage_v is above max_cell_voltage_v")
        return self

    @property
    def observed_at(self) -> datetime:
        return self.occurred_at


class ParkingPeriod(BaseModel):
    """A period parked (not driving, not charging): temperatures seen and charge lost."""

    model_config = _MODEL_CONFIG

    kind: Literal["parking"] = "parking"
    started_at: Timestamp
    ended_at: Timestamp
    temp_min_c: AmbientTempC
    temp_max_c: AmbientTempC
    self_discharge_pct: Percent = Field(description="SoC percentage points lost while parked")

    @model_validator(mode="after")
    def _consistent(self) -> ParkingPeriod:
        _check_time(self.started_at, "started_at")
        _check_time(self.ended_at, "ended_at")
        duration = self.ended_at - self.started_at
        if duration <= timedelta(0):
            raise ValueError("ended_at must be after started_at")
        if duration > timedelta(days=366):
            raise ValueError(f"parking period lasts {duration}, more than a year")
        if self.temp_min_c > self.temp_max_c:
            raise ValueError("temp_min_c is above temp_max_c")
        return self

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def observed_at(self) -> datetime:
        return self.ended_at


class DiagnosticSnapshot(BaseModel):
    """The BMS's periodic state-of-health figures (the inputs of ``oracle.health``)."""

    model_config = _MODEL_CONFIG

    kind: Literal["diagnostics"] = "diagnostics"
    measured_at: Timestamp
    capacity_ah: Annotated[float, Field(gt=0, le=2000, description="Ah, measured usable capacity")]
    # State of certified energy; a new pack may measure a few percent above its certified value.
    soce_pct: Annotated[float, Field(ge=0, le=110, description="%")]
    internal_resistance_mohm: Annotated[float, Field(gt=0, le=5000, description="mΩ, pack DC")]
    cell_voltage_spread_mv: Annotated[float, Field(ge=0, le=2000, description="mV, max - min cell")]
    cycle_count: Annotated[int, Field(ge=0, le=100_000)]
    energy_throughput_kwh: Annotated[float, Field(ge=0, le=100_000_000, description="kWh")]
    capacity_throughput_ah: Annotated[float, Field(ge=0, le=500_000_000, description="Ah")]
    # Optional: max - min SoH over the cells, when the BMS estimates per-cell capacity.
    cell_soh_spread_pct: Percent | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DiagnosticSnapshot:
        _check_time(self.measured_at, "measured_at")
        return self

    @property
    def observed_at(self) -> datetime:
        return self.measured_at


# A storage system built from one repurposed road pack: at most the largest road pack (1 MWh).
RatedEnergyWh = Annotated[int, Field(gt=0, le=1_000_000, description="Wh, the installation's rated energy")]
# Lifetime counters: 1 MWh cycled daily for 100 years is ~3.7e10 Wh; 1e12 leaves room, catches garbage.
MeterWh = Annotated[int, Field(ge=0, le=1_000_000_000_000, description="Wh, cumulative")]


class StorageMeterReading(BaseModel):
    """A second-life storage system's energy meter: cumulative Wh in and out, state of charge.

    Counters are integers (meters count whole Wh) so that a month's delta is exact. Whether a reading
    follows on from the meter's previous one (counters never go back, the power the deltas imply is
    plausible for the rated energy) is checked at ingestion (``oracle.energy.meter_step_problems``).
    """

    model_config = _MODEL_CONFIG

    kind: Literal["storage_meter"] = "storage_meter"
    measured_at: Timestamp
    energy_in_wh: MeterWh = Field(description="Wh taken in since the meter was installed (charging)")
    energy_out_wh: MeterWh = Field(description="Wh delivered since the meter was installed")
    soc_pct: Percent
    rated_energy_wh: RatedEnergyWh

    @model_validator(mode="after")
    def _consistent(self) -> StorageMeterReading:
        _check_time(self.measured_at, "measured_at")
        return self

    @property
    def observed_at(self) -> datetime:
        return self.measured_at


DeviceReading: TypeAlias = Annotated[
    ChargingSession | SafetyEvent | ParkingPeriod | DiagnosticSnapshot | StorageMeterReading,
    Field(discriminator="kind"),
]
ReadingKind = Literal["charging", "safety", "parking", "diagnostics", "storage_meter"]

ANCHOR_KIND: dict[str, AnchorKind] = {
    "charging": AnchorKind.CHARGING,
    "safety": AnchorKind.SAFETY,
    "parking": AnchorKind.PARKING,
    "diagnostics": AnchorKind.DIAGNOSTICS,
    "storage_meter": AnchorKind.ENERGY,
}
KIND_NAME: dict[AnchorKind, str] = {value: key for key, value in ANCHOR_KIND.items()}

READING_ADAPTER: TypeAdapter[DeviceReading] = TypeAdapter(DeviceReading)
READINGS_ADAPTER: TypeAdapter[list[DeviceReading]] = TypeAdapter(list[DeviceReading])


def _path(loc: tuple[int | str, ...]) -> str:
    # pydantic puts the union tag into the location (``('charging', 'energy_kwh')``); the device sent
    # no such level, so drop it and spell the rest as a JSON path relative to the reading.
    parts = list(loc)
    if parts and parts[0] in ANCHOR_KIND:
        parts = parts[1:]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


def problems_of(error: ValidationError) -> list[tuple[str, str]]:
    """``(field path, why)`` for each error pydantic found, in its order."""
    found: list[tuple[str, str]] = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        path = _path(item["loc"])
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            path, message = "kind", f"kind must be one of {', '.join(ANCHOR_KIND)}"
        found.append((path, message))
    return found


def validation_summary(error: ValidationError, limit: int = 10) -> str:
    """The first ``limit`` problems of a bundle's validation as ``dotted.path: why``, for one message."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '$'}: {e['msg']}" for e in error.errors()[:limit]
    )


def parse_reading(
    canonical: bytes,
) -> ChargingSession | SafetyEvent | ParkingPeriod | DiagnosticSnapshot | StorageMeterReading:
    """Validate one reading from its canonical JSON bytes; raise ``ReadingRejected`` with every problem."""
    try:
        return READING_ADAPTER.validate_json(canonical, strict=True)
    except ValidationError as exc:
        problems = problems_of(exc)
        summary = "; ".join(f"{path}: {why}" for path, why in problems)
        raise ReadingRejected(f"reading rejected: {summary}", problems) from None


Parsed: TypeAlias = ChargingSession | SafetyEvent | ParkingPeriod | DiagnosticSnapshot | StorageMeterReading


def parse_readings(canonicals: list[bytes]) -> list[Parsed | ReadingRejected]:
    """Validate an upload's readings in one pass: each the parsed reading, or why it was rejected.

    One ``validate_json`` call over the readings spliced into a JSON array (the bytes are canonical
    JSON already, so the array is exact): the common all-valid upload costs one trip into pydantic's
    core, not one per reading. Only when something fails are the readings validated one by one, so each
    rejection carries exactly its own problems (the same as ``parse_reading`` gives).
    """
    try:
        return list(READINGS_ADAPTER.validate_json(b"[" + b",".join(canonicals) + b"]", strict=True))
    except ValidationError:
        pass
    results: list[Parsed | ReadingRejected] = []
    for canonical in canonicals:
        try:
            results.append(parse_reading(canonical))
        except ReadingRejected as exc:
            results.append(exc)
    return results


def reading_json(reading: DeviceReading) -> dict[str, Any]:
    """The JSON object a device sends for ``reading`` (what it signs, after canonicalisation).

    The one way the project writes a reading (devices, simulators, the demo): build the typed model,
    so a bad value fails where it is made, and send this; ``parse_reading`` reads it back equal.
    """
    return reading.model_dump(mode="json", exclude_none=True)
