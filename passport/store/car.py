"""CARv1 archives: blocks with their CIDs, the format IPFS nodes import (``dag/import``).

Layout (https://ipld.io/specs/transport/car/carv1/): a varint-prefixed DAG-CBOR header
``{"roots": [CID…], "version": 1}``, then for each block a varint of ``len(cid) + len(data)``, the
binary CID, the block bytes. The header is the only CBOR needed, so it is written (and read) by hand:
DAG-CBOR's canonical form sorts map keys by length, so ``roots`` comes before ``version``, and a CID is
tag 42 around a byte string holding a zero byte (the identity multibase) and the binary CID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO, Final

from passport.errors import ContentIntegrityError, StoreError
from passport.store.cid import Cid, encode_varint
from passport.store.unixfs import Block

_CID_TAG: Final = b"\xd8\x2a"  # CBOR major type 6 (tag), 42 in the next byte


def _cbor_head(major: int, length: int) -> bytes:
    """A CBOR item head in its shortest form, as DAG-CBOR requires."""
    if length < 24:
        return bytes([major << 5 | length])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | extra]) + length.to_bytes(size, "big")
    raise ValueError(f"CBOR length {length} too large")


def _cbor_text(text: str) -> bytes:
    raw = text.encode()
    return _cbor_head(3, len(raw)) + raw


def encode_header(roots: Sequence[Cid]) -> bytes:
    """The varint-prefixed DAG-CBOR CARv1 header naming ``roots``."""
    body = _cbor_head(5, 2) + _cbor_text("roots") + _cbor_head(4, len(roots))
    for root in roots:
        link = b"\x00" + bytes(root)
        body += _CID_TAG + _cbor_head(2, len(link)) + link
    body += _cbor_text("version") + _cbor_head(0, 1)
    return encode_varint(len(body)) + body


def write_car(out: BinaryIO, roots: Sequence[Cid], blocks: Iterable[Block]) -> int:
    """Write a CARv1 to ``out``: the header, then ``blocks`` (each once); return the block count."""
    out.write(encode_header(roots))
    seen: set[Cid] = set()
    for block in blocks:
        if block.cid in seen:
            continue
        seen.add(block.cid)
        cid = bytes(block.cid)
        out.write(encode_varint(len(cid) + len(block.data)))
        out.write(cid)
        out.write(block.data)
    return len(seen)


def _read_varint(data: memoryview, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if offset >= len(data) or shift > 63:
            raise StoreError("truncated or oversized varint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, offset


def _decode_header(header: bytes) -> list[Cid]:
    # Only the exact shape encode_header writes is accepted: a reader for our own exports and tests.
    prefix = _cbor_head(5, 2) + _cbor_text("roots")
    if not header.startswith(prefix):
        raise StoreError("CAR header is not {roots, version} DAG-CBOR")
    view, offset = header[len(prefix) :], 0
    if not view or view[0] >> 5 != 4:
        raise StoreError("CAR header roots is not an array")
    count, offset = view[0] & 0x1F, 1
    if count >= 24:
        width = 1 << (count - 24)
        count, offset = int.from_bytes(view[1 : 1 + width], "big"), 1 + width
    roots = []
    for _ in range(count):
        if view[offset : offset + 2] != _CID_TAG or view[offset + 2] != 0x58:  # a byte string of 24-255
            raise StoreError("CAR header root is not a CID")
        length = view[offset + 3]
        link = view[offset + 4 : offset + 4 + length]
        if link[:1] != b"\x00":
            raise StoreError("CAR header root lacks the identity multibase byte")
        roots.append(Cid.from_bytes(link[1:]))
        offset += 4 + length
    if view[offset:] != _cbor_text("version") + _cbor_head(0, 1):
        raise StoreError("CAR header version is not 1")
    return roots


def read_car(data: bytes) -> tuple[list[Cid], Iterator[Block]]:
    """Parse a CARv1 written by ``write_car``: its roots, and its blocks, each checked against its CID."""
    view = memoryview(data)
    length, offset = _read_varint(view, 0)
    roots = _decode_header(bytes(view[offset : offset + length]))

    def blocks(offset: int) -> Iterator[Block]:
        while offset < len(view):
            size, offset = _read_varint(view, offset)
            if size < 36 or offset + size > len(view):
                raise StoreError(f"truncated block section at byte {offset}")
            cid = Cid.from_bytes(bytes(view[offset : offset + 36]))
            block = bytes(view[offset + 36 : offset + size])
            if hashlib.sha256(block).digest() != cid.digest:
                raise ContentIntegrityError(f"CAR block {cid} does not hash to its CID")
            yield Block(cid, block)
            offset += size

    return roots, blocks(offset + length)
