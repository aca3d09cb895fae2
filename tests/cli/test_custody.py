"""``passport custody offer / accept / cancel / history`` against a ledger deployed from settings.

anvil is enough to cover the commands' own logic (the ledger behaviour itself is covered on every backend
by the registry suites).
"""

from __future__ import annotations

import uuid

import pytest

import cli.audit
from cli.main import app
from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from passport.settings import Settings
from tests.chain_backends import Actor
from tests.cli.runner import issue, ok, register, runner

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)


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
    monkeypatch.setattr(cli.audit, "SYNC_STEP", 1)
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


def test_settings_are_read_once_per_invocation(
    deployed: str, business: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``history`` opens the ledger and the audit index: both from the one ``Settings.load()``."""
    register(business.address)
    pid = issue()
    loads: list[Settings] = []
    load = Settings.load

    def counting_load(**overrides: object) -> Settings:
        loads.append(load(**overrides))
        return loads[-1]

    monkeypatch.setattr(Settings, "load", counting_load)
    ok("custody", "history", pid)
    assert len(loads) == 1


def test_a_bad_setting_exits_2_naming_it(deployed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_POLL_LATENCY", "-1")
    result = runner.invoke(app, ["custody", "history", str(uuid.UUID(int=7))])
    assert result.exit_code == EXIT_UNREADABLE, result.output
    assert "poll_latency" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["custody", "offer", "not-a-uuid", "0x" + "11" * 20], EXIT_UNREADABLE, "invalid passport id"),
        (["custody", "offer", str(uuid.UUID(int=7)), "0x1234"], EXIT_UNREADABLE, "invalid address"),
        (["custody", "history", "0x1234"], EXIT_UNREADABLE, "invalid passport id"),
        (["custody", "history", str(uuid.UUID(int=7))], EXIT_INVALID, "PassportNotFound"),
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


def test_offering_a_passport_one_does_not_hold_names_the_ledger_error(deployed: str, business: Actor) -> None:
    register(business.address)
    pid = issue()
    stolen = runner.invoke(app, ["custody", "offer", pid, business.address, "--as", "business"])
    assert stolen.exit_code == EXIT_INVALID
    assert "BatteryPassportRegistry" in stolen.stderr
