"""CIDs: parsing and validation (table-driven), digests, and the UnixFS DAG against known node CIDs.

The known CIDs were produced by js-ipfs 0.18.1 (``add?cid-version=1&raw-leaves=true``); the node-backed
suites re-check the same equality live. ``multiformats`` serves as an independent reference encoder.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import CID, multihash

from passport.errors import InvalidCid, InvalidIdentifier
from passport.store import (
    CHUNK_SIZE,
    MAX_LINKS,
    Cid,
    cid_digest,
    cid_from_digest,
    cid_of,
    file_cid,
    is_cid,
    iter_file_blocks,
    parse_cid,
)

EMPTY = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
X_RAW = "bafkreibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe"  # sha256(b"x")
X_DAG_PB = "bafybeibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe"


def sequence(size: int) -> bytes:
    return (bytes(range(251)) * (size // 251 + 1))[:size]


KNOWN = [
    pytest.param(b"", EMPTY, id="empty"),
    pytest.param(b"a", "bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm", id="a"),
    pytest.param(b"hello world\n", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", id="hello"),
    pytest.param(
        sequence(CHUNK_SIZE + 1), "bafybeiexg2oqkfnj56l7fcmawswqbijt5shq4b5rg6a546uwpkqqzwjioi", id="chunk+1"
    ),
    pytest.param(
        bytes(1 << 20), "bafybeiggzq4ryi7hscq5hzvzcnk4urnxt3asp37dhgvnjilf7exskximla", id="zeros-1MiB"
    ),
    pytest.param(
        sequence(MAX_LINKS * CHUNK_SIZE + 1),
        "bafybeib4y7ghw2rq7bracc4xwtxrbzo7cfvagdpte2tmrkgwl6dyard3cm",
        id="175-chunks-two-levels",
    ),
]


@pytest.mark.parametrize(("data", "expected"), KNOWN)
def test_cid_for_matches_the_node(data: bytes, expected: str) -> None:
    assert cid_of(data) == expected
    assert str(file_cid(memoryview(data))) == expected


@pytest.mark.parametrize(
    ("text", "codec"),
    [(EMPTY, "raw"), (X_RAW, "raw"), (X_DAG_PB, "dag-pb")],
)
def test_parse_accepts_canonical_cids(text: str, codec: str) -> None:
    cid = parse_cid(text)
    assert cid.codec == codec
    assert str(cid) == text
    assert Cid.from_bytes(bytes(cid)) == cid
    assert is_cid(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "lowercase base32"),
        ("b", "characters"),
        ("hello world", "lowercase base32"),
        (" " + X_RAW, "lowercase base32"),
        (X_RAW + "\n", "characters"),
        (X_RAW[:-1], "characters"),
        (X_RAW + "a", "characters"),
        (X_RAW.upper(), "uppercase base32"),
        ("b" + X_RAW[1:20].upper() + X_RAW[20:], "mixes"),
        (X_RAW[:-1] + "f", "canonical"),  # non-zero padding bits: a second spelling of the same CID
        (X_RAW[:30] + "1" + X_RAW[31:], "base32"),  # '1' is not in the base32 alphabet
        ("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn", "CIDv0"),
        ("zb2rhZhfZ71VE6u6BX78cmaNKsLmDde9EYyrY9dsRVLJWr9oW", "base58btc"),
        ("f015512202d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881", "base16"),
        ("bafyreibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe", "unsupported"),  # dag-cbor
        ("bafkrmidud35dch4xnbuvnfdhldqnsx3q6ep7fwspf7vxyvbrj5cbgswet4", "unsupported"),  # sha3-256
        (
            "bafkrgqfevpkejdcjkywyfaiv2e5b7thksj7vfngviwjjp6fuhzbnvcjdrpatmjxe"
            "hxftrxnqqjeisj7msbh3iicxiq4yh2efqulz2ucvdl7ge",
            "characters",
        ),  # sha2-512
        ("../../etc/passwd", "lowercase base32"),
    ],
)
def test_parse_refuses_everything_else(text: str, reason: str) -> None:
    with pytest.raises(InvalidCid, match=reason):
        parse_cid(text)
    assert not is_cid(text)


@pytest.mark.parametrize("value", [None, b"bafkrei", 42])
def test_parse_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidCid):
        parse_cid(value)  # type: ignore[arg-type]
    assert not is_cid(value)


def test_invalid_cid_is_a_value_error_and_an_invalid_identifier() -> None:
    with pytest.raises(ValueError, match="lowercase"):
        parse_cid("nope")
    assert issubclass(InvalidCid, InvalidIdentifier)


@pytest.mark.parametrize(
    "binary",
    [
        b"",
        bytes(36),
        b"\x01\x71\x12\x20" + bytes(32),
        b"\x01\x55\x12\x20" + bytes(31),
        b"\x00\x55\x12\x20" + bytes(32),
    ],
)
def test_from_bytes_refuses_other_binary_cids(binary: bytes) -> None:
    with pytest.raises(InvalidCid):
        Cid.from_bytes(binary)


def test_digest_has_32_bytes() -> None:
    with pytest.raises(InvalidCid):
        Cid("raw", bytes(31))


def test_cid_digest_is_the_anchored_sha256() -> None:
    assert cid_digest(X_RAW) == hashlib.sha256(b"x").digest()
    assert cid_digest(parse_cid(X_DAG_PB)) == hashlib.sha256(b"x").digest()
    assert cid_from_digest(hashlib.sha256(b"x").digest(), "raw") == X_RAW
    assert cid_from_digest(hashlib.sha256(b"x").digest(), "dag-pb") == X_DAG_PB
    with pytest.raises(InvalidCid):
        cid_digest("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn")


def test_dag_shape_two_levels_past_174_chunks() -> None:
    data = sequence((MAX_LINKS + 1) * CHUNK_SIZE)
    blocks = list(iter_file_blocks(data))
    leaves = [b for b in blocks if b.cid.codec == "raw"]
    nodes = [b for b in blocks if b.cid.codec == "dag-pb"]
    # 175 leaves, a full parent of 174, a parent of the last one, and the root above both.
    assert (len(leaves), len(nodes)) == (MAX_LINKS + 1, 3)
    assert b"".join(leaf.data for leaf in leaves) == data
    assert blocks[-1].cid == file_cid(data)
    for block in blocks:
        assert hashlib.sha256(block.data).digest() == block.cid.digest


def test_single_block_content_is_its_own_raw_block() -> None:
    (block,) = iter_file_blocks(b"doc")
    assert (block.cid.codec, block.data) == ("raw", b"doc")


@given(st.binary(max_size=2048))
def test_cid_for_small_bytes_matches_multiformats(data: bytes) -> None:
    reference = CID("base32", 1, "raw", multihash.wrap(hashlib.sha256(data).digest(), "sha2-256"))
    assert cid_of(data) == str(reference)
    decoded = CID.decode(cid_of(data))
    assert decoded.raw_digest == cid_digest(cid_of(data))
    assert bytes(decoded) == bytes(parse_cid(cid_of(data)))


@given(st.sampled_from(["raw", "dag-pb"]), st.binary(min_size=32, max_size=32))
def test_text_and_binary_forms_round_trip(codec: str, digest: bytes) -> None:
    cid = Cid(codec, digest)  # type: ignore[arg-type]
    assert parse_cid(str(cid)) == cid
    assert Cid.from_bytes(bytes(cid)) == cid
    assert CID.decode(bytes(cid)).encode("base32") == str(cid)


@given(st.text(max_size=80))
def test_parse_raises_only_invalid_cid_for_any_text(text: str) -> None:
    try:
        cid = parse_cid(text)
    except InvalidCid:
        return
    assert str(cid) == text
