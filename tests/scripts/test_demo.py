"""The demo's banner and secret files: API keys only in the 0600 file, the tour's variables printed."""

from __future__ import annotations

import os
from pathlib import Path

from passport.settings import Settings
from scripts.demo import (
    KEY_VARIABLES,
    Demo,
    DemoInfo,
    _write_private,
    api_keys_env_path,
    key_id,
)

INFO = DemoInfo(
    passport_id="b363423e-0000-4000-8000-000000000001",
    battery_id="DEMO-12123940",
    created_at="2026-01-01T00:00:00+00:00",
    participants={
        "issuer": "issuer",
        "owner": "demo-owner",
        "auditor": "auditor",
        "business": "collector",
        "device": "demo-device-demo-12123940",
    },
    issuer_account="0x" + "11" * 20,
    business_account="0x" + "22" * 20,
    device_id="demo-device-demo-12123940",
    device_address="0x" + "33" * 20,
)
KEYS = {role: f"bpl_{n:032x}_{'s' * 40}{n}" for n, role in enumerate(KEY_VARIABLES)}


def test_the_banner_names_keys_by_id_and_never_prints_a_secret(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_port=9137)
    lines = Demo(INFO, KEYS, settings).summary(settings.public_base_url, "http://127.0.0.1:8545", "0xREG")
    banner = "\n".join(lines)
    for key in KEYS.values():
        assert key not in banner
        assert key.rsplit("_", 1)[1] not in banner  # not even the secret on its own
        assert key_id(key) in banner
    assert str(api_keys_env_path(settings)) in banner


def test_the_banner_prints_the_tour_variables_as_export_lines(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_port=9137)
    lines = Demo(INFO, None, settings).summary(settings.public_base_url, "http://127.0.0.1:8545", "0xREG")
    exports = dict(
        line.strip().removeprefix("export ").split("=", 1)
        for line in lines
        if line.strip().startswith("export ")
    )
    assert exports == {
        "API": "http://127.0.0.1:9137/api/v1",
        "PID": INFO.passport_id,
        "BATTERY": INFO.battery_id,
        "ISSUER": INFO.issuer_account,
        "BUSINESS": INFO.business_account,
        "RPC": "http://127.0.0.1:8545",
        "REGISTRY": "0xREG",
    }
    assert f"  source {api_keys_env_path(settings)}" in lines
    assert f"           page: http://127.0.0.1:9137/p/{INFO.passport_id}" in lines


def test_key_id_keeps_the_public_id_only() -> None:
    key = "bpl_" + "ab" * 16 + "_" + "secret" * 8
    assert key_id(key) == "bpl_" + "ab" * 16 + "_…"


def test_secret_files_are_0600_in_a_0700_directory_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "api-keys.env"
    previous = os.umask(0o000)
    try:
        _write_private(path, "export DEMO_OWNER_KEY=bpl_x_y\n")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.read_text() == "export DEMO_OWNER_KEY=bpl_x_y\n"
