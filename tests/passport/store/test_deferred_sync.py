"""``EmbeddedStore.deferred_sync``: many puts, one file-system flush, and only for the thread asking."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from passport.store import EmbeddedStore
from passport.store import embedded as embedded_module
from passport.store.protocol import DeferredSync


def counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"fsync": 0, "syncfs": 0}
    real_fsync, real_sync = os.fsync, embedded_module._sync_file_system

    def fsync(fd: int) -> None:
        calls["fsync"] += 1
        real_fsync(fd)

    def sync(path: Path) -> None:
        calls["syncfs"] += 1
        real_sync(path)

    monkeypatch.setattr(embedded_module.os, "fsync", fsync)
    monkeypatch.setattr(embedded_module, "_sync_file_system", sync)
    return calls


def test_puts_in_the_block_are_flushed_once_at_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EmbeddedStore(tmp_path / "store")
    assert isinstance(store, DeferredSync)
    calls = counting(monkeypatch)
    with store.deferred_sync():
        cids = [store.put(f"document {i}".encode()) for i in range(20)]
        assert calls == {"fsync": 0, "syncfs": 0}
    assert calls == {"fsync": 0, "syncfs": 1}
    assert [store.get(cid) for cid in cids] == [f"document {i}".encode() for i in range(20)]
    store.put(b"after the block")
    assert calls["fsync"] >= 2  # the file and its directory, as before


def test_other_threads_keep_their_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = EmbeddedStore(tmp_path / "store")
    calls = counting(monkeypatch)
    with store.deferred_sync():
        other = threading.Thread(target=store.put, args=(b"from another thread",))
        other.start()
        other.join()
        assert calls["fsync"] >= 2


def test_a_store_without_durability_flushes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = EmbeddedStore(tmp_path / "store", durable=False)
    calls = counting(monkeypatch)
    with store.deferred_sync():
        store.put(b"x")
    assert calls == {"fsync": 0, "syncfs": 0}
