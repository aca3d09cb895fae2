"""``passport issue / show / bundle / versions`` on a ledger deployed from settings (node backends)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from cli.main import app
from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from tests.chain_backends import Actor, ChainBackend
from tests.cli.runner import BASE_URL, runner

NODES = [pytest.param("ganache", marks=pytest.mark.node), pytest.param("anvil", marks=pytest.mark.node)]
pytestmark = pytest.mark.parametrize("chain_backend", NODES, indirect=True)


def issue(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["issue", "--sample", "--json", *args])
    assert result.exit_code == 0, result.output
    issued: dict[str, object] = json.loads(result.stdout)
    return issued


def test_issue_show_bundle_verify(deployed: str, issuer: Actor, ledger: ChainBackend, tmp_path: Path) -> None:
    issued = issue("--battery-id", "CLI-BAT-0001", "--chemistry", "LFP")
    pid = str(issued["passport_id"])
    assert (issued["version"], issued["status"], issued["signer"]) == (1, "ORIGINAL", issuer.address)
    assert issued["url"] == f"{BASE_URL}/p/{pid}"
    assert str(issued["manifest_cid"]).startswith("bafkrei")
    assert str(issued["tx_hash"]).startswith("0x")

    shown = json.loads(runner.invoke(app, ["show", pid, "--json"]).stdout)
    assert shown["tiers"] == ["public"]
    assert shown["data"]["general"]["battery_id"] == "CLI-BAT-0001"
    assert "put_into_service" not in shown["data"]["general"]
    assert shown["manifest_cid"] == issued["manifest_cid"]
    everything = runner.invoke(
        app, ["show", f"urn:uuid:{pid}", "--tier", "public", "--tier", "legitimate_interest", "--json"]
    )
    assert everything.exit_code == 0, everything.output
    assert json.loads(everything.stdout)["data"]["general"]["put_into_service"] == "2024-10-01"
    text = runner.invoke(app, ["show", pid])
    assert text.exit_code == 0
    assert "CLI-BAT-0001" in text.stdout

    bundle = tmp_path / "bundle.json"
    written = runner.invoke(app, ["bundle", pid, "-o", str(bundle)])
    assert written.exit_code == 0, written.output
    assert ledger.url is not None
    verified = runner.invoke(
        app, ["verify", str(bundle), "--trust", issuer.address, "--rpc", ledger.url, "--registry", deployed]
    )
    assert verified.exit_code == 0, verified.output


def test_the_page_url_follows_the_api_port_and_an_export_line_names_the_id(
    deployed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PASSPORT_PUBLIC_BASE_URL")
    monkeypatch.setenv("PASSPORT_API_PORT", "9137")
    issued = issue()
    assert issued["url"] == f"http://127.0.0.1:9137/p/{issued['passport_id']}"
    text = runner.invoke(app, ["issue", "--sample"])
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    pid = lines[-1].removeprefix("export PID=")
    assert lines[-1] == f"export PID={uuid.UUID(pid)}"
    assert f"url              http://127.0.0.1:9137/p/{pid}" in lines


def test_issuing_the_same_battery_twice_is_a_ledger_error(deployed: str) -> None:
    issue("--battery-id", "CLI-BAT-0002")
    again = runner.invoke(app, ["issue", "--sample", "--battery-id", "CLI-BAT-0002"])
    assert again.exit_code == EXIT_INVALID
    assert "BatteryPassportRegistryPassportExists" in again.stderr


def test_random_sample_ids_do_not_collide(deployed: str) -> None:
    assert issue()["passport_id"] != issue()["passport_id"]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["show", "not-a-uuid"], EXIT_UNREADABLE, "invalid passport id"),
        (["bundle", "0x1234", "-o", "x.json"], EXIT_UNREADABLE, "invalid passport id"),
        (["issue", "--sample", "--battery-id", "no spaces allowed"], EXIT_UNREADABLE, "invalid battery id"),
        (["issue"], EXIT_UNREADABLE, "--sample"),
        (["versions", "nope"], EXIT_UNREADABLE, "invalid passport id"),
        (["show", str(uuid.UUID(int=7))], EXIT_INVALID, "PassportNotFound"),
        (["versions", str(uuid.UUID(int=7))], EXIT_INVALID, "PassportNotFound"),
        (["bundle", str(uuid.UUID(int=7)), "-o", "x.json"], EXIT_INVALID, "PassportNotFound"),
    ],
)
def test_bad_input_exits_2_and_ledger_errors_exit_1(
    deployed: str, argv: list[str], code: int, message: str
) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stdout == ""
