"""``passport health refresh|evidence|verify --chain|warnings`` on the ledger and journal of the settings.

A sample passport is issued, its device's readings are journaled and anchored by the oracle's
``Anchorer`` on a registry deployed on anvil, then the CLI refreshes its health as the inspector.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.main import app
from cli.output import EXIT_INVALID
from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.device_health import health_policy
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from passport.chain.keystore import Keystore
from passport.chain.records import Role
from passport.envelope import KeyRing
from passport.ledger import open_ledger
from passport.settings import Settings
from tests.builders import SigningDevice, charging, device_key, diagnostics
from tests.chain_backends import Actor
from tests.cli.runner import ok, runner

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)
BATTERY = "CLI-HEALTH-0001"
DEVICE = SigningDevice("dev-cli-health", BATTERY, device_key(11))


def _readings() -> list[dict[str, Any]]:
    # The sample pack (111.2 Ah new): a 9 Ah step within a week raises sudden_capacity_drop.
    return [
        charging(),
        diagnostics(
            measured_at="2025-03-01T00:00:00Z", capacity_ah=105.0, soce_pct=95.0, internal_resistance_mohm=240
        ),
        diagnostics(
            measured_at="2025-03-08T00:00:00Z", capacity_ah=96.0, soce_pct=88.0, internal_resistance_mohm=250
        ),
    ]


@pytest.fixture
def settings(ledger_settings: Settings, inspector: Actor) -> Settings:
    """The ledger with an inspector participant, and the battery's readings anchored."""
    Keystore.from_settings(ledger_settings).import_key("inspector", inspector.key)
    ledger = open_ledger(ledger_settings)
    ledger.client("admin").grant_role(Role.INSPECTOR, inspector.address)
    with Journal(ledger_settings.journal_path) as journal:
        DEVICE.register(journal)
        assert Ingestor(journal).ingest(DEVICE.upload(_readings(), seq=1)).status == "accepted"
        oracle = ledger.passports("oracle")
        Anchorer(
            journal,
            oracle.store,
            oracle.chain,
            AnchoringPolicy.from_settings(ledger_settings),
            keyring=KeyRing.from_settings(ledger_settings),
        ).drain()
    return ledger_settings


def test_refresh_then_evidence_verifies_offline_and_on_chain(settings: Settings, tmp_path: Path) -> None:
    pid = str(ok("issue", "--sample", "--battery-id", BATTERY)["passport_id"])
    refreshed = ok("health", "refresh", pid, "--as", "inspector")
    assert refreshed["version"] == 2
    assert refreshed["policy"] == health_policy().id
    assert refreshed["records"] == 3
    assert refreshed["new_alerts"] == ["sudden_capacity_drop"]

    bundle = tmp_path / "evidence.json"
    written = runner.invoke(app, ["health", "evidence", pid, "-o", str(bundle)])
    assert written.exit_code == 0, written.output
    verified = ok("health", "verify", str(bundle), "--chain")
    assert verified["ok"] is True
    assert "anchors.on_chain" in {c["name"] for c in verified["checks"]}

    warnings = ok("health", "warnings", pid)
    assert [w["alert"]["rule"] for w in warnings] == ["sudden_capacity_drop"]

    data = json.loads(bundle.read_text())
    data["health"]["figures"]["state_of_health_pct"] = 99.0
    bundle.write_text(json.dumps(data))
    tampered = runner.invoke(app, ["health", "verify", str(bundle)])
    assert tampered.exit_code == EXIT_INVALID, tampered.output
    assert "figures.recompute" in tampered.stdout
    assert "INVALID" in tampered.stdout


def test_a_writer_without_the_inspector_role_is_refused(settings: Settings) -> None:
    pid = str(ok("issue", "--sample", "--battery-id", BATTERY)["passport_id"])
    refused = runner.invoke(app, ["health", "refresh", pid, "--as", "business"])
    assert refused.exit_code == EXIT_INVALID, refused.output
    assert "UnauthorizedWriter" in refused.stderr


def test_refresh_all_refreshes_each_open_passport_with_a_device(settings: Settings) -> None:
    pid = str(ok("issue", "--sample", "--battery-id", BATTERY)["passport_id"])
    other = SigningDevice("dev-cli-health-2", "CLI-HEALTH-0002", device_key(12))
    with Journal(settings.journal_path) as journal:
        other.register(journal)  # a device whose battery has no passport: counted, not an error
    summary = ok("health", "refresh-all", "--as", "inspector")
    assert (summary["refreshed"], summary["no_passport"], summary["failed"]) == (1, 1, 0)
    assert summary["new_alerts"] == 1
    assert ok("show", pid)["version"] == 2
    again = ok("health", "refresh-all", "--as", "inspector")
    assert (again["refreshed"], again["new_alerts"]) == (1, 0)  # the alert was journaled once
