"""Inspection and incident evidence files, sealed under the ``legitimate_interest`` key.

An evidence file (a photo, a measurement report) is linked from an inspection or a negative event, which
live in the restricted part of the passport. The file itself goes to the content store, where anyone who
learns its CID can fetch it, so it is stored sealed: the same AES-256-GCM envelope as the restricted
sections (``passport.envelope.seal_bytes``), a fresh data key wrapped by the tier's current KEK.

What is stored is one canonical JSON object (``FORMAT``) holding the ciphertext, the nonces, the KEK id,
the wrapped data key and the media type. The linking ``DocumentRef`` records ``ipfs://<cid of that
object>`` and the SHA-256 of the *plaintext*; the passport's digest covers both.

The associated data binds the ciphertext to the passport id, the plaintext's SHA-256, the title and the
media type, so a sealed file copied under another passport or another reference fails to open instead of
being served as that other evidence. After opening, the plaintext digest is checked again.

Files linked before sealing existed (stored as sent) are still served, after the same digest check.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from dataclasses import dataclass

from passport.canonical import canonical_json, parse_json_strict
from passport.envelope import KeyRing, SealedSection, open_bytes, seal_bytes
from passport.errors import ContentIntegrityError, ContentNotFound, DecryptionError, PassportError
from passport.model import BatteryPassport, DocumentRef
from passport.store import ContentStore

#: The ``format`` of a stored sealed evidence object.
FORMAT = "battery-passport-ledger/sealed-evidence/v1"
#: The key tier evidence is sealed under: whoever may read inspections may read their evidence.
EVIDENCE_TIER = "legitimate_interest"
_EVIDENCE_PURPOSE = "battery-passport-ledger/evidence/v1"
_EVIDENCE_KEY_PURPOSE = "battery-passport-ledger/evidence-key/v1"
_IPFS = "ipfs://"


@dataclass(frozen=True, slots=True)
class Evidence:
    """An opened evidence file: its bytes, media type, title and whether it was stored sealed."""

    data: bytes
    media_type: str
    title: str
    sealed: bool


def evidence_aad(passport_id: bytes, sha256: str, title: str, media_type: str) -> bytes:
    """Associated data binding a sealed evidence file to its passport and its reference."""
    return canonical_json(
        {
            "purpose": _EVIDENCE_PURPOSE,
            "passport_id": "0x" + passport_id.hex(),
            "sha256": sha256,
            "title": title,
            "media_type": media_type,
        }
    )


def _key_aad(passport_id: bytes, sha256: str, key_id: str) -> bytes:
    return canonical_json(
        {
            "purpose": _EVIDENCE_KEY_PURPOSE,
            "passport_id": "0x" + passport_id.hex(),
            "sha256": sha256,
            "tier": EVIDENCE_TIER,
            "key_id": key_id,
        }
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def seal_evidence(data: bytes, *, passport_id: bytes, title: str, media_type: str, keyring: KeyRing) -> bytes:
    """The stored form of ``data``: a canonical JSON sealed-evidence object (see the module doc)."""
    sha256 = hashlib.sha256(data).hexdigest()
    sealed = seal_bytes(
        data,
        aad=evidence_aad(passport_id, sha256, title, media_type),
        key_aad=functools.partial(_key_aad, passport_id, sha256),
        tier=EVIDENCE_TIER,
        keyring=keyring,
    )
    return canonical_json(
        {
            "format": FORMAT,
            "tier": EVIDENCE_TIER,
            "media_type": media_type,
            "key_id": sealed.key_id,
            "nonce": _b64(sealed.nonce),
            "wrapped_key": _b64(sealed.wrapped_key),
            "wrap_nonce": _b64(sealed.wrap_nonce),
            "ciphertext": _b64(sealed.ciphertext),
        }
    )


def _parse_sealed(stored: bytes) -> tuple[SealedSection, str] | None:
    """The envelope and media type of a sealed object; ``None`` when ``stored`` is not one (legacy)."""
    if not stored.startswith(b"{"):
        return None
    try:
        document = parse_json_strict(stored)
    except (PassportError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return None
    try:
        envelope = SealedSection(
            ciphertext=base64.b64decode(document["ciphertext"], validate=True),
            nonce=base64.b64decode(document["nonce"], validate=True),
            key_id=str(document["key_id"]),
            wrapped_key=base64.b64decode(document["wrapped_key"], validate=True),
            wrap_nonce=base64.b64decode(document["wrap_nonce"], validate=True),
        )
        media_type = document["media_type"]
    except (KeyError, TypeError, binascii.Error, ValueError):
        raise DecryptionError("the sealed evidence object is malformed") from None
    if document.get("tier") != EVIDENCE_TIER or not isinstance(media_type, str):
        raise DecryptionError("the sealed evidence object names another tier or no media type")
    return envelope, media_type


def open_evidence(stored: bytes, *, passport_id: bytes, ref: DocumentRef, keyring: KeyRing) -> Evidence:
    """The plaintext of the evidence ``ref`` links, from its ``stored`` bytes.

    Raises ``DecryptionError`` when a sealed object does not authenticate (tampered, or bound to another
    passport or reference) and ``ContentIntegrityError`` when the plaintext does not hash to ``ref.sha256``.
    """
    if ref.sha256 is None:
        raise ContentIntegrityError(f"evidence {ref.title!r} records no SHA-256 to check it against")
    parsed = _parse_sealed(stored)
    if parsed is None:
        data, media_type, sealed = stored, "application/octet-stream", False
    else:
        envelope, media_type = parsed
        data = open_bytes(
            envelope,
            aad=evidence_aad(passport_id, ref.sha256, ref.title, media_type),
            key_aad=functools.partial(_key_aad, passport_id, ref.sha256),
            tier=EVIDENCE_TIER,
            keyring=keyring,
            what="sealed evidence",
            bound_to="passport or evidence reference",
        )
        sealed = True
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise ContentIntegrityError(
            f"evidence {ref.title!r} does not hash to the SHA-256 its passport records"
        )
    return Evidence(data=data, media_type=media_type, title=ref.title, sealed=sealed)


def store_evidence(
    store: ContentStore,
    keyring: KeyRing,
    *,
    passport_id: bytes,
    title: str,
    media_type: str,
    data: bytes,
) -> DocumentRef:
    """Seal ``data``, store only the ciphertext, and return the reference an inspection links."""
    stored = seal_evidence(data, passport_id=passport_id, title=title, media_type=media_type, keyring=keyring)
    cid = store.put(stored)
    return DocumentRef(
        title=title, content=f"{_IPFS}{cid}", content_type="URL", sha256=hashlib.sha256(data).hexdigest()
    )


def evidence_refs(document: BatteryPassport) -> list[DocumentRef]:
    """Every stored evidence reference of the safety record: inspections', then negative events'."""
    refs = [ref for inspection in document.korea.safety_inspections for ref in inspection.evidence]
    refs += [ref for event in document.performance.dynamic.negative_events for ref in event.documents]
    return [ref for ref in refs if ref.sha256 is not None and ref.content.startswith(_IPFS)]


def find_evidence(document: BatteryPassport, sha256: str) -> DocumentRef:
    """The stored evidence whose plaintext hashes to ``sha256``; ``ContentNotFound`` when none does."""
    wanted = sha256.lower()
    for ref in evidence_refs(document):
        if ref.sha256 == wanted:
            return ref
    raise ContentNotFound(f"no stored evidence with SHA-256 {sha256} in this passport's safety record")


def read_evidence(store: ContentStore, keyring: KeyRing, *, passport_id: bytes, ref: DocumentRef) -> Evidence:
    """Fetch and open the evidence ``ref`` links (see ``open_evidence`` for the errors)."""
    stored = store.get(ref.content.removeprefix(_IPFS))
    return open_evidence(stored, passport_id=passport_id, ref=ref, keyring=keyring)
