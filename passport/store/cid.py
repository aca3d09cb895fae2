"""IPFS content identifiers in the one spelling this project uses: CIDv1, base32, sha2-256.

A CID string names content everywhere here (store keys, file names, the ledger's ``cidDigest``), so it
must have exactly one spelling for given content: multibase ``b`` (lowercase base32, no padding),
version 1, codec ``raw`` (one block) or ``dag-pb`` (a UnixFS file DAG), multihash sha2-256 (32 bytes).
Other valid CIDs (CIDv0 ``Qm…``, base58btc ``z…``, uppercase ``B…``, dag-cbor, other hashes) are refused
with ``InvalidCid`` rather than silently converted, because converting would change the anchored string.

The format is this narrow, so it is parsed with the standard library: the general ``multiformats``
package validates types at run time and costs ~0.3-0.7 ms per CID, more than reading a small document
from disk. The tests check this module against ``multiformats`` as an independent reference.
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass
from typing import Final, Literal

from passport.errors import InvalidCid

RAW: Final = 0x55
DAG_PB: Final = 0x70
SHA2_256: Final = 0x12
DIGEST_SIZE: Final = 32

Codec = Literal["raw", "dag-pb"]
_CODEC_NAMES: Final[dict[int, Codec]] = {RAW: "raw", DAG_PB: "dag-pb"}
_CODEC_CODES: Final[dict[Codec, int]] = {"raw": RAW, "dag-pb": DAG_PB}

# version 1, the codec (a one-byte varint for both codecs), then the multihash header: sha2-256, 32 bytes.
_PREFIX: Final[dict[int, bytes]] = {code: bytes([1, code, SHA2_256, DIGEST_SIZE]) for code in _CODEC_NAMES}
_BINARY_SIZE: Final = 4 + DIGEST_SIZE
# 36 bytes are 288 bits: 58 base32 characters, 2 of them padding bits, 1 multibase prefix.
_TEXT_SIZE: Final = 1 + 58


@dataclass(frozen=True, slots=True)
class Cid:
    """A parsed CID: its codec and its sha2-256 digest; ``str()`` gives the canonical base32 text."""

    codec: Codec
    digest: bytes

    def __post_init__(self) -> None:
        if len(self.digest) != DIGEST_SIZE:
            raise InvalidCid(f"a sha2-256 digest has {DIGEST_SIZE} bytes, not {len(self.digest)}")

    @classmethod
    def from_bytes(cls, binary: bytes) -> Cid:
        """Parse the binary form (as in dag-pb links and CAR files)."""
        if len(binary) != _BINARY_SIZE:
            raise InvalidCid(f"a CIDv1 sha2-256 is {_BINARY_SIZE} bytes, got {len(binary)}")
        for code, prefix in _PREFIX.items():
            if binary.startswith(prefix):
                return cls(_CODEC_NAMES[code], bytes(binary[4:]))
        raise InvalidCid(f"unsupported CID prefix {binary[:4].hex()}: need CIDv1, raw or dag-pb, sha2-256")

    @property
    def multihash(self) -> bytes:
        return bytes([SHA2_256, DIGEST_SIZE]) + self.digest

    def __bytes__(self) -> bytes:
        return _PREFIX[_CODEC_CODES[self.codec]] + self.digest

    def __str__(self) -> str:
        return "b" + base64.b32encode(bytes(self)).decode("ascii").lower().rstrip("=")

    def __repr__(self) -> str:
        return f"Cid({str(self)!r})"


def encode_varint(value: int) -> bytes:
    """An unsigned LEB128 varint, the multiformats integer encoding (also protobuf's and CAR's)."""
    if value < 0:
        raise ValueError(f"varints are unsigned, got {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def parse_cid(text: str) -> Cid:
    """Parse a CID string; raise ``InvalidCid`` saying why it is not one we accept."""
    if not isinstance(text, str):
        raise InvalidCid(f"a CID is a string, not {type(text).__name__}")
    return _parse_cid(text)


# Memoised: every verification request parses the same few CIDs again (base32 is ~0.25 ms of a 1.7 ms
# verification). A ``Cid`` is immutable and a rejected text raises, which the cache never keeps.
@functools.lru_cache(maxsize=65_536)
def _parse_cid(text: str) -> Cid:
    if text.startswith("Qm") and len(text) == 46:
        raise InvalidCid(f"{text!r} is a CIDv0: add content with cid-version=1 and raw-leaves")
    if not text.startswith("b"):
        hint = {"z": "base58btc", "B": "uppercase base32", "f": "base16", "m": "base64"}.get(text[:1])
        base = f" ({hint})" if hint else ""
        raise InvalidCid(f"{text[:80]!r} is not lowercase base32 (multibase 'b'){base}")
    if len(text) != _TEXT_SIZE:
        raise InvalidCid(f"{text[:80]!r} has {len(text)} characters; a CIDv1 sha2-256 has {_TEXT_SIZE}")
    body = text[1:]
    if body != body.lower():
        raise InvalidCid(f"{text!r} mixes upper and lower case")
    try:
        # b32decode wants uppercase and padding; 58 characters take 6 '=' to reach a multiple of 8.
        binary = base64.b32decode(body.upper() + "======")
    except (binascii.Error, ValueError) as exc:
        raise InvalidCid(f"{text!r} is not valid base32: {exc}") from exc
    cid = Cid.from_bytes(binary)
    # The two padding bits must be zero, or two strings would decode to one CID.
    if str(cid) != text:
        raise InvalidCid(f"{text!r} is not the canonical spelling of {cid}")
    return cid


def is_cid(text: object) -> bool:
    """True when ``text`` is a CID string in the canonical form ``parse_cid`` accepts."""
    try:
        parse_cid(text)  # type: ignore[arg-type]  # anything may be asked; parse_cid checks the type
    except InvalidCid:
        return False
    return True


def cid_digest(cid: str | Cid) -> bytes:
    """The 32-byte sha2-256 digest inside ``cid`` (what the ledger anchors as ``cidDigest``)."""
    return (cid if isinstance(cid, Cid) else parse_cid(cid)).digest


def cid_from_digest(digest: bytes, codec: Codec) -> str:
    """The CID string for a digest read back from the ledger and the codec recorded beside it."""
    return str(Cid(codec, bytes(digest)))
