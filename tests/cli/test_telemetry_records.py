"""``passport telemetry upload`` and ``passport record proof`` on the journal and ledger of the settings.

The journal is the API's (``Settings.journal_path`` under ``PASSPORT_DATA_DIR``); the device is
registered in it the way the API tests do, the upload is signed with ``sign_upload`` like a device's,
and the record is anchored by the oracle's ``Anchorer`` on a registry deployed on anvil before its
proof is asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.journal import Journal
from passport.envelope import KeyRing
from passport.ledger import open_ledger
from passport.settings import Settings
from tests.builders import SigningDevice, charging, device_key

runner = CliRunner()
pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)
BATTERY = "CLI-TELEMETRY-0001"
DEVICE = "dev-cli-0001"
DEVICE_KEY = device_key(8)


@pytest.fixture
def settings(ledger_settings: Settings) -> Settings:
    """The ledger with the device registered in the journal."""
    with Journal(ledger_settings.journal_path) as journal:
        journal.register_device(DEVICE, DEVICE_KEY.address, BATTERY)
    return ledger_settings


def write_uploads(path: Path, *uploads: Any) -> Path:
    path.write_text(json.dumps(uploads[0] if len(uploads) == 1 else list(uploads)))
    return path


def signed(seq: int, *readings: dict[str, Any]) -> dict[str, Any]:
    return SigningDevice(DEVICE, BATTERY, DEVICE_KEY).upload(list(readings), seq=seq).model_dump(mode="json")


def test_upload_acknowledges_then_the_anchored_record_has_a_proof(settings: Settings, tmp_path: Path) -> None:
    upload = write_uploads(tmp_path / "upload.json", signed(1, charging(), charging(energy_kwh=-1)))
    result = runner.invoke(app, ["telemetry", "upload", str(upload), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["accepted"], body["rejected"]) == (1, 0)
    (ack,) = body["acknowledgements"]
    assert (ack["status"], ack["device_id"], ack["seq"]) == ("accepted", DEVICE, 1)
    assert [a["index"] for a in ack["accepted"]] == [0]
    assert [r["index"] for r in ack["rejected"]] == [1]
    digest = ack["accepted"][0]["digest"]

    again = runner.invoke(app, ["telemetry", "upload", str(upload)])
    assert again.exit_code == 0, again.output
    assert f"{DEVICE}#1 duplicate" in again.stdout

    pending = runner.invoke(app, ["record", "proof", digest])
    assert pending.exit_code == EXIT_INVALID
    assert "NotAnchored" in pending.stderr

    oracle_chain = open_ledger(settings).passports("oracle")
    with Journal(settings.journal_path) as journal:
        anchorer = Anchorer(
            journal,
            oracle_chain.store,
            oracle_chain.chain,
            AnchoringPolicy.from_settings(settings),
            keyring=KeyRing.from_settings(settings),
        )
        anchorer.seal(force=True)
        anchorer.drain()
    proved = runner.invoke(app, ["record", "proof", digest, "--json"])
    assert proved.exit_code == 0, proved.output
    proof = json.loads(proved.stdout)
    assert (proof["verified_offline"], proof["verified_on_chain"]) == (True, True)
    assert proof["proof"]["record_digest"] == digest
    text = runner.invoke(app, ["record", "proof", digest])
    assert text.exit_code == 0, text.output
    assert "on_chain         PASS" in text.stdout


def test_rejected_upload_exits_1_with_its_reason(settings: Settings, tmp_path: Path) -> None:
    forged = signed(1, charging())
    forged["battery_id"] = "SOMEONE-ELSES"
    stranger = SigningDevice("dev-unknown", BATTERY, device_key(9)).upload([charging()], seq=1)
    upload = write_uploads(
        tmp_path / "batch.json", forged, stranger.model_dump(mode="json"), signed(2, charging())
    )
    result = runner.invoke(app, ["telemetry", "upload", str(upload), "--json"])
    assert result.exit_code == EXIT_INVALID, result.output
    body = json.loads(result.stdout)
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert [ack["status"] for ack in body["acknowledgements"]] == ["rejected", "rejected", "accepted"]
    assert body["acknowledgements"][1]["code"] == "unknown_device"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["telemetry", "upload", "missing.json"], "cannot read"),
        (["record", "proof", "0x1234"], "invalid record digest"),
    ],
)
def test_unreadable_input_exits_2(settings: Settings, argv: list[str], message: str) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == EXIT_UNREADABLE, result.output
    assert message in result.stderr


def test_unknown_record_is_exit_1(settings: Settings) -> None:
    result = runner.invoke(app, ["record", "proof", "0x" + "ee" * 32])
    assert result.exit_code == EXIT_INVALID
    assert "RecordNotFound" in result.stderr
