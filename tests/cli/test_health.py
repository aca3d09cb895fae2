"""``passport health verify``: an evidence bundle checked offline, with exit codes and named checks."""

from __future__ import annotations

import json
from pathlib import Path

from cli.main import app
from oracle.journal import Journal
from tests.cli.runner import runner
from tests.oracle.health_samples import evidence_bundle


def _bundle(tmp_path: Path) -> Path:
    with Journal(tmp_path / "journal.sqlite3") as journal:
        evidence = evidence_bundle(journal)
    path = tmp_path / "evidence.json"
    path.write_text(evidence.model_dump_json(indent=2), encoding="utf-8")
    return path


def test_a_bundle_verifies_offline(tmp_path: Path) -> None:
    result = runner.invoke(app, ["health", "verify", str(_bundle(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert {c["name"] for c in report["checks"] if c["ok"]} >= {"record.proof", "figures.recompute"}
    human = runner.invoke(app, ["health", "verify", str(_bundle(tmp_path / "again"))])
    assert human.exit_code == 0, human.output
    assert "VALID" in human.stdout


def test_a_tampered_reading_exits_1_naming_the_check(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    for item in data["records"]:
        item["record"] = item["record"].replace('"capacity_ah":180', '"capacity_ah":199')
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["health", "verify", str(path), "--json"])
    assert result.exit_code == 1, result.output
    failed = {c["name"] for c in json.loads(result.stdout)["checks"] if not c["ok"]}
    assert failed == {"record.digest", "figures.recompute"}


def test_a_file_that_is_not_a_bundle_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "x"}', encoding="utf-8")
    result = runner.invoke(app, ["health", "verify", str(path)])
    assert result.exit_code == 2, result.output
    assert "not a health evidence bundle" in result.output
    missing = runner.invoke(app, ["health", "verify", str(tmp_path / "missing.json")])
    assert missing.exit_code == 2, missing.output
