"""``passport device``, ``passport owner`` and ``passport share`` on the stores of the settings.

Device commands need only the journal under ``PASSPORT_DATA_DIR``; owner and share commands also read
the ledger (custodian, battery id), so they run on a registry deployed on anvil.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.auth import ApiKeyStore
from cli.main import app
from cli.output import EXIT_INVALID
from oracle.devices import DeviceKey
from passport.settings import Settings
from tests.builders import SigningDevice, charging
from tests.cli.runner import issue, ok

runner = CliRunner()


def fails(*argv: str) -> str:
    result = runner.invoke(app, list(argv))
    assert result.exit_code == EXIT_INVALID, result.output
    return result.output


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PASSPORT_ENVIRONMENT", "development")
    monkeypatch.setenv("PASSPORT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _upload(tmp_path: Path, device: SigningDevice, name: str) -> list[str]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(device.upload([charging()]).model_dump(mode="json")))
    return ["telemetry", "upload", str(path)]


def test_device_lifecycle(data_dir: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "device.key"
    made = ok("device", "keygen", "--out", str(key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = DeviceKey.from_private_key(bytes.fromhex(key_file.read_text().strip()[2:]))
    assert made["address"] == key.address
    api_key_file = tmp_path / "device.api-key"
    registered = ok(
        "device", "register", "cli-dev-1", "--battery", "CLI-BAT-0001", "--model", "OBD 2",
        "--firmware", "1.0", "--address", key.address, "--vehicle", "KMH-1",
        "--api-key-file", str(api_key_file),
    )  # fmt: skip
    assert registered["status"] == "active"
    assert api_key_file.read_text().startswith("bpl_")
    store = ApiKeyStore(Settings.load().api_keys_path)
    caller = store.authenticate(api_key_file.read_text().strip())
    assert caller.device_id == "cli-dev-1"
    assert caller.battery_ids == {"CLI-BAT-0001"}

    device = SigningDevice("cli-dev-1", "CLI-BAT-0001", key)
    assert runner.invoke(app, _upload(tmp_path, device, "first")).exit_code == 0
    assert ok("device", "suspend", "cli-dev-1", "--reason", "key leaked")["status"] == "suspended"
    refused = runner.invoke(app, _upload(tmp_path, device, "second"))
    assert refused.exit_code == EXIT_INVALID
    assert "device_suspended" in refused.output
    assert ok("device", "reinstate", "cli-dev-1")["status"] == "active"

    assert ok("device", "unbind", "cli-dev-1", "--reason", "pack swap")["battery_id"] is None
    assert "not bound" in fails("device", "unbind", "cli-dev-1")
    assert ok("device", "bind", "cli-dev-1", "--battery", "CLI-BAT-0002")["battery_id"] == "CLI-BAT-0002"
    assert store.participant("cli-dev-1").battery_ids == {"CLI-BAT-0002"}  # type: ignore[union-attr]
    store.close()

    (listed,) = ok("device", "list", "--battery", "CLI-BAT-0002")
    assert listed["device_id"] == "cli-dev-1"
    history = ok("device", "history", "--battery", "CLI-BAT-0001")
    assert [e["action"] for e in history] == ["registered", "bound", "suspended", "reinstated", "unbound"]
    assert "not registered" in fails("device", "suspend", "no-such-dev", "--reason", "x")


@pytest.mark.parametrize("chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True)
def test_owner_claim_share_and_log(deployed: str, ledger_settings: Settings, tmp_path: Path) -> None:
    pid = issue()
    code = ok("owner", "claim-code", pid)["claim_code"]
    key_file = tmp_path / "alice.api-key"
    link = ok("owner", "claim", code, "--name", "alice", "--api-key-file", str(key_file))
    assert link["passport_id"] == pid
    assert "already used" in fails("owner", "claim", code, "--name", "bob")
    keys = ApiKeyStore(ledger_settings.api_keys_path)
    alice = keys.authenticate(key_file.read_text().strip())
    assert alice.battery_ids == {link["battery_id"]}
    keys.upsert_participant("insurer", [])
    keys.close()

    assert "neither the owner" in fails(
        "share", "grant", pid, "--by", "mallory", "--to", "insurer", "--kind", "charging"
    )
    granted: dict[str, Any] = ok(
        "share", "grant", pid, "--by", "alice", "--to", "insurer", "--kind", "charging"
    )
    assert granted["active"] is True
    qr = tmp_path / "link.svg"
    bearer = ok("share", "grant", pid, "--by", "issuer", "--bearer", "--kind", "parking", "--qr", str(qr))
    assert bearer["url"].startswith("https://passports.example/api/v1/shared/")
    assert qr.read_text().lstrip().startswith("<")
    assert len(ok("share", "list", pid)) == 2
    assert ok("share", "revoke", pid, str(granted["id"]), "--by", "alice")["active"] is False
    assert ok("share", "log", pid) == []  # nothing restricted was read yet

    assert ok("owner", "sign-in-link", pid, "--name", "alice")["url"].startswith(
        "https://passports.example/p/"
    )
    assert len(ok("owner", "unlink", pid, "--reason", "sold")) == 1
    assert "not the current owner" in fails("owner", "sign-in-link", pid, "--name", "alice")
    (ended,) = ok("owner", "batteries", "--name", "alice")
    assert ended["reason"] == "sold"
