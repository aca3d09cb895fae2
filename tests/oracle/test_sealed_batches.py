"""Batch documents reach the content store sealed: no restricted reading is readable from it.

Readings with distinctive values (a battery id, a capacity, SoCE, internal resistance and a cycle
count nobody else uses) are ingested and anchored on the registry; then every object the store holds
is scanned byte for byte. None of the values may appear, while a caller holding the key ring still gets
proofs that verify offline and on-chain and a battery history with the very values planted. A
ciphertext that was tampered with, or moved under another batch's header, is refused by name.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.jsipfs import JsIpfsNode
from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.batch_document import (
    SEALED_BATCH_DOCUMENT_TYPE,
    build_batch_document,
    build_sealed_batch_document,
    open_batch_document,
    parse_sealed_batch_document,
)
from oracle.devices import sign_upload
from oracle.errors import DocumentMismatch, SealedDocumentError
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.proofs import RecordProofs
from oracle.readings import KIND_NAME, DiagnosticSnapshot
from passport.canonical import canonical_json
from passport.envelope import KeyRing
from passport.errors import KeyNotAvailable
from passport.model import AnchorKind
from passport.store import EmbeddedStore, IpfsRpcStore, cid_digest
from passport.store.protocol import ContentStore
from tests.builders import charging, device_key, diagnostics, safety
from tests.chain_backends import Actor, ChainBackend
from tests.oracle.oracle_doubles import FakeChain

BATTERY = "KR-LEAKCHECK-BAT-90417"
DEVICE = "dev-leakcheck-0001"
# Values no other reading in the suite uses. Each contains a character outside the base64 alphabet
# ('.' or '-') or is long enough (5 digits) not to turn up in a base64 ciphertext by chance.
CAPACITY, SOCE, RESISTANCE, CYCLES = 187.123, 91.357, 93.417, 73319
PLANTED = [BATTERY.encode(), DEVICE.encode(), b"187.123", b"91.357", b"93.417", b"73319"]

on_eth_tester = pytest.mark.parametrize("chain_backend", ["eth-tester"], indirect=True)


@dataclass
class StoreUnderTest:
    store: ContentStore
    # Where the store keeps its objects on disk: every file under it is scanned.
    disk: Path


@pytest.fixture(scope="module")
def jsipfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsIpfsNode]:
    node = JsIpfsNode(tmp_path_factory.mktemp("jsipfs-sealed"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(params=["embedded", pytest.param("ipfs", marks=pytest.mark.node)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreUnderTest]:
    if request.param == "embedded":
        store = EmbeddedStore(tmp_path / "store", durable=False)
        yield StoreUnderTest(store, store.root)
        return
    node: JsIpfsNode = request.getfixturevalue("jsipfs")
    with IpfsRpcStore(node.api_url, timeout=30.0, lookup_timeout=1.0) as ipfs:
        yield StoreUnderTest(ipfs, node.repo / "blocks")


def _ingest(journal: Journal) -> list[int]:
    journal.register_device(DEVICE, device_key(5).address, BATTERY)
    ingestor = Ingestor(journal)
    ids: list[int] = []
    for seq in (1, 2):
        readings = [
            diagnostics(
                capacity_ah=CAPACITY + seq - 1,  # 187.123 and 188.123: both distinctive
                soce_pct=SOCE,
                internal_resistance_mohm=RESISTANCE,
                cycle_count=CYCLES,
            ),
            charging(energy_kwh=7 + seq),
            safety(max_cell_temp_c=51 + seq),
        ]
        ack = ingestor.ingest(sign_upload(device_key(5), DEVICE, BATTERY, seq, readings))
        assert ack.status == "accepted", ack
        ids += [a.record_id for a in ack.accepted]
    return ids


def _scan(disk: Path) -> dict[str, list[bytes]]:
    """Every file under ``disk`` that contains a planted value, and which values."""
    found: dict[str, list[bytes]] = {}
    for path in sorted(p for p in disk.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = [value for value in PLANTED if value in data]
        if hits:
            found[str(path)] = hits
    return found


@on_eth_tester
def test_no_restricted_value_is_readable_from_the_store(
    ledger: ChainBackend, oracle: Actor, target: StoreUnderTest, tmp_path: Path
) -> None:
    keyring = KeyRing(tmp_path / "keys")
    chain = oracle.client
    with Journal(tmp_path / "journal.db") as journal:
        ids = _ingest(journal)
        # The journal is private and holds the plaintext: the values must be there to be hidden.
        assert b"187.123" in journal.record(ids[0]).canonical
        report = Anchorer(
            journal, target.store, chain, AnchoringPolicy(batch_size=2), keyring=keyring
        ).drain()
        assert report.error is None
        batches = journal.batches()
        assert len(batches) >= 3
        assert {b.state for b in batches} == {"confirmed"}

        assert _scan(target.disk) == {}, "restricted readings are readable in the content store"
        # The scan saw the stored objects themselves (each sealed document's clear type marker).
        marker = SEALED_BATCH_DOCUMENT_TYPE.encode()
        on_disk = [p for p in target.disk.rglob("*") if p.is_file() and marker in p.read_bytes()]
        assert len(on_disk) >= len(batches)

        for batch in batches:
            assert batch.cid is not None
            stored = target.store.get(batch.cid)
            # The anchor commits to the sealed object: its CID digest is the one on the ledger ...
            events = chain.events(batch.block_number or 0, batch.block_number or 0, ["BatchAnchored"])
            (event,) = [e for e in events if e.args["root"] == batch.root]
            assert event.args["cidDigest"] == cid_digest(batch.cid)
            # ... and its clear header says only what the anchor says.
            header = parse_sealed_batch_document(stored)
            anchor = chain.get_anchor(batch.root)
            assert anchor is not None
            assert (header.root, header.anchor_kind, header.record_count) == (
                batch.root,
                anchor.kind,
                anchor.record_count,
            )
            assert set(json.loads(stored)) == {
                "type", "kind", "merkle_root", "record_count", "encryption", "ciphertext"
            }  # fmt: skip
            assert header.type == SEALED_BATCH_DOCUMENT_TYPE

        # An entitled caller (the service's key ring) gets proofs and the readings themselves.
        proofs = RecordProofs(journal, target.store, keyring=keyring)
        for record_id in ids:
            proof = proofs.proof_for(record_id)
            assert proof.verify_offline()
            assert proof.verify_on_chain(chain)
        history = proofs.battery_history(BATTERY, chain=chain)
        assert {h.record.digest for h in history} == {journal.record(i).digest for i in ids}
        capacities = sorted(
            h.record.reading.capacity_ah for h in history if isinstance(h.record.reading, DiagnosticSnapshot)
        )
        assert capacities == [CAPACITY, CAPACITY + 1]

        # Without the telemetry key the documents stay shut.
        stranger = RecordProofs(journal, target.store, keyring=KeyRing(tmp_path / "other-keys"))
        with pytest.raises(KeyNotAvailable):
            stranger.battery_history(BATTERY)


def _anchored(tmp_path: Path) -> tuple[Journal, EmbeddedStore, KeyRing, list[bytes]]:
    """A journal whose batches are sealed (no chain needed): the sealed bytes of each batch."""
    keyring = KeyRing(tmp_path / "keys")
    journal = Journal(tmp_path / "journal.db")
    _ingest(journal)
    store = EmbeddedStore(tmp_path / "store", durable=False)
    assert (
        Anchorer(journal, store, FakeChain(), AnchoringPolicy(batch_size=2), keyring=keyring).drain().error
        is None
    )
    return journal, store, keyring, [journal.batch_document(b.id) for b in journal.batches()]


def _with(sealed: bytes, **changes: object) -> bytes:
    value = json.loads(sealed)
    for key, new in changes.items():
        if key in value["encryption"]:
            value["encryption"][key] = new
        else:
            value[key] = new
    return canonical_json(value)


def test_a_tampered_ciphertext_is_refused_by_name(tmp_path: Path) -> None:
    journal, _, keyring, documents = _anchored(tmp_path)
    with journal:
        sealed = documents[0]
        assert open_batch_document(sealed, keyring).root == parse_sealed_batch_document(sealed).root
        ciphertext = bytearray(base64.b64decode(json.loads(sealed)["ciphertext"]))
        ciphertext[len(ciphertext) // 2] ^= 0x01
        flipped = _with(sealed, ciphertext=base64.b64encode(bytes(ciphertext)).decode())
        with pytest.raises(SealedDocumentError, match=r"batch document ciphertext does not authenticate"):
            open_batch_document(flipped, keyring)
        wrapped = json.loads(sealed)["encryption"]["wrapped_key"]
        other_key = wrapped[:-2] + ("00" if wrapped[-2:] != "00" else "01")
        with pytest.raises(SealedDocumentError, match="does not unwrap"):
            open_batch_document(_with(sealed, wrapped_key=other_key), keyring)


def test_a_ciphertext_moved_under_another_batch_is_refused(tmp_path: Path) -> None:
    journal, _, keyring, documents = _anchored(tmp_path)
    with journal:
        first, second = (json.loads(d) for d in documents[:2])
        # The header of one batch over the other's sealed records: the AAD binds them to their anchor.
        moved = _with(documents[1], merkle_root=first["merkle_root"], record_count=first["record_count"])
        assert second["merkle_root"] != first["merkle_root"]
        with pytest.raises(SealedDocumentError):
            open_batch_document(moved, keyring)
        if first["kind"] != second["kind"]:
            with pytest.raises(SealedDocumentError):
                open_batch_document(_with(documents[1], kind=first["kind"]), keyring)


def test_sealing_is_randomised_but_journaled_once(tmp_path: Path) -> None:
    """Two seals of one batch differ (fresh data key), so the journal's bytes are what gets stored."""
    journal, store, keyring, documents = _anchored(tmp_path)
    with journal:
        batch = journal.batches()[0]
        records = journal.batch_records(batch.id)
        root, again = build_sealed_batch_document(batch.kind, records, batch.created_at, keyring=keyring)
        assert root == batch.root
        assert again != documents[0]
        assert open_batch_document(again, keyring).root == open_batch_document(documents[0], keyring).root
        # What the store holds under the anchored CID is exactly the journaled bytes.
        assert batch.cid is not None
        assert store.get(batch.cid) == documents[0]
        assert KIND_NAME[batch.kind] == json.loads(documents[0])["kind"]


def test_a_batch_journaled_in_clear_is_sealed_before_it_is_stored(tmp_path: Path) -> None:
    """A journal from before sealing may hold ``open`` batches with clear documents: never stored so."""
    keyring = KeyRing(tmp_path / "keys")
    store = EmbeddedStore(tmp_path / "store", durable=False)
    with Journal(tmp_path / "journal.db") as journal:
        _ingest(journal)
        legacy = journal.open_batch(
            AnchorKind.DIAGNOSTICS, 10, functools.partial(build_batch_document, AnchorKind.DIAGNOSTICS)
        )
        assert legacy is not None
        assert b"187.123" in legacy.document
        with pytest.raises(DocumentMismatch, match="stored in clear"):
            open_batch_document(legacy.document, keyring)
        anchorer = Anchorer(journal, store, FakeChain(), AnchoringPolicy(batch_size=2), keyring=keyring)
        assert anchorer.drain().error is None
        assert _scan(store.root) == {}
        batch = journal.batch(legacy.id)
        assert batch.state == "confirmed"
        assert batch.cid is not None
        assert store.get(batch.cid) == batch.document
        readings = [r.reading for r in open_batch_document(batch.document, keyring).records]
        assert [r.capacity_ah for r in readings if isinstance(r, DiagnosticSnapshot)] == [
            CAPACITY,
            CAPACITY + 1,
        ]
