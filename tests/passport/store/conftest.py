"""Store fixtures: every backend behind one ``backend`` fixture, and a real js-ipfs daemon.

* ``jsipfs_node`` — session-scoped js-ipfs daemon (offline, 127.0.0.1, free ports), stopped by PID.
* ``ipfs_store`` — an ``IpfsRpcStore`` on that daemon.
* ``backend`` — parametrized over ``embedded`` (a fresh directory per test), ``ipfs`` and ``mirrored``
  (both marked ``node``); a ``StoreBackend`` bundles the store with a way to damage what it holds on
  disk, so the integrity checks are exercised on each (the mirrored store's damage hits both copies).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.jsipfs import JsIpfsNode
from passport.store import EmbeddedStore, IpfsRpcStore, MirroredStore
from tests.passport.store.store_backends import (
    StoreBackend,
    embedded_content_path,
    flip_bit,
    jsipfs_block_path,
)


@pytest.fixture(scope="session")
def jsipfs_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsIpfsNode]:
    node = JsIpfsNode(tmp_path_factory.mktemp("jsipfs"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def ipfs_store(jsipfs_node: JsIpfsNode) -> Iterator[IpfsRpcStore]:
    # A local offline node answers for what it holds at once: a 1 s search budget keeps misses quick.
    with IpfsRpcStore(jsipfs_node.api_url, timeout=30.0, lookup_timeout=1.0) as store:
        yield store


@pytest.fixture
def embedded_store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store")


@pytest.fixture
def mirrored_store(embedded_store: EmbeddedStore, ipfs_store: IpfsRpcStore) -> MirroredStore:
    return MirroredStore(embedded_store, ipfs_store)


@pytest.fixture(
    params=[
        "embedded",
        pytest.param("ipfs", marks=pytest.mark.node),
        pytest.param("mirrored", marks=pytest.mark.node),
    ]
)
def backend(request: pytest.FixtureRequest) -> StoreBackend:
    if request.param == "embedded":
        store: EmbeddedStore = request.getfixturevalue("embedded_store")
        return StoreBackend("embedded", store, lambda cid: flip_bit(embedded_content_path(store, cid)))
    node: JsIpfsNode = request.getfixturevalue("jsipfs_node")
    if request.param == "mirrored":
        mirrored: MirroredStore = request.getfixturevalue("mirrored_store")

        def corrupt_both(cid: str) -> None:
            flip_bit(embedded_content_path(mirrored.embedded, cid))
            flip_bit(jsipfs_block_path(node, cid))

        return StoreBackend("mirrored", mirrored, corrupt_both)
    return StoreBackend(
        "ipfs", request.getfixturevalue("ipfs_store"), lambda cid: flip_bit(jsipfs_block_path(node, cid))
    )


@pytest.fixture
def fresh() -> Callable[[int], bytes]:
    """Random bytes of a given size: content no store (and no earlier test) can already hold."""
    return os.urandom
