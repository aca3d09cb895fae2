"""Proof of scale through the API (issue #17): two API processes, two anchoring workers, one PostgreSQL.

Two uvicorn servers (separate processes, separate ports) share one PostgreSQL (journal, keys, audit
index) and one anvil chain. Signed device uploads and public passport reads alternate between them.
Two anchoring workers compete for the one leader lease; the first SIGKILLs itself right after it sent
its first anchoring transaction (its batches not yet marked). The survivor takes the lease over and
finishes. Then: every reading either server acknowledged is in exactly one confirmed batch, every root
is anchored exactly once on chain, and the audit index the servers share equals a rebuild from the chain.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from devtools.localchain import local_chain
from devtools.localnodes import free_port
from oracle.devices import sign_upload
from passport.audit import FollowerConfig, IndexFollower, SqliteAuditIndex, rebuild
from passport.chain.deployment import deploy, load_deployment
from passport.chain.keystore import Keystore
from passport.chain.web3_client import Web3ChainClient
from passport.db import open_url
from passport.settings import Settings
from scripts.bench_api import prepare, serve, stop
from scripts.demo import diagnostics_reading
from tests.oracle.test_scale_postgres import _Proc, assert_each_root_anchored_once, assert_every_ack_confirmed

DEVICES = 4
ROUNDS = 6  # uploads per device, alternating between the two servers
READINGS = 3


@pytest.mark.slow
@pytest.mark.node
@pytest.mark.postgres
def test_two_api_processes_two_anchorers_one_leader_killed(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(
        environment="development",
        data_dir=tmp_path / "data",
        local_chain="anvil",
        local_chain_port=free_port(),
        poll_latency=0.002,
        database_url=postgres_url,
    )
    addresses = Keystore.from_settings(settings).ensure()
    node = local_chain(settings)
    node.start()
    procs: list[_Proc] = []
    servers = []
    try:
        node.fund(addresses.values())
        settings = settings.model_copy(update={"rpc_url": node.url})
        deploy(settings, rpc_url=node.url)
        manifest = load_deployment(settings)
        passports, devices, _ = prepare(settings, 2, DEVICES)
        oracle_key = Keystore.from_settings(settings).private_key("oracle")

        anchor_args = [postgres_url, str(settings.data_dir), str(tmp_path / "sealed"), node.url]
        anchor_args += [manifest.registry_address, oracle_key.hex()]
        first = _Proc("anchor", *anchor_args, "1")
        procs.append(first)
        first.wait_for("leader", 120)
        second = _Proc("anchor", *anchor_args, "0")
        procs.append(second)

        for n in range(2):
            servers.append(
                serve(settings, node.url, tmp_path / f"uvicorn-{n}.log", database_url=postgres_url)
            )
        urls = [base_url for _, base_url in servers]

        acked: list[str] = []
        start = datetime.now(UTC) - timedelta(days=30)
        with httpx.Client(timeout=60) as client:
            for seq in range(1, ROUNDS + 1):
                for d, (device_id, battery_id, key, api_key) in enumerate(devices):
                    url = urls[(seq + d) % 2]  # each device's uploads go through both servers
                    batch = [
                        diagnostics_reading(start + timedelta(minutes=seq * READINGS + i))
                        for i in range(READINGS)
                    ]
                    upload = sign_upload(key, device_id, battery_id, seq, batch)
                    response = client.post(
                        f"{url}/api/v1/telemetry/uploads",
                        json=upload.model_dump(),
                        headers={"Authorization": f"Bearer {api_key}"},
                    )
                    assert response.status_code < 300, response.text
                    ack = response.json()
                    assert ack["status"] == "accepted", ack
                    acked += [record["digest"] for record in ack["accepted"]]
                for url in urls:  # public reads through both while the anchorers work
                    for pid in passports:
                        read = client.get(f"{url}/api/v1/passports/{pid}")
                        assert read.status_code == 200, read.text
        assert len(acked) == DEVICES * ROUNDS * READINGS
        assert len(set(acked)) == len(acked)

        assert first.popen.wait(timeout=120) == -signal.SIGKILL  # killed mid-batch, lease dropped
        second.wait_for("leader", 120)  # took over
        batches = assert_every_ack_confirmed(settings, acked, second, timeout=180)
        second.stop()

        chain = Web3ChainClient.from_rpc(node.url, oracle_key, manifest.registry_address, settings=settings)
        assert_each_root_anchored_once(chain, manifest.deploy_block_number, batches)

        # The index the API processes keep in PostgreSQL, caught up, equals a rebuild from the chain.
        config = FollowerConfig(start_block=manifest.deploy_block_number)
        index = SqliteAuditIndex(open_url(postgres_url, "audit"))
        try:
            IndexFollower(index, config).sync(chain)
            with rebuild(chain, tmp_path / "reference.sqlite", config) as reference:
                assert index.dump() == reference.dump()
                assert index.event_count() >= len(batches)
        finally:
            index.close()
    finally:
        for process, _ in servers:
            stop(process)
        for proc in procs:
            proc.stop()
        node.stop()
