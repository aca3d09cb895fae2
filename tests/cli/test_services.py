"""``passport services …`` against a ledger deployed from settings (anvil): the issuer records the legal
owner, the owner consents, a pack is installed and removed, a claim is recorded once (a second exits 1
naming the contract's error), and bad input exits 2. Every refusal of the contract is covered on every
backend by the contract suite."""

from __future__ import annotations

import pytest

from cli.main import app
from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from passport.chain.keystore import Keystore
from passport.servicemodels import vehicle_hash
from passport.settings import Settings
from tests.chain_backends import Actor
from tests.cli.runner import issue, ok, runner

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)


def test_owner_consent_binding_and_a_claim_once(
    deployed: str, ledger_settings: Settings, issuer: Actor, business: Actor
) -> None:
    pid = issue()
    owner = Keystore.from_settings(ledger_settings).address("business")
    assert ok("services", "owner", pid, owner)["legal_owner"] == owner
    consent = ok("services", "consent", pid, "recycle", "--as", "business")
    assert consent["action"] == "recycle"
    installed = ok("services", "install", pid, "--vin", "KMHXX81XXMU123456", "--soc", "80", "--as", "issuer")
    assert installed["holder_hash"] == "0x" + vehicle_hash("KMHXX81XXMU123456").hex()
    assert [step["installed"] for step in ok("services", "bindings", pid)["history"]] == [True]
    evidence = "0x" + "cd" * 32
    claimed = ok("services", "claim", pid, "energy_delivered", "202611", "1000", evidence, "--as", "issuer")
    assert claimed["period"] == 202611
    again = runner.invoke(
        app, ["services", "claim", pid, "energy_delivered", "202611", "5", evidence, "--as", "issuer"]
    )
    assert again.exit_code == EXIT_INVALID, again.output
    assert "BatteryServicesClaimExists" in again.output
    shown = ok("services", "show", pid)
    assert shown["legal_owner"] == owner
    assert [c["action"] for c in shown["consents"]] == ["recycle"]
    assert shown["binding"]["kind"] == "vehicle"
    bad = runner.invoke(app, ["services", "consent", pid, "sell", "--as", "business"])
    assert bad.exit_code == EXIT_UNREADABLE
    both = runner.invoke(app, ["services", "install", pid, "--as", "issuer"])
    assert both.exit_code == EXIT_UNREADABLE
    # Not the holder: refused by the contract until the admin makes the account an operator.
    stranger = runner.invoke(app, ["services", "remove", pid, "--as", "oracle"])
    assert stranger.exit_code == EXIT_INVALID
    assert "BatteryServicesUnauthorized" in stranger.output
    oracle = Keystore.from_settings(ledger_settings).address("oracle")
    assert ok("services", "grant-operator", oracle)["operator"] == oracle
    assert (
        ok("services", "remove", pid, "--soc", "30", "--as", "oracle")["events"][0]["name"] == "PackRemoved"
    )
