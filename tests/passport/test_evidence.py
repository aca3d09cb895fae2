"""Sealed evidence files: only ciphertext is stored, and what does not authenticate is never returned."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path

import pytest

from devtools.samples import sample_passport
from passport.canonical import canonical_json
from passport.envelope import KeyRing
from passport.errors import ContentIntegrityError, ContentNotFound, DecryptionError
from passport.evidence import FORMAT, find_evidence, open_evidence, read_evidence, store_evidence
from passport.ids import passport_id_bytes32
from passport.model import DocumentRef
from passport.store import EmbeddedStore

PHOTO = b"\x89PNG\r\n\x1a\n a swollen cell in module 2"
PID = passport_id_bytes32(uuid.uuid4())


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store")


def _stored(store: EmbeddedStore, keyring: KeyRing) -> DocumentRef:
    return store_evidence(store, keyring, passport_id=PID, title="Photo", media_type="image/png", data=PHOTO)


def test_only_ciphertext_is_stored_and_the_reference_pins_the_plaintext(
    store: EmbeddedStore, keyring: KeyRing
) -> None:
    ref = _stored(store, keyring)
    stored = store.get(ref.content.removeprefix("ipfs://"))
    assert PHOTO not in stored
    assert json.loads(stored)["format"] == FORMAT
    assert ref.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert (ref.content_type, ref.title) == ("URL", "Photo")
    opened = read_evidence(store, keyring, passport_id=PID, ref=ref)
    assert (opened.data, opened.media_type, opened.sealed) == (PHOTO, "image/png", True)


def test_a_flipped_ciphertext_byte_is_a_decryption_error(store: EmbeddedStore, keyring: KeyRing) -> None:
    ref = _stored(store, keyring)
    document = json.loads(store.get(ref.content.removeprefix("ipfs://")))
    raw = bytearray(base64.b64decode(document["ciphertext"]))
    raw[0] ^= 1
    document["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(DecryptionError, match="does not authenticate"):
        open_evidence(canonical_json(document), passport_id=PID, ref=ref, keyring=keyring)


def test_a_sealed_file_does_not_open_under_another_passport_or_reference(
    store: EmbeddedStore, keyring: KeyRing
) -> None:
    ref = _stored(store, keyring)
    stored = store.get(ref.content.removeprefix("ipfs://"))
    other = passport_id_bytes32(uuid.uuid4())
    with pytest.raises(DecryptionError):
        open_evidence(stored, passport_id=other, ref=ref, keyring=keyring)
    with pytest.raises(DecryptionError):
        open_evidence(stored, passport_id=PID, ref=ref.model_copy(update={"title": "X"}), keyring=keyring)
    # A media type changed in the stored object is bound by the associated data too.
    relabelled = json.loads(stored) | {"media_type": "text/html"}
    with pytest.raises(DecryptionError):
        open_evidence(canonical_json(relabelled), passport_id=PID, ref=ref, keyring=keyring)


def test_a_reference_with_another_digest_fails(store: EmbeddedStore, keyring: KeyRing) -> None:
    ref = _stored(store, keyring)
    stored = store.get(ref.content.removeprefix("ipfs://"))
    wrong = ref.model_copy(update={"sha256": hashlib.sha256(b"other").hexdigest()})
    with pytest.raises(DecryptionError):  # the digest is in the associated data
        open_evidence(stored, passport_id=PID, ref=wrong, keyring=keyring)


def test_malformed_sealed_object_is_a_decryption_error(keyring: KeyRing) -> None:
    ref = DocumentRef(title="Photo", content="ipfs://x", sha256=hashlib.sha256(PHOTO).hexdigest())
    broken = canonical_json({"format": FORMAT, "ciphertext": "!!"})
    with pytest.raises(DecryptionError, match="malformed"):
        open_evidence(broken, passport_id=PID, ref=ref, keyring=keyring)


def test_legacy_unsealed_files_are_served_only_when_their_digest_matches(keyring: KeyRing) -> None:
    ref = DocumentRef(title="Old", content="ipfs://x", sha256=hashlib.sha256(PHOTO).hexdigest())
    opened = open_evidence(PHOTO, passport_id=PID, ref=ref, keyring=keyring)
    assert (opened.data, opened.sealed) == (PHOTO, False)
    with pytest.raises(ContentIntegrityError):
        open_evidence(PHOTO + b"!", passport_id=PID, ref=ref, keyring=keyring)
    with pytest.raises(ContentIntegrityError, match="no SHA-256"):
        open_evidence(PHOTO, passport_id=PID, ref=ref.model_copy(update={"sha256": None}), keyring=keyring)


def test_find_evidence_names_a_missing_digest() -> None:
    with pytest.raises(ContentNotFound):
        find_evidence(sample_passport(), "0" * 64)
