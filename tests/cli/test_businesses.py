"""``passport business register / suspend / reinstate / show`` against a ledger deployed from settings."""

from __future__ import annotations

import pytest

from cli.main import app
from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from tests.chain_backends import Actor
from tests.cli.runner import CERTIFICATE, ok, register, runner

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
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


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["business", "show", "0x1234"], EXIT_UNREADABLE, "invalid address"),
        (
            ["business", "register", "0x" + "11" * 20, "--kind", "collector", "--certificate-hash", "0x12"],
            EXIT_UNREADABLE,
            "certificate hash",
        ),
        (["business", "show", "0x" + "11" * 20], EXIT_INVALID, "BusinessNotFound"),
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
