"""``python -m scripts.bench_api --quick``: every scenario ran, every answer was the expected one.

A smoke run only: nothing here looks at timings (the benchmark reports them, it never asserts them).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from scripts import bench_api

KINDS = {
    "first reads (cold)": {"read", "verify"},
    "reads alone": {"read"},
    "verification alone": {"verify"},
    "verification alone, 1 in flight": {"verify"},
    "uploads alone": {"upload"},
    "reads + uploads": {"read", "upload"},
    "reads at 100/s + uploads": {"read", "upload"},
    "uploads alone (after)": {"upload"},
}


@pytest.mark.node
def test_quick_run_is_complete_and_error_free(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Called from inside a running event loop, as a suite whose earlier test left one running would:
    # ``asyncio.run`` refuses to start there, so the benchmark's client runs on a loop of its own.
    async def inside_a_loop() -> int:
        return bench_api.main(["--quick", "--json", "--keep", str(tmp_path)])

    assert asyncio.run(inside_a_loop()) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["scenarios"]) == set(KINDS)
    for name, kinds in KINDS.items():
        scenario = report["scenarios"][name]
        assert scenario["_unexpected"] == {}
        for kind in kinds:
            row = scenario[kind]
            assert row["requests"] > 0, (name, kind)
            assert row["errors"] == 0
            assert row["p50_ms"] <= row["p99_ms"]
    assert report["issuance"]["passports"] == 20
    assert report["issuance"]["transactions"] == 1
    assert report["uploads_mixed_vs_alone"] is not None
    assert report["uploads_paced_mixed_vs_alone"] is not None
    assert (tmp_path / "uvicorn.log").is_file()  # the server ran in its own process
    assert report["config"]["server"] == "uvicorn --loop uvloop --http httptools"


def test_run_async_works_inside_a_running_loop() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def caller() -> int:
        refused = answer()
        with pytest.raises(RuntimeError, match="running event loop"):
            asyncio.run(refused)  # what the benchmark used to do
        refused.close()
        return bench_api.run_async(answer())

    assert asyncio.run(caller()) == 42


def test_the_table_names_every_scenario() -> None:
    row = {"concurrency": 1, "req_per_s": 1.0, "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0}
    report = {
        "scenarios": {
            name: {kind: row for kind in kinds} | {"_unexpected": {}} for name, kinds in KINDS.items()
        },
        "issuance": {"passports": 1, "seconds": 1.0, "passports_per_s": 1.0, "transactions": 1},
        "uploads_mixed_vs_alone": 1.0,
        "uploads_paced_mixed_vs_alone": 1.0,
        "loadavg_before": [1.0, 1.0, 1.0],
        "loadavg_after": [1.0, 1.0, 1.0],
    }
    table = bench_api.table(report)
    for name in KINDS:
        assert f"| {name} |" in table
    assert "_unexpected" not in table
