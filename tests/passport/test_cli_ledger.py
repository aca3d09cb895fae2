"""``passport custody / business / versions / audit events`` against a ledger deployed from settings.

Like ``test_cli_service``, the commands read ``PASSPORT_*`` settings (an RPC URL and a data dir with
the deployment manifest and keystore), so they run on a node; anvil is enough to cover the commands'
own logic (the ledger behaviour itself is covered on every backend by the registry suites).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import passport.cli
from passport.chain.deployment import RoleGrant, deploy
from passport.chain.keystore import Keystore
from passport.chain.records import Role
from passport.cli import EXIT_INVALID, EXIT_UNREADABLE, app
from passport.ids import passport_id_bytes32
from passport.settings import Settings
from tests.chain_backends import ACTOR_KEYS, Actor, ChainBackend

runner = CliRunner()
pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)
CERTIFICATE = "0x" + "ab" * 32


@pytest.fixture
def deployed(
    ledger: ChainBackend,
    issuer: Actor,
    business: Actor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """PASSPORT_* pointing at a fresh registry, with admin, issuer and business in the keystore."""
    assert ledger.url is not None
    for name, value in {
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(tmp_path / "data"),
        "PASSPORT_RPC_URL": ledger.url,
        "PASSPORT_PUBLIC_BASE_URL": "https://passports.example",
        "PASSPORT_POLL_LATENCY": "0.005",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    keystore = Keystore.from_settings(settings)
    keystore.import_key("admin", ACTOR_KEYS["admin"])
    keystore.import_key("issuer", issuer.key)
    keystore.import_key("business", business.key)
    manifest = deploy(
        settings,
        deployer_key=ACTOR_KEYS["admin"],
        role_grants=[RoleGrant(role=Role.ISSUER, account=issuer.address, participant="issuer")],
    )
    return manifest.registry_address


def ok(*argv: str) -> Any:
    result = runner.invoke(app, [*argv, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def issue() -> str:
    return str(ok("issue", "--sample")["passport_id"])


def register(account: str) -> Any:
    return ok(
        "business",
        "register",
        account,
        "--kind",
        "collector",
        "--kind",
        "recycler",
        "--certificate-hash",
        CERTIFICATE,
    )


def test_business_register_suspend_reinstate_show(deployed: str, business: Actor) -> None:
    registered = register(business.address.lower())
    assert registered["account"] == business.address
    assert [e["name"] for e in registered["events"]] == ["BusinessRegistered"]

    shown = ok("business", "show", business.address)
    assert shown == {
        "account": business.address,
        "kinds": ["collector", "recycler"],
        "registration_hash": CERTIFICATE,
        "active": True,
        "registered_at": shown["registered_at"],
    }
    assert [e["name"] for e in ok("business", "suspend", business.address)["events"]] == ["BusinessSuspended"]
    assert ok("business", "show", business.address)["active"] is False
    assert [e["name"] for e in ok("business", "reinstate", business.address)["events"]] == [
        "BusinessReinstated"
    ]
    text = runner.invoke(app, ["business", "show", business.address])
    assert text.exit_code == 0, text.output
    assert "recycler" in text.stdout


def test_custody_offer_accept_history_and_versions(
    deployed: str, issuer: Actor, business: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(business.address)
    pid = issue()
    offered = ok("custody", "offer", pid, business.address, "--expires-in", "3600")
    assert (offered["from"], offered["to"]) == (issuer.address, business.address)
    assert [e["name"] for e in offered["events"]] == ["CustodyOffered"]
    accepted = ok("custody", "accept", pid, "--as", "business")
    assert accepted["custodian"] == business.address

    # A one-block sync step takes the progress-bar path through every block since deployment.
    monkeypatch.setattr(passport.cli, "SYNC_STEP", 1)
    history = ok("custody", "history", pid)
    assert history["custodian"] == business.address
    assert history["pending_offer"] is None
    assert [e["name"] for e in history["events"]] == ["CustodyOffered", "CustodyTransferred"]
    assert history["events"][1]["args"]["to"] == business.address
    table = runner.invoke(app, ["custody", "history", pid])
    assert table.exit_code == 0, table.output
    assert "CustodyTransferred" in table.stdout

    versions = ok("versions", pid)["versions"]
    assert [(v["version"], v["status"], v["recorded"]) for v in versions] == [(1, "ORIGINAL", True)]
    assert versions[0]["signer"] == issuer.address


def test_custody_cancel(deployed: str, business: Actor) -> None:
    register(business.address)
    pid = issue()
    ok("custody", "offer", pid, business.address)
    assert [e["name"] for e in ok("custody", "cancel", pid)["events"]] == ["CustodyOfferCancelled"]
    assert ok("custody", "history", pid)["pending_offer"] is None


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
    ("argv", "code", "message"),
    [
        (["custody", "offer", "not-a-uuid", "0x" + "11" * 20], EXIT_UNREADABLE, "invalid passport id"),
        (["custody", "history", "0x1234"], EXIT_UNREADABLE, "invalid passport id"),
        (["versions", "nope"], EXIT_UNREADABLE, "invalid passport id"),
        (["business", "show", "0x1234"], EXIT_UNREADABLE, "invalid address"),
        (
            ["business", "register", "0x" + "11" * 20, "--kind", "collector", "--certificate-hash", "0x12"],
            EXIT_UNREADABLE,
            "certificate hash",
        ),
        (["audit", "events", "--passport", "x"], EXIT_UNREADABLE, "invalid passport id"),
        (["audit", "events", "--from-block", "9", "--to-block", "3"], EXIT_UNREADABLE, "from_block"),
        (["audit", "events", "-o", "x.json"], EXIT_UNREADABLE, "--format"),
        (["versions", str(uuid.UUID(int=7))], EXIT_INVALID, "PassportNotFound"),
        (["custody", "history", str(uuid.UUID(int=7))], EXIT_INVALID, "PassportNotFound"),
        (["business", "show", "0x" + "11" * 20], EXIT_INVALID, "BusinessNotFound"),
        (["custody", "accept", str(uuid.UUID(int=7)), "--as", "nobody"], EXIT_INVALID, "nobody"),
    ],
)
def test_bad_input_exits_2_and_ledger_errors_exit_1(
    deployed: str, argv: list[str], code: int, message: str
) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_acting_as_the_wrong_participant_names_the_ledger_error(deployed: str, business: Actor) -> None:
    refused = runner.invoke(
        app,
        [
            "business",
            "register",
            business.address,
            "--kind",
            "reuser",
            "--certificate-hash",
            CERTIFICATE,
            "--as",
            "issuer",
        ],
    )
    assert refused.exit_code == EXIT_INVALID
    assert "AccessControlUnauthorizedAccount" in refused.stderr
    register(business.address)
    pid = issue()
    stolen = runner.invoke(app, ["custody", "offer", pid, business.address, "--as", "business"])
    assert stolen.exit_code == EXIT_INVALID
    assert "BatteryPassportRegistry" in stolen.stderr
