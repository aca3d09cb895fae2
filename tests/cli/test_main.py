"""The installed ``passport`` command: every group registered, the pilot simulation, and the layering."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
GROUPS = {
    "custody": ("offer", "accept", "cancel", "history"),
    "business": ("register", "suspend", "reinstate", "show"),
    "audit": ("events",),
    "telemetry": ("upload",),
    "record": ("proof",),
}


def test_passport_command_lists_core_and_simulation_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    core = ("verify", "issue", "show", "bundle", "custody", "business", "versions", "audit")
    for command in (*core, "telemetry", "record", "simulate"):
        assert command in result.output


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_group_lists_its_verbs(group: str) -> None:
    result = CliRunner().invoke(app, [group, "--help"])
    assert result.exit_code == 0, result.output
    for verb in GROUPS[group]:
        assert verb in result.output


def test_help_needs_no_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_POLL_LATENCY", "-1")
    assert CliRunner().invoke(app, ["custody", "offer", "--help"]).exit_code == 0


def test_the_installed_script_is_this_app() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["passport"] == "cli.main:app"


def test_the_core_packages_import_no_cli_typer_or_rich() -> None:
    """Importing every module of passport, oracle and api loads none of the command line's libraries."""
    probe = (
        "import importlib, pkgutil, sys\n"
        "for name in ('passport', 'oracle', 'api'):\n"
        "    package = importlib.import_module(name)\n"
        "    for module in pkgutil.walk_packages(package.__path__, name + '.'):\n"
        "        importlib.import_module(module.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cli', 'typer', 'rich', 'scripts'}))\n"
    )
    argv = [sys.executable, "-c", probe]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_simulate_rejects_a_bad_fleet_size_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["simulate", "--evs", "0"])
    assert result.exit_code == 2


def test_simulate_rejects_a_bad_batch_size_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["simulate", "--batch-size", "0"])
    assert result.exit_code == 2
    assert "batch-size" in result.output
