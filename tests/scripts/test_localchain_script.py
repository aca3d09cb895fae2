"""``python -m scripts.localchain start|stop|status`` and ``python -m scripts.deploy``, through main()."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.localchain import local_chain
from devtools.localnodes import free_port, pid_alive
from passport.chain.deployment import load_deployment
from passport.chain.keystore import PARTICIPANTS, Keystore
from passport.settings import Settings
from scripts import deploy as deploy_script
from scripts import localchain as localchain_script


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A development data dir and anvil port in the environment the scripts read; anvil stopped after."""
    for name, value in {
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(tmp_path),
        "PASSPORT_LOCAL_CHAIN": "anvil",
        "PASSPORT_LOCAL_CHAIN_PORT": str(free_port()),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PASSPORT_RPC_URL", raising=False)
    monkeypatch.delenv("PASSPORT_KEYSTORE_PASSWORD", raising=False)
    settings = Settings()
    yield tmp_path
    for kind in ("anvil", "ganache"):
        local_chain(settings, kind).stop()


@pytest.mark.node
def test_start_status_deploy_stop(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert localchain_script.main(["status"]) == localchain_script.EXIT_NOT_RUNNING
    assert "not running" in capsys.readouterr().out

    assert localchain_script.main(["start"]) == 0
    out = capsys.readouterr().out
    assert "anvil started: http://127.0.0.1:" in out
    settings = Settings()
    node = local_chain(settings)
    pid = node.pid
    assert pid is not None
    keystore = Keystore.from_settings(settings)
    assert keystore.names() == sorted(PARTICIPANTS)
    assert int(node.rpc("eth_getBalance", keystore.address("admin"), "latest"), 16) > 0
    assert (env / "keystore-password").exists()

    assert localchain_script.main(["start"]) == 0
    assert "anvil already running" in capsys.readouterr().out
    assert node.pid == pid

    assert localchain_script.main(["status"]) == 0
    assert f"(pid {pid}, chain id 1337, block 0)" in capsys.readouterr().out

    assert deploy_script.main([]) == 0
    out = capsys.readouterr().out
    manifest = load_deployment(settings)
    assert f"registry:  {manifest.registry_address}" in out
    assert f"manifest:  {settings.deployment_manifest}" in out
    assert deploy_script.main([]) == 0
    assert load_deployment(settings) == manifest
    assert deploy_script.main(["--force", "--rpc", node.url]) == 0
    assert load_deployment(settings).registry_address != manifest.registry_address
    capsys.readouterr()

    assert localchain_script.main(["stop"]) == 0
    assert "anvil stopped" in capsys.readouterr().out
    assert not pid_alive(pid)
    assert localchain_script.main(["stop"]) == 0
    assert "not running" in capsys.readouterr().out


def test_errors_are_reported_not_raised(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    assert deploy_script.main(["--rpc", closed]) == 1
    assert "error:" in capsys.readouterr().err
    (env / "deployment.json").write_text(json.dumps({"format": 1}))
    assert deploy_script.main(["--rpc", closed]) == 1


def test_invalid_settings_are_reported(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PASSPORT_ENVIRONMENT", "production")  # and no keystore password
    assert localchain_script.main(["status"]) == 1
    assert "PASSPORT_KEYSTORE_PASSWORD" in capsys.readouterr().err
