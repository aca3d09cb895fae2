"""``Web3ChainClient`` and ``deploy_registry`` at the boundary: protocol, errors, nonces, deployment."""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from devtools.localnodes import free_port
from passport.chain import ChainClient, Role, Web3ChainClient, deploy_registry
from passport.chain.inclusion import prove, proven_value, trie_root
from passport.errors import (
    ChainUnavailable,
    DeploymentError,
    InclusionProofError,
    InvalidIdentifier,
    TransactionFailed,
)
from passport.model import AnchorKind, LifecycleStatus
from tests.chain_backends import SETTINGS, Actor, ChainBackend, digest, passport_id, reverts


def test_client_satisfies_the_protocol(registry_admin: Actor) -> None:
    assert isinstance(registry_admin.client, ChainClient)
    assert registry_admin.client.as_account(keccak(b"k")).account != registry_admin.address


def test_blocks(ledger: ChainBackend, registry_admin: Actor) -> None:
    client = registry_admin.client
    head = client.block_number()
    assert client.block_hash(head) == bytes(ledger.w3.eth.get_block(head)["hash"])
    assert client.block_timestamp(head) == ledger.w3.eth.get_block(head)["timestamp"]
    assert client.block_hash(head + 1000) is None
    assert client.block_timestamp(-1) is None


def test_block_contents_rebuild_the_header_roots(registry_admin: Actor, stranger: Actor) -> None:
    """Header fields, transactions and receipts as the node gives them are the consensus ones."""
    client = registry_admin.client
    receipt = client.grant_role(Role.AUDITOR, stranger.address)
    header = client.block_header(receipt.block_hash)
    assert header is not None
    assert header.hash == receipt.block_hash
    assert header.number == receipt.block_number
    transactions = client.block_transactions(receipt.block_hash)
    assert receipt.tx_hash in [keccak(tx) for tx in transactions]
    assert trie_root(transactions) == header.transactions_root
    receipts = client.block_receipts(receipt.block_hash)
    assert trie_root(receipts) == header.receipts_root
    assert len(receipts) == len(transactions)


def test_an_unknown_block_has_no_contents(registry_admin: Actor) -> None:
    client = registry_admin.client
    assert client.block_header(b"\x42" * 32) is None
    with pytest.raises(InclusionProofError, match="no block"):
        client.block_transactions(b"\x42" * 32)
    with pytest.raises(InclusionProofError, match="no block"):
        client.block_receipts(b"\x42" * 32)
    with pytest.raises(InvalidIdentifier):
        client.block_header(b"\x42")


def test_deploy_registry(ledger: ChainBackend, registry_admin: Actor, stranger: Actor) -> None:
    address, receipt = deploy_registry(
        ledger.w3, stranger.key, admin=registry_admin.address, settings=SETTINGS
    )
    assert receipt.gas_used > 0
    assert [e.name for e in receipt.events] == ["RoleGranted"]
    assert receipt.events[0].args["account"] == registry_admin.address
    client = Web3ChainClient.from_web3(ledger.w3, registry_admin.key, address, settings=SETTINGS)
    assert client.has_role(Role.ADMIN, registry_admin.address)
    assert not client.has_role(Role.ADMIN, stranger.address)


def test_deploy_rejects_bad_arguments(ledger: ChainBackend, stranger: Actor) -> None:
    with pytest.raises(InvalidIdentifier):
        deploy_registry(ledger.w3, stranger.key, admin="not-an-address", settings=SETTINGS)
    with pytest.raises(DeploymentError):
        deploy_registry(ledger.w3, stranger.key, admin_delay=-1, settings=SETTINGS)


def test_nonce_counter_resyncs_when_another_sender_used_the_account(
    ledger: ChainBackend, issuer: Actor
) -> None:
    # A second client with its own nonce book (another process, in effect) sends from the same key.
    other = Web3ChainClient(ledger.w3, issuer.client.registry_address, issuer.key, settings=SETTINGS)
    for n in range(3):
        pid = passport_id(f"n{n}")
        writer = issuer.client if n % 2 == 0 else other
        sig = issuer.sign(pid, digest("b"), 1, LifecycleStatus.ORIGINAL, digest("m"))
        writer.issue_passport(pid, digest("b"), digest("m"), sig)
    assert all(issuer.client.get_passport(passport_id(f"n{n}")) is not None for n in range(3))


def test_unfunded_sender_fails_as_transaction_failed(registry_admin: Actor) -> None:
    key = keccak(b"no ether here")
    broke = registry_admin.client.as_account(key)
    registry_admin.client.grant_role(Role.ORACLE, broke.account)
    with pytest.raises(TransactionFailed):
        broke.anchor_batch(digest("r"), digest("c"), 1, AnchorKind.CHARGING)


def test_reverts_in_views_are_translated(stranger: Actor) -> None:
    with reverts("BatteryPassportRegistryUnknownPassport", passport_id("missing")):
        stranger.client.version_digest(passport_id("missing"), 1)


def test_events_filter_by_name(registry_admin: Actor) -> None:
    head = registry_admin.client.block_number()
    assert registry_admin.client.events(0, head, ["NoSuchEvent"]) == []
    granted = registry_admin.client.events(0, head, ["RoleGranted"])
    assert granted
    assert {e.name for e in granted} == {"RoleGranted"}


def test_unreachable_node_is_chain_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = Web3ChainClient.from_rpc(url, keccak(b"k"), "0x" + "11" * 20, settings=SETTINGS)
    started = time.monotonic()
    with pytest.raises(ChainUnavailable):
        client.block_number()
    with pytest.raises(ChainUnavailable):
        client.block_header(b"\x42" * 32)
    with pytest.raises(ChainUnavailable):
        client.block_receipts(b"\x42" * 32)
    assert time.monotonic() - started < 10


def _automine(ledger: ChainBackend, on: bool) -> None:
    if ledger.name == "eth-tester":
        if on:
            ledger.tester.enable_auto_mine_transactions()
        else:
            ledger.tester.disable_auto_mine_transactions()
    elif ledger.name == "anvil":
        ledger.w3.provider.make_request("evm_setAutomine", [on])  # type: ignore[arg-type]
    else:
        ledger.w3.provider.make_request("miner_start" if on else "miner_stop", [])  # type: ignore[arg-type]


def test_every_transaction_of_a_shared_block_is_proven(
    ledger: ChainBackend, registry_admin: Actor, stranger: Actor, business: Actor
) -> None:
    """Several transactions (legacy and EIP-1559) in one block: each index proves against the roots."""
    w3 = ledger.w3
    chain_id = registry_admin.client.chain_id
    _automine(ledger, False)
    try:
        sent = []
        for i, actor in enumerate((registry_admin, stranger, business)):
            tx: dict[str, object] = {
                "to": "0x" + "77" * 20,
                "value": 1000 + i,
                "gas": 21_000,
                "nonce": w3.eth.get_transaction_count(actor.address, "pending"),
                "chainId": chain_id,
            }
            # eth-tester's pending-block validation rejects a legacy EIP-155 ``v`` for its large chain id
            # (a bug in its non-automine path only), so there every transaction is EIP-1559.
            if i == 1 or ledger.name == "eth-tester":
                tx |= {"maxFeePerGas": 10 * w3.eth.gas_price, "maxPriorityFeePerGas": 1, "type": 2}
            else:
                tx["gasPrice"] = 2 * w3.eth.gas_price
            signed = Account.sign_transaction(tx, actor.key)
            sent.append(bytes(w3.eth.send_raw_transaction(signed.raw_transaction)))
        if ledger.name == "eth-tester":
            ledger.tester.mine_blocks(1)
        else:
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    finally:
        _automine(ledger, True)
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.01) for h in sent]
    block_hash = bytes(receipts[0]["blockHash"])
    assert {bytes(r["blockHash"]) for r in receipts} == {block_hash}, "the node did not batch the block"
    client = registry_admin.client
    header = client.block_header(block_hash)
    assert header is not None
    transactions = client.block_transactions(block_hash)
    encoded_receipts = client.block_receipts(block_hash)
    assert sorted(keccak(tx) for tx in transactions) == sorted(sent)
    for index, (tx, receipt) in enumerate(zip(transactions, encoded_receipts, strict=True)):
        assert proven_value(header.transactions_root, index, prove(transactions, index)) == tx
        assert proven_value(header.receipts_root, index, prove(encoded_receipts, index)) == receipt
    with pytest.raises(InclusionProofError):
        proven_value(header.receipts_root, 0, prove(encoded_receipts, 1))
