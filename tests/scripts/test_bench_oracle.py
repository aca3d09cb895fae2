"""``python -m scripts.bench_oracle`` with a tiny N: the output and JSON are complete, proofs verify.

A smoke run only: nothing here looks at timings (the benchmark reports them, it never asserts them).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from devtools.localnodes import pid_alive
from scripts import bench_oracle


@pytest.mark.node
def test_quick_run_is_complete_and_verified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="devtools.localnodes")
    out_json = tmp_path / "bench.json"
    argv = ["--quick", "--n", "2000", "--batch-size", "500", "--naive-sample", "6", "--proof-sample", "25"]
    argv += ["--roots-per-tx", "2", "--json", str(out_json), "--workdir", str(tmp_path)]
    assert bench_oracle.main(argv) == 0

    out = capsys.readouterr().out
    assert "| records | records/s |" in out
    assert "| ≥ 20,000 records/s |" in out
    assert "Naive baseline around N = 2,000 (half before, half after the run): 6 records" in out

    document = json.loads(out_json.read_text())
    assert document["config"]["batch_size"] == 500
    assert document["config"]["roots_per_tx"] == 2
    assert document["targets"]["gas_per_record"] == 50
    (run,) = document["runs"]
    # The fields the issue asks of every run.
    for key in ("records_per_s", "naive_records_per_s", "speedup", "gas_per_record", "peak_rss_mib"):
        assert run[key] > 0, key
    assert run["records"] == run["measured_records"] == 2000
    assert run["sampled"] is False
    assert sum(run["kinds"].values()) == 2000
    assert set(run["kinds"]) <= {"charging", "safety", "parking", "diagnostics"}
    assert set(run["stage_s"]) == set(run["stage_cpu_s"]) == set(bench_oracle.STAGES)
    assert run["stage_s"]["ingest"] > 0
    assert run["stage_s"]["seal"] > 0
    assert run["stage_s"]["store"] > 0
    assert run["stage_s"]["anchor"] > 0
    # At least one full batch per kind that has 500+ records, one more for each kind's remainder,
    # two roots per transaction.
    assert run["batches"] >= 4
    assert run["batches"] / 2 <= run["txs"] <= run["batches"]
    assert run["rpcs_per_batch"] > 0
    assert run["total_gas"] > 0
    assert run["gas_per_record"] == pytest.approx(run["total_gas"] / 2000)
    assert run["uploads"] == 40
    assert 1 <= run["commits"] <= run["uploads"]
    proofs = run["proofs"]
    assert proofs["sampled"] == proofs["verified_offline"] == proofs["verified_on_chain"] == 25
    assert 1 <= proofs["hashes_max"] <= 9  # ceil(log2(500))
    assert run["document_rechecked"] is True
    naive = run["naive"]
    assert naive["sample"] == naive["verified_on_chain"] == 6
    assert naive["gas_per_record"] > run["gas_per_record"]
    assert run["speedup"] == pytest.approx(run["records_per_s"] / run["naive_records_per_s"])

    # The node the run started was stopped by its PID, and its temp dir removed.
    pids = [int(m) for m in re.findall(r"anvil stopped \(pid (\d+)\)", caplog.text)]
    assert len(pids) == 1
    assert not pid_alive(pids[0])
    assert not list(tmp_path.glob("bench-oracle-*"))


def test_arguments_are_checked() -> None:
    with pytest.raises(SystemExit):
        bench_oracle.parse_args(["--batch-size", "0"])
    args = bench_oracle.parse_args([])
    assert args.n == [10_000, 100_000]
    assert args.chain == "anvil"
    assert args.naive_sample == 200
    quick = bench_oracle.parse_args(["--quick"])
    assert quick.n == [1000]
    assert quick.batch_size == 100
    assert bench_oracle.parse_args(["--quick", "--n", "50"]).n == [50]
    with pytest.raises(SystemExit):
        bench_oracle.parse_args(["--concurrency", "1"])
