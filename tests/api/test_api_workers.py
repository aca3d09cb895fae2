"""Two API servers (uvicorn, the documented ``--factory api.app:app_from_environment``; the second with
``--workers 2``, so three API processes) on one PostgreSQL and one chain: an API key issued through one
is accepted by the other, and a key revoked or rotated through one is refused by the other on its very
next request; exactly one process holds the audit follower's lease, and when it is killed another takes
it over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from api.auth import ApiKeyStore
from api.onboarding import bootstrap_admin
from devtools.localchain import local_chain
from devtools.localnodes import free_port
from passport.chain.deployment import deploy
from passport.chain.keystore import Keystore
from passport.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.node, pytest.mark.slow]

FOLLOWER_LOCK = "passport.keys.audit-follower"


def _serve(settings: Settings, log_path: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(settings.data_dir),
        "PASSPORT_RPC_URL": str(settings.rpc_url),
        "PASSPORT_DATABASE_URL": str(settings.database_url),
        "PASSPORT_PUBLIC_BASE_URL": base_url,
        "PASSPORT_POLL_LATENCY": "0.01",
    }
    argv = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_environment"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, base_url


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    # Generous: three processes import the app and build their services at once on a loaded CI machine.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the API exited with {process.returncode}: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the API did not answer within 300 s: {log_path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _lease_held(url: str) -> bool:
    """Whether some session holds the follower's advisory lock (probing takes it for a moment only)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (FOLLOWER_LOCK,)
        ).fetchone()
        assert row is not None
        if row[0]:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (FOLLOWER_LOCK,))
            return False
        return True


@pytest.fixture
def workers(
    tmp_path: Path, postgres_url: str
) -> Iterator[tuple[Settings, str, list[tuple[subprocess.Popen[bytes], str]]]]:
    settings = Settings(
        environment="development",
        data_dir=tmp_path / "data",
        local_chain="anvil",
        local_chain_port=free_port(),
        database_url=postgres_url,
    )
    addresses = Keystore.from_settings(settings).ensure()
    node = local_chain(settings)
    node.start()
    processes: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        node.fund(addresses.values())
        settings = settings.model_copy(update={"rpc_url": node.url})
        deploy(settings, rpc_url=node.url)
        keys = ApiKeyStore.from_settings(settings)
        try:
            _, admin_key = bootstrap_admin(keys, addresses["admin"])
        finally:
            keys.close()
        logs = [tmp_path / f"api-{i}.log" for i in range(2)]
        processes = [_serve(settings, log, workers) for log, workers in zip(logs, (1, 2), strict=True)]
        for (process, base_url), log in zip(processes, logs, strict=True):
            _wait_healthy(process, base_url, log)
        yield settings, admin_key, processes
    finally:
        for process, _ in processes:
            _stop(process)
        node.stop()


def test_keys_written_through_one_worker_hold_at_once_in_the_other(
    workers: tuple[Settings, str, list[tuple[subprocess.Popen[bytes], str]]],
) -> None:
    settings, admin_key, [(process_a, a), (process_b, b)] = workers
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(timeout=30) as http:
        created = http.post(
            f"{a}/api/v1/participants",
            headers=admin,
            json={"name": "auditor-1", "kind": "auditor", "display_name": "Audit Co", "country": "KR"},
        )
        assert created.status_code == 201, created.text
        issued = http.post(f"{a}/api/v1/participants/auditor-1/keys", headers=admin, json={})
        assert issued.status_code == 201, issued.text
        key, key_id = issued.json()["api_key"], issued.json()["key_id"]
        mine = {"Authorization": f"Bearer {key}"}

        # Issued through A, accepted by B (and by A).
        assert http.get(f"{b}/api/v1/participants/auditor-1", headers=mine).status_code == 200
        assert http.get(f"{a}/api/v1/participants/auditor-1", headers=mine).status_code == 200

        # Rotated through B: the old key is refused by A on the next request, the new one accepted.
        rotated = http.post(f"{b}/api/v1/participants/auditor-1/keys/{key_id}/rotate", headers=mine, json={})
        assert rotated.status_code == 201, rotated.text
        new_key, new_id = rotated.json()["api_key"], rotated.json()["key_id"]
        assert http.get(f"{a}/api/v1/participants/auditor-1", headers=mine).status_code == 401
        new = {"Authorization": f"Bearer {new_key}"}
        assert http.get(f"{a}/api/v1/participants/auditor-1", headers=new).status_code == 200

        # Revoked through A: B refuses it on its very next request.
        revoked = http.delete(f"{a}/api/v1/participants/auditor-1/keys/{new_id}", headers=admin)
        assert revoked.status_code == 200, revoked.text
        refused = http.get(f"{b}/api/v1/participants/auditor-1", headers=new)
        assert refused.status_code == 401
        assert "revoked" in refused.text

    # One process follows the chain into the audit index; kill whichever it is and the other takes over.
    assert settings.database_url is not None
    assert _lease_held(settings.database_url)
    process_a.send_signal(signal.SIGKILL)
    process_a.wait(timeout=10)
    deadline = time.monotonic() + 15
    while not _lease_held(settings.database_url):
        assert time.monotonic() < deadline, "no surviving worker took the follower lease over"
        time.sleep(0.3)
    assert process_b.poll() is None
    for _ in range(4):  # either of B's workers answers
        assert httpx.get(f"{b}/api/v1/health", timeout=5).status_code == 200
