"""Committing a passport's sections: salting, sealing, the manifest and its digest; opening them again."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.canonical import canonical_json, parse_canonical_object
from passport.envelope import KeyRing
from passport.errors import (
    ContentIntegrityError,
    DecryptionError,
    DocumentError,
    DocumentValidationError,
    KeyNotAvailable,
)
from passport.ids import battery_id_hash
from passport.model import LifecycleStatus
from passport.sections import (
    MANIFEST_FORMAT,
    CommittedPassport,
    Manifest,
    commit_passport,
    open_passport,
    parse_section_document,
    section_document,
)
from passport.store import ContentStore, EmbeddedStore, cid_digest

PASSPORT_ID = uuid.UUID("7a1f0c2e-9b8d-4f6a-a3c5-e7d9b1f30486")
SECTIONS: dict[str, dict[str, Any]] = {
    "public": {"battery_id": "BAT-0001", "chemistry": "NMC811", "capacity_kwh": 75.5},
    "legitimate_interest": {"dismantling": ["unscrew lid", "disconnect busbar"], "soh_percent": 97},
    "authority": {"test_reports": [{"lab": "TÜV", "passed": True}]},
}


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return EmbeddedStore(tmp_path / "store")


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


def commit(
    store: ContentStore, keyring: KeyRing, sections: dict[str, Any] = SECTIONS, **kw: Any
) -> CommittedPassport:
    args: dict[str, Any] = {
        "passport_id": PASSPORT_ID,
        "battery_id_hash": battery_id_hash("BAT-0001"),
        "version": 1,
        "status": LifecycleStatus.ORIGINAL,
        "store": store,
        "keyring": keyring,
        "document_schema": "test-schema/1",
    } | kw
    return commit_passport(sections, **args)


def test_manifest_digest_is_sha256_of_canonical_manifest_and_the_cid_digest(
    store: ContentStore, keyring: KeyRing
) -> None:
    committed = commit(store, keyring)
    assert committed.manifest_bytes == canonical_json(committed.manifest.document())
    assert committed.manifest_digest == hashlib.sha256(committed.manifest_bytes).digest()
    assert committed.manifest_digest == committed.manifest.digest()
    assert cid_digest(committed.manifest_cid) == committed.manifest_digest
    assert store.get(committed.manifest_cid) == committed.manifest_bytes


def test_manifest_lists_every_section_with_digest_cid_and_encryption(
    store: ContentStore, keyring: KeyRing
) -> None:
    committed = commit(store, keyring)
    manifest = committed.manifest
    assert manifest.format == MANIFEST_FORMAT
    assert manifest.passport_id == PASSPORT_ID.urn
    assert manifest.battery_id_hash == "0x" + battery_id_hash("BAT-0001").hex()
    assert (manifest.version, manifest.status, manifest.predecessor) == (1, "ORIGINAL", "0x" + "00" * 32)
    assert manifest.tiers() == ["public", "legitimate_interest", "authority"]
    for entry in manifest.sections:
        stored = store.get(entry.cid)
        assert entry.digest == "0x" + hashlib.sha256(stored).hexdigest()
        assert entry.size == len(stored)
        assert committed.section_cids[entry.tier] == entry.cid
    public = manifest.entry("public")
    assert not public.encrypted
    assert public.encryption is None
    assert store.get(public.cid) == committed.public_section
    for tier in ("legitimate_interest", "authority"):
        entry = manifest.entry(tier)
        assert entry.encrypted
        assert entry.encryption is not None
        assert entry.encryption.key_id == keyring.current_key_id(tier)


def test_restricted_sections_reach_the_store_only_as_ciphertext(
    store: ContentStore, keyring: KeyRing
) -> None:
    committed = commit(store, keyring)
    for tier in ("legitimate_interest", "authority"):
        stored = store.get(committed.section_cids[tier])
        assert b"dismantling" not in stored
        assert b"test_reports" not in stored
        assert b'"tier"' not in stored
        with pytest.raises(DocumentValidationError):
            parse_canonical_object(stored)


def test_public_section_is_salted_canonical_json(store: ContentStore, keyring: KeyRing) -> None:
    committed = commit(store, keyring)
    document = parse_canonical_object(committed.public_section)
    assert set(document) == {"tier", "salt", "data"}
    assert document["tier"] == "public"
    assert len(bytes.fromhex(document["salt"][2:])) == 32
    assert document["data"] == SECTIONS["public"]


def test_equal_sections_get_different_digests_thanks_to_the_salt(
    store: ContentStore, keyring: KeyRing
) -> None:
    a, b = commit(store, keyring), commit(store, keyring)
    assert a.manifest.entry("public").digest != b.manifest.entry("public").digest
    # ... and nobody can confirm a guess of a low-entropy section from its digest without the salt.
    guess = canonical_json({"tier": "public", "data": SECTIONS["public"]})
    assert "0x" + hashlib.sha256(guess).hexdigest() != a.manifest.entry("public").digest


def test_open_returns_every_section(store: ContentStore, keyring: KeyRing) -> None:
    committed = commit(store, keyring)
    opened = open_passport(
        committed.manifest_cid, store=store, keyring=keyring, expected_digest=committed.manifest_digest
    )
    assert opened == SECTIONS


def test_public_reader_needs_no_keys(store: ContentStore, keyring: KeyRing) -> None:
    committed = commit(store, keyring)
    assert open_passport(committed.manifest_cid, store=store, tiers=["public"]) == {
        "public": SECTIONS["public"]
    }
    with pytest.raises(KeyNotAvailable, match="no key ring"):
        open_passport(committed.manifest_cid, store=store, tiers=["authority"])


def test_public_only_passport(store: ContentStore, keyring: KeyRing) -> None:
    committed = commit(store, keyring, {"public": {"a": 1}})
    assert committed.manifest.tiers() == ["public"]
    assert open_passport(committed.manifest, store=store, keyring=keyring) == {"public": {"a": 1}}
    with pytest.raises(DocumentError, match="lists no authority section"):
        open_passport(committed.manifest, store=store, keyring=keyring, tiers=["authority"])


def test_open_checks_the_committed_digest(store: ContentStore, keyring: KeyRing) -> None:
    committed = commit(store, keyring)
    with pytest.raises(ContentIntegrityError, match="not the committed"):
        open_passport(committed.manifest_cid, store=store, keyring=keyring, expected_digest=bytes(32))


def _swap_entry(manifest: Manifest, tier: str, **changes: Any) -> Manifest:
    document = manifest.document()
    for entry in document["sections"]:
        if entry["tier"] == tier:
            entry.update(changes)
            if "encryption" in changes and changes["encryption"] is None:
                del entry["encryption"]
    return Manifest.from_document(document)


def test_a_manifest_pointing_at_other_content_is_caught(store: ContentStore, keyring: KeyRing) -> None:
    a, b = commit(store, keyring), commit(store, keyring)
    forged = _swap_entry(a.manifest, "public", cid=b.section_cids["public"])
    with pytest.raises(ContentIntegrityError, match="does not match the manifest's digest"):
        open_passport(forged, store=store, tiers=["public"])


def test_a_sealed_section_moved_to_another_passport_does_not_open(
    store: ContentStore, keyring: KeyRing
) -> None:
    a = commit(store, keyring)
    b = commit(store, keyring, passport_id=uuid.UUID(int=5))
    authority = a.manifest.entry("authority")
    moved = _swap_entry(
        b.manifest,
        "authority",
        cid=authority.cid,
        digest=authority.digest,
        size=authority.size,
        encryption=authority.encryption.model_dump() if authority.encryption else None,
    )
    with pytest.raises(DecryptionError):
        open_passport(moved, store=store, keyring=keyring, tiers=["authority"])


def test_a_forged_plaintext_digest_is_caught(store: ContentStore, keyring: KeyRing) -> None:
    committed = commit(store, keyring)
    entry = committed.manifest.entry("authority")
    assert entry.encryption is not None
    encryption = entry.encryption.model_dump() | {"plaintext_digest": "0x" + "ab" * 32}
    forged = _swap_entry(committed.manifest, "authority", encryption=encryption)
    with pytest.raises(ContentIntegrityError, match="plaintext digest"):
        open_passport(forged, store=store, keyring=keyring, tiers=["authority"])


def test_version_struct_carries_the_manifest_digest(store: ContentStore, keyring: KeyRing) -> None:
    pred = b"\x00" * 16 + uuid.UUID(int=9).bytes
    committed = commit(store, keyring, version=4, status=LifecycleStatus.REPURPOSED, predecessor=pred)
    struct = committed.version_struct()
    assert struct.passport_id == b"\x00" * 16 + PASSPORT_ID.bytes
    assert struct.version == 4
    assert struct.status is LifecycleStatus.REPURPOSED
    assert struct.manifest_digest == committed.manifest_digest
    assert struct.predecessor == pred


@pytest.mark.parametrize(
    ("sections", "fragment"),
    [
        ({"legitimate_interest": {}}, "needs a public section"),
        ({"public": {}, "secret": {}}, "unknown access tiers"),
        ({"public": {"x": float("nan")}}, "not a JSON number"),
        ({"public": {"x": 2**60}}, "outside"),
        ({"public": {"x": b"raw"}}, "not a JSON type"),
    ],
)
def test_bad_sections_are_refused(
    store: ContentStore, keyring: KeyRing, sections: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(DocumentValidationError, match=fragment):
        commit(store, keyring, sections)


def _valid_manifest_document(store: ContentStore, keyring: KeyRing) -> dict[str, Any]:
    return commit(store, keyring).manifest.document()


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d | {"format": "v0"}, "format"),
        (lambda d: d | {"extra": 1}, "extra"),
        (lambda d: d | {"version": 0}, "version"),
        (lambda d: d | {"status": "original"}, "status"),
        (lambda d: d | {"passport_id": "urn:uuid:7A1F0C2E-9B8D-4F6A-A3C5-E7D9B1F30486"}, "passport_id"),
        (lambda d: d | {"battery_id_hash": "0x" + "AB" * 32}, "battery_id_hash"),
        (lambda d: d | {"sections": d["sections"][1:]}, "public section"),
        (lambda d: d | {"sections": d["sections"][::-1]}, "tier order"),
        (lambda d: d | {"sections": [d["sections"][0], d["sections"][0]]}, "tier order"),
        (lambda d: d | {"sections": [d["sections"][0] | {"encrypted": True}]}, "in clear"),
        (
            lambda d: (
                d
                | {
                    "sections": [
                        d["sections"][0],
                        {k: v for k, v in d["sections"][1].items() if k != "encryption"},
                    ]
                }
            ),
            "must be encrypted",
        ),
        (lambda d: d | {"sections": [d["sections"][0] | {"encryption": None}]}, "round-trip"),
    ],
)
def test_malformed_manifests_are_refused(
    store: ContentStore, keyring: KeyRing, mutate: Any, fragment: str
) -> None:
    with pytest.raises(DocumentValidationError, match=fragment):
        Manifest.from_document(mutate(_valid_manifest_document(store, keyring)))


@pytest.mark.parametrize(
    ("document", "tier", "fragment"),
    [
        (b'{"data":{},"salt":"0x00","tier":"public"}', "public", "salt"),
        (b'{"data":[],"salt":"0x' + b"00" * 32 + b'","tier":"public"}', "public", "JSON object"),
        (b'{"data":{},"salt":"0x' + b"00" * 32 + b'","tier":"authority"}', "public", "expected 'public'"),
        (
            b'{"data":{},"more":1,"salt":"0x' + b"00" * 32 + b'","tier":"public"}',
            "public",
            "exactly tier, salt, data",
        ),
        (b'{"tier":"public","salt":"0x' + b"00" * 32 + b'","data":{}}', "public", "canonical form"),
    ],
)
def test_bad_section_documents_are_refused(document: bytes, tier: str, fragment: str) -> None:
    with pytest.raises(DocumentValidationError, match=fragment):
        parse_section_document(document, tier)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.dictionaries(
        st.text(max_size=8),
        st.none()
        | st.booleans()
        | st.integers(-(2**53) + 1, 2**53 - 1)
        | st.text()
        | st.floats(allow_nan=False, allow_infinity=False),
        max_size=6,
    ),
    tier=st.sampled_from(["legitimate_interest", "authority"]),
)
def test_any_section_data_round_trips_through_commit_and_open(
    store: ContentStore, keyring: KeyRing, data: dict[str, Any], tier: str
) -> None:
    committed = commit(store, keyring, {"public": {"p": 1}, tier: data})
    opened = open_passport(committed.manifest_cid, store=store, keyring=keyring, tiers=[tier])
    assert canonical_json(opened[tier]) == canonical_json(data)


def test_section_document_is_deterministic_given_the_salt() -> None:
    salt = bytes(range(32))
    assert section_document("public", {"b": 1, "a": 2}, salt) == (
        b'{"data":{"a":2,"b":1},"salt":"0x' + salt.hex().encode() + b'","tier":"public"}'
    )
    with pytest.raises(DocumentValidationError, match="32 bytes"):
        section_document("public", {}, b"short")
