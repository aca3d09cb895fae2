"""``passport import catenax`` / ``passport export catenax``: exit codes, messages, a ledger round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli import interop
from cli.output import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE
from passport.settings import Settings

FIXTURE = Path(__file__).parent.parent / "passport" / "fixtures" / "catenax" / "BatteryPass.corrected.json"
runner = CliRunner()
root = typer.Typer()  # as the lead's root app registers it: nameless, so `import`/`export` are top-level
root.add_typer(interop.app)


@pytest.fixture
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text())
    return loaded


def _write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "battery-pass.json"
    path.write_bytes(data)
    return str(path)


def test_dry_run_prints_the_mapped_passport(tmp_path: Path, document: dict[str, Any]) -> None:
    result = runner.invoke(
        root, ["import", "catenax", "--dry-run", _write(tmp_path, json.dumps(document).encode())]
    )
    assert result.exit_code == EXIT_OK, result.output
    shown = json.loads(result.stdout)
    assert shown["passport"]["general"]["battery_id"] == "SN12345678"
    assert "sources[0].header" in shown["unmapped"]


def _duplicate_weight(text: str) -> bytes:
    return text.replace('"weight": {"value": ', '"weight": {"value": 999999.0, "value": ', 1).encode()


def _long_id_dmc(text: str) -> bytes:
    return text.replace('"idDmc": "', '"idDmc": "' + "x" * 200, 1).encode()


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (_duplicate_weight, "$: duplicate object key 'value'"),
        (lambda text: b"\xef\xbb\xbf" + text.encode(), "$: starts with a UTF-8 byte-order mark"),
        (lambda text: text.encode("utf-16"), "$: is UTF-16 or UTF-32"),
        (lambda text: b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "$: nested too deeply"),
        (_long_id_dmc, "identification.idDmc: String should have at most 200 characters"),
    ],
)
def test_bad_documents_exit_2_naming_the_path(
    tmp_path: Path, document: dict[str, Any], mangle: Any, expected: str
) -> None:
    text = json.dumps(document)
    result = runner.invoke(root, ["import", "catenax", "--dry-run", _write(tmp_path, mangle(text))])
    assert result.exit_code == EXIT_UNREADABLE, result.output
    assert expected in result.stderr


def test_missing_file_and_bad_id_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(root, ["import", "catenax", str(tmp_path / "nope.json")])
    assert missing.exit_code == EXIT_UNREADABLE
    assert "cannot read" in missing.stderr
    bad_id = runner.invoke(root, ["export", "catenax", "not-a-passport"])
    assert bad_id.exit_code == EXIT_UNREADABLE


@pytest.mark.node
@pytest.mark.parametrize("chain_backend", ["anvil"], indirect=True)
def test_import_issues_and_export_writes_it_back(
    ledger_settings: Settings, tmp_path: Path, document: dict[str, Any]
) -> None:
    source = _write(tmp_path, json.dumps(document).encode())
    issued = runner.invoke(root, ["import", "catenax", source, "--json"])
    assert issued.exit_code == EXIT_OK, issued.output
    pid = json.loads(issued.stdout)["passport_id"]
    assert pid == "550e8400-e29b-41d4-a716-446655440000"
    again = runner.invoke(root, ["import", "catenax", source])
    assert again.exit_code == EXIT_INVALID  # the ledger refuses a second issue of one id
    out = tmp_path / "exported.json"
    exported = runner.invoke(root, ["export", "catenax", pid, "-o", str(out)])
    assert exported.exit_code == EXIT_OK, exported.output
    written = json.loads(out.read_text())
    assert written["metadata"]["passportIdentifier"].endswith(pid)
    unknown = runner.invoke(root, ["export", "catenax", "00000000-0000-4000-8000-000000000000"])
    assert unknown.exit_code == EXIT_INVALID
