"""What a simulation run produced: the fleet's SoH distribution over time (PNG) and a JSON summary.

Feed every ``DayBatch`` to ``FleetReport.add``; then ``write_png`` / ``summary`` / ``write_json``.
The grade distribution is left for the caller (``oracle.health`` grades the diagnostics), and the
passport statuses here are what the simulation knows (packs in use, packs removed); the ledger's own
statuses come from the registry once the orchestration has run.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np

from scripts.simulation.fleet import CHEMISTRIES, FleetConfig
from scripts.simulation.generator import SAFETY_EVENTS, SEVERITIES, DayBatch

PERCENTILES: Final = (5.0, 25.0, 50.0, 75.0, 95.0)


@dataclass(slots=True)
class FleetReport:
    """Running aggregates over a simulation's days (constant memory: a few numbers per day)."""

    config: FleetConfig
    dates: list[date] = field(default_factory=list)
    # per chemistry (and "all"): one row of PERCENTILES per day
    soh_percentiles: dict[str, list[list[float]]] = field(default_factory=dict)
    readings: Counter[str] = field(default_factory=Counter)
    incidents: Counter[str] = field(default_factory=Counter)
    end_reasons: Counter[str] = field(default_factory=Counter)
    ended_by_chemistry: Counter[str] = field(default_factory=Counter)
    packs_installed: int = 0
    uploads: int = 0
    first_soh: dict[str, float] = field(default_factory=dict)
    last_soh: dict[str, float] = field(default_factory=dict)

    def add(self, batch: DayBatch) -> None:
        self.dates.append(batch.date.date())
        groups = {"all": np.ones(batch.soh_pct.shape[0], dtype=np.bool_)}
        groups.update({name: batch.chem == i for i, name in enumerate(CHEMISTRIES)})
        for name, mask in groups.items():
            values = batch.soh_pct[mask]
            row = np.percentile(values, PERCENTILES).tolist() if values.size else [float("nan")] * 5
            self.soh_percentiles.setdefault(name, []).append([round(v, 3) for v in row])
            mean = round(float(values.mean()), 3) if values.size else float("nan")
            self.first_soh.setdefault(name, mean)
            self.last_soh[name] = mean
        self.readings.update(batch.counts)
        self.uploads += int(np.unique(_devices_of(batch)).shape[0])
        for event, severity in zip(batch.safety.event.tolist(), batch.safety.severity.tolist(), strict=True):
            self.incidents[f"{SAFETY_EVENTS[event]}/{SEVERITIES[severity]}"] += 1
        for item in batch.ended:
            self.end_reasons[item.reason] += 1
            self.ended_by_chemistry[item.chemistry] += 1
        self.packs_installed += len(batch.installed)

    def summary(self, grades: dict[str, int] | None = None) -> dict[str, Any]:
        """The run's JSON summary; ``grades`` is the grade distribution from ``oracle.health``."""
        removed = sum(self.end_reasons.values())
        return {
            "config": {
                "n_evs": self.config.n_evs,
                "seed": self.config.seed,
                "start": self.config.start.isoformat(),
                "days": self.config.days,
                "chemistry_mix": dict(zip(CHEMISTRIES, self.config.chemistry_mix, strict=True)),
                "taxi_share": self.config.taxi_share,
                "end_of_first_life_soh_pct": self.config.end_of_first_life_soh_pct,
            },
            "days_simulated": len(self.dates),
            "readings_by_kind": dict(sorted(self.readings.items())),
            "readings_total": sum(self.readings.values()),
            "uploads": self.uploads,
            "incidents": dict(sorted(self.incidents.items())),
            "end_of_first_life": {
                "total": removed,
                "by_reason": dict(sorted(self.end_reasons.items())),
                "by_chemistry": dict(sorted(self.ended_by_chemistry.items())),
            },
            "passports_by_status": {
                # issued = the packs the fleet joined with plus the replacements fitted since
                "issued": self.config.n_evs + self.packs_installed,
                "in_use": self.config.n_evs - (removed - self.packs_installed),
                "removed": removed,
            },
            "mean_soh_pct": {
                name: {"first_day": self.first_soh[name], "last_day": self.last_soh[name]}
                for name in self.last_soh
            },
            "grade_distribution": grades,
        }

    def write_json(self, path: Path, grades: dict[str, int] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.summary(grades), indent=2, sort_keys=False) + "\n")

    def write_png(self, path: Path) -> None:
        """SoH percentile bands over time, one panel per chemistry."""
        import matplotlib

        matplotlib.use("Agg")  # files only: no display, no GUI toolkit
        import matplotlib.pyplot as plt

        names = ["all", *CHEMISTRIES]
        fig, axes = plt.subplots(1, len(names), figsize=(16, 4.2), sharey=True)
        x = np.array(self.dates, dtype="datetime64[D]")
        for ax, name in zip(axes, names, strict=True):
            rows = np.array(self.soh_percentiles.get(name, []), dtype=np.float64)
            if rows.size:
                ax.fill_between(x, rows[:, 0], rows[:, 4], alpha=0.2, color="tab:blue", label="5-95 %")
                ax.fill_between(x, rows[:, 1], rows[:, 3], alpha=0.4, color="tab:blue", label="25-75 %")
                ax.plot(x, rows[:, 2], color="tab:blue", label="median")
            ax.axhline(
                self.config.end_of_first_life_soh_pct,
                color="tab:red",
                linestyle="--",
                linewidth=1,
                label="end of first life",
            )
            ax.set_title("whole fleet" if name == "all" else name)
            ax.tick_params(axis="x", labelrotation=45)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("capacity SoH (%)")
        axes[0].legend(loc="lower left", fontsize=8)
        fig.suptitle(f"Fleet state of health, {self.config.n_evs} EVs, seed {self.config.seed}")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)


def _devices_of(batch: DayBatch) -> np.ndarray:
    return np.concatenate([batch.charging.ev, batch.parking.ev, batch.safety.ev, batch.diagnostics.ev])
