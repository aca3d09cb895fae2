"""``passport inspect / incident / ship`` against a ledger deployed from settings (anvil)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import app
from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from passport.chain import Role, Web3ChainClient
from passport.chain.keystore import Keystore
from passport.settings import Settings
from tests.chain_backends import ACTOR_KEYS, Actor, ChainBackend
from tests.cli.runner import issue, ok, runner

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)

UN38_3 = {"title": "UN 38.3 test summary", "content": "https://example.com/un38-3.pdf"}


@pytest.fixture
def with_inspector(ledger_settings: Settings, deployed: str, ledger: ChainBackend, inspector: Actor) -> Actor:
    """The ``inspector`` participant in the keystore, holding INSPECTOR_ROLE on the deployed registry."""
    Keystore.from_settings(ledger_settings).import_key("inspector", inspector.key)
    assert ledger.url is not None
    admin = Web3ChainClient.from_rpc(ledger.url, ACTOR_KEYS["admin"], deployed, settings=ledger_settings)
    admin.grant_role(Role.INSPECTOR, inspector.address)
    return inspector


def _shipment(tmp_path: Path, soc: float, packaging: str) -> str:
    path = tmp_path / f"shipment-{packaging}-{soc}.json"
    path.write_text(
        json.dumps(
            {
                "shipment_id": "SHP-CLI-1",
                "from_party": {"name": "Hanbit Energy"},
                "to_party": {"name": "Green Reuse"},
                "carrier": {"name": "K-Logistics"},
                "state_of_charge_percent": soc,
                "packaging_class": packaging,
                "un38_3_test_summary": UN38_3,
            }
        )
    )
    return str(path)


def test_inspect_incident_alerts_ship_and_store(with_inspector: Actor, tmp_path: Path) -> None:
    pid = issue()
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG evidence")
    recorded = ok(
        "inspect", "record", pid, "--stage", "pre_distribution", "--result", "pass",
        "--method", "KS C IEC 62619",
        "--check", "casing=pass", "--check", "insulation=pass:540 MOhm", "--valid-days", "30",
        "--equipment", "Megger MIT1025", "--evidence", str(photo), "--as", "inspector",
    )  # fmt: skip
    assert recorded["version"] == 2
    assert [e["name"] for e in recorded["events"]] == ["PassportUpdated", "InspectionRecorded"]
    assert ok("inspect", "state", pid)["distribution_valid_until"] > 0
    [*_, last] = ok("inspect", "list", pid)
    assert (last["stage"], last["checks"][1]["value"]) == ("pre_distribution", "540 MOhm")
    assert last["evidence"][0]["content"].startswith("ipfs://")
    # The evidence was stored sealed; `inspect evidence` opens it and checks its SHA-256.
    opened = tmp_path / "opened.png"
    read = runner.invoke(app, ["inspect", "evidence", pid, last["evidence"][0]["sha256"], "-o", str(opened)])
    assert read.exit_code == 0, read.output
    assert opened.read_bytes() == photo.read_bytes()
    assert "image/png" in read.output
    unknown = runner.invoke(app, ["inspect", "evidence", pid, "0" * 64, "-o", str(tmp_path / "x")])
    assert unknown.exit_code == EXIT_INVALID
    assert "ContentNotFound" in unknown.output

    reported = ok(
        "incident", "report", pid, "--kind", "thermal_event", "--description", "smoke after a collision",
        "--serious", "--role", "custodian",
    )  # fmt: skip
    assert reported["version"] == 3
    assert ok("inspect", "state", pid)["flagged"] is True
    assert pid in [a["passport_id"] for a in ok("incident", "alerts")]
    assert ok("incident", "list", pid)[-1]["serious"] is True

    too_charged = runner.invoke(app, ["ship", "record", pid, _shipment(tmp_path, 45, "air_pi965")])
    assert too_charged.exit_code == EXIT_UNREADABLE
    assert "30 %" in too_charged.output
    # Flagged: only the damaged/defective classes.
    refused = runner.invoke(app, ["ship", "record", pid, _shipment(tmp_path, 20, "road_sea_p903")])
    assert refused.exit_code == EXIT_UNREADABLE
    assert ok("ship", "record", pid, _shipment(tmp_path, 20, "damaged_p908"))["version"] == 4
    storage = tmp_path / "storage.json"
    storage.write_text(
        json.dumps(
            {
                "site": {"name": "Incheon warehouse"},
                "operator": {"name": "Green Reuse"},
                "stored_from": "2026-12-01T00:00:00Z",
                "conditions": {"min_temperature_c": 10, "max_temperature_c": 25},
            }
        )
    )
    assert ok("ship", "store", pid, str(storage))["version"] == 5

    cleared = ok(
        "inspect", "record", pid, "--stage", "clearance", "--result", "pass", "--method", "teardown",
        "--check", "cells=pass", "--valid-days", "30", "--as", "inspector",
    )  # fmt: skip
    assert cleared["version"] == 6
    assert ok("inspect", "state", pid)["flagged"] is False
    assert pid not in [a["passport_id"] for a in ok("incident", "alerts")]


def test_input_mistakes_exit_2(with_inspector: Actor) -> None:
    pid = issue()
    # No device has journaled anything for this battery: nothing to add, no version written.
    assert ok("incident", "device-events", pid) == {"passport_id": pid, "added": 0}
    no_validity = runner.invoke(
        app,
        ["inspect", "record", pid, "--stage", "pre_distribution", "--result", "pass", "--method", "m",
         "--check", "c=pass", "--as", "inspector"],
    )  # fmt: skip
    assert no_validity.exit_code == EXIT_UNREADABLE
    assert "--valid-days" in no_validity.output
    bad_check = runner.invoke(
        app,
        ["inspect", "record", pid, "--stage", "clearance", "--result", "fail", "--method", "m",
         "--check", "casing", "--as", "inspector"],
    )  # fmt: skip
    assert bad_check.exit_code == EXIT_UNREADABLE
    not_an_inspector = runner.invoke(
        app,
        ["inspect", "record", pid, "--stage", "clearance", "--result", "pass", "--method", "m",
         "--check", "c=pass", "--valid-days", "1", "--as", "issuer"],
    )  # fmt: skip
    assert not_an_inspector.exit_code == EXIT_INVALID
    assert "AccessControlUnauthorizedAccount" in not_an_inspector.output
