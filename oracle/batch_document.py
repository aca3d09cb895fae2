"""The batch document: the stored form of one anchored batch, built from journaled canonical bytes.

A batch document lists every record of a batch in full (its JSON object, whose canonical form is
exactly the journaled bytes) with its digest, so the batch can be audited from the store alone:
recompute each digest, rebuild the Merkle tree, compare the root with the registry's anchor.
``build_batch_document`` writes it when a batch is sealed; ``parse_batch_document`` reads it back and
checks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from oracle.errors import DocumentMismatch
from oracle.journal import RecordRow
from oracle.merkle import MerkleTree, keccak256
from oracle.readings import KIND_NAME, READING_ADAPTER, DeviceReading
from passport.canonical import canonical_json, parse_canonical_object
from passport.model import AnchorKind

BATCH_DOCUMENT_TYPE = "battery-passport-ledger/anchor-batch/v1"
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
