"""``passport db migrate`` prepares the API-side stores too (keys, ownership, versions, market, alerts,
credentials), on each backend; the stores then open on the migrated schema and work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.auth import ApiKeyStore, ApiRole
from cli.main import app
from passport.settings import Settings

STORES = ("keys", "ownership", "versions", "market", "alerts", "credentials")


def test_migrate_prepares_every_api_side_store(
    tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSPORT_DATA_DIR", str(tmp_path))
    if database_url:
        monkeypatch.setenv("PASSPORT_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["db", "migrate", *(f"--component={c}" for c in STORES)])
    assert result.exit_code == 0, result.output
    for component in STORES:
        assert f"{component}: applied 1" in result.output
    keys = ApiKeyStore.from_settings(Settings(data_dir=tmp_path, database_url=database_url))
    try:
        keys.upsert_participant("p", [ApiRole.AUDITOR])
        assert keys.authenticate(keys.issue_key("p")).name == "p"
    finally:
        keys.close()
    assert (tmp_path / "api" / "keys.sqlite3").exists() is (database_url is None)
