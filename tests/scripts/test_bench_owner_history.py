"""``python -m scripts.bench_owner_history --quick``: a smoke run of the owner-history benchmark on anvil.

It checks that the run completes and reports what it read (the records and months of the history);
nothing here looks at timings (the benchmark prints them, it never asserts them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import bench_owner_history


@pytest.mark.node
def test_quick_run_reports_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert bench_owner_history.main(["--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["requests"] == 40
    assert result["readings"] == sum(
        max(1, round(n * 30 / 365)) for n in bench_owner_history.PER_YEAR.values()
    )
    assert result["records_per_read"] == result["readings"]  # under the default page size
    assert result["months_per_read"] >= 1
    assert result["p99_ms"] >= result["p50_ms"] > 0
    printed = capsys.readouterr().out
    assert "reads/s" in printed
    assert "p99" in printed


def test_a_year_at_pilot_volume() -> None:
    readings = bench_owner_history.year_of_readings(365)
    assert len(readings) == 372  # 929,228 readings / 2,500 EVs
    assert readings == sorted(readings, key=lambda item: item[0])
