"""``passport audit check`` / ``passport audit rebuild`` (``cli.audit``) on a ledger deployed from
settings on anvil, with the service's audit index edited directly in its SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli.audit
import cli.main
from cli.output import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE
from passport.settings import Settings
from tests.chain_backends import Actor

runner = CliRunner()
pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)


@pytest.fixture
def settings(ledger_settings: Settings) -> Settings:
    return ledger_settings


def main(*argv: str) -> Any:
    result = runner.invoke(cli.main.app, [*argv, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def audit(*argv: str) -> Any:
    return runner.invoke(cli.audit.app, list(argv))


def custody_history(settings: Settings, business: Actor) -> tuple[str, Path]:
    """A passport handed to ``business``; the service's audit index synced (by ``audit events``)."""
    main(
        "business", "register", business.address, "--kind", "collector",
        "--certificate-hash", "0x" + "ab" * 32,
    )  # fmt: skip
    pid = str(main("issue", "--sample")["passport_id"])
    main("custody", "offer", pid, business.address, "--expires-in", "3600")
    main("custody", "accept", pid, "--as", "business")
    assert len(main("audit", "events", "--passport", pid)) == 3
    return pid, settings.audit_index_path


def edit(path: Path, statement: str, *params: object) -> None:
    db = sqlite3.connect(path)
    try:
        with db:
            db.execute(statement, params)
    finally:
        db.close()


def test_check_passes_on_an_untouched_index(settings: Settings, business: Actor) -> None:
    custody_history(settings, business)
    result = audit("check")
    assert result.exit_code == EXIT_OK, result.output
    assert "OK: the audit index matches the chain" in result.stdout
    report = json.loads(audit("check", "--json").stdout)
    assert report["ok"] is True
    assert report["differences"] == []
    assert report["events_in_index"] == report["events_on_chain"]


def test_edited_deleted_and_cursor_rows_are_listed_then_rebuild_restores_the_truth(
    settings: Settings, business: Actor, stranger: Actor
) -> None:
    pid, path = custody_history(settings, business)
    [(block, log_index, args)] = sqlite3.connect(path).execute(
        "SELECT block_number, log_index, args FROM events WHERE name = 'CustodyTransferred'"
    )
    # A custody row now names someone else as the new custodian; the offer before it is gone; the
    # cursor's block hash is rewritten.
    forged = json.dumps(json.loads(args) | {"to": stranger.address}, sort_keys=True, separators=(",", ":"))
    edit(
        path, "UPDATE events SET args = ? WHERE block_number = ? AND log_index = ?", forged, block, log_index
    )
    edit(path, "DELETE FROM events WHERE name = 'CustodyOffered'")
    edit(path, "UPDATE cursor SET block_hash = ?", "0x" + "ab" * 32)

    result = audit("check")
    assert result.exit_code == EXIT_INVALID, result.output
    lines = result.stdout.splitlines()
    assert any(
        line.startswith(f"  events block {block} log {log_index}: altered: args:")
        and stranger.address in line
        for line in lines
    ), result.stdout
    assert any("events block" in line and ": missing: on the chain: CustodyOffered" in line for line in lines)
    assert any(line.startswith("  cursor block ") and ": altered: hash 0xabab" in line for line in lines)
    assert "MISMATCH: 3 difference(s)" in result.stdout

    report = json.loads(audit("check", "--json").stdout)
    assert report["ok"] is False
    assert sorted((d["table"], d["kind"]) for d in report["differences"]) == [
        ("cursor", "altered"),
        ("events", "altered"),
        ("events", "missing"),
    ]

    rebuilt = audit("rebuild", "--json")
    assert rebuilt.exit_code == EXIT_OK, rebuilt.output
    document = json.loads(rebuilt.stdout)
    assert document["check"]["ok"] is True
    assert document["backup"] == str(path.with_name(path.name + ".bak"))
    assert audit("check").exit_code == EXIT_OK
    # The tampered file is kept as evidence; the index now serves the chain's custody history again.
    kept = sqlite3.connect(document["backup"])
    assert kept.execute("SELECT count(*) FROM events WHERE name = 'CustodyOffered'").fetchone() == (0,)
    kept.close()
    history = main("custody", "history", pid)
    assert [e["name"] for e in history["events"]] == ["CustodyOffered", "CustodyTransferred"]
    assert history["events"][1]["args"]["to"] == business.address


def test_check_without_an_index_or_with_a_corrupt_one(settings: Settings) -> None:
    path = settings.audit_index_path
    missing = audit("check")
    assert missing.exit_code == EXIT_UNREADABLE
    assert f"no audit index at {path}" in missing.stderr
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database at all" * 100)
    corrupt = audit("check")
    assert corrupt.exit_code == EXIT_INVALID
    assert "AuditIndexError" in corrupt.stderr
    # Rebuild replaces even an unreadable file; its bytes stay as the backup.
    rebuilt = audit("rebuild")
    assert rebuilt.exit_code == EXIT_OK, rebuilt.output
    assert audit("check").exit_code == EXIT_OK
    assert path.with_name(path.name + ".bak").read_bytes() == b"not a database at all" * 100
