"""The pilot's fleet: battery packs, vehicles, how they are used, and the city's climate.

Packs (classes of real passenger-EV packs; no brand is implied):

=========  ================================================  =======  =====  ======  =========
chemistry  vehicle class                                     energy   volts  Ah      layout
=========  ================================================  =======  =====  ======  =========
NCM811     800 V-class mid-size crossover (E-GMP-type)       77.4 kWh 697 V  111.2   192s2p pouch
NCM622     400 V-class compact crossover                     64.0 kWh 356 V  180.0   98s3p pouch
LFP        400 V-class compact sedan / crossover (blade)     60.5 kWh 346 V  174.8   108s1p prismatic
=========  ================================================  =======  =====  ======  =========

DC resistances are pack-level values at 25 °C and 50 % SoC consistent with the cells' published 10 s
pulse resistances (≈0.6-1.2 mΩ for 55-60 Ah pouch cells, ≈0.3-0.5 mΩ for large LFP prismatics) times
the series count, plus busbars and contactors.

Usage (assumptions of this model, documented so they can be challenged):

* Private cars drive on ~70 % of days; their mean distance on a driving day is lognormal around
  ~45 km (Korean passenger cars average ~13,000 km/year: KOTSA/TS vehicle mileage statistics), with
  a per-day lognormal spread. Taxis (a pilot share of 8 %) drive on ~90 % of days, ~220 km a day
  (Korean corporate/individual EV taxis run 60-80,000 km/year).
* Consumption 0.15-0.18 kWh/km at 20 °C, rising with heating below 18 °C (+1.2 %/K) and air
  conditioning above 24 °C (+0.8 %/K) — the shape of published winter-range studies.
* Charging: private cars charge when their SoC drops below a personal threshold (25-50 %); the share
  of sessions taken at DC fast chargers varies per car (Beta(2, 4.5), mean ≈ 0.31: many Busan
  residents live in apartments without a home charger); taxis charge mostly at DC (Beta(8, 2)).
* Climate: Busan's monthly mean temperatures and mean daily ranges, Korea Meteorological
  Administration climate normals 1991-2020 (rounded): 3.9 °C in January to 26.3 °C in August, plus a
  day-to-day AR(1) anomaly (sigma 2.3 K, lag-1 0.7) for synoptic weather.

Every random choice about a vehicle is drawn from that vehicle's own substream
(``SeedSequence(seed, spawn_key=(ev,))``), so vehicle ``i`` is the same vehicle whatever the fleet
size and whatever order anything is evaluated in; the weather has its own substream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Chemistry = Literal["NCM811", "NCM622", "LFP"]
UsageClass = Literal["private", "taxi"]

KST: Final = timezone(timedelta(hours=9), "KST")

# Stream ids under the run's seed: vehicles use (ev,), the weather uses this one (far above any fleet).
WEATHER_STREAM: Final = 2**31


@dataclass(frozen=True, slots=True)
class PackSpec:
    """A traction pack class: what a passport's performance section calls rated values."""

    chemistry: Chemistry
    vehicle_class: str
    energy_kwh: float  # certified (rated) energy
    nominal_voltage_v: float
    capacity_ah: float  # rated capacity = energy / nominal voltage
    series_groups: int
    parallel_cells: int
    resistance_mohm: float  # pack DC resistance, new, 25 °C, 50 % SoC
    max_dc_kw: float
    max_ac_kw: float
    consumption_kwh_per_km: float  # at ~20 °C, mixed city driving
    min_cell_v: float  # discharge cut-off of the cell
    max_cell_v: float  # charge cut-off of the cell


PACKS: Final[dict[Chemistry, PackSpec]] = {
    "NCM811": PackSpec(
        chemistry="NCM811",
        vehicle_class="800 V-class mid-size crossover",
        energy_kwh=77.4,
        nominal_voltage_v=697.0,
        capacity_ah=111.2,
        series_groups=192,
        parallel_cells=2,
        resistance_mohm=130.0,
        max_dc_kw=235.0,
        max_ac_kw=11.0,
        consumption_kwh_per_km=0.175,
        min_cell_v=2.5,
        max_cell_v=4.2,
    ),
    "NCM622": PackSpec(
        chemistry="NCM622",
        vehicle_class="400 V-class compact crossover",
        energy_kwh=64.0,
        nominal_voltage_v=356.0,
        capacity_ah=180.0,
        series_groups=98,
        parallel_cells=3,
        resistance_mohm=62.0,
        max_dc_kw=77.0,
        max_ac_kw=7.2,
        consumption_kwh_per_km=0.160,
        min_cell_v=2.5,
        max_cell_v=4.2,
    ),
    "LFP": PackSpec(
        chemistry="LFP",
        vehicle_class="400 V-class compact sedan (LFP blade-type cells)",
        energy_kwh=60.5,
        nominal_voltage_v=346.0,
        capacity_ah=174.8,
        series_groups=108,
        parallel_cells=1,
        resistance_mohm=55.0,
        max_dc_kw=150.0,
        max_ac_kw=11.0,
        consumption_kwh_per_km=0.150,
        min_cell_v=2.5,
        max_cell_v=3.65,
    ),
}
CHEMISTRIES: Final[tuple[Chemistry, ...]] = ("NCM811", "NCM622", "LFP")
MAX_GROUPS: Final = max(spec.series_groups for spec in PACKS.values())

# KMA climate normals 1991-2020 for Busan (station 159), rounded: monthly mean daily temperature and
# mean daily range (max - min), January first.
BUSAN_MONTHLY_MEAN_C: Final = (3.9, 5.6, 9.3, 14.0, 18.1, 21.3, 24.8, 26.3, 22.8, 18.2, 12.3, 6.1)
BUSAN_MONTHLY_RANGE_C: Final = (8.4, 8.2, 7.9, 7.5, 7.0, 5.8, 5.0, 5.6, 6.1, 7.3, 7.9, 8.3)


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """Everything a simulation run depends on; the same config and seed give the same readings."""

    n_evs: int = 2500
    seed: int = 20250101
    start: date = date(2025, 1, 1)
    days: int = 365
    # Fleet mix; shares sum to 1 (the pilot's registrations are dominated by NCM crossovers).
    chemistry_mix: tuple[float, float, float] = (0.40, 0.35, 0.25)
    taxi_share: float = 0.08
    # Forces every car's DC share (0..1) — for what-if fleets; None draws it per car.
    fast_share: float | None = None
    # Vehicles join the pilot with batteries already this old (years, uniform in the range; taxis
    # are capped at 6 years, their usual service life).
    initial_age_years: tuple[float, float] = (0.0, 8.0)
    diagnostics_interval_days: int = 7
    # First life ends when the BMS's capacity SoH drops below this (the common warranty threshold).
    end_of_first_life_soh_pct: float = 80.0
    # Fraction of packs with a latent manufacturing defect that ages them several times faster
    # (field-failure literature puts early-life pack issues at a few per thousand).
    defect_rate: float = 0.004
    # (day, vehicle) pairs whose pack a workshop removes that day whatever its SoH (a what-if, and how
    # tests exercise the end-of-first-life path in a short run).
    forced_removals: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.n_evs < 1:
            raise ValueError("n_evs must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if abs(sum(self.chemistry_mix) - 1.0) > 1e-9 or min(self.chemistry_mix) < 0:
            raise ValueError("chemistry_mix must be three non-negative shares summing to 1")
        if self.fast_share is not None and not 0.0 <= self.fast_share <= 1.0:
            raise ValueError("fast_share must be within 0..1")
        if not 0.0 <= self.taxi_share <= 1.0:
            raise ValueError("taxi_share must be within 0..1")
        if self.diagnostics_interval_days < 1:
            raise ValueError("diagnostics_interval_days must be at least 1")
        if any(not (0 <= day < self.days and 0 <= ev < self.n_evs) for day, ev in self.forced_removals):
            raise ValueError("forced_removals must name simulated days and vehicles of the fleet")

    @property
    def start_epoch_s(self) -> int:
        """Midnight (KST) of the first simulated day, in Unix seconds."""
        return int(datetime(self.start.year, self.start.month, self.start.day, tzinfo=KST).timestamp())


def ev_stream(seed: int, ev: int) -> np.random.Generator:
    """The vehicle's own random stream: independent of every other vehicle and of the fleet size."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(ev,))))


@dataclass(slots=True)
class Fleet:
    """Static per-vehicle properties as arrays (index = vehicle), plus the per-vehicle random streams."""

    config: FleetConfig
    chem: IntArray  # index into CHEMISTRIES
    taxi: BoolArray
    drive_probability: FloatArray  # chance of driving on a given day
    km_per_drive_day: FloatArray  # mean distance on a driving day
    fast_share: FloatArray  # chance that a needed charge is taken at DC
    charge_threshold: FloatArray  # SoC below which the car is charged
    slow_target: FloatArray  # SoC an AC session charges to
    home_ac_kw: FloatArray  # the car's AC charge power (wallbox x on-board charger)
    dc_charger_kw: FloatArray  # the DC chargers the driver usually uses
    departure_h: FloatArray  # habitual departure hour
    initial_age_days: FloatArray
    defect: BoolArray  # latent manufacturing defect: the pack ages several times faster
    streams: list[np.random.Generator] = field(repr=False)

    @property
    def n(self) -> int:
        return int(self.chem.shape[0])

    def spec(self, ev: int) -> PackSpec:
        return PACKS[CHEMISTRIES[int(self.chem[ev])]]

    def spec_array(self, attribute: str) -> FloatArray:
        """A PackSpec attribute for every vehicle."""
        table = np.array([float(getattr(PACKS[c], attribute)) for c in CHEMISTRIES])
        return np.asarray(table[self.chem], dtype=np.float64)


def battery_id(ev: int, generation: int) -> str:
    """The battery serial of a vehicle's ``generation``-th pack (0 = the pack it joined with)."""
    return f"KR-BSN-EVB-{ev:05d}-{generation:02d}"


def device_id(ev: int, generation: int) -> str:
    """The collection device fitted with that pack (a replacement pack gets a new device key)."""
    return f"bsn-dev-{ev:05d}-{generation:02d}"


def build_fleet(config: FleetConfig) -> Fleet:
    """Draw every vehicle's static properties from its own stream."""
    n = config.n_evs
    chem = np.empty(n, dtype=np.int64)
    taxi = np.empty(n, dtype=np.bool_)
    drive_p = np.empty(n)
    km = np.empty(n)
    fast = np.empty(n)
    thr = np.empty(n)
    target = np.empty(n)
    ac_kw = np.empty(n)
    dc_kw = np.empty(n)
    dep = np.empty(n)
    age = np.empty(n)
    defect = np.empty(n, dtype=np.bool_)
    streams: list[np.random.Generator] = []
    cumulative_mix = np.cumsum(config.chemistry_mix)
    for ev in range(n):
        rng = ev_stream(config.seed, ev)
        # A fixed number of draws in a fixed order: adding a property later must append, not insert,
        # or every vehicle's later randomness shifts.
        u = rng.random(12)
        chem[ev] = min(int(np.searchsorted(cumulative_mix, u[0], side="right")), 2)
        is_taxi = bool(u[1] < config.taxi_share)
        taxi[ev] = is_taxi
        if is_taxi:
            drive_p[ev] = 0.86 + 0.08 * u[2]
            km[ev] = 220.0 * np.exp(0.2 * (u[3] - 0.5) * 2.0)
            fast[ev] = rng.beta(8.0, 2.0)
            dep[ev] = 5.0 + 2.0 * u[4]
            low, high = config.initial_age_years[0], min(config.initial_age_years[1], 6.0)
            age[ev] = 365.0 * (low + max(high - low, 0.0) * u[5])
        else:
            drive_p[ev] = 0.56 + 0.28 * u[2]
            # lognormal around 45 km per driving day, sigma_log 0.45 between drivers
            km[ev] = 45.0 * np.exp(0.45 * rng.standard_normal())
            fast[ev] = rng.beta(2.0, 4.5)
            dep[ev] = 6.5 + 3.0 * u[4]
            low, high = config.initial_age_years
            age[ev] = 365.0 * (low + (high - low) * u[5] ** 1.6)  # a young fleet: more recent cars
        if config.fast_share is not None:
            fast[ev] = config.fast_share
        thr[ev] = 0.25 + 0.25 * u[6] if not is_taxi else 0.20 + 0.15 * u[6]
        target[ev] = 0.80 + 0.15 * u[7]
        spec = PACKS[CHEMISTRIES[chem[ev]]]
        # Home wallboxes are 7 kW; the car's on-board charger may cap it.
        ac_kw[ev] = min(spec.max_ac_kw, 7.0 if u[8] < 0.8 else 11.0)
        dc_kw[ev] = (50.0, 100.0, 200.0)[min(int(u[9] * 3), 2)]
        defect[ev] = bool(u[10] < config.defect_rate)
        streams.append(rng)
    return Fleet(
        config=config,
        chem=chem,
        taxi=taxi,
        drive_probability=drive_p,
        km_per_drive_day=km,
        fast_share=fast,
        charge_threshold=thr,
        slow_target=target,
        home_ac_kw=ac_kw,
        dc_charger_kw=dc_kw,
        departure_h=dep,
        initial_age_days=age,
        defect=defect,
        streams=streams,
    )


def climate_normal(day_of_year: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Busan's normal daily mean temperature and daily range for each day of year (0 = 1 January).

    Monthly normals are taken as mid-month values and interpolated periodically across the year.
    """
    mid_month = (np.arange(12) + 0.5) * (365.0 / 12.0)
    xp = np.concatenate([mid_month - 365.0, mid_month, mid_month + 365.0])
    mean = np.interp(day_of_year, xp, np.tile(BUSAN_MONTHLY_MEAN_C, 3))
    spread = np.interp(day_of_year, xp, np.tile(BUSAN_MONTHLY_RANGE_C, 3))
    return mean, spread


def daily_weather(config: FleetConfig) -> tuple[FloatArray, FloatArray]:
    """The city's daily mean temperature and daily range for each simulated day (its own stream)."""
    rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(config.seed, spawn_key=(WEATHER_STREAM,)))
    )
    start_doy = config.start.timetuple().tm_yday - 1
    doy = (start_doy + np.arange(config.days, dtype=np.float64)) % 365.0
    mean, spread = climate_normal(doy)
    phi, sigma = 0.7, 2.3
    # The first draw is the initial anomaly, then one shock per day in order, so a longer run
    # extends a shorter one's weather instead of replacing it.
    level = rng.standard_normal() * sigma
    shocks = rng.standard_normal(config.days) * sigma * np.sqrt(1 - phi**2)
    anomaly = np.empty(config.days)
    for i in range(config.days):
        level = phi * level + shocks[i]
        anomaly[i] = level
    return mean + anomaly, spread


def day_start(config: FleetConfig, day: int) -> datetime:
    """Midnight KST of simulated day ``day`` (0-based)."""
    base = datetime(config.start.year, config.start.month, config.start.day, tzinfo=KST)
    return base + timedelta(days=day)


def to_utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)
