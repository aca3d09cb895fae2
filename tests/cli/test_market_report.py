"""``passport market …``, ``passport report`` and ``passport verify-report`` on a ledger deployed from
settings (anvil): a sale through the market completed by custody, a named refusal, and a provenance
report that verifies against the ledger and fails after one byte of its embedded data changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cli.main
from cli.output import EXIT_INVALID
from devtools.samples import sample_passport
from passport.chain.keystore import Keystore
from passport.ledger import open_ledger
from passport.settings import Settings
from tests.chain_backends import Actor
from tests.cli.runner import ok, register, runner

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)


def fresh_passport(settings: Settings, business: Actor) -> str:
    """A passport evaluated and inspected two days ago, issued as ``issuer`` and handed to ``business``."""
    passport = sample_passport(
        f"KR-CLI-{datetime.now(UTC):%H%M%S%f}", as_of=datetime.now(UTC) - timedelta(days=2)
    )
    open_ledger(settings).passports("issuer").issue(passport)
    pid = str(passport.passport_id)
    ok("custody", "offer", pid, business.address, "--expires-in", "3600")
    ok("custody", "accept", pid, "--as", "business")
    return pid


def test_market_sale_and_provenance_report(
    ledger_settings: Settings, business: Actor, recycler: Actor, tmp_path: Path
) -> None:
    Keystore.from_settings(ledger_settings).import_key("recycler", recycler.key)
    register(business.address)
    register(recycler.address)
    pid = fresh_passport(ledger_settings, business)

    stale = str(ok("issue", "--sample")["passport_id"])  # evaluated in 2025: not a current grade
    ok("custody", "offer", stale, business.address, "--expires-in", "3600")
    ok("custody", "accept", stale, "--as", "business")
    refused = runner.invoke(
        cli.main.app,
        ["market", "list", stale, "--price", "1", "--location", "Busan", "--as", "business"],
    )
    assert refused.exit_code == EXIT_INVALID, refused.output
    assert "evaluation" in refused.output

    listing = ok("market", "list", pid, "--price", "5000000", "--location", "Busan", "--as", "business")
    offer = ok("market", "offer", listing["id"], "--price", "4800000", "--as", "recycler")
    sale = ok("market", "accept", offer["id"], "--as", "business")
    assert sale["state"] == "agreed"
    ok("custody", "accept", pid, "--as", "recycler")
    shown = ok("market", "sale", sale["sale_id"])
    assert shown["state"] == "completed"
    assert shown["terms_match_ledger"] is True
    index = ok("market", "index")
    assert (index["total_sales"], index["hidden_sales"], index["groups"]) == (1, 1, [])

    for name in ("report.pdf", "report.html"):
        out = tmp_path / name
        written = runner.invoke(cli.main.app, ["report", pid, "--out", str(out)])
        assert written.exit_code == 0, written.output
        verified = ok("verify-report", str(out))
        assert verified["ok"] is True
        assert verified["passport_id"] == pid
    html = (tmp_path / "report.html").read_bytes()
    at = html.index(b'"battery_id":"KR-CLI-') + len(b'"battery_id":"')
    (tmp_path / "changed.html").write_bytes(html[:at] + b"X" + html[at + 1 :])
    failed = runner.invoke(cli.main.app, ["verify-report", str(tmp_path / "changed.html"), "--json"])
    assert failed.exit_code == EXIT_INVALID, failed.output
    result = json.loads(failed.stdout)
    assert [c["name"] for c in result["checks"] if not c["ok"]] == ["report.digest"]
