"""The batch document builder: byte-identical to ``canonical_json`` of the document, and auditable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle.batch_document import (
    BATCH_DOCUMENT_TYPE,
    MERKLE_SCHEME,
    _iso,
    build_batch_document,
    parse_batch_document,
    unseal_batch_document,
)
from oracle.errors import DocumentMismatch
from oracle.journal import RecordRow
from oracle.merkle import MerkleTree, keccak256
from oracle.readings import KIND_NAME
from passport.canonical import MAX_SAFE_INTEGER, canonical_json, parse_canonical_object
from passport.model import AnchorKind
from tests.oracle.oracle_doubles import FakeChain, FakeStore
from tests.oracle.oracle_samples import Fleet, anchorer, fill, journal_keyring


def reference_build_batch_document(
    kind: AnchorKind, records: Sequence[RecordRow], created_at: float
) -> tuple[bytes, bytes]:
    """The plain definition the fast builder must match: parse each record, canonicalise the whole."""
    tree = MerkleTree.from_digests(r.digest for r in records)
    uploads = sorted({(r.device_id, r.seq) for r in records})
    document = {
        "type": BATCH_DOCUMENT_TYPE,
        "kind": KIND_NAME[kind],
        "created_at": _iso(created_at),
        "record_count": len(records),
        "merkle": {"root": "0x" + tree.root.hex(), "scheme": MERKLE_SCHEME},
        "batteries": sorted({r.battery_id for r in records}),
        "uploads": [{"device_id": device, "seq": seq} for device, seq in uploads],
        "records": [
            {"digest": "0x" + r.digest.hex(), "record": parse_canonical_object(r.canonical)} for r in records
        ],
    }
    return tree.root, canonical_json(document)


# Any JSON value JCS can carry: non-ASCII and astral keys exercise the UTF-16 key order inside records.
_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json = st.recursive(
    _json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_texts = st.text(min_size=1, max_size=12)


@st.composite
def _records(draw: st.DrawFn) -> list[RecordRow]:
    count = draw(st.integers(1, 12))
    records: list[RecordRow] = []
    for n in range(count):
        body: dict[str, Any] = draw(st.dictionaries(st.text(), _json, max_size=5))
        body["n"] = n  # journaled digests are unique, so Merkle leaves are
        canonical = canonical_json(body)
        records.append(
            RecordRow(
                id=n + 1, upload_id=1, idx=n, device_id=draw(_texts), seq=draw(st.integers(0, 2**40)),
                battery_id=draw(_texts), kind=AnchorKind.DIAGNOSTICS, observed_at=0.0, received_at=0.0,
                canonical=canonical, digest=keccak256(canonical), batch_id=None, state="pending",
            )
        )  # fmt: skip
    return records


@pytest.mark.slow  # 300 examples: ~20 s; test_real_batches_match_the_reference stays in the fast loop
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(list(AnchorKind)),
    records=_records(),
    created_at=st.floats(0, 4_102_444_800, allow_nan=False),
)
def test_fast_builder_is_byte_identical_to_the_reference(
    kind: AnchorKind, records: list[RecordRow], created_at: float
) -> None:
    assert build_batch_document(kind, records, created_at) == reference_build_batch_document(
        kind, records, created_at
    )


def test_real_batches_match_the_reference_and_parse_back(
    fleet: Fleet, store: FakeStore, chain: FakeChain
) -> None:
    fill(fleet)
    anchorer(fleet.journal, store, chain, batch_size=5).drain()
    for batch in fleet.journal.batches():
        records = fleet.journal.batch_records(batch.id)
        document = unseal_batch_document(batch.document, journal_keyring(fleet.journal))
        assert (batch.root, document) == reference_build_batch_document(batch.kind, records, batch.created_at)
        parsed = parse_batch_document(document)
        assert [r.canonical for r in parsed.records] == [r.canonical for r in records]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"energy_kwh":5', b'"energy_kwh":6'),  # a record's content
        (b'"record_count":', b'"record_count":1'),  # the count
        (b'"digest":"0x', b'"digest":"0x00'),  # a digest
        (b'"root":"0x', b'"root":"0x00'),  # the root
    ],
)
def test_tampering_with_a_built_document_is_detected(
    fleet: Fleet, store: FakeStore, chain: FakeChain, old: bytes, new: bytes
) -> None:
    fill(fleet, uploads=1)
    anchorer(fleet.journal, store, chain, batch_size=100).drain()
    batch = next(b for b in fleet.journal.batches() if b.kind is AnchorKind.CHARGING)
    document = unseal_batch_document(batch.document, journal_keyring(fleet.journal))
    parse_batch_document(document)
    assert old in document
    with pytest.raises(DocumentMismatch):
        parse_batch_document(document.replace(old, new, 1))
