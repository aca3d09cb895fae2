"""``passport db migrate`` on each backend: applies every store's migrations once, then nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app


def test_migrate_applies_once_then_reports_up_to_date(
    tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSPORT_DATA_DIR", str(tmp_path))
    if database_url:
        monkeypatch.setenv("PASSPORT_DATABASE_URL", database_url)
    runner = CliRunner()
    first = runner.invoke(app, ["db", "migrate"])
    assert first.exit_code == 0, first.output
    assert "journal: applied 1, 2" in first.output
    assert "audit: applied 1" in first.output
    again = runner.invoke(app, ["db", "migrate", "--component", "journal"])
    assert again.exit_code == 0, again.output
    assert "journal: applied nothing (up to date)" in again.output
    assert (tmp_path / "oracle").exists() == (database_url is None)


def test_an_unknown_component_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["db", "migrate", "--component", "nope"])
    assert result.exit_code == 2
    assert "unknown component(s) nope" in result.output
