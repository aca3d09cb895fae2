"""Device signatures and ingestion: who may send, replay and gap handling, per-reading rejections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.backends import get_backend
from eth_keys.backends.coincurve import CoinCurveECCBackend
from hypothesis import given
from hypothesis import strategies as st

from oracle.devices import (
    DeviceKey,
    json_string,
    recover_address,
    recover_signer,
    sign_upload,
    signing_hash,
    upload_body,
    verify_signature,
)
from oracle.errors import BadSignature, DeviceAlreadyRegistered
from oracle.ingestion import Ingestor, record_bytes
from oracle.journal import Journal
from oracle.merkle import keccak256
from passport.canonical import canonical_json, parse_canonical_object
from tests.builders import SigningDevice, charging, device_key, diagnostics, safety
from tests.oracle.oracle_samples import Fleet


def test_eth_keys_uses_coincurve_backend() -> None:
    # The brief's "coincurve-backed recovery": eth-keys picks it automatically when coincurve is present.
    assert isinstance(get_backend(), CoinCurveECCBackend)


def test_upload_body_is_canonical_json_of_the_whole_upload() -> None:
    readings = [charging(), safety(description='ünïcode "quoted"\n')]
    body = upload_body("dev-001", "KR-BUSAN-BAT-00001", 7, [canonical_json(r) for r in readings])
    assert body == canonical_json(
        {
            "type": "battery-passport-ledger/device-upload/v1",
            "device_id": "dev-001",
            "battery_id": "KR-BUSAN-BAT-00001",
            "seq": 7,
            "readings": readings,
        }
    )
    record = record_bytes("KR-BUSAN-BAT-00001", "dev-001", 7, 1, canonical_json(readings[1]))
    assert record == canonical_json(
        {
            "battery_id": "KR-BUSAN-BAT-00001",
            "device_id": "dev-001",
            "seq": 7,
            "index": 1,
            "reading": readings[1],
        }
    )


def test_signature_recovers_the_device_address_like_eth_account() -> None:
    key = DeviceKey.generate()
    upload = sign_upload(key, "dev-001", "KR-BUSAN-BAT-00001", 1, [charging()])
    body = upload_body("dev-001", "KR-BUSAN-BAT-00001", 1, [canonical_json(r) for r in upload.readings])
    signature = bytes.fromhex(upload.signature[2:])
    assert recover_signer(body, signature) == key.address
    assert Account.recover_message(encode_defunct(primitive=body), signature=signature) == key.address
    # Our EIP-191 hash is eth_account's: any wallet's personal_sign produces a valid upload signature.
    reference = Account.sign_message(encode_defunct(primitive=body), key.private_key)
    assert signing_hash(body) == reference.message_hash
    # And the signature is eth_account's, byte for byte (RFC 6979 nonces, low s, v = 27/28).
    assert upload.signature == "0x" + bytes(reference.signature).hex()
    assert DeviceKey.from_private_key(key.private_key).address == Account.from_key(key.private_key).address


def test_a_signature_by_another_key_names_the_checksummed_signer() -> None:
    key, other = DeviceKey.generate(), DeviceKey.generate()
    upload = sign_upload(other, "dev-001", "KR-BUSAN-BAT-00001", 1, [charging()])
    body = upload_body("dev-001", "KR-BUSAN-BAT-00001", 1, [canonical_json(r) for r in upload.readings])
    assert recover_address(body, bytes.fromhex(upload.signature[2:])) == bytes.fromhex(other.address[2:])
    verify_signature(upload, body, other.address)
    with pytest.raises(BadSignature, match=f"signed by {other.address}, not by the device"):
        verify_signature(upload, body, key.address)


@given(st.text(max_size=40))
def test_json_string_is_the_canonical_json_of_a_string(text: str) -> None:
    try:
        expected = canonical_json(text)
    except ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 — a lone surrogate is refused either way
            json_string(text)
        return
    assert json_string(text) == expected


def test_a_device_key_refuses_an_address_that_is_not_its_own() -> None:
    key = DeviceKey.generate()
    with pytest.raises(ValueError, match="not the address"):
        DeviceKey(private_key=key.private_key, address=DeviceKey.generate().address)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s[:-1], "65 bytes"),
        (lambda s: s[:64] + bytes([29]), "v=29"),
        (lambda s: s[:32] + (2**256 - 1).to_bytes(32, "big") + s[64:], "lower half"),
    ],
)
def test_malformed_signatures_are_refused(mutate: Any, message: str) -> None:
    upload = SigningDevice.numbered(0).upload([charging()])
    body = upload_body("dev-000", "KR-BUSAN-BAT-00000", 1, [canonical_json(r) for r in upload.readings])
    with pytest.raises(BadSignature, match=message):
        recover_signer(body, mutate(bytes.fromhex(upload.signature[2:])))


def test_accepted_upload_is_journaled_with_its_signature(fleet: Fleet) -> None:
    upload = fleet.upload(0, [charging(), safety(), diagnostics()])
    ack = fleet.ingestor.ingest(upload)
    assert ack.status == "accepted"
    assert [a.kind for a in ack.accepted] == ["charging", "safety", "diagnostics"]
    assert ack.rejected == []
    assert ack.gap is None
    stored = fleet.journal.upload_at("dev-000", 1)
    assert stored is not None
    # The journal keeps exactly what the device signed: anyone can re-verify it later.
    assert recover_signer(stored.body, stored.signature) == device_key(0).address
    for accepted in ack.accepted:
        record = fleet.journal.record(accepted.record_id)
        assert record.state == "pending"
        assert "0x" + keccak256(record.canonical).hex() == accepted.digest
        envelope = parse_canonical_object(record.canonical)
        assert envelope["reading"] == upload.readings[accepted.index]
        assert (envelope["device_id"], envelope["seq"], envelope["index"]) == ("dev-000", 1, accepted.index)


def test_single_reading_upload(fleet: Fleet) -> None:
    assert fleet.ingestor.ingest(fleet.upload(1, [charging()])).status == "accepted"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (
            lambda f: SigningDevice("dev-999", "KR-BUSAN-BAT-00000", device_key(6)).upload([charging()]),
            "unknown_device",
        ),
        # dev-000's key signing for dev-001: a valid signature, by the wrong key.
        (
            lambda f: SigningDevice("dev-001", "KR-BUSAN-BAT-00001", device_key(0)).upload([charging()]),
            "bad_signature",
        ),
        (
            lambda f: SigningDevice.numbered(0).upload([charging()], battery_id="KR-BUSAN-BAT-00001"),
            "wrong_battery",
        ),
        (lambda f: f.upload(0, [charging()]).model_copy(update={"seq": 5}), "bad_signature"),
        (lambda f: f.upload(0, [charging()]).model_dump() | {"seq": "1"}, "malformed"),
        (lambda f: f.upload(0, [charging()]).model_dump() | {"readings": []}, "malformed"),
        (lambda f: f.upload(0, [charging()]).model_dump() | {"signature": "0x12"}, "malformed"),
        (lambda f: f.upload(0, [charging()]).model_dump() | {"battery_id": "x"}, "malformed"),
        (lambda f: f.upload(0, [charging()]).model_dump() | {"readings": [float("nan")]}, "malformed"),
    ],
    ids=[
        "unknown",
        "foreign-key",
        "wrong-battery",
        "tampered",
        "seq-str",
        "empty",
        "sig",
        "battery-id",
        "nan",
    ],
)
def test_whole_upload_rejections(fleet: Fleet, make: Any, code: str) -> None:
    ack = fleet.ingestor.ingest(make(fleet))
    assert ack.status == "rejected"
    assert ack.code == code, ack.reason
    assert ack.reason
    assert fleet.journal.record_count() == 0


def test_deactivated_device_is_refused(fleet: Fleet) -> None:
    fleet.journal.deactivate_device("dev-000")
    ack = fleet.ingestor.ingest(fleet.upload(0, [charging()]))
    assert (ack.status, ack.code) == ("rejected", "unknown_device")


def test_reregistration_is_idempotent_but_cannot_move_a_device(journal: Journal) -> None:
    first = journal.register_device("dev-000", device_key(0).address.lower(), "KR-BUSAN-BAT-00000")
    assert journal.register_device("dev-000", device_key(0).address, "KR-BUSAN-BAT-00000") == first
    with pytest.raises(DeviceAlreadyRegistered):
        journal.register_device("dev-000", device_key(0).address, "KR-BUSAN-BAT-00009")
    with pytest.raises(DeviceAlreadyRegistered):
        journal.register_device("dev-000", device_key(1).address, "KR-BUSAN-BAT-00000")


def test_replay_of_an_older_sequence_is_rejected(fleet: Fleet) -> None:
    first = fleet.upload(0, [charging()])
    assert fleet.ingestor.ingest(first).status == "accepted"
    assert fleet.ingestor.ingest(fleet.upload(0, [charging(energy_kwh=3)])).status == "accepted"
    # Same seq as the first, different content: a replay (or a forged resend), refused.
    other = fleet.upload(0, [charging(energy_kwh=9)], seq=1)
    ack = fleet.ingestor.ingest(other)
    assert (ack.status, ack.code) == ("rejected", "replay")
    assert fleet.journal.record_count() == 2


def test_exact_retransmission_gets_the_original_ack(fleet: Fleet) -> None:
    upload = fleet.upload(0, [charging(), charging(energy_kwh=-1)])
    original = fleet.ingestor.ingest(upload)
    fleet.ingestor.ingest(fleet.upload(0, [charging()]))
    again = fleet.ingestor.ingest(upload)
    assert again.status == "duplicate"
    assert again.accepted == original.accepted
    assert again.rejected == original.rejected
    assert fleet.journal.record_count() == 2


def test_gap_is_accepted_and_recorded(fleet: Fleet) -> None:
    assert fleet.ingestor.ingest(fleet.upload(2, [charging()])).gap is None
    ack = fleet.ingestor.ingest(fleet.upload(2, [charging()], seq=5))
    assert ack.status == "accepted"
    assert ack.gap is not None
    assert (ack.gap.first, ack.gap.last) == (2, 4)
    gaps = fleet.journal.gaps("dev-002")
    assert [(g.first, g.last) for g in gaps] == [(2, 4)]
    # A late upload inside the gap is behind the sequence: refused as a replay, by design.
    late = fleet.ingestor.ingest(fleet.upload(2, [charging()], seq=3))
    assert late.code == "replay"


def test_first_upload_above_one_records_a_gap(fleet: Fleet) -> None:
    ack = fleet.ingestor.ingest(fleet.upload(3, [charging()], seq=4))
    assert ack.gap is not None
    assert (ack.gap.first, ack.gap.last) == (1, 3)


def test_bad_readings_are_rejected_individually_with_reasons(fleet: Fleet) -> None:
    readings = [
        charging(),
        charging(energy_kwh=5000),
        {"kind": "teleport"},
        diagnostics(soce_pct=-5),
        safety(),
    ]
    ack = fleet.ingestor.ingest(fleet.upload(0, readings))
    assert ack.status == "accepted"
    assert [a.index for a in ack.accepted] == [0, 4]
    assert {r.index: [(p.path, p.reason) for p in r.problems] for r in ack.rejected} == {
        1: [("energy_kwh", "Input should be less than or equal to 1000")],
        2: [("kind", "kind must be one of charging, safety, parking, diagnostics, storage_meter")],
        3: [("soce_pct", "Input should be greater than or equal to 0")],
    }
    # The rejected readings are journaled too, reasons included: nothing vanishes silently.
    stored = fleet.journal.rejections("dev-000", 1)
    assert [i for i, _, _ in stored] == [1, 2, 3]
    assert json.loads(stored[0][2]) == [["energy_kwh", "Input should be less than or equal to 1000"]]
    assert stored[1][1] == canonical_json({"kind": "teleport"})
    # ...and the sequence number is consumed: the same seq cannot be reused for a "fixed" upload.
    assert fleet.journal.device("dev-000").last_seq == 1  # type: ignore[union-attr]


def test_ingest_many_commits_in_order_and_checks_sequence_across_the_group(fleet: Fleet) -> None:
    a = fleet.upload(0, [charging()])
    b = fleet.upload(0, [charging(energy_kwh=1)])
    replayed = fleet.upload(0, [charging(energy_kwh=2)], seq=1)
    acks = fleet.ingestor.ingest_many([a, b, replayed, fleet.upload(1, [safety()])])
    assert [x.status for x in acks] == ["accepted", "accepted", "rejected", "accepted"]
    assert acks[2].code == "replay"


def test_acknowledged_records_are_visible_to_a_second_connection(fleet: Fleet) -> None:
    ack = fleet.ingestor.ingest(fleet.upload(0, [charging()]))
    with fleet.journal.reopen() as other:
        assert other.record(ack.accepted[0].record_id).digest.hex() == ack.accepted[0].digest[2:]


def test_journal_pragmas(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.db") as journal:  # SQLite only: PRAGMAs are SQLite's
        assert journal._query("PRAGMA journal_mode")[0][0] == "wal"
        assert journal._query("PRAGMA synchronous")[0][0] == 2  # FULL


def test_ingestor_with_fresh_journal_object_keeps_sequence(tmp_path: Any) -> None:
    path = tmp_path / "j.db"
    with Journal(path) as j:
        upload = SigningDevice.numbered(0).register(j).upload([charging()])
        assert Ingestor(j).ingest(upload).status == "accepted"
    with Journal(path) as j:
        assert Ingestor(j).ingest(upload).status == "duplicate"
