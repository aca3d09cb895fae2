"""The embedded store and a real IPFS node agree: same CIDs, and a node imports the store's CAR."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.store import CHUNK_SIZE, EmbeddedStore, IpfsRpcStore, cid_of

pytestmark = pytest.mark.node

DOCUMENTS = [
    pytest.param(json.dumps({"batteryId": "BAT-0001", "chemistry": "NMC811"}).encode(), id="passport-json"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\x00", id="1B"),
    pytest.param(bytes(range(256)) * 1024, id="one-full-chunk"),
    pytest.param(bytes(range(256)) * 1024 + b"!", id="one-chunk-plus-1"),
    pytest.param(random.Random(7).randbytes(5 * CHUNK_SIZE + 12345), id="5-chunks"),
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_both_backends_give_the_same_cid(
    document: bytes, embedded_store: EmbeddedStore, ipfs_store: IpfsRpcStore
) -> None:
    assert embedded_store.put(document) == ipfs_store.put(document)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 3 * CHUNK_SIZE), seed=st.integers(0, 2**32))
def test_cids_agree_with_the_node_for_any_size(size: int, seed: int, ipfs_store: IpfsRpcStore) -> None:
    data = random.Random(seed).randbytes(size)
    # put() itself refuses a node CID that differs from cid_of(); the comparison is spelled out here.
    assert ipfs_store.put(data) == cid_of(data)


def test_a_node_imports_the_exported_car_and_serves_the_content(
    embedded_store: EmbeddedStore, ipfs_store: IpfsRpcStore, tmp_path: Path
) -> None:
    # Random content: the node cannot already hold it, so everything it serves came from the CAR.
    rng = random.Random()
    documents = [rng.randbytes(n) for n in (10, 5000, CHUNK_SIZE, 3 * CHUNK_SIZE + 1)]
    cids = [embedded_store.put(doc) for doc in documents]
    assert not ipfs_store.has(cids[-1])  # each miss costs the 1 s lookup budget: one is enough

    roots = embedded_store.export_car(tmp_path / "export.car")
    assert sorted(ipfs_store.import_car((tmp_path / "export.car").read_bytes())) == sorted(roots)

    for cid, doc in zip(cids, documents, strict=True):
        assert ipfs_store.has(cid)
        assert ipfs_store.get(cid) == doc
        assert ipfs_store.size(cid) == len(doc)


@pytest.mark.slow
def test_a_node_imports_a_two_level_dag(
    embedded_store: EmbeddedStore, ipfs_store: IpfsRpcStore, tmp_path: Path
) -> None:
    document = random.Random().randbytes(176 * CHUNK_SIZE)
    cid = embedded_store.put(document)
    embedded_store.export_car(tmp_path / "big.car", roots=[cid])
    assert ipfs_store.import_car((tmp_path / "big.car").read_bytes()) == [cid]
    assert ipfs_store.get(cid) == document
