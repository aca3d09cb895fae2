"""Merkle-Patricia proofs and receipt decoding: every index proves, nothing else does, junk is refused."""

from __future__ import annotations

import contextlib

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from passport.chain.inclusion import (
    BlockHeader,
    decode_receipt,
    encode_receipt,
    logs_bloom,
    prove,
    proven_value,
    trie_root,
)
from passport.errors import InclusionProofError

values = st.lists(st.binary(min_size=1, max_size=120), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(values, st.data())
def test_every_index_proves_its_value_and_no_other(items: list[bytes], data: st.DataObject) -> None:
    root = trie_root(items)
    index = data.draw(st.integers(0, len(items) - 1))
    proof = prove(items, index)
    assert proven_value(root, index, proof) == items[index]
    other = data.draw(st.integers(0, len(items)))
    if other != index:
        try:
            shown = proven_value(root, other, proof)
        except InclusionProofError:
            return
        # A proof may happen to cover a neighbour's path; then it shows the neighbour's true value.
        assert shown == items[other]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=6), st.integers(0, 5))
def test_junk_proofs_are_refused_by_name(nodes: list[bytes], index: int) -> None:
    with pytest.raises(InclusionProofError):
        proven_value(trie_root([b"a" * 40, b"b" * 40]), index, nodes)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_junk_receipts_are_refused_by_name(encoded: bytes) -> None:
    with contextlib.suppress(InclusionProofError):
        decode_receipt(encoded)


def test_receipt_round_trip_and_bloom() -> None:
    log = {"address": "0x" + "11" * 20, "topics": ["0x" + "22" * 32], "data": "0x01"}
    receipt = {"type": "0x2", "status": "0x1", "cumulativeGasUsed": "0x5208", "logs": [log]}
    encoded = encode_receipt(receipt)
    assert encoded[0] == 2  # EIP-2718 typed receipt
    decoded = decode_receipt(encoded)
    assert decoded.succeeded
    assert decoded.logs[0].topics == (b"\x22" * 32,)
    status, gas, bloom, _ = rlp.decode(encoded[1:])
    assert (status, gas) == (b"\x01", (0x5208).to_bytes(2, "big"))
    assert bloom == logs_bloom([(b"\x11" * 20, [b"\x22" * 32])])
    assert bin(int.from_bytes(bloom, "big")).count("1") <= 6
    assert not decode_receipt(encode_receipt(receipt | {"status": 0, "type": 0})).succeeded


def test_a_header_has_the_fields_a_header_has() -> None:
    with pytest.raises(InclusionProofError):
        BlockHeader.decode([b""] * 3)
    with pytest.raises(InclusionProofError):
        BlockHeader.decode([b""] * 17)  # roots are not 32 bytes
