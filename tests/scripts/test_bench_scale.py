"""``python -m scripts.bench_scale --quick``: both worker counts ran in one run, every reading came back
acknowledged (the script checks the count), every API answer was the expected one, ratios computed."""

from __future__ import annotations

import json

import pytest

from scripts import bench_scale


@pytest.mark.slow
@pytest.mark.node
@pytest.mark.postgres
def test_quick_run_covers_one_and_two_workers(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_scale.main(["--quick", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["workers"] for r in report["ingestion"]] == [1, 2]
    assert [r["workers"] for r in report["api"]] == [1, 2]
    # Every ingestion run journaled exactly what it sent: 4 devices x 3 uploads x 2 readings.
    assert {r["readings"] for r in report["ingestion"]} == {4 * 3 * 2}
    assert all(r["readings_per_s"] > 0 for r in report["ingestion"])
    assert all(r["reads_per_s"] > 0 and r["uploads_per_s"] > 0 for r in report["api"])
    assert set(report["ratios_2_over_1"]) == {"readings_per_s", "api_reads_per_s", "api_uploads_per_s"}
    assert all(v is not None for v in report["ratios_2_over_1"].values())
    assert "| 2 |" in bench_scale.table(report)
