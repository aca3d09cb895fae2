"""The installed ``passport`` command: every group registered, the pilot simulation, and the layering."""

from __future__ import annotations

import ast
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


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", ["passport", "oracle", "api"])
def test_the_core_packages_import_no_cli_typer_or_rich(package: str) -> None:
    """The command line sits on top: no module of the core (lazy imports included) reaches up to it."""
    offending = {
        str(path.relative_to(ROOT)): sorted(roots)
        for path in sorted((ROOT / package).rglob("*.py"))
        if (roots := _imported_roots(path) & {"cli", "typer", "rich", "scripts"})
    }
    assert offending == {}


def test_simulate_rejects_a_bad_fleet_size_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["simulate", "--evs", "0"])
    assert result.exit_code == 2


def test_simulate_rejects_a_bad_batch_size_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["simulate", "--batch-size", "0"])
    assert result.exit_code == 2
    assert "batch-size" in result.output
