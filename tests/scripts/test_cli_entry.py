"""The installed ``passport`` command carries the core commands and the pilot simulation."""

from __future__ import annotations

from typer.testing import CliRunner

from scripts.cli import app


def test_passport_command_lists_core_and_simulation_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    core = ("verify", "issue", "show", "bundle", "custody", "business", "versions", "audit")
    for command in (*core, "telemetry", "record", "simulate"):
        assert command in result.output


def test_simulate_rejects_a_bad_fleet_size_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["simulate", "--evs", "0"])
    assert result.exit_code == 2


def test_simulate_rejects_a_bad_batch_size_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["simulate", "--batch-size", "0"])
    assert result.exit_code == 2
    assert "batch-size" in result.output
