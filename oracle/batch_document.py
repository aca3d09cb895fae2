"""The batch document: one anchored batch, built from journaled canonical bytes, sealed for the store.

A batch document lists every record of a batch in full (its JSON object, whose canonical form is
exactly the journaled bytes) with its digest, so the batch can be audited from the store alone:
recompute each digest, rebuild the Merkle tree, compare the root with the registry's anchor.
``build_batch_document`` writes it when a batch is sealed; ``parse_batch_document`` reads it back and
checks it.

Readings are restricted data (battery ids, capacity, resistance, cycle counts: ``legitimate_interest``
in ``passport.model.access``), and the store may be public (IPFS), so only a *sealed* batch document is
ever stored (``seal_batch_document``)::

    {"type": "battery-passport-ledger/sealed-anchor-batch/v1",
     "kind", "merkle_root", "record_count",                     # in clear: the on-chain anchor's own facts
     "encryption": {"algorithm": "A256GCM", "key_family": "telemetry", "key_id", "nonce",
                    "wrapped_key", "wrap_nonce"},
     "ciphertext": base64(AES-256-GCM(data key, batch document, aad))}

It is the ``passport.envelope`` scheme: a fresh data key per batch, wrapped by the key ring's
``telemetry`` KEK. The associated data of both encryptions is the batch's kind, Merkle root and record
count, the values the registry's ``BatchAnchored`` records, so a ciphertext moved under another header
(or anchor) fails to open. The anchor's CID digest commits to these sealed bytes: anyone can check the
stored object and its clear header against the chain; only a holder of the telemetry KEK reads the
records (``open_batch_document``). The Merkle root stays over the plaintext records, so inclusion
proofs are unchanged.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from oracle.errors import DocumentMismatch, SealedDocumentError
from oracle.journal import RecordRow
from oracle.merkle import MerkleTree, keccak256
from oracle.readings import KIND_NAME, READING_ADAPTER, DeviceReading, ReadingKind
from passport.canonical import canonical_json, parse_canonical_object
from passport.envelope import ALGORITHM, TELEMETRY_KEYS, KeyRing, SealedSection, open_bytes, seal_bytes
from passport.errors import DecryptionError
from passport.model import AnchorKind

BATCH_DOCUMENT_TYPE = "battery-passport-ledger/anchor-batch/v1"
SEALED_BATCH_DOCUMENT_TYPE = "battery-passport-ledger/sealed-anchor-batch/v1"
_BATCH_AAD_PURPOSE = "battery-passport-ledger/anchor-batch-content/v1"
_BATCH_KEY_AAD_PURPOSE = "battery-passport-ledger/anchor-batch-data-key/v1"
MERKLE_SCHEME = (
    "openzeppelin-standard-merkle-tree; leaf=keccak256(recordDigest); recordDigest=keccak256(record)"
)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_batch_document(
    kind: AnchorKind, records: Sequence[RecordRow], created_at: float
) -> tuple[bytes, bytes]:
    """``(merkle root, canonical document bytes)`` for a batch of records of one kind.

    The document lists every record in full (as its JSON object, whose canonical form is exactly the
    journaled bytes) with its digest, so the batch can be audited from the store alone: recompute each
    digest, rebuild the tree, compare the root with the registry's anchor.

    The bytes are what ``canonical_json`` gives for the document, assembled without re-parsing the
    records: under RFC 8785 an object is its members in sorted key order and an array its elements in
    order, each already canonical, so the journaled record bytes are spliced in as they are. Only the
    small parts (ids, timestamps, the upload list) go through ``canonical_json``. Sealing was dominated
    by parsing and re-canonicalising every record; tests compare this with the plain
    ``canonical_json(document)`` on random batches.
    """
    tree = MerkleTree.from_digests(r.digest for r in records)
    uploads = sorted({(r.device_id, r.seq) for r in records})
    entries = b",".join(
        b'{"digest":"0x' + r.digest.hex().encode("ascii") + b'","record":' + r.canonical + b"}"
        for r in records
    )
    # Members in RFC 8785 order (UTF-16 code units; every key here is ASCII, so plain sorting).
    members: list[tuple[str, bytes]] = [
        ("batteries", canonical_json(sorted({r.battery_id for r in records}))),
        ("created_at", canonical_json(_iso(created_at))),
        ("kind", canonical_json(KIND_NAME[kind])),
        ("merkle", canonical_json({"root": "0x" + tree.root.hex(), "scheme": MERKLE_SCHEME})),
        ("record_count", canonical_json(len(records))),
        ("records", b"[" + entries + b"]"),
        ("type", canonical_json(BATCH_DOCUMENT_TYPE)),
        ("uploads", canonical_json([{"device_id": device, "seq": seq} for device, seq in uploads])),
    ]
    body = b",".join(b'"' + key.encode("ascii") + b'":' + value for key, value in members)
    return tree.root, b"{" + body + b"}"


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """One record as read back from a batch document (digest re-checked)."""

    digest: bytes
    canonical: bytes
    battery_id: str
    device_id: str
    seq: int
    index: int
    reading: DeviceReading


@dataclass(frozen=True, slots=True)
class BatchDocument:
    """A parsed, self-checked batch document."""

    kind: AnchorKind
    created_at: str
    root: bytes
    records: tuple[DocumentRecord, ...]
    tree: MerkleTree = field(repr=False)


def parse_batch_document(data: bytes) -> BatchDocument:
    """Parse a batch document and check it: each digest matches its record, the tree matches the root.

    Raises ``DocumentMismatch`` if anything disagrees (a tampered or truncated document).
    """
    try:
        value = parse_canonical_object(data)
        if value.get("type") != BATCH_DOCUMENT_TYPE:
            raise DocumentMismatch(f"not a batch document (type {value.get('type')!r})")
        kind = {name: k for k, name in KIND_NAME.items()}[value["kind"]]
        root = bytes.fromhex(value["merkle"]["root"].removeprefix("0x"))
        records: list[DocumentRecord] = []
        for entry in value["records"]:
            record = entry["record"]
            canonical = canonical_json(record)
            digest = keccak256(canonical)
            if "0x" + digest.hex() != entry["digest"]:
                raise DocumentMismatch(f"record digest {entry['digest']} does not match its record")
            reading = READING_ADAPTER.validate_json(canonical_json(record["reading"]), strict=True)
            records.append(
                DocumentRecord(
                    digest, canonical, record["battery_id"], record["device_id"], record["seq"],
                    record["index"], reading,
                )
            )  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, DocumentMismatch):
            raise
        raise DocumentMismatch(f"malformed batch document: {exc!r}") from exc
    tree = MerkleTree.from_digests(r.digest for r in records)
    if tree.root != root or value["record_count"] != len(records):
        raise DocumentMismatch(f"batch document does not reproduce its root 0x{root.hex()}")
    return BatchDocument(kind, value["created_at"], root, tuple(records), tree)


# -- sealing ----------------------------------------------------------------------------------------

_Hex32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]
_Hex12 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{24}$")]
_HexBytes = Annotated[str, StringConstraints(pattern=r"^0x(?:[0-9a-f]{2})+$")]
_KindName = ReadingKind
_NAME_KIND = {name: kind for kind, name in KIND_NAME.items()}


class BatchEncryption(BaseModel):
    """How a batch document was sealed: everything but the telemetry KEK itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Literal["A256GCM"]
    key_family: Literal["telemetry"]
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    nonce: _Hex12
    wrapped_key: _HexBytes
    wrap_nonce: _Hex12


class SealedBatchDocument(BaseModel):
    """The stored form of a batch: the anchor's public facts in clear, the records encrypted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["battery-passport-ledger/sealed-anchor-batch/v1"]
    kind: _KindName
    merkle_root: _Hex32
    record_count: int = Field(ge=1)
    encryption: BatchEncryption
    ciphertext: Annotated[str, StringConstraints(min_length=1)]

    @property
    def anchor_kind(self) -> AnchorKind:
        return _NAME_KIND[self.kind]

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.merkle_root[2:])

    def sealed(self) -> SealedSection:
        try:
            ciphertext = base64.b64decode(self.ciphertext, validate=True)
        except binascii.Error as exc:
            raise DocumentMismatch(f"sealed batch document: ciphertext is not base64: {exc}") from None
        parts = self.encryption
        return SealedSection(
            ciphertext,
            bytes.fromhex(parts.nonce[2:]),
            parts.key_id,
            bytes.fromhex(parts.wrapped_key[2:]),
            bytes.fromhex(parts.wrap_nonce[2:]),
        )


def batch_aad(kind: AnchorKind, root: bytes, record_count: int) -> bytes:
    """Associated data binding a sealed batch to its anchor (what ``BatchAnchored`` records)."""
    return canonical_json(
        {
            "purpose": _BATCH_AAD_PURPOSE,
            "kind": KIND_NAME[kind],
            "merkle_root": "0x" + root.hex(),
            "record_count": record_count,
        }
    )


def _batch_key_aad(kind: AnchorKind, root: bytes, record_count: int, key_id: str) -> bytes:
    return canonical_json(
        {
            "purpose": _BATCH_KEY_AAD_PURPOSE,
            "kind": KIND_NAME[kind],
            "merkle_root": "0x" + root.hex(),
            "record_count": record_count,
            "key_family": TELEMETRY_KEYS,
            "key_id": key_id,
        }
    )


def seal_batch_document(
    kind: AnchorKind, root: bytes, record_count: int, document: bytes, keyring: KeyRing
) -> bytes:
    """The canonical bytes of the sealed form of ``document`` (fresh data key and nonces each call).

    Not deterministic, on purpose: the journal keeps the result (``Journal.open_batch``), so a restarted
    pipeline stores these very bytes and gets the same CID.
    """
    sealed = seal_bytes(
        document,
        aad=batch_aad(kind, root, record_count),
        key_aad=functools.partial(_batch_key_aad, kind, root, record_count),
        tier=TELEMETRY_KEYS,
        keyring=keyring,
    )
    envelope = SealedBatchDocument(
        type=SEALED_BATCH_DOCUMENT_TYPE,
        kind=KIND_NAME[kind],
        merkle_root="0x" + root.hex(),
        record_count=record_count,
        encryption=BatchEncryption(
            algorithm=ALGORITHM,
            key_family=TELEMETRY_KEYS,
            key_id=sealed.key_id,
            nonce="0x" + sealed.nonce.hex(),
            wrapped_key="0x" + sealed.wrapped_key.hex(),
            wrap_nonce="0x" + sealed.wrap_nonce.hex(),
        ),
        ciphertext=base64.b64encode(sealed.ciphertext).decode("ascii"),
    )
    return canonical_json(envelope.model_dump(mode="json"))


def is_sealed(data: bytes) -> bool:
    """Whether journaled document bytes are already sealed (batches sealed before encryption are not)."""
    return data.startswith(b'{"ciphertext":')


def build_sealed_batch_document(
    kind: AnchorKind, records: Sequence[RecordRow], created_at: float, *, keyring: KeyRing
) -> tuple[bytes, bytes]:
    """``(merkle root, sealed document bytes)``: ``build_batch_document``, then ``seal_batch_document``."""
    root, document = build_batch_document(kind, records, created_at)
    return root, seal_batch_document(kind, root, len(records), document, keyring)


def parse_sealed_batch_document(data: bytes) -> SealedBatchDocument:
    """The clear header of a sealed batch document (no key needed); ``DocumentMismatch`` if malformed.

    What it says (kind, root, record count) is what the registry's anchor must say too.
    """
    try:
        value = parse_canonical_object(data)
        if value.get("type") == BATCH_DOCUMENT_TYPE:
            raise DocumentMismatch("a batch document stored in clear (anchored before documents were sealed)")
        sealed = SealedBatchDocument.model_validate(value, strict=True)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "$"
        raise DocumentMismatch(f"not a sealed batch document: {where}: {problem['msg']}") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, DocumentMismatch):
            raise
        raise DocumentMismatch(f"not a sealed batch document: {exc}") from None
    if canonical_json(sealed.model_dump(mode="json")) != data:
        raise DocumentMismatch("sealed batch document is not in its one canonical spelling")
    return sealed


def _unseal(data: bytes, keyring: KeyRing) -> tuple[SealedBatchDocument, bytes]:
    header = parse_sealed_batch_document(data)
    kind, root = header.anchor_kind, header.root
    try:
        plaintext = open_bytes(
            header.sealed(),
            aad=batch_aad(kind, root, header.record_count),
            key_aad=functools.partial(_batch_key_aad, kind, root, header.record_count),
            tier=TELEMETRY_KEYS,
            keyring=keyring,
            what="batch document",
            bound_to="batch",
        )
    except DecryptionError as exc:
        raise SealedDocumentError(f"sealed batch 0x{root.hex()}: {exc}") from None
    return header, plaintext


def unseal_batch_document(data: bytes, keyring: KeyRing) -> bytes:
    """The plaintext batch document inside a sealed one (raises as ``open_batch_document`` does)."""
    return _unseal(data, keyring)[1]


def open_batch_document(data: bytes, keyring: KeyRing) -> BatchDocument:
    """Decrypt and check a stored batch document with the telemetry key ring.

    Raises ``SealedDocumentError`` if the ciphertext does not authenticate (tampered, or moved under
    another batch's header), ``DocumentMismatch`` if the header or the records inside disagree, and
    ``KeyNotAvailable`` if this key ring does not hold the KEK it was sealed under.
    """
    header, plaintext = _unseal(data, keyring)
    document = parse_batch_document(plaintext)
    if (document.kind, document.root, len(document.records)) != (
        header.anchor_kind,
        header.root,
        header.record_count,
    ):
        raise DocumentMismatch(f"sealed batch {header.merkle_root}: the records inside are another batch's")
    return document
