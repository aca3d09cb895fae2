"""The follower against real chains (eth-tester in process, and an anvil node) with real reorgs.

The registry contract and its ``Web3ChainClient`` are not in the tree yet, so this suite deploys a tiny
hand-assembled event emitter and reads it through a minimal web3 ``EventSource``: real blocks, real
hashes, real ``eth_getLogs``, and reorgs made the way a node makes them (``evm_snapshot``/``evm_revert``
then different transactions; ``anvil_reorg`` on anvil). Once ``tests/conftest.py`` deploys the registry,
the same scenarios run against it through ``Web3ChainClient``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from eth_typing import ChecksumAddress, HexStr
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.exceptions import BlockNotFound

from devtools.localnodes import ManagedProcess, free_port, node_tool
from passport.audit import EventQuery, FollowerConfig, IndexFollower, SqliteAuditIndex, rebuild
from passport.chain.records import LedgerEvent

TOPIC = keccak(b"Emitted(bytes32,uint256,address)")
NAMES = ("PassportIssued", "CustodyOffered", "CustodyTransferred")


def _emitter_bytecode() -> bytes:
    # Runtime: LOG2(data = calldata[32:], topic0 = TOPIC, topic1 = calldata[0:32]); STOP.
    runtime = (
        bytes.fromhex("6020360360206000376000357f")
        + TOPIC
        + bytes.fromhex("602036036000a200")  # push size, offset 0, LOG2, STOP
    )
    # Init code: copy the runtime to memory and return it.
    init = bytes([0x60, len(runtime), 0x60, 12, 0x60, 0x00, 0x39, 0x60, len(runtime), 0x60, 0x00, 0xF3])
    return init + runtime


class Web3EventSource:
    """A minimal ``EventSource`` (and ``BlockTimestamps``) over web3, decoding the emitter's logs."""

    def __init__(self, w3: Web3, address: ChecksumAddress) -> None:
        self.w3 = w3
        self._address = address
        self._chain_id = w3.eth.chain_id

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def registry_address(self) -> str:
        return self._address

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    def block_hash(self, number: int) -> bytes | None:
        try:
            return bytes(self.w3.eth.get_block(number)["hash"])
        except BlockNotFound:
            return None

    def block_timestamp(self, number: int) -> int | None:
        try:
            return int(self.w3.eth.get_block(number)["timestamp"])
        except BlockNotFound:
            return None

    def events(self, from_block: int, to_block: int, names: Sequence[str] | None = None) -> list[LedgerEvent]:
        logs = self.w3.eth.get_logs({"fromBlock": from_block, "toBlock": to_block, "address": self._address})
        found = []
        for entry in logs:
            data = bytes(entry["data"])
            name = NAMES[int.from_bytes(data[:32], "big")]
            args: dict[str, Any] = {
                "passportId": bytes(entry["topics"][1]),
                "account": Web3.to_checksum_address(data[44:64]),
            }
            if names is None or name in names:
                found.append(
                    LedgerEvent(
                        name,
                        args,
                        int(entry["blockNumber"]),
                        bytes(entry["blockHash"]),
                        bytes(entry["transactionHash"]),
                        int(entry["logIndex"]),
                        entry["address"],
                    )
                )
        return found


class Ledger:
    """Writes to the emitter and makes reorgs on one backend."""

    def __init__(self, w3: Web3, backend: str) -> None:
        self.w3 = w3
        self.backend = backend
        self.account = w3.eth.accounts[0]
        tx = w3.eth.send_transaction({"from": self.account, "data": _emitter_bytecode(), "gas": 200_000})
        address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
        assert address is not None
        self.address = address
        self.source = Web3EventSource(w3, self.address)

    def emit(self, kind: int, passport: int, account_index: int = 1) -> None:
        account = bytes.fromhex(self.w3.eth.accounts[account_index][2:])
        data = (passport.to_bytes(32, "big") + kind.to_bytes(32, "big") + account.rjust(32, b"\0")).hex()
        tx = self.w3.eth.send_transaction(
            {"from": self.account, "to": self.address, "data": HexStr("0x" + data)}
        )
        self.w3.eth.wait_for_transaction_receipt(tx)

    def snapshot(self) -> Any:
        return self.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]

    def revert(self, snapshot_id: Any) -> None:
        response = self.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[arg-type]
        # anvil answers true; eth-tester answers null on success. Both answer an error otherwise.
        assert "error" not in response, response
        assert response["result"] in (True, None)


@pytest.fixture(scope="module")
def anvil_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    probe = Web3(HTTPProvider(url))
    node = ManagedProcess(
        "anvil",
        [str(node_tool(".bin/anvil")), "--host", "127.0.0.1", "--port", str(port), "--silent"],
        tmp_path_factory.mktemp("anvil"),
        ready=probe.is_connected,
    )
    node.start()
    try:
        yield url
    finally:
        node.stop()


@pytest.fixture(params=["eth-tester", pytest.param("anvil", marks=pytest.mark.node)])
def ledger(request: pytest.FixtureRequest) -> Ledger:
    if request.param == "eth-tester":
        return Ledger(Web3(EthereumTesterProvider()), "eth-tester")
    return Ledger(Web3(HTTPProvider(request.getfixturevalue("anvil_url"))), "anvil")


def names_and_passports(index: SqliteAuditIndex) -> list[tuple[str, int]]:
    return [(e.name, int(e.args["passportId"], 16)) for e in index.iter_events(EventQuery(limit=1000))]


def test_follows_survives_restart_detects_a_reorg_and_rebuilds_equal(ledger: Ledger, tmp_path: Path) -> None:
    ledger.emit(0, 1)
    ledger.emit(0, 2)
    path = tmp_path / "live.sqlite"
    config = FollowerConfig(chunk_size=3)
    with SqliteAuditIndex(path) as live:
        result = IndexFollower(live, config).sync(ledger.source)
        assert result.events_added == 2
        assert result.caught_up
        assert names_and_passports(live) == [("PassportIssued", 1), ("PassportIssued", 2)]
        assert all(e.block_timestamp for e in live.iter_events(EventQuery()))

    # Restart: a new process opens the same file and continues from the stored cursor.
    snapshot = ledger.snapshot()
    ledger.emit(1, 1)
    ledger.emit(2, 1)
    with SqliteAuditIndex(path) as live:
        cursor = live.cursor()
        assert cursor is not None
        result = IndexFollower(live, config).sync(ledger.source)
        assert result.from_block == cursor.number + 1
        assert names_and_passports(live)[2:] == [("CustodyOffered", 1), ("CustodyTransferred", 1)]

        # Reorg: the offer and transfer vanish; a different branch (longer, other events) replaces them.
        ledger.revert(snapshot)
        ledger.emit(0, 3)
        ledger.emit(1, 2, account_index=2)
        ledger.emit(1, 3, account_index=3)
        result = IndexFollower(live, config).sync(ledger.source)
        assert len(result.reorgs) == 1
        assert result.reorgs[0].events_removed == 2
        assert names_and_passports(live) == [
            ("PassportIssued", 1),
            ("PassportIssued", 2),
            ("PassportIssued", 3),
            ("CustodyOffered", 2),
            ("CustodyOffered", 3),
        ]
        for event in live.iter_events(EventQuery()):
            assert ledger.source.block_hash(event.block_number) == bytes.fromhex(event.block_hash[2:])
        live.checkpoint()
        with rebuild(ledger.source, tmp_path / "rebuilt.sqlite", config) as rebuilt:
            assert rebuilt.dump() == live.dump()
            assert rebuilt.cursor() == live.cursor()


@pytest.mark.node
def test_anvil_reorg_is_detected(anvil_url: str, tmp_path: Path) -> None:
    ledger = Ledger(Web3(HTTPProvider(anvil_url)), "anvil")
    ledger.emit(0, 10)
    ledger.emit(1, 10)
    ledger.emit(2, 10)
    with SqliteAuditIndex(tmp_path / "live.sqlite") as live:
        follower = IndexFollower(live)
        follower.sync(ledger.source)
        assert len(names_and_passports(live)) == 3
        # anvil_reorg replaces the newest 2 blocks with new ones holding (here) no transactions.
        response = ledger.w3.provider.make_request("anvil_reorg", [2, []])  # type: ignore[arg-type]
        assert "error" not in response, response
        result = follower.sync(ledger.source)
        assert len(result.reorgs) == 1
        assert names_and_passports(live) == [("PassportIssued", 10)]
        with rebuild(ledger.source, tmp_path / "rebuilt.sqlite") as rebuilt:
            assert rebuilt.dump() == live.dump()
