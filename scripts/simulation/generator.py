"""Day-by-day readings of the pilot fleet, vectorised over vehicles and deterministic given a seed.

Each simulated day yields a ``DayBatch``: the day's readings as columns (one array per field, one row
per reading), grouped into per-device uploads on demand, plus lifecycle events and every pack's SoH.

What a vehicle's collection device reports (and so what ends up in the ledger):

* ``charging`` — one per session, plugged in to unplugged. A home AC session lasts from arrival until
  departure the next morning; DC sessions last while charging (to ~80 %).
* ``parking`` — the vehicle's home-base parking periods (overnight, and idle days merged into one
  period); short stops and workplace parking belong to the driving day and are not reported.
  Temperatures are the pack's (ambient with 60 % of the diurnal swing, for the pack's thermal mass);
  self-discharge is the cells' (≈0.02 %/day at 25 °C, doubling per 10 K) plus ~0.12 %/day of standby
  electronics (BMS, telematics, the collection device).
* ``diagnostics`` — a BMS state-of-health snapshot every ``diagnostics_interval_days`` (weekly) at
  03:00, with estimation noise (capacity ±0.4 %, resistance ±2 %, 1 sigma).
* ``safety`` — incidents at documented rates:

  - collision: 6·10^-7 per km driven (≈0.8 % per vehicle-year at 13,000 km: KoROAD's injury-accident
    rate per registered vehicle); 70 % warning (no pack damage), 20 % serious, 10 % critical (pack
    damaged: the battery is removed);
  - over_temperature: raised by the BMS when a DC session's peak cell temperature exceeds 50 °C
    (serious above 55 °C); it follows from the thermal model (hot days, high C-rates): ≈475 a
    year in the default 2,500-EV run, almost all in July-August;
  - deep_discharge: 1 per 2,000 driving days at random (left parked nearly empty, 12 V drain) plus
    10 % of the days a driver ran the pack down to the 5 % reserve;
  - insulation_fault: 0.2 % per vehicle-year, rising with pack age (+25 % per year);
  - cell_imbalance: once per pack, when the weekly snapshot's cell voltage spread exceeds 60 mV.

Lifecycle: a pack's first life ends when its weekly SoH estimate falls below
``end_of_first_life_soh_pct`` or it is damaged in a collision (``EndOfFirstLife``); the vehicle gets a
new pack and device the next day (``PackInstalled``). The lead's orchestration turns the former into
removal → custody transfer → repurpose or recycle.

Determinism: every vehicle draws its daily randomness from its own stream (``fleet.ev_stream``) in
fixed blocks of ``BLOCK_DAYS`` rows, so vehicle *i*'s readings do not depend on the fleet size, the
number of days simulated or the order of evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import numpy as np

from scripts.simulation import ageing
from scripts.simulation.fleet import (
    CHEMISTRIES,
    KST,
    MAX_GROUPS,
    BoolArray,
    Fleet,
    FleetConfig,
    FloatArray,
    IntArray,
    battery_id,
    build_fleet,
    daily_weather,
    device_id,
)

BLOCK_DAYS: Final = 32
N_UNIFORM: Final = 12
N_NORMAL: Final = 10
PACK_NORMALS: Final = 2 * MAX_GROUPS + 1

SAFETY_EVENTS: Final = (
    "over_temperature",
    "deep_discharge",
    "collision",
    "insulation_fault",
    "cell_imbalance",
)
SEVERITIES: Final = ("info", "warning", "serious", "critical")
OVER_TEMP, DEEP_DISCHARGE, COLLISION, INSULATION, IMBALANCE = range(5)
WARNING, SERIOUS, CRITICAL = 1, 2, 3

COLLISION_PER_KM: Final = 6e-7
DEEP_DISCHARGE_PER_DRIVE_DAY: Final = 1 / 2000
INSULATION_PER_YEAR: Final = 0.002
OVER_TEMP_WARNING_C: Final = 50.0
OVER_TEMP_SERIOUS_C: Final = 55.0
IMBALANCE_MV: Final = 60.0
RESERVE_SOC: Final = 0.05
DC_EFFICIENCY: Final = 0.94
AC_EFFICIENCY: Final = 0.90
STANDBY_PCT_PER_DAY: Final = 0.12
SELF_DISCHARGE_PCT_PER_DAY_25C: Final = 0.02
PACK_SWING: Final = 0.6  # share of the ambient diurnal swing the pack follows
MIN_PARKING_S: Final = 3600

EndReason = Literal["capacity_below_threshold", "collision_damage", "workshop_removal"]


# -- columns -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChargingColumns:
    ev: IntArray
    started_s: IntArray
    ended_s: IntArray
    energy_kwh: FloatArray
    soc_start_pct: FloatArray
    soc_end_pct: FloatArray
    avg_power_kw: FloatArray
    max_power_kw: FloatArray
    max_cell_temp_c: FloatArray
    fast: BoolArray


@dataclass(frozen=True, slots=True)
class ParkingColumns:
    ev: IntArray
    started_s: IntArray
    ended_s: IntArray
    temp_min_c: FloatArray
    temp_max_c: FloatArray
    self_discharge_pct: FloatArray


@dataclass(frozen=True, slots=True)
class SafetyColumns:
    """Optional fields are NaN where the event does not carry them."""

    ev: IntArray
    at_s: IntArray
    event: IntArray  # index into SAFETY_EVENTS
    severity: IntArray  # index into SEVERITIES
    max_cell_temp_c: FloatArray
    temp_rise_c_per_min: FloatArray
    min_cell_voltage_v: FloatArray
    max_cell_voltage_v: FloatArray
    insulation_resistance_kohm: FloatArray


@dataclass(frozen=True, slots=True)
class DiagnosticColumns:
    ev: IntArray
    at_s: IntArray
    capacity_ah: FloatArray
    soce_pct: FloatArray
    internal_resistance_mohm: FloatArray
    cell_voltage_spread_mv: FloatArray
    cycle_count: IntArray
    energy_throughput_kwh: FloatArray
    capacity_throughput_ah: FloatArray
    cell_soh_spread_pct: FloatArray


@dataclass(frozen=True, slots=True)
class EndOfFirstLife:
    """A pack leaves its vehicle: the start of removal → custody transfer → repurpose/recycle."""

    ev: int
    battery_id: str
    device_id: str
    at: datetime
    reason: EndReason
    chemistry: str
    soh_pct: float
    soce_pct: float
    resistance_growth_pct: float
    cycle_count: int


@dataclass(frozen=True, slots=True)
class PackInstalled:
    """A vehicle receives a new pack (and a new collection device) after its previous one was removed."""

    ev: int
    battery_id: str
    device_id: str
    at: datetime
    chemistry: str


@dataclass(frozen=True, slots=True)
class DeviceUpload:
    """One device's readings of one day, in time order: what the device signs and sends."""

    ev: int
    device_id: str
    battery_id: str
    readings: list[dict[str, Any]]


_KST_OFFSET_S = 9 * 3600  # KST is UTC+9 all year (no daylight saving)


def _iso(epoch_s: IntArray) -> list[str]:
    """RFC 3339 KST times for a column of Unix seconds, as ``datetime.isoformat`` spells them."""
    local = np.asarray(epoch_s + _KST_OFFSET_S, dtype="datetime64[s]")
    return [text + "+09:00" for text in np.datetime_as_string(local, unit="s").tolist()]


def _r(value: float, digits: int) -> float:
    return round(float(value), digits)


@dataclass(frozen=True, slots=True)
class DayBatch:
    """Everything the fleet produced on one simulated day."""

    day: int
    date: datetime  # midnight KST
    charging: ChargingColumns
    parking: ParkingColumns
    safety: SafetyColumns
    diagnostics: DiagnosticColumns
    ended: list[EndOfFirstLife]
    installed: list[PackInstalled]
    soh_pct: FloatArray  # every vehicle's current pack, true capacity SoH at the end of the day
    chem: IntArray
    generation: IntArray  # pack generation of each vehicle during this day (ids of the day's readings)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "charging": int(self.charging.ev.shape[0]),
            "parking": int(self.parking.ev.shape[0]),
            "safety": int(self.safety.ev.shape[0]),
            "diagnostics": int(self.diagnostics.ev.shape[0]),
        }

    @property
    def n_readings(self) -> int:
        return sum(self.counts.values())

    def reading_dicts(self) -> list[tuple[int, int, dict[str, Any]]]:
        """``(ev, observed_at_s, reading JSON object)`` for every reading of the day.

        The objects are what ``oracle.readings.reading_json`` produces for the same model: RFC 3339
        times with the KST offset, optional fields omitted.
        """
        out: list[tuple[int, int, dict[str, Any]]] = []
        c = self.charging
        for ev, s1, iso0, iso1, e, a, b, avg, mx, tc, fast in zip(
            c.ev.tolist(),
            c.ended_s.tolist(),
            _iso(c.started_s),
            _iso(c.ended_s),
            c.energy_kwh.tolist(),
            c.soc_start_pct.tolist(),
            c.soc_end_pct.tolist(),
            c.avg_power_kw.tolist(),
            c.max_power_kw.tolist(),
            c.max_cell_temp_c.tolist(),
            c.fast.tolist(),
            strict=True,
        ):
            out.append(
                (
                    ev,
                    s1,
                    {
                        "kind": "charging",
                        "started_at": iso0,
                        "ended_at": iso1,
                        "energy_kwh": e,
                        "soc_start_pct": a,
                        "soc_end_pct": b,
                        "avg_power_kw": avg,
                        "max_power_kw": mx,
                        "max_cell_temp_c": tc,
                        "mode": "fast" if fast else "slow",
                    },
                )
            )
        p = self.parking
        for ev, s1, iso0, iso1, lo, hi, sd in zip(
            p.ev.tolist(),
            p.ended_s.tolist(),
            _iso(p.started_s),
            _iso(p.ended_s),
            p.temp_min_c.tolist(),
            p.temp_max_c.tolist(),
            p.self_discharge_pct.tolist(),
            strict=True,
        ):
            out.append(
                (
                    ev,
                    s1,
                    {
                        "kind": "parking",
                        "started_at": iso0,
                        "ended_at": iso1,
                        "temp_min_c": lo,
                        "temp_max_c": hi,
                        "self_discharge_pct": sd,
                    },
                )
            )
        d = self.diagnostics
        for ev, at, iso, cap, soce, res, mv, cyc, ekwh, ah, spread in zip(
            d.ev.tolist(),
            d.at_s.tolist(),
            _iso(d.at_s),
            d.capacity_ah.tolist(),
            d.soce_pct.tolist(),
            d.internal_resistance_mohm.tolist(),
            d.cell_voltage_spread_mv.tolist(),
            d.cycle_count.tolist(),
            d.energy_throughput_kwh.tolist(),
            d.capacity_throughput_ah.tolist(),
            d.cell_soh_spread_pct.tolist(),
            strict=True,
        ):
            out.append(
                (
                    ev,
                    at,
                    {
                        "kind": "diagnostics",
                        "measured_at": iso,
                        "capacity_ah": cap,
                        "soce_pct": soce,
                        "internal_resistance_mohm": res,
                        "cell_voltage_spread_mv": mv,
                        "cycle_count": cyc,
                        "energy_throughput_kwh": ekwh,
                        "capacity_throughput_ah": ah,
                        "cell_soh_spread_pct": spread,
                    },
                )
            )
        s = self.safety
        optional = (
            ("max_cell_temp_c", s.max_cell_temp_c.tolist()),
            ("temp_rise_c_per_min", s.temp_rise_c_per_min.tolist()),
            ("min_cell_voltage_v", s.min_cell_voltage_v.tolist()),
            ("max_cell_voltage_v", s.max_cell_voltage_v.tolist()),
            ("insulation_resistance_kohm", s.insulation_resistance_kohm.tolist()),
        )
        for i, (ev, at, iso, event, severity) in enumerate(
            zip(
                s.ev.tolist(),
                s.at_s.tolist(),
                _iso(s.at_s),
                s.event.tolist(),
                s.severity.tolist(),
                strict=True,
            )
        ):
            reading: dict[str, Any] = {
                "kind": "safety",
                "occurred_at": iso,
                "event": SAFETY_EVENTS[event],
                "severity": SEVERITIES[severity],
            }
            for name, values in optional:
                if not math.isnan(values[i]):
                    reading[name] = values[i]
            out.append((ev, at, reading))
        return out

    def uploads(self) -> list[DeviceUpload]:
        """The day's readings grouped per device (one upload per device and day), each in time order."""
        per_ev: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for ev, at, reading in self.reading_dicts():
            per_ev.setdefault(ev, []).append((at, reading))
        uploads = []
        for ev in sorted(per_ev):
            items = sorted(per_ev[ev], key=lambda item: item[0])
            generation = int(self.generation[ev])
            uploads.append(
                DeviceUpload(
                    ev=ev,
                    device_id=device_id(ev, generation),
                    battery_id=battery_id(ev, generation),
                    readings=[reading for _, reading in items],
                )
            )
        return uploads


# -- the simulation -----------------------------------------------------------------------------------


def _diurnal_extremes(h0: FloatArray, h1: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Min and max of cos(2π(h - 15)/24) over [h0, h1] (hours of one day): the warmest hour is 15:00,
    the coldest 03:00."""

    def shape(h: FloatArray) -> FloatArray:
        return np.asarray(np.cos(2 * np.pi * (h - 15.0) / 24.0), dtype=np.float64)

    a, b = shape(h0), shape(h1)
    lo = np.minimum(a, b)
    hi = np.maximum(a, b)
    lo = np.where((h0 <= 3.0) & (h1 >= 3.0), -1.0, lo)
    hi = np.where((h0 <= 15.0) & (h1 >= 15.0), 1.0, hi)
    return lo, hi


@dataclass(slots=True)
class _Pending:
    """Readings of the day collected kind by kind as lists of column arrays, concatenated at the end."""

    charging: list[tuple[Any, ...]] = field(default_factory=list)
    parking: list[tuple[Any, ...]] = field(default_factory=list)
    safety: list[tuple[Any, ...]] = field(default_factory=list)


def _select(columns: ChargingColumns, rows: BoolArray) -> ChargingColumns:
    return ChargingColumns(*(getattr(columns, name)[rows] for name in ChargingColumns.__slots__))


def _cat(parts: list[tuple[Any, ...]], index: int, dtype: type) -> Any:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate([np.asarray(part[index], dtype=dtype) for part in parts])


class FleetSimulation:
    """The fleet's state, advanced one day per ``step()``; iterate it for every day of the config."""

    def __init__(self, config: FleetConfig, fleet: Fleet | None = None) -> None:
        self.config = config
        self.fleet = fleet if fleet is not None else build_fleet(config)
        f = self.fleet
        n = f.n
        self.n = n
        self.day = 0
        self.weather_mean, self.weather_range = daily_weather(config)

        self.energy_kwh = f.spec_array("energy_kwh")
        self.capacity_ah = f.spec_array("capacity_ah")
        self.volts = f.spec_array("nominal_voltage_v")
        self.r0_mohm = f.spec_array("resistance_mohm")
        self.max_dc_kw = f.spec_array("max_dc_kw")
        self.consumption = f.spec_array("consumption_kwh_per_km")
        self.min_cell_v = f.spec_array("min_cell_v")
        self.is_lfp = f.chem == CHEMISTRIES.index("LFP")
        self.cycle_dod = np.clip(f.slow_target - f.charge_threshold, 0.2, 0.8)
        self.cycle_soc = 0.5 * (f.slow_target + f.charge_threshold)

        pack_normals = np.stack([rng.standard_normal(PACK_NORMALS) for rng in f.streams])
        self.packs, age_days, history_km = self._enrolled_packs(pack_normals)
        self.discharged_ah = history_km * self.consumption * 1000.0 / self.volts
        self.discharged_kwh = history_km * self.consumption
        self.pack_age_days = age_days
        self.generation = np.zeros(n, dtype=np.int64)
        self.dc_share = f.fast_share.copy()
        self.imbalance_flagged = np.zeros(n, dtype=np.bool_)
        self.pending_install = np.zeros(n, dtype=np.bool_)

        start = config.start_epoch_s
        init = np.stack([rng.random(2) for rng in f.streams])
        self.soc = f.charge_threshold + (f.slow_target - f.charge_threshold) * init[:, 0]
        self.next_dep_h = f.departure_h.copy()
        # Every vehicle starts parked at home since the previous evening (17:00-21:00).
        self.park_start = (start - (3 + 4 * init[:, 1]) * 3600).astype(np.int64)
        self.park_open = np.ones(n, dtype=np.bool_)
        self.park_tmin = np.full(n, np.inf)
        self.park_tmax = np.full(n, -np.inf)
        self.park_sd_pct = np.zeros(n)

        self._uniform = np.empty((n, BLOCK_DAYS, N_UNIFORM))
        self._normal = np.empty((n, BLOCK_DAYS, N_NORMAL))
        self._diag_phase = np.arange(n) % config.diagnostics_interval_days
        self._carried: ChargingColumns | None = None

    def _enrolled_packs(self, normals: FloatArray) -> tuple[ageing.AgeingState, FloatArray, FloatArray]:
        """Packs as they join the pilot: aged by their history, passing the entry inspection.

        The pilot enrols vehicles whose pack is at least 3 points above the end-of-first-life threshold
        (a worn-out pack would be replaced before enrolment), so a history that would have worn the
        pack out is shortened — halved until it passes — rather than producing a wave of removals on
        day one.
        """
        f = self.fleet
        age = f.initial_age_days.copy()
        km_per_day = f.drive_probability * f.km_per_drive_day
        packs = ageing.new_packs(f.chem, f.defect, normals)
        todo = np.arange(self.n)
        floor = (self.config.end_of_first_life_soh_pct + 3.0) / 100.0
        for _ in range(8):
            fresh = ageing.new_packs(f.chem[todo], f.defect[todo], normals[todo])
            ah = age[todo] * km_per_day[todo] * self.consumption[todo] * 1000.0 / self.volts[todo]
            ageing.pre_age(
                fresh,
                age[todo],
                ah,
                f.fast_share[todo],
                self.cycle_soc[todo],
                self.cycle_dod[todo],
                self.cycle_soc[todo],
            )
            ageing.replace_packs(packs, todo, fresh)
            failing = fresh.soh_fraction() < floor
            if not failing.any():
                break
            todo = todo[failing]
            age[todo] *= 0.5
        return packs, age, age * km_per_day

    # -- randomness ------------------------------------------------------------------------------------

    def _refill(self) -> None:
        # Always a full block per vehicle, so a vehicle's later draws never depend on how many days
        # the run has.
        for ev, rng in enumerate(self.fleet.streams):
            self._uniform[ev] = rng.random((BLOCK_DAYS, N_UNIFORM))
            self._normal[ev] = rng.standard_normal((BLOCK_DAYS, N_NORMAL))

    # -- parking ---------------------------------------------------------------------------------------

    def _park_update(
        self, rows: BoolArray, t0: int, h_end: FloatArray, t_mean: float, t_range: float
    ) -> None:
        """Account the open parks in ``rows`` from their start (or midnight) to ``h_end`` (hours)."""
        h0 = np.clip((self.park_start - t0) / 3600.0, 0.0, 24.0)
        sel = rows & self.park_open & (h_end > h0)
        if not sel.any():
            return
        lo, hi = _diurnal_extremes(h0[sel], h_end[sel])
        amp = PACK_SWING * t_range / 2.0
        self.park_tmin[sel] = np.minimum(self.park_tmin[sel], t_mean + amp * lo)
        self.park_tmax[sel] = np.maximum(self.park_tmax[sel], t_mean + amp * hi)
        rate = STANDBY_PCT_PER_DAY + SELF_DISCHARGE_PCT_PER_DAY_25C * 2.0 ** ((t_mean - 25.0) / 10.0)
        lost = rate * (h_end[sel] - h0[sel]) / 24.0
        self.park_sd_pct[sel] += lost
        self.soc[sel] = np.maximum(self.soc[sel] - lost / 100.0, 0.0)

    def _park_open(self, rows: BoolArray, at_s: IntArray) -> None:
        self.park_open[rows] = True
        self.park_start[rows] = at_s[rows]
        self.park_tmin[rows] = np.inf
        self.park_tmax[rows] = -np.inf
        self.park_sd_pct[rows] = 0.0

    # -- charging --------------------------------------------------------------------------------------

    def _dc_session(
        self,
        rows: BoolArray,
        soc_from: FloatArray,
        soc_to: FloatArray,
        cap_kwh: FloatArray,
        t_mean: float,
        temp_noise: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """(grid kWh, hours, avg kW, peak kW, max cell °C, mean C-rate) of DC sessions for ``rows``."""
        cold = np.clip(0.6 + 0.02 * t_mean, 0.6, 1.0)  # cold cells accept less current
        peak = np.minimum(self.max_dc_kw[rows], self.fleet.dc_charger_kw[rows]) * cold
        taper = 0.78 - 1.5 * np.maximum(soc_to - 0.8, 0.0)
        avg = peak * taper
        battery_kwh = np.maximum(soc_to - soc_from, 0.0) * cap_kwh
        grid = battery_kwh / DC_EFFICIENCY
        hours = grid / avg + 0.05  # plugging in and authorising take a few minutes
        avg = grid / hours
        c_rate = (battery_kwh / np.maximum(hours - 0.05, 1e-6)) / self.energy_kwh[rows]
        temp = 24.0 + 0.45 * (t_mean - 15.0) + 10.0 * c_rate + 2.0 * temp_noise
        temp = np.clip(temp, t_mean + 2.0, 60.0)
        return grid, hours, avg, peak, temp, c_rate

    # -- one day -------------------------------------------------------------------------------------

    def step(self) -> DayBatch:
        cfg, f = self.config, self.fleet
        d = self.day
        if d % BLOCK_DAYS == 0:
            self._refill()
        u = self._uniform[:, d % BLOCK_DAYS, :]
        z = self._normal[:, d % BLOCK_DAYS, :]
        t0 = cfg.start_epoch_s + 86400 * d
        t_mean = float(self.weather_mean[d])
        t_range = float(self.weather_range[d])
        n = self.n
        pending = _Pending()
        ended: list[EndOfFirstLife] = []
        installed: list[PackInstalled] = []
        generation_today = self.generation.copy()
        date = datetime.fromtimestamp(t0, KST)

        # New packs for vehicles whose pack was removed yesterday.
        if self.pending_install.any():
            self._install(np.flatnonzero(self.pending_install), t0, installed)
            generation_today = self.generation.copy()

        # Weekly diagnostics at 03:00 (spread over the hour per vehicle); a pack found worn out is
        # removed today: the vehicle stays at the workshop and its device goes with the pack.
        diag_rows = ((d + self._diag_phase) % cfg.diagnostics_interval_days) == 0
        diagnostics = self._diagnostics(diag_rows, t0, z, pending, ended)
        for day, ev in cfg.forced_removals:
            if day == d and not self.pending_install[ev]:
                ended.append(self._end_of_life(ev, t0 + 3 * 3600, "workshop_removal"))
                self.pending_install[ev] = True
        removed = self.pending_install.copy()
        self.park_open[removed] = False

        soh = self.packs.soh_fraction()
        cap_kwh = self.energy_kwh * np.minimum(soh, 1.0)
        soc_day_start = self.soc.copy()

        # Driving plan.
        drives = (u[:, 0] < f.drive_probability) & ~removed
        dep_h = np.clip(self.next_dep_h, 4.5, 12.0)
        span = np.where(f.taxi, 13.0, 9.5) + 1.5 * z[:, 1]
        ret_h = np.clip(dep_h + span, dep_h + 1.0, 23.5)
        km = np.minimum(f.km_per_drive_day * np.exp(0.5 * z[:, 0] - 0.125), 600.0) * drives
        climate = 1.0 + 0.012 * max(0.0, 18.0 - t_mean) + 0.008 * max(0.0, t_mean - 24.0)
        e_drive = km * self.consumption * climate
        dep_s = (t0 + dep_h * 3600).astype(np.int64)
        ret_s = (t0 + ret_h * 3600).astype(np.int64)

        # Morning: close the parks of the vehicles that leave.
        self._park_update(drives, t0, np.where(drives, dep_h, 0.0), t_mean, t_range)
        closing = drives & self.park_open
        long_enough = closing & (dep_s - self.park_start >= MIN_PARKING_S)
        if long_enough.any():
            rows = long_enough
            noise = np.clip(1.0 + 0.1 * z[rows, 8], 0.5, 1.5)
            pending.parking.append(
                (
                    np.flatnonzero(rows),
                    self.park_start[rows],
                    dep_s[rows],
                    np.round(self.park_tmin[rows], 1),
                    np.round(np.maximum(self.park_tmax[rows], self.park_tmin[rows]), 1),
                    np.round(np.clip(self.park_sd_pct[rows] * noise, 0.0, 100.0), 3),
                )
            )
        self.park_open[closing] = False

        # Midday DC charge when the day's driving would not leave a comfortable margin.
        safe_cap = np.maximum(cap_kwh, 1.0)
        need_mid = drives & (self.soc - e_drive / safe_cap < 0.10)
        frac = 0.35 + 0.3 * u[:, 2]
        mid_s = (t0 + (dep_h + (ret_h - dep_h) * frac) * 3600).astype(np.int64)
        soc_before_mid = np.maximum(self.soc - e_drive * frac / safe_cap, RESERVE_SOC)
        target_fast = np.clip(0.80 + 0.04 * z[:, 3], 0.70, 0.90)
        target_mid = np.maximum(target_fast, soc_before_mid + 0.05)
        dc_kwh = np.zeros(n)
        dc_crate_sum = np.zeros(n)
        dc_temp_sum = np.zeros(n)
        ac_kwh = np.zeros(n)
        mid_end_s = mid_s.copy()
        if need_mid.any():
            rows = need_mid
            grid, hours, avg, peak, temp, c_rate = self._dc_session(
                rows, soc_before_mid[rows], target_mid[rows], cap_kwh[rows], t_mean, z[rows, 4]
            )
            end = mid_s[rows] + np.maximum((hours * 3600).astype(np.int64), 60)
            mid_end_s[rows] = end
            self._record_charging(
                pending,
                rows,
                mid_s[rows],
                end,
                grid,
                soc_before_mid[rows],
                target_mid[rows],
                avg,
                peak,
                temp,
                fast=True,
            )
            dc_kwh[rows] += grid * DC_EFFICIENCY
            dc_crate_sum[rows] += c_rate * grid
            dc_temp_sum[rows] += (temp - 5.0) * grid
            self._over_temperature(pending, rows, end, temp, u[rows, 3])
        soc_arrive = np.where(
            need_mid, target_mid - e_drive * (1 - frac) / safe_cap, self.soc - e_drive / safe_cap
        )
        # Drivers do not run below the reserve: they cut the trip short instead.
        ran_low = drives & (soc_arrive < RESERVE_SOC)
        short = np.where(ran_low, RESERVE_SOC - soc_arrive, 0.0) * cap_kwh
        e_drive = np.maximum(e_drive - short, 0.0)
        km = np.where(drives, e_drive / (self.consumption * climate), 0.0)
        soc_arrive = np.where(drives, np.maximum(soc_arrive, RESERVE_SOC), self.soc)

        # Incidents while driving.
        collision = drives & (u[:, 5] < km * COLLISION_PER_KM)
        severity = np.where(u[:, 6] < 0.7, WARNING, np.where(u[:, 6] < 0.9, SERIOUS, CRITICAL))
        coll_s = np.maximum(ret_s - (u[:, 8] * 1800).astype(np.int64), mid_end_s + 60)
        crashed = collision & (severity == CRITICAL)
        if collision.any():
            rows = collision
            self._safety(pending, rows, coll_s[rows], COLLISION, severity[rows])
        deep = drives & ((u[:, 4] < DEEP_DISCHARGE_PER_DRIVE_DAY) | (ran_low & (u[:, 4] > 0.9)))
        if deep.any():
            rows = deep
            v = np.where(self.is_lfp[rows], 2.55, 2.95) + 0.15 * np.abs(z[rows, 9])
            sev = np.where(v < self.min_cell_v[rows] + 0.15, SERIOUS, WARNING)
            self._safety(pending, rows, ret_s[rows], DEEP_DISCHARGE, sev, min_cell_voltage_v=np.round(v, 3))

        # Evening: charge if below the personal threshold (not after a pack-damaging crash).
        next_dep_h = f.departure_h + np.where(f.taxi, 0.5, 0.7) * z[:, 2]
        need_eve = drives & ~crashed & (soc_arrive < f.charge_threshold)
        eve_fast = need_eve & (u[:, 1] < f.fast_share)
        eve_slow = need_eve & ~eve_fast
        soc_end = soc_arrive.copy()
        if eve_fast.any():
            rows = eve_fast
            tgt = np.maximum(target_fast[rows], soc_arrive[rows] + 0.05)
            grid, hours, avg, peak, temp, c_rate = self._dc_session(
                rows, soc_arrive[rows], tgt, cap_kwh[rows], t_mean - 2.0, z[rows, 4]
            )
            start = ret_s[rows] + 300
            end = start + np.maximum((hours * 3600).astype(np.int64), 60)
            self._record_charging(
                pending, rows, start, end, grid, soc_arrive[rows], tgt, avg, peak, temp, fast=True
            )
            dc_kwh[rows] += grid * DC_EFFICIENCY
            dc_crate_sum[rows] += c_rate * grid
            dc_temp_sum[rows] += (temp - 5.0) * grid
            self._over_temperature(pending, rows, end, temp, u[rows, 3])
            soc_end[rows] = tgt
            at = np.zeros(n, dtype=np.int64)
            at[rows] = end
            self._park_open(rows, at)
        if eve_slow.any():
            rows = eve_slow
            start = ret_s[rows]
            end = (t0 + 86400 + np.clip(next_dep_h[rows], 4.5, 12.0) * 3600).astype(np.int64)
            hours = (end - start) / 3600.0
            power = f.home_ac_kw[rows]
            want = np.maximum(f.slow_target[rows] - soc_arrive[rows], 0.0) * cap_kwh[rows] / AC_EFFICIENCY
            grid = np.minimum(want, power * hours * 0.98)
            tgt = soc_arrive[rows] + grid * AC_EFFICIENCY / cap_kwh[rows]
            temp = np.clip(t_mean + 4.0 + 1.5 * z[rows, 4], -30.0, 45.0)
            avg = grid / hours
            self._record_charging(
                pending, rows, start, end, grid, soc_arrive[rows], tgt, avg, power, temp, fast=False
            )
            ac_kwh[rows] += grid * AC_EFFICIENCY
            soc_end[rows] = tgt
            # Unplugged next morning: parked from then until the next departure.
            at = np.zeros(n, dtype=np.int64)
            at[rows] = end
            self._park_open(rows, at)
        # Everyone else who drove parks at home on arrival.
        plain = drives & ~eve_fast & ~eve_slow
        self._park_open(plain, ret_s)
        self.soc = np.clip(soc_end, 0.0, 1.0)
        self.next_dep_h = next_dep_h

        # Non-driving and newly parked vehicles: account the rest of the day.
        self._park_update(np.ones(n, dtype=np.bool_), t0, np.full(n, 24.0), t_mean, t_range)

        # Insulation faults, rising with pack age.
        p_ins = INSULATION_PER_YEAR / 365.0 * (1.0 + 0.25 * self.pack_age_days / 365.0)
        ins = u[:, 7] < p_ins
        if ins.any():
            rows = ins
            kohm = np.round(50.0 + 300.0 * u[rows, 9], 1)
            at = (t0 + u[rows, 8] * 86400).astype(np.int64)
            self._safety(
                pending,
                rows,
                at,
                INSULATION,
                np.full(int(rows.sum()), SERIOUS),
                insulation_resistance_kohm=kohm,
            )

        # Ageing of the day.
        discharge_ah = e_drive * 1000.0 / self.volts
        charged = ac_kwh + dc_kwh
        dc_c = np.divide(dc_crate_sum, dc_kwh / DC_EFFICIENCY, out=np.zeros(n), where=dc_kwh > 0)
        dc_t = np.divide(dc_temp_sum, dc_kwh / DC_EFFICIENCY, out=np.full(n, 35.0), where=dc_kwh > 0)
        share_today = np.divide(dc_kwh, charged, out=np.zeros(n), where=charged > 0)
        self.dc_share = np.where(charged > 0, 0.97 * self.dc_share + 0.03 * share_today, self.dc_share)
        ageing.advance(
            self.packs,
            ageing.DayStress(
                storage_temp_c=np.full(n, t_mean + 1.0),
                mean_soc=0.5 * (soc_day_start + self.soc),
                operating_temp_c=np.full(n, max(t_mean + 6.0, 15.0)),
                discharge_ah=discharge_ah,
                ac_charge_ah=ac_kwh * 1000.0 / self.volts,
                dc_charge_ah=dc_kwh * 1000.0 / self.volts,
                dc_c_rate=dc_c,
                dc_temp_c=dc_t,
                cycle_dod=self.cycle_dod,
                cycle_soc=self.cycle_soc,
                dc_share=self.dc_share,
            ),
        )
        self.pack_age_days += 1.0
        self.discharged_ah += discharge_ah
        self.discharged_kwh += e_drive

        # Collision damage ends the pack's first life.
        for ev in np.flatnonzero(crashed).tolist():
            ended.append(self._end_of_life(ev, int(coll_s[ev]), "collision_damage"))

        for item in ended:
            self.pending_install[item.ev] = True

        # Sessions that end after midnight are uploaded (observed) tomorrow.
        charging = self._charging_columns(pending, carried=self._carried, midnight=t0 + 86400)

        batch = DayBatch(
            day=d,
            date=date,
            charging=charging,
            parking=ParkingColumns(
                ev=_cat(pending.parking, 0, np.int64),
                started_s=_cat(pending.parking, 1, np.int64),
                ended_s=_cat(pending.parking, 2, np.int64),
                temp_min_c=_cat(pending.parking, 3, np.float64),
                temp_max_c=_cat(pending.parking, 4, np.float64),
                self_discharge_pct=_cat(pending.parking, 5, np.float64),
            ),
            safety=SafetyColumns(
                ev=_cat(pending.safety, 0, np.int64),
                at_s=_cat(pending.safety, 1, np.int64),
                event=_cat(pending.safety, 2, np.int64),
                severity=_cat(pending.safety, 3, np.int64),
                max_cell_temp_c=_cat(pending.safety, 4, np.float64),
                temp_rise_c_per_min=_cat(pending.safety, 5, np.float64),
                min_cell_voltage_v=_cat(pending.safety, 6, np.float64),
                max_cell_voltage_v=_cat(pending.safety, 7, np.float64),
                insulation_resistance_kohm=_cat(pending.safety, 8, np.float64),
            ),
            diagnostics=diagnostics,
            ended=ended,
            installed=installed,
            soh_pct=100.0 * self.packs.soh_fraction(),
            chem=self.fleet.chem,
            generation=generation_today,
        )
        self.day += 1
        return batch

    def __iter__(self) -> Iterator[DayBatch]:
        while self.day < self.config.days:
            yield self.step()

    # -- helpers -------------------------------------------------------------------------------------

    def _charging_columns(
        self, pending: _Pending, carried: ChargingColumns | None, midnight: int
    ) -> ChargingColumns:
        parts = list(pending.charging)
        if carried is not None:
            parts.insert(0, tuple(getattr(carried, name) for name in ChargingColumns.__slots__))
        columns = ChargingColumns(
            ev=_cat(parts, 0, np.int64),
            started_s=_cat(parts, 1, np.int64),
            ended_s=_cat(parts, 2, np.int64),
            energy_kwh=_cat(parts, 3, np.float64),
            soc_start_pct=_cat(parts, 4, np.float64),
            soc_end_pct=_cat(parts, 5, np.float64),
            avg_power_kw=_cat(parts, 6, np.float64),
            max_power_kw=_cat(parts, 7, np.float64),
            max_cell_temp_c=_cat(parts, 8, np.float64),
            fast=_cat(parts, 9, np.bool_),
        )
        later = columns.ended_s >= midnight
        self._carried = _select(columns, later)
        return _select(columns, ~later)

    def _record_charging(
        self,
        pending: _Pending,
        rows: BoolArray,
        start: IntArray,
        end: IntArray,
        grid_kwh: FloatArray,
        soc_from: FloatArray,
        soc_to: FloatArray,
        avg_kw: FloatArray,
        peak_kw: FloatArray,
        temp_c: FloatArray,
        *,
        fast: bool,
    ) -> None:
        count = int(rows.sum())
        peak = np.round(peak_kw, 2)
        pending.charging.append(
            (
                np.flatnonzero(rows),
                start,
                end,
                np.round(grid_kwh, 3),
                np.round(np.clip(soc_from, 0.0, 1.0) * 100.0, 1),
                np.round(np.clip(soc_to, 0.0, 1.0) * 100.0, 1),
                np.minimum(np.round(avg_kw, 2), peak),
                peak,
                np.round(temp_c, 1),
                np.full(count, fast),
            )
        )

    def _safety(
        self,
        pending: _Pending,
        rows: BoolArray,
        at_s: IntArray,
        event: int,
        severity: IntArray,
        *,
        max_cell_temp_c: FloatArray | None = None,
        temp_rise_c_per_min: FloatArray | None = None,
        min_cell_voltage_v: FloatArray | None = None,
        max_cell_voltage_v: FloatArray | None = None,
        insulation_resistance_kohm: FloatArray | None = None,
    ) -> None:
        count = int(rows.sum())
        nan = np.full(count, np.nan)

        def col(values: FloatArray | None) -> FloatArray:
            return nan if values is None else values

        pending.safety.append(
            (
                np.flatnonzero(rows),
                at_s,
                np.full(count, event),
                severity,
                col(max_cell_temp_c),
                col(temp_rise_c_per_min),
                col(min_cell_voltage_v),
                col(max_cell_voltage_v),
                col(insulation_resistance_kohm),
            )
        )

    def _over_temperature(
        self, pending: _Pending, rows: BoolArray, end_s: IntArray, temp: FloatArray, u: FloatArray
    ) -> None:
        hot = temp > OVER_TEMP_WARNING_C
        if not hot.any():
            return
        sub = np.zeros(self.n, dtype=np.bool_)
        sub[np.flatnonzero(rows)[hot]] = True
        sev = np.where(temp[hot] > OVER_TEMP_SERIOUS_C, SERIOUS, WARNING)
        self._safety(
            pending,
            sub,
            end_s[hot] - 300,
            OVER_TEMP,
            sev,
            max_cell_temp_c=np.round(temp[hot], 1),
            temp_rise_c_per_min=np.round(0.3 + 1.2 * u[hot], 2),
        )

    def _diagnostics(
        self, rows: BoolArray, t0: int, z: FloatArray, pending: _Pending, ended: list[EndOfFirstLife]
    ) -> DiagnosticColumns:
        idx = np.flatnonzero(rows)
        soh = self.packs.soh_fraction(idx)
        soce = ageing.soce_fraction(self.packs, idx, self.fleet.chem[idx])
        spread = self.packs.cell_spread_fraction(idx)
        rfac = self.packs.resistance_factor(idx)
        noise = 1.0 + 0.004 * z[idx, 5]
        cap = np.round(self.capacity_ah[idx] * soh * noise, 2)
        measured_soh = cap / self.capacity_ah[idx]
        mv = np.round(6.0 + 8.0 * spread * 100.0 + np.abs(2.0 * z[idx, 7]), 1)
        at = (t0 + 3 * 3600 + (idx * 37) % 3600).astype(np.int64)
        cols = DiagnosticColumns(
            ev=idx,
            at_s=at,
            capacity_ah=cap,
            soce_pct=np.round(np.clip(100.0 * soce * noise, 0.0, 110.0), 2),
            internal_resistance_mohm=np.round(self.r0_mohm[idx] * rfac * (1.0 + 0.02 * z[idx, 6]), 2),
            cell_voltage_spread_mv=mv,
            cycle_count=(self.discharged_ah[idx] / self.capacity_ah[idx]).astype(np.int64),
            energy_throughput_kwh=np.round(self.discharged_kwh[idx], 1),
            capacity_throughput_ah=np.round(self.discharged_ah[idx], 1),
            cell_soh_spread_pct=np.asarray(
                np.round(np.clip(spread * 100.0, 0.0, 100.0), 2),
                dtype=np.float64,
            ),
        )
        imbalance = (mv > IMBALANCE_MV) & ~self.imbalance_flagged[idx]
        if imbalance.any():
            sub = np.zeros(self.n, dtype=np.bool_)
            sub[idx[imbalance]] = True
            mid_v = np.where(self.is_lfp[idx[imbalance]], 3.30, 3.70)
            half = mv[imbalance] / 2000.0
            self._safety(
                pending,
                sub,
                at[imbalance] + 60,
                IMBALANCE,
                np.full(int(imbalance.sum()), WARNING),
                min_cell_voltage_v=np.round(mid_v - half, 3),
                max_cell_voltage_v=np.round(mid_v + half, 3),
            )
            self.imbalance_flagged[idx[imbalance]] = True
        worn = measured_soh * 100.0 < self.config.end_of_first_life_soh_pct
        for ev, at_s in zip(idx[worn].tolist(), at[worn].tolist(), strict=True):
            if not self.pending_install[ev]:
                ended.append(self._end_of_life(ev, at_s, "capacity_below_threshold"))
                self.pending_install[ev] = True
        return cols

    def _end_of_life(self, ev: int, at_s: int, reason: EndReason) -> EndOfFirstLife:
        rows = np.array([ev])
        generation = int(self.generation[ev])
        return EndOfFirstLife(
            ev=ev,
            battery_id=battery_id(ev, generation),
            device_id=device_id(ev, generation),
            at=datetime.fromtimestamp(at_s, KST),
            reason=reason,
            chemistry=CHEMISTRIES[int(self.fleet.chem[ev])],
            soh_pct=round(float(self.packs.soh_fraction(rows)[0]) * 100.0, 2),
            soce_pct=round(
                float(ageing.soce_fraction(self.packs, rows, self.fleet.chem[rows])[0]) * 100.0, 2
            ),
            resistance_growth_pct=round((float(self.packs.resistance_factor(rows)[0]) - 1.0) * 100.0, 2),
            cycle_count=int(self.discharged_ah[ev] / self.capacity_ah[ev]),
        )

    def _install(self, rows: IntArray, t0: int, installed: list[PackInstalled]) -> None:
        normals = np.stack([self.fleet.streams[ev].standard_normal(PACK_NORMALS) for ev in rows.tolist()])
        fresh = ageing.new_packs(self.fleet.chem[rows], np.zeros(rows.shape[0], dtype=np.bool_), normals)
        ageing.replace_packs(self.packs, rows, fresh)
        self.generation[rows] += 1
        self.discharged_ah[rows] = 0.0
        self.discharged_kwh[rows] = 0.0
        self.pack_age_days[rows] = 0.0
        self.imbalance_flagged[rows] = False
        self.pending_install[rows] = False
        self.soc[rows] = 0.5  # new packs are delivered half charged
        self.park_open[rows] = True
        self.park_start[rows] = t0
        self.park_tmin[rows] = np.inf
        self.park_tmax[rows] = -np.inf
        self.park_sd_pct[rows] = 0.0
        at = datetime.fromtimestamp(t0, KST) + timedelta(hours=0)
        for ev in rows.tolist():
            generation = int(self.generation[ev])
            installed.append(
                PackInstalled(
                    ev=ev,
                    battery_id=battery_id(ev, generation),
                    device_id=device_id(ev, generation),
                    at=at,
                    chemistry=CHEMISTRIES[int(self.fleet.chem[ev])],
                )
            )


def simulate_fleet(config: FleetConfig) -> Iterator[DayBatch]:
    """Every day of ``config`` as a ``DayBatch``, in order."""
    return iter(FleetSimulation(config))
