"""Capacity fade and resistance growth of the fleet's packs, from published empirical cell models.

NCM packs — Schmalstieg, Käbitz, Ecker, Sauer, "A holistic aging model for Li(NiMnCo)O2 based 18650
lithium-ion batteries", J. Power Sources 257 (2014) 325-334 (Sanyo UR18650E, 2.15 Ah NMC/graphite):

* calendar: ``Q_cal = alpha_cap · t^0.75`` (t in days) with
  ``alpha_cap = (7.543·V - 23.75)·10^6 · exp(-6976 / T)``, V the storage OCV (V), T in K;
  ``R_cal = alpha_res · t^0.75`` with ``alpha_res = (5.270·V - 16.32)·10^5 · exp(-5986 / T)``;
* cycle: ``Q_cyc = β_cap · √Q`` (Q = charge + discharge Ah of one 2.15 Ah cell) with
  ``β_cap = 7.348·10^-3·(V̄ - 3.667)^2 + 7.6·10^-4 + 4.081·10^-3·ΔDOD``;
  ``R_cyc = β_res · Q`` with ``β_res = 2.153·10^-4·(V̄ - 3.725)^2 - 1.521·10^-5 + 2.798·10^-4·ΔDOD``;
  V̄ the mean cycling voltage and ΔDOD the cycle depth. The cycle tests ran at 35 °C and 1C only, so
  the published cycle term has no temperature or rate dependence: we transfer it from 35 °C to the
  cell's operating temperature by Arrhenius with Wang's activation energy (31.7 kJ/mol, the same
  graphite-anode SEI mechanism) — 0.53x at 20 °C — and add the DC factor below.

LFP packs — cycle: Wang et al., "Cycle-life model for graphite-LiFePO4 cells", J. Power Sources 196
(2011) 3942-3948 (A123 ANR26650M1, 2.2 Ah): ``Q_loss[%] = B(C)·exp((-31700 + 370.3·C) / (R·T))·A^0.55``,
A the discharged Ah of one 2.2 Ah cell, B = 31630 / 21681 / 12934 / 15512 at C/2, 2C, 6C, 10C.
Wang's model has no separate calendar term, so calendar loss comes from Naumann, Schimpe, Keil,
Hesse, Jossen, "Analysis and modeling of calendar aging of a commercial LiFePO4/graphite cell",
J. Energy Storage 17 (2018) 153-169 (Sony/Murata US26650FTC1, 3 Ah):
``Q_cal = k_T·k_SOC·√t`` (t in s), ``k_T = 1.2571·10^-5·exp(-17126/R·(1/T - 1/298.15))``,
``k_SOC = 2.8575·(SOC - 0.5)^3 + 0.60225``; resistance ``R_cal = 3.4194·10^-10·exp(-71827/R·(1/T -
1/298.15))·(-3.3903·(SOC - 0.5)^3 + 1.5604)·t``; cycle resistance from Naumann et al., J. Power Sources
451 (2020) 227666: ``R_cyc = (-0.002·C + 0.0021)·(6.8477·(DOD - 0.5)^3 + 0.91882)·FEC/100``.
Summing Wang (whose cycling data include the test duration) and Naumann's calendar term slightly
double-counts calendar time; for EV duty (few cycles a week) the error is well under the
pack-to-pack spread.

Pack scaling: a pack ages like its cells at the same *normalised* throughput (equivalent full cycles),
so pack Ah are converted to the reference cell's Ah by ``capacity_ratio = cell Ah / pack Ah``.

Varying conditions: every power law ``L = k·x^p`` is advanced by the equivalent-state method (the
"virtual time" of Naumann 2018): ``x_eq = (L/k)^(1/p)``, ``L' = k'·(x_eq + Δx)^p`` — it reduces to
the closed form under constant conditions and never makes a loss decrease.

DC fast charging: for NCM the published cycle term is rate-independent, so a documented factor
``1 + 0.35·s_DC`` (s_DC = share of charge energy delivered by DC) multiplies the cycle rates. It is
calibrated to the Idaho National Laboratory fleet test (Shirk & Wishart, SAE 2015-01-1190): Leafs
charged only by DCFC lost ~4 points more capacity over 50,000 miles than L2-only ones (≈27 % vs ≈23 %
in a hot climate), about +35 % on the cycle-driven half of the loss. For LFP, Wang's model carries the
rate (C) and the cell temperature during the DC session directly.

Cell-to-cell variation: each series group starts at ``margin·(1 + 0.3 %·z)`` of rated capacity
(production spread of ~0.3 % reported for automotive cells, e.g. Baumhöfer et al., J. Power Sources
247 (2014) 332) and ages ``m_j`` times the pack rate, ``m_j`` lognormal with sigma = 5 %; the pack
capacity is that of its weakest group (the BMS stops discharge at the first empty group), so pack
SoH falls slightly faster than a mean cell, and the cell SoH spread grows with age. A pack-level
multiplier (lognormal, sigma = 8 %) covers pack-to-pack variation; latent defects age ~3x faster.

SOCE (state of certified energy, Annex XIII) = usable energy / certified energy
≈ capacity SoH · (1 - I_ref·ΔR / V_nom) · margin, with I_ref the C/3 current — resistance growth
lowers the energy a pack can deliver before reaching cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from scripts.simulation.fleet import (
    BUSAN_MONTHLY_MEAN_C,
    CHEMISTRIES,
    MAX_GROUPS,
    PACKS,
    FloatArray,
)

GAS_CONSTANT: Final = 8.314  # J/(mol K)
T_REF_K: Final = 298.15

# Schmalstieg 2014 (NCM, Sanyo UR18650E)
NCM_CELL_AH: Final = 2.15
NCM_CAL_EXPONENT: Final = 0.75
NCM_CYC_EXPONENT: Final = 0.5
NCM_CYCLE_TEST_K: Final = 308.15  # Schmalstieg's cycle tests ran at 35 °C
# Wang 2011 (LFP, A123 ANR26650M1)
WANG_CELL_AH: Final = 2.2
WANG_EXPONENT: Final = 0.55
WANG_EA: Final = 31700.0  # J/mol
WANG_RATE_TERM: Final = 370.3  # J/mol per C
WANG_B_C_RATE: Final = (0.5, 2.0, 6.0, 10.0)
WANG_B: Final = (31630.0, 21681.0, 12934.0, 15512.0)
# Naumann 2018 / 2020 (LFP, Sony US26650FTC1)
NAUMANN_K_CAL: Final = 1.2571e-5  # 1/sqrt(s)
NAUMANN_EA_CAL: Final = 17126.0
NAUMANN_K_RCAL: Final = 3.4194e-10  # 1/s
NAUMANN_EA_RCAL: Final = 71827.0
# INL DCFC fleet test, applied to the NCM cycle rates.
DC_CYCLE_FACTOR: Final = 0.35

# Digitised OCV of the Schmalstieg/Ecker NMC cell (Schmalstieg 2014 Fig. 1), SoC 0..1 in 10 % steps.
_SOC_GRID: Final = np.linspace(0.0, 1.0, 11)
_NCM_OCV: Final = np.array([3.331, 3.490, 3.577, 3.627, 3.660, 3.697, 3.757, 3.866, 3.964, 4.073, 4.162])

INITIAL_MARGIN: Final = 1.02  # a new pack measures ~2 % above its rated capacity
GROUP_CAPACITY_SIGMA: Final = 0.003
GROUP_RATE_SIGMA: Final = 0.05
PACK_RATE_SIGMA: Final = 0.08
DEFECT_RATE_FACTOR: Final = 3.0


def ncm_ocv(soc: FloatArray) -> FloatArray:
    return np.asarray(np.interp(soc, _SOC_GRID, _NCM_OCV), dtype=np.float64)


def kelvin(celsius: FloatArray | float) -> FloatArray:
    return np.asarray(celsius, dtype=np.float64) + 273.15


def power_law_step(loss: FloatArray, rate: FloatArray, dx: FloatArray, exponent: float) -> FloatArray:
    """Advance ``loss = rate · x^exponent`` by ``dx`` under a (possibly new) ``rate``.

    The state carried is the loss itself; the equivalent ``x`` under today's rate is recovered from it,
    so a change of temperature or SoC changes the slope, never the loss already accumulated.
    """
    safe = np.maximum(rate, 1e-300)
    x_eq = (loss / safe) ** (1.0 / exponent)
    stepped = safe * (x_eq + np.maximum(dx, 0.0)) ** exponent
    return np.where(rate > 0.0, np.maximum(stepped, loss), loss)


# -- NCM: Schmalstieg 2014 -------------------------------------------------------------------------


def ncm_calendar_rates(temp_c: FloatArray, soc: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(alpha_cap, alpha_res) per day^0.75 at storage temperature ``temp_c`` and storage SoC."""
    v = ncm_ocv(soc)
    t_k = kelvin(temp_c)
    alpha_cap = np.maximum((7.543 * v - 23.75) * 1e6, 0.0) * np.exp(-6976.0 / t_k)
    alpha_res = np.maximum((5.270 * v - 16.32) * 1e5, 0.0) * np.exp(-5986.0 / t_k)
    return alpha_cap, alpha_res


def ncm_cycle_rates(mean_soc: FloatArray, dod: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(β_cap per √Ah, β_res per Ah) of the 2.15 Ah reference cell at mean cycling SoC and depth."""
    v_avg = ncm_ocv(mean_soc)
    beta_cap = 7.348e-3 * (v_avg - 3.667) ** 2 + 7.6e-4 + 4.081e-3 * dod
    beta_res = np.maximum(2.153e-4 * (v_avg - 3.725) ** 2 - 1.521e-5 + 2.798e-4 * dod, 0.0)
    return beta_cap, beta_res


def ncm_cycle_temperature_factor(temp_c: FloatArray) -> FloatArray:
    """Transfer of Schmalstieg's cycle rates from their 35 °C test temperature to ``temp_c``.

    Arrhenius with Wang's cycle-ageing activation energy (31.7 kJ/mol, SEI growth on graphite, the
    same anode as the NMC cell): 0.53 at 20 °C, 1 at 35 °C. Without it the 1C/35 °C cycle rates would
    be applied to mild EV duty and overstate fade roughly twofold against fleet data (≈2 %/year).
    """
    inv = 1.0 / kelvin(temp_c) - 1.0 / NCM_CYCLE_TEST_K
    return np.asarray(np.exp(-WANG_EA / GAS_CONSTANT * inv), dtype=np.float64)


# -- LFP: Wang 2011 (cycle), Naumann 2018/2020 (calendar, resistance) ------------------------------


def wang_rate(c_rate: FloatArray, temp_c: FloatArray) -> FloatArray:
    """Wang's prefactor as a *fraction* per (Ah of the 2.2 Ah cell)^0.55."""
    c = np.clip(c_rate, WANG_B_C_RATE[0], WANG_B_C_RATE[-1])
    b = np.interp(c, WANG_B_C_RATE, WANG_B)
    return np.asarray(
        b * np.exp((-WANG_EA + WANG_RATE_TERM * c) / (GAS_CONSTANT * kelvin(temp_c))) / 100.0,
        dtype=np.float64,
    )


def naumann_calendar_rates(temp_c: FloatArray, soc: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(k_cap per √s, k_res per s) of Naumann's calendar model."""
    inv = 1.0 / kelvin(temp_c) - 1.0 / T_REF_K
    k_cap = (
        NAUMANN_K_CAL * np.exp(-NAUMANN_EA_CAL / GAS_CONSTANT * inv) * (2.8575 * (soc - 0.5) ** 3 + 0.60225)
    )
    k_res = (
        NAUMANN_K_RCAL * np.exp(-NAUMANN_EA_RCAL / GAS_CONSTANT * inv) * (-3.3903 * (soc - 0.5) ** 3 + 1.5604)
    )
    return k_cap, k_res


def naumann_cycle_resistance(c_rate: FloatArray, dod: FloatArray) -> FloatArray:
    """Resistance increase (fraction) per full equivalent cycle; the fit covers up to 1C."""
    c = np.clip(c_rate, 0.0, 1.0)
    return np.maximum((-0.002 * c + 0.0021) * (6.8477 * (dod - 0.5) ** 3 + 0.91882), 0.0) / 100.0


# -- the fleet's ageing state -----------------------------------------------------------------------


@dataclass(slots=True)
class AgeingState:
    """Per-pack ageing state (index = vehicle), all fractions of the rated (new) value."""

    is_lfp: np.ndarray
    rate_multiplier: FloatArray  # pack-to-pack variation and latent defects
    q_cal: FloatArray
    q_cyc: FloatArray
    r_cal: FloatArray
    r_cyc: FloatArray
    capacity_ratio: FloatArray  # reference-cell Ah per pack Ah
    group_initial: FloatArray  # (n, MAX_GROUPS) initial group capacity / rated; +inf past the pack's groups
    group_rate: FloatArray  # (n, MAX_GROUPS) group ageing multiplier; 0 past the pack's groups
    group_mask: np.ndarray  # (n, MAX_GROUPS) True for the pack's real groups

    @property
    def nominal_fade(self) -> FloatArray:
        return self.q_cal + self.q_cyc

    def group_capacity(self, rows: np.ndarray | slice = slice(None)) -> FloatArray:
        """Each series group's capacity / rated, for the selected packs."""
        fade = self.nominal_fade[rows][:, None]
        return np.asarray(self.group_initial[rows] - self.group_rate[rows] * fade, dtype=np.float64)

    def soh_fraction(self, rows: np.ndarray | slice = slice(None)) -> FloatArray:
        """Capacity SoH (measured capacity / rated): the weakest group's."""
        caps = np.where(self.group_mask[rows], self.group_capacity(rows), np.inf)
        return np.asarray(np.min(caps, axis=1), dtype=np.float64)

    def cell_spread_fraction(self, rows: np.ndarray | slice = slice(None)) -> FloatArray:
        caps = self.group_capacity(rows)
        mask = self.group_mask[rows]
        high = np.max(np.where(mask, caps, -np.inf), axis=1)
        low = np.min(np.where(mask, caps, np.inf), axis=1)
        return np.asarray(high - low, dtype=np.float64)

    def resistance_factor(self, rows: np.ndarray | slice = slice(None)) -> FloatArray:
        return np.asarray(1.0 + self.r_cal[rows] + self.r_cyc[rows], dtype=np.float64)


def new_packs(chem: np.ndarray, defect: np.ndarray, normals: FloatArray) -> AgeingState:
    """Fresh packs. ``normals`` is (n, 2·MAX_GROUPS + 1) standard normals from each vehicle's stream."""
    n = chem.shape[0]
    groups = np.array([PACKS[c].series_groups for c in CHEMISTRIES])[chem]
    mask = np.arange(MAX_GROUPS)[None, :] < groups[:, None]
    initial = INITIAL_MARGIN * (1.0 + GROUP_CAPACITY_SIGMA * normals[:, :MAX_GROUPS])
    rate = np.exp(GROUP_RATE_SIGMA * normals[:, MAX_GROUPS : 2 * MAX_GROUPS] - 0.5 * GROUP_RATE_SIGMA**2)
    pack_rate = np.exp(PACK_RATE_SIGMA * normals[:, -1] - 0.5 * PACK_RATE_SIGMA**2)
    pack_rate = np.where(defect, pack_rate * DEFECT_RATE_FACTOR, pack_rate)
    is_lfp = chem == CHEMISTRIES.index("LFP")
    pack_ah = np.array([PACKS[c].capacity_ah for c in CHEMISTRIES])[chem]
    ratio = np.where(is_lfp, WANG_CELL_AH, NCM_CELL_AH) / pack_ah
    zeros = np.zeros(n)
    return AgeingState(
        is_lfp=is_lfp,
        rate_multiplier=pack_rate,
        q_cal=zeros.copy(),
        q_cyc=zeros.copy(),
        r_cal=zeros.copy(),
        r_cyc=zeros.copy(),
        capacity_ratio=ratio,
        group_initial=np.where(mask, initial, np.inf),
        group_rate=np.where(mask, rate, 0.0),
        group_mask=mask,
    )


def replace_packs(state: AgeingState, rows: np.ndarray, fresh: AgeingState) -> None:
    """Swap new packs (``fresh``, one per row) into ``rows`` of ``state``."""
    for name in AgeingState.__slots__:
        target = getattr(state, name)
        target[rows] = getattr(fresh, name)


@dataclass(frozen=True, slots=True)
class DayStress:
    """What one day did to each pack (arrays over vehicles; zeros for idle ones)."""

    storage_temp_c: FloatArray  # pack temperature while parked (most of the day)
    mean_soc: FloatArray  # time-weighted SoC over the day
    operating_temp_c: FloatArray  # cell temperature while driving or AC-charging
    discharge_ah: FloatArray  # pack Ah driven
    ac_charge_ah: FloatArray
    dc_charge_ah: FloatArray
    dc_c_rate: FloatArray  # mean C-rate of the day's DC charging (0 if none)
    dc_temp_c: FloatArray  # mean cell temperature while DC charging
    cycle_dod: FloatArray  # typical cycle depth of the pack's use
    cycle_soc: FloatArray  # mean SoC while cycling
    dc_share: FloatArray  # running share of charge energy delivered by DC


def advance_calendar(state: AgeingState, temp_c: FloatArray, soc: FloatArray, days: FloatArray) -> None:
    """Calendar ageing of every pack over ``days`` stored at ``temp_c`` and ``soc`` (in place)."""
    m = state.rate_multiplier
    a_cap, a_res = ncm_calendar_rates(temp_c, soc)
    k_cap, k_res = naumann_calendar_rates(temp_c, soc)
    seconds = days * 86400.0
    q_ncm = power_law_step(state.q_cal, m * a_cap, days, NCM_CAL_EXPONENT)
    r_ncm = power_law_step(state.r_cal, m * a_res, days, NCM_CAL_EXPONENT)
    q_lfp = power_law_step(state.q_cal, m * k_cap, seconds, 0.5)
    r_lfp = state.r_cal + m * k_res * seconds
    state.q_cal = np.where(state.is_lfp, q_lfp, q_ncm)
    state.r_cal = np.where(state.is_lfp, r_lfp, r_ncm)


def advance_cycle(state: AgeingState, stress: DayStress) -> None:
    """Cycle ageing of every pack from the day's throughput (in place)."""
    m = state.rate_multiplier
    # NCM: all Ah (charge + discharge) of the reference cell; the DC factor scales the rates.
    total_ah = stress.discharge_ah + stress.ac_charge_ah + stress.dc_charge_ah
    b_cap, b_res = ncm_cycle_rates(stress.cycle_soc, stress.cycle_dod)
    dc_factor = 1.0 + DC_CYCLE_FACTOR * stress.dc_share
    thermal = ncm_cycle_temperature_factor(stress.operating_temp_c)
    cell_ah = total_ah * state.capacity_ratio
    q_ncm = power_law_step(state.q_cyc, m * b_cap * dc_factor * thermal, cell_ah, NCM_CYC_EXPONENT)
    r_ncm = state.r_cyc + m * b_res * dc_factor * thermal * cell_ah

    # LFP: Wang on discharged Ah, split by how the charge came back: the DC-charged part at its C-rate
    # and cell temperature, the rest at C/2 (Wang's mildest rate) and the operating temperature.
    cell_dis = stress.discharge_ah * state.capacity_ratio
    charge = stress.ac_charge_ah + stress.dc_charge_ah
    dc_part = np.divide(stress.dc_charge_ah, charge, out=np.zeros_like(charge), where=charge > 0)
    half_c = np.full_like(m, 0.5)
    q = power_law_step(
        state.q_cyc, m * wang_rate(half_c, stress.operating_temp_c), cell_dis * (1 - dc_part), WANG_EXPONENT
    )
    q_lfp = power_law_step(
        q, m * wang_rate(stress.dc_c_rate, stress.dc_temp_c), cell_dis * dc_part, WANG_EXPONENT
    )
    fec = cell_dis / WANG_CELL_AH
    r_lfp = state.r_cyc + m * fec * (
        (1 - dc_part) * naumann_cycle_resistance(half_c, stress.cycle_dod)
        + dc_part * naumann_cycle_resistance(stress.dc_c_rate, stress.cycle_dod)
    )
    state.q_cyc = np.where(state.is_lfp, q_lfp, q_ncm)
    state.r_cyc = np.where(state.is_lfp, r_lfp, r_ncm)


def advance(state: AgeingState, stress: DayStress, days: float = 1.0) -> None:
    """Advance every pack by one day (or ``days``) under ``stress`` (in place)."""
    advance_calendar(state, stress.storage_temp_c, stress.mean_soc, np.full_like(stress.mean_soc, days))
    advance_cycle(state, stress)


def pre_age(
    state: AgeingState,
    age_days: FloatArray,
    discharge_ah: FloatArray,
    dc_share: FloatArray,
    cycle_soc: FloatArray,
    cycle_dod: FloatArray,
    storage_soc: FloatArray,
    storage_offset_c: float = 1.0,
) -> None:
    """Age packs that joined the pilot already used (in place).

    ``age_days`` of Busan's climate normals and ``discharge_ah`` of driving spread evenly over it, in
    monthly steps (the power laws make the result insensitive to the step size).
    """
    n = age_days.shape[0]
    if n == 0:
        return
    month_days = 365.0 / 12.0
    steps = np.ceil(age_days / month_days)
    dt = np.divide(age_days, steps, out=np.zeros(n), where=steps > 0)
    dah = np.divide(discharge_ah, steps, out=np.zeros(n), where=steps > 0)
    dc_c_rate = np.full(n, 1.2)
    dc_temp = np.full(n, 35.0)
    for step in range(int(steps.max())):
        active = step < steps
        temp = np.full(n, BUSAN_MONTHLY_MEAN_C[step % 12] + storage_offset_c)
        advance_calendar(state, temp, storage_soc, np.where(active, dt, 0.0))
        dis = np.where(active, dah, 0.0)
        advance_cycle(
            state,
            DayStress(
                storage_temp_c=temp,
                mean_soc=storage_soc,
                operating_temp_c=np.maximum(temp + 6.0, 15.0),
                discharge_ah=dis,
                ac_charge_ah=dis * (1 - dc_share),
                dc_charge_ah=dis * dc_share,
                dc_c_rate=dc_c_rate,
                dc_temp_c=dc_temp,
                cycle_dod=cycle_dod,
                cycle_soc=cycle_soc,
                dc_share=dc_share,
            ),
        )


def soce_fraction(state: AgeingState, rows: np.ndarray | slice, chem: np.ndarray) -> FloatArray:
    """State of certified energy: capacity SoH less the energy lost to the extra IR drop at C/3."""
    r0_ohm = np.array([PACKS[c].resistance_mohm for c in CHEMISTRIES])[chem] / 1000.0
    ah = np.array([PACKS[c].capacity_ah for c in CHEMISTRIES])[chem]
    volts = np.array([PACKS[c].nominal_voltage_v for c in CHEMISTRIES])[chem]
    extra_drop = (ah / 3.0) * r0_ohm * (state.resistance_factor(rows) - 1.0) / volts
    return np.asarray(state.soh_fraction(rows) * (1.0 - extra_drop), dtype=np.float64)
