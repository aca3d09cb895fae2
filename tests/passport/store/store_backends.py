"""Test plumbing shared by the store suites: backends bundled with a way to damage their content."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devtools.jsipfs import JsIpfsNode
from passport.store import ContentStore, EmbeddedStore, parse_cid


@dataclass
class StoreBackend:
    name: str
    store: ContentStore
    # Flip one bit in the stored bytes of a raw (single-block) CID, behind the store's back.
    corrupt: Callable[[str], None]


def flip_bit(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def embedded_content_path(store: EmbeddedStore, cid: str) -> Path:
    return store.root / "content" / cid[-3:-1] / cid


def jsipfs_block_path(node: JsIpfsNode, cid: str) -> Path:
    # js-ipfs keeps blocks in a flatfs keyed by the unpadded uppercase base32 multihash, sharded by the
    # key's next-to-last two characters.
    key = base64.b32encode(parse_cid(cid).multihash).decode().rstrip("=")
    return node.repo / "blocks" / key[-3:-1] / f"{key}.data"
