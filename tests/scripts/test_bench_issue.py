"""``python -m scripts.bench_issue --quick``: every stage ran and its report is complete.

A smoke run only: nothing here looks at timings (the benchmark reports them, it never asserts them).
"""

from __future__ import annotations

import json

import pytest

from scripts import bench_issue


@pytest.mark.node
def test_quick_run_reports_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_issue.main(["--quick", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (run,) = report["runs"]
    assert set(run["stages"]) == {"offchain", "issue", "update"}
    issue, update = run["stages"]["issue"], run["stages"]["update"]
    assert issue["count"] == bench_issue.QUICK_PASSPORTS
    assert issue["transactions"] == 2  # 40 + 5: the chunking is what the benchmark exercises
    assert update["count"] == update["transactions"] == bench_issue.QUICK_UPDATES
    # Each passport's own signature checked on-chain costs well over 100k gas; an update ~76k.
    assert 100_000 < issue["gas_per_passport"] < 150_000
    assert 50_000 < update["gas_per_passport"] < 100_000
    assert run["passports_per_s"] > 0
    assert "baseline" not in report


def test_bad_arguments_exit_with_usage() -> None:
    with pytest.raises(SystemExit) as info:
        bench_issue.main(["--passports", "3", "--updates", "4"])
    assert info.value.code == 2
