"""Check the empirical ageing laws of ``ageing`` against physics-based PyBaMM degradation runs.

Run: ``uv run python -m scripts.simulation.calibrate`` (PyBaMM is a dev-group dependency; a few
minutes on one core). Writes ``docs/ageing-calibration.png`` and ``docs/ageing-calibration.json``.

What is compared, and why this way:

* **Calendar** — PyBaMM's single-particle model (SPM) with solvent-diffusion-limited SEI growth and the
  OKane2022 parameter set (LG M50: NMC811 / graphite-SiOx, the chemistry of our NCM811 class), resting
  at 50 % SoC for 12 months at 10, 25 and 40 °C; lithium-inventory loss is the capacity-fade proxy.
  Against it: Schmalstieg's (NCM) and Naumann's (LFP) calendar laws at the same temperature and SoC.
  The parameter sets describe different cells, so the absolute levels differ; what must agree is the
  *shape* — the time exponent of the fade and its temperature sensitivity (effective activation
  energy). Both are fitted from the PyBaMM curves and reported next to the empirical values.
* **Cycle** — PyBaMM SPM with OKane2022's coupled mechanisms (SEI, SEI on cracks, particle cracking,
  stress-driven loss of active material), cycling 1C / CC-CV at 50 % depth for 150 equivalent cycles
  at 25 and 35 °C, against Schmalstieg's cycle law (plus its calendar law over the same elapsed time).
  No lithium plating and default (mild) mechanics parameters: PyBaMM is expected to sit *below* the
  empirical law measured on real cells; the JSON records by how much.

The output is a record for humans (the README and ARCHITECTURE cite it), not asserted by the tests.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scripts.simulation import ageing

log = logging.getLogger(__name__)

CALENDAR_TEMPS_C = (10.0, 25.0, 40.0)
CALENDAR_MONTHS = 12
CYCLE_TEMPS_C = (25.0, 35.0)
CYCLES = 300
STORAGE_SOC = 0.5
# OKane2022's coupled degradation: SEI (also on crack surfaces), particle cracking and stress-driven
# loss of active material — the mechanisms beyond SEI that cycling adds.
CYCLE_OPTIONS = {
    "SEI": "solvent-diffusion limited",
    "SEI on cracks": "true",
    "particle mechanics": ("swelling and cracking", "swelling only"),
    "loss of active material": "stress-driven",
}
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True, slots=True)
class Curve:
    label: str
    x: list[float]
    loss_pct: list[float]


def _pybamm() -> Any:
    os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")  # no network calls from a calibration run
    import pybamm  # type: ignore[import-untyped]  # ships no type information

    pybamm.set_logging_level("ERROR")
    return pybamm


def pybamm_calendar(temp_c: float) -> Curve:
    """Monthly lithium-inventory loss (%) of a cell resting at ``STORAGE_SOC`` and ``temp_c``."""
    pybamm = _pybamm()
    model = pybamm.lithium_ion.SPM({"SEI": "solvent-diffusion limited"})
    params = pybamm.ParameterValues("OKane2022")
    kelvin = 273.15 + temp_c
    params.update({"Ambient temperature [K]": kelvin, "Initial temperature [K]": kelvin})
    experiment = pybamm.Experiment([f"Rest for {HOURS_PER_MONTH} hours"] * CALENDAR_MONTHS)
    solution = pybamm.Simulation(model, parameter_values=params, experiment=experiment).solve(
        initial_soc=STORAGE_SOC
    )
    loss = [float(c["Loss of lithium inventory [%]"].entries[-1]) for c in solution.cycles]
    return Curve(f"PyBaMM SEI {temp_c:.0f} °C", [float(m) for m in range(1, CALENDAR_MONTHS + 1)], loss)


def pybamm_cycle(temp_c: float) -> tuple[Curve, float]:
    """LLI (%) against equivalent full cycles for 1C cycling at 50 % depth; also the elapsed days."""
    pybamm = _pybamm()
    model = pybamm.lithium_ion.SPM(CYCLE_OPTIONS)
    params = pybamm.ParameterValues("OKane2022")
    kelvin = 273.15 + temp_c
    params.update({"Ambient temperature [K]": kelvin, "Initial temperature [K]": kelvin})
    step = (
        "Discharge at 1C for 30 minutes",
        "Charge at 1C until 4.1 V",
        "Hold at 4.1 V until C/20",
    )
    experiment = pybamm.Experiment([step] * CYCLES)
    sim = pybamm.Simulation(model, parameter_values=params, experiment=experiment)
    solution = sim.solve(initial_soc=0.9, save_at_cycles=max(CYCLES // 15, 1))
    efc, loss = [], []
    for index, cycle in enumerate(solution.cycles):
        if cycle is None:
            continue
        efc.append((index + 1) * 0.5)
        loss.append(float(cycle["Loss of lithium inventory [%]"].entries[-1]))
    elapsed_days = float(solution["Time [s]"].entries[-1]) / 86400.0
    return Curve(f"PyBaMM cycling {temp_c:.0f} °C", efc, loss), elapsed_days


def empirical_calendar(temp_c: float, chemistry: str) -> Curve:
    months = np.arange(1, CALENDAR_MONTHS + 1, dtype=np.float64)
    days = months * HOURS_PER_MONTH / 24.0
    t = np.array([temp_c])
    soc = np.array([STORAGE_SOC])
    if chemistry == "NCM":
        alpha, _ = ageing.ncm_calendar_rates(t, soc)
        loss = alpha[0] * days**ageing.NCM_CAL_EXPONENT
        label = f"Schmalstieg NCM {temp_c:.0f} °C"
    else:
        k, _ = ageing.naumann_calendar_rates(t, soc)
        loss = k[0] * np.sqrt(days * 86400.0)
        label = f"Naumann LFP {temp_c:.0f} °C"
    return Curve(label, months.tolist(), (100.0 * loss).tolist())


def empirical_cycle(temp_c: float, efc: list[float], elapsed_days: float) -> Curve:
    """Schmalstieg cycle + calendar for the PyBaMM protocol (1C, 50 % depth, mean SoC 0.65)."""
    x = np.asarray(efc)
    cell_ah = x * 2.0 * ageing.NCM_CELL_AH  # charge + discharge Ah of the reference cell
    beta, _ = ageing.ncm_cycle_rates(np.array([0.65]), np.array([0.5]))
    thermal = ageing.ncm_cycle_temperature_factor(np.array([temp_c]))
    alpha, _ = ageing.ncm_calendar_rates(np.array([temp_c]), np.array([0.65]))
    days = elapsed_days * x / x[-1]
    loss = beta[0] * thermal[0] * np.sqrt(cell_ah) + alpha[0] * days**ageing.NCM_CAL_EXPONENT
    return Curve(f"Schmalstieg NCM {temp_c:.0f} °C", x.tolist(), (100.0 * loss).tolist())


def fit_exponent(curve: Curve) -> float:
    """z of loss = k·x^z, least squares in log space."""
    x = np.log(np.asarray(curve.x))
    y = np.log(np.maximum(np.asarray(curve.loss_pct), 1e-12))
    return float(np.polyfit(x, y, 1)[0])


def activation_energy(curves: dict[float, Curve]) -> float:
    """Effective Ea (kJ/mol) from the final losses at several temperatures (Arrhenius fit)."""
    temps = sorted(curves)
    inv_t = np.array([1.0 / (273.15 + t) for t in temps])
    loss = np.array([curves[t].loss_pct[-1] for t in temps])
    slope = float(np.polyfit(inv_t, np.log(loss), 1)[0])
    return -slope * ageing.GAS_CONSTANT / 1000.0


def run(out_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    pb_cal = {t: pybamm_calendar(t) for t in CALENDAR_TEMPS_C}
    ncm_cal = {t: empirical_calendar(t, "NCM") for t in CALENDAR_TEMPS_C}
    lfp_cal = {t: empirical_calendar(t, "LFP") for t in CALENDAR_TEMPS_C}
    pb_cyc: dict[float, Curve] = {}
    emp_cyc: dict[float, Curve] = {}
    for t in CYCLE_TEMPS_C:
        curve, elapsed = pybamm_cycle(t)
        pb_cyc[t] = curve
        emp_cyc[t] = empirical_cycle(t, curve.x, elapsed)
    # Shape check after removing the level: scale PyBaMM onto Schmalstieg at 25 °C, 12 months.
    scale = ncm_cal[25.0].loss_pct[-1] / pb_cal[25.0].loss_pct[-1]
    scaled_dev = {
        f"{t:.0f}C": max(
            abs(scale * p - e) / e for p, e in zip(pb_cal[t].loss_pct, ncm_cal[t].loss_pct, strict=True)
        )
        for t in CALENDAR_TEMPS_C
    }
    result: dict[str, Any] = {
        "pybamm": {
            "calendar_model": "SPM, solvent-diffusion-limited SEI",
            "cycle_model": "SPM, " + ", ".join(f"{k}: {v}" for k, v in CYCLE_OPTIONS.items()),
            "parameters": "OKane2022 (LG M50, NMC811 / graphite-SiOx)",
            "capacity_proxy": "loss of lithium inventory (%)",
        },
        "calendar": {
            "storage_soc": STORAGE_SOC,
            "time_exponent": {
                "pybamm_sei": round(fit_exponent(pb_cal[25.0]), 3),
                "schmalstieg_ncm": ageing.NCM_CAL_EXPONENT,
                "naumann_lfp": 0.5,
            },
            "activation_energy_kj_per_mol": {
                "pybamm_sei": round(activation_energy(pb_cal), 1),
                "schmalstieg_ncm": round(activation_energy(ncm_cal), 1),
                "naumann_lfp": round(activation_energy(lfp_cal), 1),
            },
            "loss_after_12_months_pct": {
                f"{t:.0f}C": {
                    "pybamm_sei": round(pb_cal[t].loss_pct[-1], 3),
                    "schmalstieg_ncm": round(ncm_cal[t].loss_pct[-1], 3),
                    "naumann_lfp": round(lfp_cal[t].loss_pct[-1], 3),
                }
                for t in CALENDAR_TEMPS_C
            },
            "pybamm_scaled_to_schmalstieg_at_25C_max_relative_deviation": {
                k: round(v, 3) for k, v in scaled_dev.items()
            },
        },
        "cycle": {
            "protocol": "1C discharge 50 % depth, 1C CC-CV to 4.1 V",
            "final": {
                f"{t:.0f}C": {
                    "equivalent_full_cycles": pb_cyc[t].x[-1],
                    "pybamm_pct": round(pb_cyc[t].loss_pct[-1], 3),
                    "schmalstieg_pct": round(emp_cyc[t].loss_pct[-1], 3),
                    "pybamm_exponent": round(fit_exponent(pb_cyc[t]), 3) if len(pb_cyc[t].x) > 2 else None,
                }
                for t in CYCLE_TEMPS_C
            },
        },
        "runtime_s": round(time.perf_counter() - started, 1),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ageing-calibration.json").write_text(json.dumps(result, indent=2) + "\n")
    _plot(out_dir / "ageing-calibration.png", pb_cal, ncm_cal, lfp_cal, pb_cyc, emp_cyc)
    return result


def _plot(
    path: Path,
    pb_cal: dict[float, Curve],
    ncm_cal: dict[float, Curve],
    lfp_cal: dict[float, Curve],
    pb_cyc: dict[float, Curve],
    emp_cyc: dict[float, Curve],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    colours = {10.0: "tab:blue", 25.0: "tab:green", 35.0: "tab:orange", 40.0: "tab:red"}
    for t in CALENDAR_TEMPS_C:
        c = colours[t]
        ax1.plot(pb_cal[t].x, pb_cal[t].loss_pct, color=c, linestyle="-", label=pb_cal[t].label)
        ax1.plot(ncm_cal[t].x, ncm_cal[t].loss_pct, color=c, linestyle="--", label=ncm_cal[t].label)
        ax1.plot(lfp_cal[t].x, lfp_cal[t].loss_pct, color=c, linestyle=":", label=lfp_cal[t].label)
    ax1.set_xlabel("months at rest, 50 % SoC")
    ax1.set_ylabel("capacity loss (%)  [PyBaMM: lithium-inventory loss]")
    ax1.set_title("Calendar ageing")
    ax1.legend(fontsize=7, ncol=2)
    ax1.grid(alpha=0.3)
    for t in CYCLE_TEMPS_C:
        c = colours[t]
        ax2.plot(pb_cyc[t].x, pb_cyc[t].loss_pct, color=c, marker="o", markersize=3, label=pb_cyc[t].label)
        ax2.plot(emp_cyc[t].x, emp_cyc[t].loss_pct, color=c, linestyle="--", label=emp_cyc[t].label)
    ax2.set_xlabel("equivalent full cycles (1C, 50 % depth)")
    ax2.set_ylabel("capacity loss (%)")
    ax2.set_title("Cycle ageing (PyBaMM: SEI + cracking + LAM)")
    ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = run(Path("docs"))
    log.info("%s", json.dumps(result, indent=2))
    return 0 if math.isfinite(result["runtime_s"]) else 1


if __name__ == "__main__":
    sys.exit(main())
