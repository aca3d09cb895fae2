"""Managed ganache and anvil nodes: start, readiness, stop by PID, adoption, persistence across restarts."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from devtools.errors import NodeProcessError, UnsafeBinding
from devtools.localchain import (
    FUNDING_WEI,
    AnvilNode,
    GanacheNode,
    LocalChainNode,
    NodeSupervisor,
    local_chain,
)
from devtools.localnodes import free_port, pid_alive
from passport.chain.jsonrpc import json_rpc
from passport.settings import Settings

NodeFactory = Callable[..., LocalChainNode]
KINDS = {"ganache": GanacheNode, "anvil": AnvilNode}


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[NodeFactory]:
    """Build nodes in ``tmp_path`` on free ports; every node built is stopped by PID afterwards."""
    built: list[LocalChainNode] = []

    def make(
        kind: str, chain_dir: Path | None = None, port: int | None = None, **kwargs: Any
    ) -> LocalChainNode:
        node = KINDS[kind](chain_dir or tmp_path / kind, port=port or free_port(), **kwargs)
        built.append(node)
        return node

    yield make
    for node in reversed(built):
        node.stop()


def _send_value(node: LocalChainNode, key: bytes, to: str, value: int) -> str:
    sender = Account.from_key(key).address
    tx = {
        "to": to,
        "value": value,
        "gas": 21_000,
        "gasPrice": int(node.rpc("eth_gasPrice"), 16) * 2,
        "nonce": int(node.rpc("eth_getTransactionCount", sender, "latest"), 16),
        "chainId": node.chain_id,
    }
    raw = Account.sign_transaction(tx, key).raw_transaction
    return str(node.rpc("eth_sendRawTransaction", "0x" + raw.hex()))


def test_non_loopback_host_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeBinding, match="loopback"):
        GanacheNode(tmp_path, host="0.0.0.0")  # noqa: S104 (the binding being refused)


def test_local_chain_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, local_chain="anvil", local_chain_port=9999)
    node = local_chain(settings)
    assert isinstance(node, AnvilNode)
    assert node.url == "http://127.0.0.1:9999"
    assert node.data_path == tmp_path / "chain" / "anvil-state.json"
    assert isinstance(local_chain(settings, "ganache"), GanacheNode)
    # status() and stop() of a node never started need no process and no node_modules.
    assert not node.status().running
    node.stop()


@pytest.mark.node
@pytest.mark.parametrize("kind", ["ganache", "anvil"])
def test_start_status_adopt_and_stop_by_pid(make_node: NodeFactory, kind: str) -> None:
    node = make_node(kind, chain_id=4242)
    pid = node.start()
    assert not node.adopted
    assert node.pid_file.read_text().split()[0] == str(pid)
    status = node.status()
    assert (status.running, status.pid, status.chain_id) == (True, pid, 4242)
    assert int(json_rpc(node.url, "eth_chainId"), 16) == 4242
    # No dev accounts of the node's own: nothing derived from a well-known mnemonic.
    assert node.rpc("eth_accounts") == []

    # A second handle on the same directory adopts the running node instead of starting another.
    again = make_node(kind, chain_dir=node.chain_dir, port=node.port, chain_id=4242)
    assert again.start() == pid
    assert again.adopted
    # ...and can stop it, by the recorded PID.
    again.stop()
    assert not pid_alive(pid)
    assert not node.pid_file.exists()
    assert not node.status().running


@pytest.mark.node
@pytest.mark.parametrize("kind", ["ganache", "anvil"])
def test_state_persists_across_restarts(make_node: NodeFactory, kind: str) -> None:
    node = make_node(kind)
    node.start()
    key = bytes(Account.create().key)
    sender = Account.from_key(key).address
    recipient = Account.create().address
    assert node.fund([sender]) == [sender]
    assert node.fund([sender]) == []  # already funded: untouched
    tx_hash = _send_value(node, key, recipient, 12345)
    receipt = node.rpc("eth_getTransactionReceipt", tx_hash)
    assert int(receipt["status"], 16) == 1
    head = node.rpc("eth_getBlockByNumber", "latest", False)
    node.stop()

    restarted = make_node(kind, chain_dir=node.chain_dir, port=node.port)
    restarted.start()
    assert not restarted.adopted
    assert int(restarted.rpc("eth_getBalance", recipient, "latest"), 16) == 12345
    assert restarted.rpc("eth_getTransactionReceipt", tx_hash)["blockHash"] == receipt["blockHash"]
    assert restarted.rpc("eth_getBlockByNumber", head["number"], False)["hash"] == head["hash"]
    assert restarted.fund([sender]) == []  # the balance came back too
    assert int(restarted.rpc("eth_getBalance", sender, "latest"), 16) < FUNDING_WEI


@pytest.mark.node
def test_port_taken_by_a_foreign_process_is_refused(make_node: NodeFactory) -> None:
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen()
        node = make_node("anvil", port=foreign.getsockname()[1])
        with pytest.raises(NodeProcessError, match="in use"):
            node.start()
    assert not node.pid_file.exists()


@pytest.mark.node
def test_adopting_a_node_of_another_chain_fails_fast(make_node: NodeFactory) -> None:
    node = make_node("anvil", chain_id=1337)
    node.start()
    other = make_node("anvil", chain_dir=node.chain_dir, port=node.port, chain_id=5)
    with pytest.raises(NodeProcessError, match="chain id 1337, expected 5"):
        other.start()
    assert node.is_running()


@pytest.mark.node
def test_stale_pid_file_is_ignored(make_node: NodeFactory) -> None:
    node = make_node("anvil")
    node.chain_dir.mkdir(parents=True)
    # Our own PID with a start time that cannot be ours: a PID reused by an unrelated process.
    node.pid_file.write_text(f"{os.getpid()} 1\n")
    node.start()
    assert node.pid != os.getpid()
    assert not node.adopted


@pytest.mark.node
def test_a_supervised_node_killed_with_sigkill_restarts_with_its_state(make_node: NodeFactory) -> None:
    node = make_node("ganache")
    node.start()
    key = bytes(Account.create().key)
    sender = Account.from_key(key).address
    recipient = Account.create().address
    node.fund([sender])
    tx_hash = _send_value(node, key, recipient, 777)
    supervisor = NodeSupervisor(node, interval=0.1)
    supervisor.start()
    try:
        old = node.pid
        assert old is not None
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while (node.pid in (None, old) or not node.status().chain_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert node.pid not in (None, old)
        assert supervisor.restarts == 1
        assert not pid_alive(old)
        # Same port, same data: the transaction mined before the kill is still there.
        assert int(node.rpc("eth_getBalance", recipient, "latest"), 16) == 777
        assert int(node.rpc("eth_getTransactionReceipt", tx_hash)["status"], 16) == 1
    finally:
        supervisor.stop()
    node.stop()  # after the supervisor: nothing restarts it
    time.sleep(0.3)
    assert not node.is_running()
