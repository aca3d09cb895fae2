"""Block headers and Merkle-Patricia inclusion proofs: a transaction and its receipt, checked offline.

A block's header commits to every transaction (``transactionsRoot``) and every receipt
(``receiptsRoot``) in it; both are roots of a hexary Merkle-Patricia trie keyed by ``rlp(index)``. With
the header's RLP fields and the two proofs for one index, anyone can check without a node that this
transaction (its hash is keccak of its encoding) ran in the block with this hash and left these logs.

Building uses the node's JSON fields, re-encoded here in consensus form (the client checks the result
against the hashes the node reports, so a mis-encoding is caught where it happens, not at verify time).
Whether the block is on the canonical chain, and what happened after it, only a node can say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from eth_utils.crypto import keccak
from trie.exceptions import (
    BadTrieProof,
    InvalidNibbles,
    InvalidNode,
    MissingTraversalNode,
    MissingTrieNode,
    TraversedPartialPath,
    ValidationError,
)
from trie.hexary import HexaryTrie

from passport.errors import InclusionProofError

# Header fields in consensus order, as JSON-RPC names them. The ones from ``baseFeePerGas`` on were
# added by later forks (London, Shanghai, Cancun, Prague); a header carries a prefix of this list.
HEADER_FIELDS = (
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
    "baseFeePerGas",
    "withdrawalsRoot",
    "blobGasUsed",
    "excessBlobGas",
    "parentBeaconBlockRoot",
    "requestsHash",
)
# What the trie library raises on a proof it cannot follow (a shipped proof is untrusted input).
_BAD_PROOF = (
    BadTrieProof,
    InvalidNibbles,
    InvalidNode,
    MissingTraversalNode,
    MissingTrieNode,
    TraversedPartialPath,
    ValidationError,
    rlp.DecodingError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
)
_FIRST_OPTIONAL = HEADER_FIELDS.index("baseFeePerGas")
_INT_FIELDS = frozenset(
    {
        "difficulty",
        "number",
        "gasLimit",
        "gasUsed",
        "timestamp",
        "baseFeePerGas",
        "blobGasUsed",
        "excessBlobGas",
    }
)
TRANSACTIONS_ROOT = HEADER_FIELDS.index("transactionsRoot")
RECEIPTS_ROOT = HEADER_FIELDS.index("receiptsRoot")
NUMBER = HEADER_FIELDS.index("number")


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """A block header as its RLP fields in consensus order; its hash is keccak256 of their RLP."""

    fields: tuple[bytes, ...]

    @property
    def hash(self) -> bytes:
        return keccak(_rlp(list(self.fields)))

    @property
    def number(self) -> int:
        return int.from_bytes(self.fields[NUMBER], "big")

    @property
    def transactions_root(self) -> bytes:
        return self.fields[TRANSACTIONS_ROOT]

    @property
    def receipts_root(self) -> bytes:
        return self.fields[RECEIPTS_ROOT]

    @classmethod
    def from_rpc(cls, block: Mapping[str, Any]) -> BlockHeader:
        """The header of a JSON-RPC block object (web3's decoded form: ints and bytes)."""
        present = [name for name in HEADER_FIELDS if block.get(name) is not None]
        last = max(HEADER_FIELDS.index(name) for name in present)
        missing = [name for name in HEADER_FIELDS[: last + 1] if name not in present]
        if missing or last < _FIRST_OPTIONAL - 1:
            raise InclusionProofError(f"block header lacks {', '.join(missing) or 'pre-London fields'}")
        return cls(tuple(_field(name, block[name]) for name in HEADER_FIELDS[: last + 1]))

    @classmethod
    def decode(cls, fields: Sequence[bytes]) -> BlockHeader:
        """A header from shipped fields; raises ``InclusionProofError`` if it cannot be one."""
        if len(fields) < _FIRST_OPTIONAL or len(fields) > len(HEADER_FIELDS):
            raise InclusionProofError(f"a block header has {_FIRST_OPTIONAL}..{len(HEADER_FIELDS)} fields")
        if len(fields[TRANSACTIONS_ROOT]) != 32 or len(fields[RECEIPTS_ROOT]) != 32:
            raise InclusionProofError("the header's transaction and receipt roots are not 32 bytes")
        return cls(tuple(fields))


def _int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16)
    if isinstance(value, bytes | bytearray):
        return int.from_bytes(value, "big")
    return int(value)


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


def _field(name: str, value: Any) -> bytes:
    if name in _INT_FIELDS:
        number = _int(value)
        return number.to_bytes((number.bit_length() + 7) // 8, "big")
    if name == "logsBloom":
        return _bloom(value)
    return _bytes(value)


def _bloom(value: Any) -> bytes:
    # Always 256 bytes in consensus; eth-tester's JSON shortens an all-zero bloom to "0x00".
    return _bytes(value).rjust(256, b"\x00")


def _uint(value: Any) -> int:
    return _int(value) if value is not None else 0


def _camel(document: Mapping[str, Any]) -> dict[str, Any]:
    # eth-tester's provider names some transaction fields in snake case (gas_price, access_list).
    return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), str(k)): v for k, v in document.items()}


def logs_bloom(logs: Sequence[tuple[bytes, Sequence[bytes]]]) -> bytes:
    """The 2048-bit bloom filter of logs' addresses and topics (Yellow Paper, section 4.3.1)."""
    bloom = 0
    for address, topics in logs:
        for item in (address, *topics):
            digest = keccak(item)
            for i in (0, 2, 4):
                bloom |= 1 << (int.from_bytes(digest[i : i + 2], "big") & 2047)
    return bloom.to_bytes(256, "big")


def encode_receipt(receipt: Mapping[str, Any]) -> bytes:
    """A receipt's consensus encoding (EIP-2718: a type byte before the RLP for typed transactions)."""
    receipt = _camel(receipt)
    logs: list[tuple[bytes, list[bytes], bytes]] = [
        (_bytes(log["address"]), [_bytes(topic) for topic in log["topics"]], _bytes(log["data"]))
        for log in receipt["logs"]
    ]
    if receipt.get("status") is None:
        raise InclusionProofError("receipt has no status (pre-Byzantium receipts are not supported)")
    # eth-tester's receipts lack the bloom; it follows from the logs.
    bloom = receipt.get("logsBloom") or logs_bloom([(log[0], log[1]) for log in logs])
    body = _rlp([_uint(receipt["status"]), _uint(receipt["cumulativeGasUsed"]), _bloom(bloom), logs])
    kind = _uint(receipt.get("type"))
    return body if kind == 0 else bytes([kind]) + body


def _access_list(tx: Mapping[str, Any]) -> list[list[Any]]:
    return [
        [_bytes(item["address"]), [_bytes(key) for key in item["storageKeys"]]]
        for item in tx.get("accessList") or []
    ]


def encode_transaction(tx: Mapping[str, Any]) -> bytes | None:
    """A signed transaction's consensus encoding from its JSON fields (types 0-2), or None for others."""
    tx = _camel(tx)
    kind = _uint(tx.get("type"))
    to = _bytes(tx["to"]) if tx.get("to") else b""
    common = [_uint(tx["gas"]), to, _uint(tx["value"]), _bytes(tx["input"] if "input" in tx else tx["data"])]
    signature = [_uint(tx["r"]), _uint(tx["s"])]
    if kind == 0:
        return _rlp([_uint(tx["nonce"]), _uint(tx["gasPrice"]), *common, _uint(tx["v"]), *signature])
    parity = _uint(tx.get("yParity", tx.get("v")))
    if kind == 1:
        fields = [_uint(tx["chainId"]), _uint(tx["nonce"]), _uint(tx["gasPrice"]), *common]
    elif kind == 2:
        fees = [_uint(tx["maxPriorityFeePerGas"]), _uint(tx["maxFeePerGas"])]
        fields = [_uint(tx["chainId"]), _uint(tx["nonce"]), *fees, *common]
    else:
        return None
    return bytes([kind]) + _rlp([*fields, _access_list(tx), parity, *signature])


def _rlp(value: Any) -> bytes:
    return bytes(rlp.encode(value))


def trie_root(values: Sequence[bytes]) -> bytes:
    """Root of the trie a block builds from its transactions or receipts (key ``rlp(index)``)."""
    return _trie(values).root_hash


def _trie(values: Sequence[bytes]) -> HexaryTrie:
    trie = HexaryTrie({})
    for index, value in enumerate(values):
        trie[_rlp(index)] = value
    return trie


def prove(values: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """The trie nodes (each RLP-encoded) that prove ``values[index]`` under ``trie_root(values)``."""
    proof = _trie(values).get_proof(_rlp(index))  # type: ignore[no-untyped-call]
    return tuple(_rlp(node) for node in proof)


def proven_value(root: bytes, index: int, proof: Sequence[bytes]) -> bytes:
    """The value the proof shows at ``index`` under ``root``; raises ``InclusionProofError`` if none."""
    try:
        nodes = tuple(rlp.decode(node) for node in proof)
        value = HexaryTrie.get_from_proof(root, _rlp(index), nodes)  # type: ignore[no-untyped-call]
    except _BAD_PROOF as exc:
        raise InclusionProofError(f"the proof does not hold: {exc or type(exc).__name__}") from None
    if not value:
        raise InclusionProofError(f"the proof shows no entry at index {index}")
    return bytes(value)


@dataclass(frozen=True, slots=True)
class ReceiptLog:
    """One log of a receipt, as the receipt's consensus encoding carries it."""

    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class DecodedReceipt:
    """A receipt's consensus fields: did the transaction succeed, and what did it log."""

    succeeded: bool
    logs: tuple[ReceiptLog, ...]


def decode_receipt(encoded: bytes) -> DecodedReceipt:
    """The status and logs of a consensus-encoded receipt; raises ``InclusionProofError`` if malformed."""
    body = encoded[1:] if encoded and encoded[0] < 0x7F else encoded
    try:
        status, _gas, _bloom, logs = rlp.decode(body)
        decoded = tuple(
            ReceiptLog(bytes(address), tuple(bytes(t) for t in topics), bytes(data))
            for address, topics, data in logs
        )
    except (rlp.DecodingError, ValueError, TypeError) as exc:
        raise InclusionProofError(f"the receipt is not a consensus receipt: {exc}") from None
    return DecodedReceipt(succeeded=status == b"\x01", logs=decoded)
