"""``MirroredStore`` beyond the shared behaviour suite: content survives the loss of either copy, reads
fall back to the node and repair the directory, and a put is refused (not half-done) when the node is down.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from passport.errors import ContentIntegrityError, ContentNotFound, StoreUnavailable
from passport.settings import Settings
from passport.store import EmbeddedStore, IpfsRpcStore, MirroredStore, cid_of, open_store
from tests.passport.store.store_backends import embedded_content_path, flip_bit

pytestmark = pytest.mark.node


def test_both_copies_hold_a_put(mirrored_store: MirroredStore) -> None:
    data = os.urandom(3000)
    cid = mirrored_store.put(data)
    assert mirrored_store.embedded.get(cid) == data
    assert mirrored_store.node.get(cid) == data


def test_a_wiped_directory_is_read_from_the_node_and_restored(
    mirrored_store: MirroredStore, ipfs_store: IpfsRpcStore, tmp_path: Path
) -> None:
    data = os.urandom(5000)
    cid = mirrored_store.put(data)
    # The data directory is lost: a new, empty one in its place.
    restored = MirroredStore(EmbeddedStore(tmp_path / "new-store"), ipfs_store)
    assert not restored.embedded.has(cid)
    assert restored.has(cid)
    assert restored.size(cid) == 5000
    assert restored.get(cid) == data
    assert restored.embedded.get(cid) == data  # read repair


def test_a_damaged_embedded_copy_is_replaced_from_the_node(mirrored_store: MirroredStore) -> None:
    data = os.urandom(4096)
    cid = mirrored_store.put(data)
    flip_bit(embedded_content_path(mirrored_store.embedded, cid))
    with pytest.raises(ContentIntegrityError):
        mirrored_store.embedded.get(cid)
    assert mirrored_store.get(cid) == data
    assert mirrored_store.embedded.get(cid) == data


def test_content_survives_the_node_and_puts_wait_for_it(
    embedded_store: EmbeddedStore, tmp_path: Path
) -> None:
    data = os.urandom(2048)
    cid = embedded_store.put(data)
    # Nothing listens on port 9 of loopback: the node is gone.
    with IpfsRpcStore("http://127.0.0.1:9", timeout=0.5, retries=0) as dead:
        mirrored = MirroredStore(embedded_store, dead)
        assert mirrored.get(cid) == data
        assert mirrored.has(cid)
        assert mirrored.size(cid) == 2048
        with pytest.raises(StoreUnavailable):
            mirrored.put(os.urandom(100))


def test_missing_everywhere_is_content_not_found(mirrored_store: MirroredStore) -> None:
    with pytest.raises(ContentNotFound):
        mirrored_store.get(cid_of(os.urandom(64)))


def test_repair_copies_each_way(
    mirrored_store: MirroredStore, ipfs_store: IpfsRpcStore, tmp_path: Path
) -> None:
    on_node = mirrored_store.put(os.urandom(700))
    local_only = EmbeddedStore(tmp_path / "fresh")
    only_here = local_only.put(os.urandom(900))
    report = MirroredStore(local_only, ipfs_store).repair([on_node])
    assert (report.checked, report.to_node, report.to_embedded) == (2, 1, 1)
    assert ipfs_store.has(only_here)
    assert local_only.has(on_node)
    again = MirroredStore(local_only, ipfs_store).repair()
    assert (again.to_node, again.to_embedded) == (0, 0)


def test_settings_select_the_mirrored_store(tmp_path: Path, ipfs_store: IpfsRpcStore) -> None:
    settings = Settings(data_dir=tmp_path, store_backend="mirrored", ipfs_api_url=ipfs_store.api_url)
    store = open_store(settings)
    assert isinstance(store, MirroredStore)
    cid = store.put(b"mirrored by the settings")
    assert (settings.store_dir / "content" / cid[-3:-1] / cid).is_file()
    assert ipfs_store.get(cid) == b"mirrored by the settings"
    store.close()
