"""Ageing plausibility: monotone SoH, first-year fade per chemistry, fast charging and heat age faster."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from scripts.simulation import FleetConfig, FleetSimulation, ageing
from scripts.simulation.fleet import CHEMISTRIES


def _new_fleet(**overrides: object) -> FleetConfig:
    base: dict[str, object] = {
        "n_evs": 240,
        "seed": 17,
        "initial_age_years": (0.0, 0.0),
        "taxi_share": 0.0,
        "defect_rate": 0.0,
    }
    base.update(overrides)
    return FleetConfig(**base)  # type: ignore[arg-type]


def _soh_history(config: FleetConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true SoH per day and vehicle, measured SoH snapshots (day, ev, value), chemistry)."""
    sim = FleetSimulation(config)
    days: list[np.ndarray] = []
    measured: list[tuple[int, int, float]] = []
    for batch in sim:
        days.append(batch.soh_pct)
        d = batch.diagnostics
        soh = d.capacity_ah / sim.capacity_ah[d.ev] * 100.0
        measured.extend(zip([batch.day] * len(d.ev), d.ev.tolist(), soh.tolist(), strict=True))
    return np.array(days), np.array(measured), sim.fleet.chem


@pytest.fixture(scope="module")
def year() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _soh_history(_new_fleet(days=365))


def test_true_soh_never_increases(year: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    soh, _, _ = year
    assert np.all(np.diff(soh, axis=0) <= 1e-9)


def test_measured_soh_is_monotone_apart_from_noise(year: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    _, measured, _ = year
    for ev in range(0, 240, 17):
        series = measured[measured[:, 1] == ev][:, 2]
        rises = np.diff(series)
        # 0.4 % (1 sigma) estimation noise: week-on-week rises stay within a few sigma of the SoH.
        assert rises.max() < 2.0
        assert series[-4:].mean() < series[:4].mean()


@pytest.mark.parametrize("chemistry", CHEMISTRIES)
def test_first_year_fade_is_plausible(
    year: tuple[np.ndarray, np.ndarray, np.ndarray], chemistry: str
) -> None:
    soh, _, chem = year
    rows = chem == CHEMISTRIES.index(chemistry)
    fade = soh[0, rows] - soh[-1, rows]
    assert 1.0 < float(np.median(fade)) < 6.0


def test_fast_charge_heavy_fleets_age_faster() -> None:
    slow, _, _ = _soh_history(_new_fleet(days=120, fast_share=0.0))
    fast, _, _ = _soh_history(_new_fleet(days=120, fast_share=1.0))
    assert (fast[0] - fast[-1]).mean() > 1.03 * (slow[0] - slow[-1]).mean()


def test_hot_months_age_faster() -> None:
    # Same packs, pre-aged two years (so the fade curve is past its steep start), two months each.
    winter, _, _ = _soh_history(_new_fleet(days=59, start=date(2025, 1, 1), initial_age_years=(2.0, 2.0)))
    summer, _, _ = _soh_history(_new_fleet(days=59, start=date(2025, 7, 1), initial_age_years=(2.0, 2.0)))
    assert (summer[0] - summer[-1]).mean() > 1.3 * (winter[0] - winter[-1]).mean()


def test_cell_spread_exists_and_grows() -> None:
    sim = FleetSimulation(_new_fleet(n_evs=60, days=1, initial_age_years=(0.0, 8.0)))
    spread = sim.packs.cell_spread_fraction()
    fade = sim.packs.nominal_fade
    assert np.all(spread > 0)
    assert np.corrcoef(spread, fade)[0, 1] > 0.5


def test_power_law_step_matches_closed_form_under_constant_conditions() -> None:
    rate = np.array([2e-3])
    loss = np.zeros(1)
    for _ in range(100):
        loss = ageing.power_law_step(loss, rate, np.array([5.0]), 0.5)
    assert loss[0] == pytest.approx(2e-3 * (500.0**0.5))


def test_calendar_rates_follow_arrhenius_and_soc() -> None:
    cold, _ = ageing.ncm_calendar_rates(np.array([5.0]), np.array([0.5]))
    hot, _ = ageing.ncm_calendar_rates(np.array([30.0]), np.array([0.5]))
    full, _ = ageing.ncm_calendar_rates(np.array([30.0]), np.array([0.95]))
    assert hot[0] > 3 * cold[0]
    assert full[0] > hot[0]
    k_cold, _ = ageing.naumann_calendar_rates(np.array([5.0]), np.array([0.5]))
    k_hot, _ = ageing.naumann_calendar_rates(np.array([30.0]), np.array([0.5]))
    assert k_hot[0] > k_cold[0]


def test_wang_model_reproduces_published_point() -> None:
    # Wang 2011 Eq. (4) at C/2, 25 °C after 10,000 Ah: 31630·exp(-31515/(R·298.15))·10000^0.55 ≈ 15.3 %.
    rate = ageing.wang_rate(np.array([0.5]), np.array([25.0]))
    assert rate[0] * 10000**0.55 * 100 == pytest.approx(15.3, rel=0.03)
