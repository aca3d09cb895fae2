"""The ``ContentStore`` behaviour suite, run against every backend (embedded directory, js-ipfs RPC)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import pytest

from passport.errors import ContentIntegrityError, ContentNotFound, InvalidCid
from passport.store import CHUNK_SIZE, MAX_LINKS, Codec, ContentStore, cid_digest, cid_from_digest, cid_of
from tests.passport.store.store_backends import StoreBackend

SIZES = [
    pytest.param(0, id="empty"),
    pytest.param(1, id="1B"),
    pytest.param(1000, id="1kB"),
    pytest.param(CHUNK_SIZE, id="one-full-chunk"),
    pytest.param(CHUNK_SIZE + 1, id="one-chunk-plus-1"),
    pytest.param(3 * 1024 * 1024 + 17, id="3MB"),
    pytest.param(MAX_LINKS * CHUNK_SIZE, id="174-chunks"),
    # One chunk more than a node links to: the DAG grows a second level.
    pytest.param((MAX_LINKS + 1) * CHUNK_SIZE + 5, id="175-chunks", marks=pytest.mark.slow),
]


def missing_cid(codec: Codec = "raw") -> str:
    return cid_from_digest(os.urandom(32), codec)


def test_conforms_to_the_protocol(backend: StoreBackend) -> None:
    assert isinstance(backend.store, ContentStore)


@pytest.mark.parametrize("size", SIZES)
def test_put_then_get_returns_the_bytes_under_the_ipfs_cid(
    backend: StoreBackend, fresh: Callable[[int], bytes], size: int
) -> None:
    data = fresh(size)
    cid = backend.store.put(data)
    assert cid == cid_of(data)
    assert cid.startswith("bafkrei" if size <= CHUNK_SIZE else "bafybei")
    assert backend.store.has(cid)
    assert backend.store.size(cid) == size
    assert backend.store.get(cid) == data


def test_put_is_idempotent(backend: StoreBackend, fresh: Callable[[int], bytes]) -> None:
    data = fresh(2 * CHUNK_SIZE)
    assert backend.store.put(data) == backend.store.put(data)
    assert backend.store.get(cid_of(data)) == data


def test_distinct_content_gets_distinct_cids(backend: StoreBackend) -> None:
    assert backend.store.put(b"passport v1") != backend.store.put(b"passport v2")


def test_pin_accepts_held_content(backend: StoreBackend, fresh: Callable[[int], bytes]) -> None:
    cid = backend.store.put(fresh(100))
    backend.store.pin(cid)
    backend.store.pin(cid)  # pinning twice is fine
    assert backend.store.has(cid)


@pytest.mark.parametrize("codec", ["raw", "dag-pb"])
@pytest.mark.parametrize("operation", ["get", "size", "pin"])
def test_missing_cid_raises_content_not_found(backend: StoreBackend, operation: str, codec: Codec) -> None:
    with pytest.raises(ContentNotFound):
        getattr(backend.store, operation)(missing_cid(codec))


def test_missing_cid_is_not_held(backend: StoreBackend) -> None:
    assert backend.store.has(missing_cid()) is False


@pytest.mark.parametrize("operation", ["get", "has", "size", "pin"])
@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-a-cid",
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",  # CIDv0
        "zb2rhmy65F3REf8SZp7De11gxtECBGgUKaLdiDj7MCGCHxbDW",  # CIDv1 in base58btc
        "../../etc/passwd",
    ],
)
def test_malformed_cid_is_refused_before_touching_the_backend(
    backend: StoreBackend, operation: str, bad: str
) -> None:
    with pytest.raises(InvalidCid):
        getattr(backend.store, operation)(bad)


def test_corrupted_content_is_detected_on_read(backend: StoreBackend, fresh: Callable[[int], bytes]) -> None:
    data = fresh(4096)
    cid = backend.store.put(data)
    backend.corrupt(cid)
    with pytest.raises(ContentIntegrityError):
        backend.store.get(cid)


def test_cid_digest_is_the_sha256_of_a_single_block(backend: StoreBackend) -> None:
    data = b'{"batteryId":"BAT-0001"}'
    assert cid_digest(backend.store.put(data)) == hashlib.sha256(data).digest()
