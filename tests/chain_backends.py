"""The three chains the behaviour suites run on, and the actors that use the registry on them.

``eth-tester`` runs in process; ``ganache`` and ``anvil`` are real nodes from ``node_modules`` started on
free 127.0.0.1 ports as ``ManagedProcess``es and stopped by PID. Every backend gets the same deployment:
one registry, the roles granted and the businesses registered (see ``deploy_fixture_ledger``), so a test
written once runs unchanged on all three.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.types import Wei

from devtools.localnodes import ManagedProcess, free_port, node_tool
from passport.chain import Role, TxReceipt
from passport.chain.deploy import deploy_registry
from passport.chain.web3_client import Web3ChainClient, connect
from passport.errors import ContractRevert
from passport.ids import ZERO32
from passport.model import BusinessKind, LifecycleStatus
from passport.settings import Settings
from passport.signing import PassportDomain, PassportVersion, sign_passport_version

BACKENDS = ("eth-tester", "ganache", "anvil")
SETTINGS = Settings(environment="development", poll_latency=0.005, tx_timeout=30)


def _key(name: str) -> bytes:
    # Fixed, obviously-test keys: the same addresses on every backend and every run.
    return keccak(text=f"battery-passport-ledger/tests/{name}")


ACTOR_KEYS: dict[str, bytes] = {
    name: _key(name)
    for name in (
        "admin",
        "issuer",
        "issuer2",
        "inspector",
        "repurposer",
        "recycler",
        "oracle",
        "business",
        "stranger",
    )
}
# Roles each actor holds after deployment, and the businesses registered.
ACTOR_ROLES: dict[str, tuple[Role, ...]] = {
    "issuer": (Role.ISSUER,),
    "issuer2": (Role.ISSUER,),
    "inspector": (Role.INSPECTOR,),
    "repurposer": (Role.REPURPOSER,),
    "recycler": (Role.RECYCLER,),
    "oracle": (Role.ORACLE,),
}
BUSINESSES: dict[str, BusinessKind] = {
    "business": BusinessKind.COLLECTOR | BusinessKind.REUSER,
    "repurposer": BusinessKind.REPURPOSER | BusinessKind.REMANUFACTURER,
    "recycler": BusinessKind.RECYCLER,
    "issuer2": BusinessKind.COLLECTOR,
}


@dataclass(frozen=True)
class Actor:
    """One account using the registry: its key, its client, and helpers to sign what it writes."""

    name: str
    key: bytes
    client: Web3ChainClient

    @property
    def address(self) -> str:
        return self.client.account

    def sign(
        self,
        passport_id: bytes,
        battery_id_hash: bytes,
        version: int,
        status: LifecycleStatus,
        manifest_digest: bytes,
        predecessor: bytes = ZERO32,
    ) -> bytes:
        domain = PassportDomain(self.client.chain_id, self.client.registry_address)
        statement = PassportVersion(
            passport_id, battery_id_hash, version, status, manifest_digest, predecessor
        )
        return sign_passport_version(self.key, domain, statement)

    def sign_next(
        self, passport_id: bytes, manifest_digest: bytes, status: LifecycleStatus | None = None
    ) -> bytes:
        """Sign the next version of an existing passport (same status unless ``status`` is given)."""
        current = self.client.get_passport(passport_id)
        assert current is not None, "sign_next needs an existing passport"
        return self.sign(
            passport_id,
            current.battery_id_hash,
            current.version + 1,
            current.status if status is None else status,
            manifest_digest,
            current.predecessor,
        )


@dataclass
class ChainBackend:
    """A chain with the registry deployed; snapshot/revert isolate tests from each other."""

    name: str
    w3: Web3
    registry_address: str
    deploy_block: int
    url: str | None = None
    actors: dict[str, Actor] = field(default_factory=dict)

    @property
    def tester(self) -> Any:
        return self.w3.provider.ethereum_tester  # type: ignore[attr-defined]

    def snapshot(self) -> Any:
        if self.name == "eth-tester":
            return self.tester.take_snapshot()
        return self.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]

    def revert(self, snapshot_id: Any) -> None:
        if self.name == "eth-tester":
            self.tester.revert_to_snapshot(snapshot_id)
        else:
            result = self.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[arg-type]
            assert result.get("result") is True, result
        # Local nonce counters now run ahead of the reverted chain.
        self.actors["admin"].client.forget_nonces()

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance_time(self, seconds: int) -> None:
        """Mine a block at least ``seconds`` after the latest one."""
        if self.name == "eth-tester":
            self.tester.time_travel(self.now() + seconds)
        else:
            self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    @contextmanager
    def isolated(self) -> Iterator[None]:
        snapshot_id = self.snapshot()
        try:
            yield
        finally:
            self.revert(snapshot_id)

    def client(self, private_key: bytes) -> Web3ChainClient:
        """A client for another account, sharing the nonce book (so revert resets reach it)."""
        return self.actors["admin"].client.as_account(private_key)


def _fund(w3: Web3, addresses: list[str]) -> None:
    """Give each address 10 ETH from the node's first unlocked dev account."""
    funder = w3.eth.accounts[0]
    hashes = [w3.eth.send_transaction({"from": funder, "to": a, "value": Wei(10**19)}) for a in addresses]
    for tx_hash in hashes:
        w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.005)


def deploy_fixture_ledger(name: str, w3: Web3, url: str | None = None) -> ChainBackend:
    """Fund the actors, deploy the registry as ``admin``, grant the roles, register the businesses."""
    _fund(w3, [Account.from_key(k).address for k in ACTOR_KEYS.values()])
    address, receipt = deploy_registry(w3, ACTOR_KEYS["admin"], settings=SETTINGS)
    admin = Web3ChainClient.from_web3(w3, ACTOR_KEYS["admin"], address, settings=SETTINGS)
    backend = ChainBackend(name, w3, address, receipt.block_number, url)
    for actor, key in ACTOR_KEYS.items():
        client = admin if actor == "admin" else admin.as_account(key)
        backend.actors[actor] = Actor(actor, key, client)
    for actor, roles in ACTOR_ROLES.items():
        for role in roles:
            admin.grant_role(role, backend.actors[actor].address)
    for actor, kinds in BUSINESSES.items():
        admin.register_business(backend.actors[actor].address, kinds, keccak(text=f"registration:{actor}"))
    return backend


class _SerialisedTesterProvider(EthereumTesterProvider):
    """eth-tester's in-process chain is not thread-safe; a served API calls it from request threads and
    the audit index follower at once, so requests take turns."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()

    def make_request(self, method: Any, params: Any) -> Any:
        with self._lock:
            return super().make_request(method, params)


def eth_tester_web3() -> Web3:
    return Web3(_SerialisedTesterProvider())


def start_node(name: str, run_dir: Path) -> tuple[ManagedProcess, str]:
    """Start ganache or anvil on a free loopback port; returns the process and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    probe = Web3(HTTPProvider(url, request_kwargs={"timeout": 1}))
    argv: list[str]
    if name == "ganache":
        argv = [
            str(node_tool(".bin/ganache")),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--chain.hardfork", "shanghai",
            "--logging.quiet",
            "--wallet.totalAccounts", "2",
        ]  # fmt: skip
    elif name == "anvil":
        argv = [
            str(node_tool("@foundry-rs/anvil-linux-amd64/bin/anvil")),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--silent",
            "--accounts", "2",
        ]  # fmt: skip
    else:
        raise ValueError(f"unknown node {name!r}")
    process = ManagedProcess(name, argv, run_dir, ready=probe.is_connected, ready_timeout=60)
    process.start()
    return process, url


@contextmanager
def running_backend(name: str, run_dir: Path) -> Iterator[ChainBackend]:
    """A backend with the fixture ledger deployed, torn down (node stopped by PID) on exit."""
    if name == "eth-tester":
        yield deploy_fixture_ledger(name, eth_tester_web3())
        return
    process, url = start_node(name, run_dir)
    try:
        yield deploy_fixture_ledger(name, connect(url, SETTINGS), url)
    finally:
        process.stop()


def digest(label: str | int | bytes) -> bytes:
    """A deterministic non-zero 32-byte value for tests (manifest digests, ids, roots)."""
    return keccak(text=f"test-digest:{label.hex() if isinstance(label, bytes) else label}")


def passport_id(label: str | int) -> bytes:
    """A bytes32 passport id shaped like ``passport.ids.passport_id_bytes32`` (UUID left-padded)."""
    return b"\x00" * 16 + keccak(text=f"test-passport:{label}")[:16]


@contextmanager
def reverts(error: str, *args: object) -> Iterator[None]:
    """Expect a ``ContractRevert`` naming ``error`` (and, if given, exactly these arguments)."""
    with pytest.raises(ContractRevert) as info:
        yield
    assert info.value.error == error, f"reverted with {info.value.error}{info.value.error_args}, not {error}"
    if args:
        assert info.value.error_args == args


def only_event(receipt: TxReceipt, name: str) -> dict[str, Any]:
    """The arguments of the one ``name`` event in ``receipt`` (fails if there is not exactly one)."""
    found = [e.args for e in receipt.events if e.name == name]
    assert len(found) == 1, f"expected one {name} event, got {[e.name for e in receipt.events]}"
    return found[0]


def merkle_root_and_proofs(record_digests: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """OpenZeppelin-compatible tree: leaf = keccak256(recordDigest), parents hash the sorted pair.

    A level's odd last node moves up unchanged. Written here independently of the oracle's tree so the
    contract is checked against the rule itself.
    """
    level = [keccak(d) for d in record_digests]
    positions = list(range(len(level)))
    proofs: list[list[bytes]] = [[] for _ in record_digests]
    while len(level) > 1:
        parents = []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):
                parents.append(level[i])
                continue
            a, b = level[i], level[i + 1]
            parents.append(keccak(min(a, b) + max(a, b)))
        for leaf, pos in enumerate(positions):
            sibling = pos ^ 1
            if sibling < len(level):
                proofs[leaf].append(level[sibling])
            positions[leaf] = pos // 2
        level = parents
    return level[0], proofs
