"""The UnixFS file DAG that an IPFS node builds for ``add?cid-version=1&raw-leaves=true``.

Reproducing the node's DAG byte for byte is what makes the embedded store's CIDs equal to an IPFS
node's, and what lets the store export blocks a node accepts. The defaults of Kubo and js-ipfs:

- fixed-size chunks of 256 KiB (``size-262144``); each chunk is a ``raw`` block;
- content of at most one chunk is that single raw block (empty content too: the raw empty block);
- otherwise a balanced tree: up to 174 links per node, filled left to right, so every subtree but the
  last is full. Grouping the leaves 174 at a time, then those parents 174 at a time, gives that tree;
- internal nodes are dag-pb ``PBNode``\\s, fields in the order Kubo writes them (Links, then Data),
  each link with ``Hash``, an empty ``Name`` and ``Tsize`` (the block's size plus its descendants'),
  and ``Data`` a UnixFS ``Data{Type: File, filesize, blocksizes…}`` with no inline bytes.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from passport.store.cid import Cid, encode_varint

CHUNK_SIZE: Final = 262_144
MAX_LINKS: Final = 174
_UNIXFS_FILE: Final = 2


@dataclass(frozen=True, slots=True)
class Block:
    """One IPFS block: its CID and the exact bytes that hash to it."""

    cid: Cid
    data: bytes


@dataclass(frozen=True, slots=True)
class _Link:
    cid: Cid
    tsize: int  # bytes of the linked block and everything under it (dag-pb Tsize)
    filesize: int  # bytes of file content under it (UnixFS blocksizes entry)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload


def _uint_field(number: int, value: int) -> bytes:
    """A varint protobuf field (wire type 0)."""
    return encode_varint(number << 3) + encode_varint(value)


def encode_file_node(links: list[_Link]) -> bytes:
    """A dag-pb node linking ``links`` in order, with its UnixFS File metadata."""
    unixfs = _uint_field(1, _UNIXFS_FILE) + _uint_field(3, sum(link.filesize for link in links))
    # blocksizes is proto2 `repeated uint64` without [packed=true]: one tag per entry, as Kubo writes it.
    unixfs += b"".join(_uint_field(4, link.filesize) for link in links)
    pb_links = b"".join(
        _field(2, _field(1, bytes(link.cid)) + _field(2, b"") + _uint_field(3, link.tsize)) for link in links
    )
    return pb_links + _field(1, unixfs)


def iter_file_blocks(data: bytes | memoryview) -> Iterator[Block]:
    """Every block of the file DAG for ``data``: leaves and each level in order, the root last."""
    return _blocks(memoryview(data), with_leaves=True)


def _blocks(view: memoryview, *, with_leaves: bool) -> Iterator[Block]:
    level: list[_Link] = []
    for offset in range(0, max(len(view), 1), CHUNK_SIZE):
        chunk = view[offset : offset + CHUNK_SIZE]
        cid = Cid("raw", hashlib.sha256(chunk).digest())
        if with_leaves:
            yield Block(cid, bytes(chunk))
        level.append(_Link(cid, len(chunk), len(chunk)))
    while len(level) > 1:
        parents: list[_Link] = []
        for start in range(0, len(level), MAX_LINKS):
            group = level[start : start + MAX_LINKS]
            node = encode_file_node(group)
            cid = Cid("dag-pb", hashlib.sha256(node).digest())
            yield Block(cid, node)
            tsize = len(node) + sum(link.tsize for link in group)
            parents.append(_Link(cid, tsize, sum(link.filesize for link in group)))
        level = parents


def file_cid(data: bytes | memoryview) -> Cid:
    """The root CID an IPFS node gives ``data``, computed without copying the content."""
    view = memoryview(data)
    if len(view) <= CHUNK_SIZE:
        # One raw block: the common case for documents.
        return Cid("raw", hashlib.sha256(view).digest())
    # The root is the last internal node built; leaves are hashed in place and not kept.
    (root,) = deque(_blocks(view, with_leaves=False), maxlen=1)
    return root.cid


def cid_of(data: bytes | memoryview) -> str:
    """The CIDv1 base32 string an IPFS node returns for ``add?cid-version=1&raw-leaves=true`` of ``data``."""
    return str(file_cid(data))
