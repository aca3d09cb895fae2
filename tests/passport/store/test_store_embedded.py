"""What only the embedded store promises: crash-safe writes, self-repair, threads, CAR export."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from passport.errors import ContentIntegrityError, ContentNotFound
from passport.store import (
    CHUNK_SIZE,
    EmbeddedStore,
    cid_of,
    iter_file_blocks,
    parse_cid,
    read_car,
    write_car,
)
from passport.store.embedded import STALE_TEMP_SECONDS
from tests.passport.store.store_backends import embedded_content_path

# A writer that keeps putting 8 MiB documents until it is killed.
WRITER = """
import os, sys
from pathlib import Path
from passport.store import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
while True:
    store.put(os.urandom(8 << 20))
"""


def kill_writer_mid_write(root: Path) -> list[Path]:
    """Start a writer, SIGKILL it while a temp file exists (mid-write), return the temp files left."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root)])
    try:
        deadline = time.monotonic() + 60
        while not (leftovers := list((root / "tmp").iterdir())):
            assert proc.poll() is None, "the writer died on its own"
            assert time.monotonic() < deadline, "the writer never started a write"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return [path for path in leftovers if path.exists()]


@pytest.mark.slow  # SIGKILLs subprocess writers until one dies mid-write: ~5 s
def test_a_crash_mid_write_leaves_no_torn_content(tmp_path: Path) -> None:
    root = tmp_path / "store"
    EmbeddedStore(root)
    # The rename may win the race with the kill now and then; three tries make a miss vanishingly rare.
    for _ in range(3):
        if leftovers := kill_writer_mid_write(root):
            break
    assert leftovers, "never caught the writer mid-write"
    store = EmbeddedStore(root)  # reopening removes what the killed writer abandoned
    assert list((root / "tmp").iterdir()) == []
    for cid in store.cids():
        assert len(store.get(cid)) == 8 << 20  # complete and verified, never half a document


def test_leftover_temp_files_are_never_served_and_are_cleaned(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    data = os.urandom(5000)
    cid = cid_of(data)
    dead_writer = tmp_path / "store" / "tmp" / "999999999-torn.tmp"  # beyond any pid_max: not running
    dead_writer.write_bytes(data[:1000])
    live_writer = tmp_path / "store" / "tmp" / f"{os.getpid()}-in-progress.tmp"
    live_writer.write_bytes(data[:2000])
    abandoned = tmp_path / "store" / "tmp" / f"{os.getpid()}-ancient.tmp"
    abandoned.write_bytes(data[:3000])
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(abandoned, (old, old))

    assert not store.has(cid)
    with pytest.raises(ContentNotFound):
        store.get(cid)
    assert list(store.cids()) == []

    EmbeddedStore(tmp_path / "store")
    assert sorted(p.name for p in (tmp_path / "store" / "tmp").iterdir()) == [live_writer.name]


def test_a_torn_or_damaged_file_is_refused_and_put_repairs_it(embedded_store: EmbeddedStore) -> None:
    data = os.urandom(3 * CHUNK_SIZE)
    cid = embedded_store.put(data)
    path = embedded_content_path(embedded_store, cid)
    path.write_bytes(data[: len(data) // 2])  # what a non-atomic writer would leave after a crash
    with pytest.raises(ContentIntegrityError):
        embedded_store.get(cid)
    assert embedded_store.put(data) == cid
    assert embedded_store.get(cid) == data


def test_concurrent_puts_from_threads(embedded_store: EmbeddedStore) -> None:
    documents = [os.urandom(n * 97) for n in range(60)] + [os.urandom(CHUNK_SIZE + 1)]
    # Every document three times, interleaved, so identical writes race each other.
    with ThreadPoolExecutor(max_workers=8) as pool:
        cids = list(pool.map(embedded_store.put, documents * 3))
    assert cids == [cid_of(doc) for doc in documents * 3]
    assert sorted(embedded_store.cids()) == sorted(set(cids))
    for doc in documents:
        assert embedded_store.get(cid_of(doc)) == doc
    assert list((embedded_store.root / "tmp").iterdir()) == []


def test_content_survives_reopening(tmp_path: Path) -> None:
    cid = EmbeddedStore(tmp_path / "store").put(b"kept")
    assert EmbeddedStore(tmp_path / "store").get(cid) == b"kept"


def test_layout_is_sharded_by_cid(embedded_store: EmbeddedStore) -> None:
    cid = embedded_store.put(b"sharded")
    assert embedded_content_path(embedded_store, cid).read_bytes() == b"sharded"


# -- CAR export ------------------------------------------------------------------------------------


def test_export_car_holds_every_block_of_every_dag(embedded_store: EmbeddedStore, tmp_path: Path) -> None:
    documents = [b"", b"doc", os.urandom(2 * CHUNK_SIZE + 3), bytes(4 * CHUNK_SIZE)]
    cids = [embedded_store.put(doc) for doc in documents]
    roots = embedded_store.export_car(tmp_path / "all.car")
    assert roots == sorted(cids)
    car_roots, blocks = read_car((tmp_path / "all.car").read_bytes())
    assert [str(root) for root in car_roots] == roots
    expected = {block.cid: block.data for doc in documents for block in iter_file_blocks(doc)}
    held = {block.cid: block.data for block in blocks}
    assert held == expected
    # Four identical zero chunks are one block: 2 single raw blocks, 3 leaves + their node, 1 zero
    # leaf + its node.
    assert len(held) == 8


def test_export_car_of_chosen_roots(embedded_store: EmbeddedStore, tmp_path: Path) -> None:
    wanted = embedded_store.put(b"wanted")
    embedded_store.put(b"not wanted")
    assert embedded_store.export_car(tmp_path / "one.car", roots=[wanted]) == [wanted]
    roots, blocks = read_car((tmp_path / "one.car").read_bytes())
    assert [str(r) for r in roots] == [wanted]
    assert [block.data for block in blocks] == [b"wanted"]


def test_export_car_refuses_unknown_roots(embedded_store: EmbeddedStore, tmp_path: Path) -> None:
    with pytest.raises(ContentNotFound):
        embedded_store.export_car(tmp_path / "x.car", roots=[cid_of(b"never stored")])
    assert not (tmp_path / "x.car").exists()


def test_export_car_of_an_empty_store(embedded_store: EmbeddedStore, tmp_path: Path) -> None:
    assert embedded_store.export_car(tmp_path / "empty.car") == []
    roots, blocks = read_car((tmp_path / "empty.car").read_bytes())
    assert (roots, list(blocks)) == ([], [])


def test_write_car_header_is_dag_cbor() -> None:
    out = io.BytesIO()
    root = parse_cid(cid_of(b"x"))
    write_car(out, [root], iter_file_blocks(b"x"))
    car = out.getvalue()
    # varint length, map(2), "roots", array(1), tag 42, bytes(37) 0x00 + CID, "version", 1
    header = b"\xa2eroots\x81\xd8\x2a\x58\x25\x00" + bytes(root) + b"gversion\x01"
    assert car.startswith(bytes([len(header)]) + header)
    assert car.endswith(bytes([36 + 1]) + bytes(root) + b"x")
    assert hashlib.sha256(car[-1:]).digest() == root.digest
