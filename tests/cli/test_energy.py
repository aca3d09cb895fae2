"""``passport energy verify``: a month's energy proof checked offline, with exit codes and named checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import app
from oracle.energy import EnergyProof
from tests.chain_backends import ChainBackend
from tests.cli.runner import runner
from tests.oracle.energy_samples import proven_month_on


@pytest.fixture(scope="module")
def bundle(eth_tester_backend: ChainBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp_path = tmp_path_factory.mktemp("energy-cli")
    with proven_month_on(eth_tester_backend, tmp_path) as (proof, *_):
        path = tmp_path / "energy.json"
        path.write_text(proof.model_dump_json(indent=2), encoding="utf-8")
        yield path


def test_a_bundle_verifies_offline(bundle: Path) -> None:
    result = runner.invoke(app, ["energy", "verify", str(bundle), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["energy_delivered_wh"] == EnergyProof.parse(bundle.read_bytes()).energy.energy_delivered_wh
    human = runner.invoke(app, ["energy", "verify", str(bundle)])
    assert human.exit_code == 0, human.output
    assert "VALID" in human.stdout


def test_a_tampered_reading_exits_1_naming_the_check(bundle: Path, tmp_path: Path) -> None:
    data = json.loads(bundle.read_text(encoding="utf-8"))
    data["records"][2]["record"] = data["records"][2]["record"].replace('"soc_pct":50', '"soc_pct":51')
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["energy", "verify", str(path), "--json"])
    assert result.exit_code == 1, result.output
    failed = {c["name"] for c in json.loads(result.stdout)["checks"] if not c["ok"]}
    assert failed == {"record.digest"}  # the proof is of the stated digest: the bytes no longer match it


def test_a_file_that_is_not_a_bundle_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "x"}', encoding="utf-8")
    result = runner.invoke(app, ["energy", "verify", str(path)])
    assert result.exit_code == 2, result.output
    assert "not an energy proof bundle" in result.output
    missing = runner.invoke(app, ["energy", "verify", str(tmp_path / "missing.json")])
    assert missing.exit_code == 2, missing.output
