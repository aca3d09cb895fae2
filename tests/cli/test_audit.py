"""``passport audit events``: queries and exports of the audit index, synced from a deployed ledger."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cli.main import app
from cli.output import EXIT_UNREADABLE
from passport.ids import passport_id_bytes32
from tests.chain_backends import Actor
from tests.cli.runner import issue, ok, register, runner

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)


def test_audit_events_json_and_csv(deployed: str, business: Actor, tmp_path: Path) -> None:
    register(business.address)
    pid = issue()
    issue()
    events = json.loads(runner.invoke(app, ["audit", "events", "--passport", pid, "--format", "json"]).stdout)
    assert [e["name"] for e in events] == ["PassportIssued"]
    assert events[0]["passport_id"] == "0x" + passport_id_bytes32(pid).hex()

    every = ok("audit", "events", "--kind", "PassportIssued")
    assert len(every) == 2
    limited = ok("audit", "events", "--limit", "1")
    assert len(limited) == 1

    out = tmp_path / "events.csv"
    written = runner.invoke(
        app, ["audit", "events", "--actor", business.address, "--format", "csv", "-o", str(out)]
    )
    assert written.exit_code == 0, written.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [row["name"] for row in rows] == ["BusinessRegistered"]
    assert json.loads(rows[0]["args"])["account"] == business.address

    table = runner.invoke(app, ["audit", "events", "--from-block", "0"])
    assert table.exit_code == 0, table.output
    assert "PassportIssued" in table.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit", "events", "--passport", "x"], "invalid passport id"),
        (["audit", "events", "--battery-id", "no spaces"], "invalid battery id"),
        (["audit", "events", "--from-block", "9", "--to-block", "3"], "from_block"),
        (["audit", "events", "-o", "x.json"], "--format"),
    ],
)
def test_bad_input_exits_2(deployed: str, argv: list[str], message: str) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == EXIT_UNREADABLE, result.output
    assert message in result.stderr
    assert result.stdout == ""
