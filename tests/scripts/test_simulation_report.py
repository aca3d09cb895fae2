"""The run report: a PNG of the SoH distribution and a JSON summary that adds up."""

from __future__ import annotations

import json
from pathlib import Path

from scripts.simulation import FleetConfig, FleetReport, simulate_fleet


def test_report_writes_png_and_consistent_summary(tmp_path: Path) -> None:
    config = FleetConfig(n_evs=60, days=15, seed=4)
    report = FleetReport(config)
    total = 0
    for batch in simulate_fleet(config):
        report.add(batch)
        total += batch.n_readings
    report.write_png(tmp_path / "soh.png")
    report.write_json(tmp_path / "summary.json", grades={"A": 50, "B": 10})
    assert (tmp_path / "soh.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["readings_total"] == total == sum(summary["readings_by_kind"].values())
    assert summary["days_simulated"] == 15
    assert summary["grade_distribution"] == {"A": 50, "B": 10}
    assert summary["passports_by_status"]["issued"] >= config.n_evs
    assert set(summary["mean_soh_pct"]) == {"all", "NCM811", "NCM622", "LFP"}
