"""Ingestion: verify a device upload, validate each reading, journal what is accepted, acknowledge.

For each upload, in order:

1. the envelope must be well formed (``MalformedUpload`` otherwise);
2. the device must be registered (``UnknownDevice``), bound to a battery (``DeviceUnbound``) and not
   suspended (``DeviceSuspended``) — see ``oracle.device_registry``;
3. the signature must recover the device's registered address (``BadSignature``);
4. the upload must name the device's battery (``WrongBattery``);
5. the sequence number must be above the last accepted one. An exact retransmission of an accepted
   upload (same sequence, same signed bytes — the device lost our acknowledgement) gets the original
   acknowledgement back with status ``duplicate`` and changes nothing; anything else at or below the
   last sequence is a ``ReplayDetected``.
6. A sequence number more than one above the last is ACCEPTED and the gap recorded (journal ``gaps``):
   devices lose uploads (power cuts, dead modems), and refusing everything after a loss would turn one
   lost upload into a permanently silent device. A late upload that falls in a recorded gap is then
   refused as a replay — sequence numbers only move forward, which keeps the replay rule a single
   comparison.

An upload that fails 1-5 is rejected whole (nothing journaled, the acknowledgement says why). Past
that, each reading is validated on its own: valid ones become records, invalid ones are journaled as
rejections with every ``(field path, why)``, and the upload's sequence number is consumed either way.
The acknowledgement is built and returned only after the journal transaction has committed (fsynced).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from oracle.device_registry import DeviceRegistry
from oracle.devices import (
    DeviceRecord,
    SignedUpload,
    canonical_readings,
    json_string,
    parse_upload,
    upload_body,
    verify_signature,
)
from oracle.energy import meter_step_problems, previous_meter_reading
from oracle.errors import ReadingRejected, ReplayDetected, UnknownDevice, UploadRejected, WrongBattery
from oracle.journal import Journal, NewRecord
from oracle.merkle import keccak256
from oracle.readings import ANCHOR_KIND, ReadingKind, StorageMeterReading, parse_readings

log = logging.getLogger(__name__)


class Problem(BaseModel):
    """One reason a reading was rejected."""

    model_config = ConfigDict(frozen=True)

    path: str
    reason: str


class RejectedReading(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    problems: list[Problem]


class AcceptedRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    record_id: int
    kind: ReadingKind
    digest: str  # 0x-hex recordDigest, what a proof is later asked for


class SequenceGap(BaseModel):
    """Sequence numbers ``first..last`` were never received before this upload."""

    model_config = ConfigDict(frozen=True)

    first: int
    last: int


class Acknowledgement(BaseModel):
    """What the oracle answers a device: what was accepted (durably) and why anything was not."""

    model_config = ConfigDict(frozen=True)

    status: Literal["accepted", "duplicate", "rejected"]
    device_id: str | None = None
    seq: int | None = None
    accepted: list[AcceptedRecord] = []
    rejected: list[RejectedReading] = []
    gap: SequenceGap | None = None
    code: str | None = None  # for a rejected upload: malformed, unknown_device, bad_signature, …
    reason: str | None = None
    upload_digest: str | None = None
    received_at: float | None = None


@dataclass(frozen=True, slots=True)
class _Prepared:
    upload: SignedUpload
    body: bytes
    body_digest: bytes
    records: list[NewRecord]
    kinds: list[ReadingKind]
    rejections: list[tuple[int, bytes, list[tuple[str, str]]]]
    # Storage meter readings by index: whether each follows on from the meter's previous reading can
    # only be decided inside the journal transaction (``_meter_checked``).
    meter: dict[int, tuple[bytes, StorageMeterReading]] = field(default_factory=dict)


def _record_prefix(battery_id: str, device_id: str) -> bytes:
    return b'{"battery_id":' + json_string(battery_id) + b',"device_id":' + json_string(device_id)


def _record_bytes(prefix: bytes, seq: int, index: int, reading: bytes) -> bytes:
    return b"".join(
        (
            prefix,
            b',"index":',
            str(index).encode(),
            b',"reading":',
            reading,
            b',"seq":',
            str(seq).encode(),
            b"}",
        )
    )


def record_bytes(battery_id: str, device_id: str, seq: int, index: int, reading: bytes) -> bytes:
    """A record's canonical bytes: the reading (as the device signed it) in its envelope.

    ``{"battery_id", "device_id", "index", "reading", "seq"}`` — keys already in JCS order, and the
    reading's canonical bytes spliced in (see ``oracle.devices.upload_body`` for why that is exact).
    The envelope makes every record unique and self-describing inside an anchored batch document.
    """
    return _record_bytes(_record_prefix(battery_id, device_id), seq, index, reading)


def _rejected(upload: Mapping[str, Any] | SignedUpload, error: UploadRejected) -> Acknowledgement:
    fields = upload.model_dump() if isinstance(upload, SignedUpload) else upload
    device_id = fields.get("device_id") if isinstance(fields, Mapping) else None
    seq = fields.get("seq") if isinstance(fields, Mapping) else None
    log.warning("upload rejected (%s): %s", error.code, error)
    return Acknowledgement(
        status="rejected",
        device_id=device_id if isinstance(device_id, str) else None,
        seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        code=error.code,
        reason=str(error),
    )


class Ingestor:
    """Turns signed uploads into journaled records and acknowledgements (see the module docstring)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._registry = DeviceRegistry(journal)

        # device id → (address, battery id). The address is fixed for the life of a device id
        # (``register_device`` refuses a re-key), so the signature check needs no journal read; the
        # battery moves with ``DeviceRegistry.bind``, so ``_commit`` re-checks it inside the transaction
        # together with whether the device is active and its last sequence number.
        self._keys: dict[str, tuple[str, str]] = {}

    def ingest(self, upload: Mapping[str, Any] | SignedUpload) -> Acknowledgement:
        """Verify, validate and durably journal one upload; the ack is returned after the commit."""
        return self.ingest_many([upload])[0]

    def ingest_many(self, uploads: Sequence[Mapping[str, Any] | SignedUpload]) -> list[Acknowledgement]:
        """Like ``ingest`` for several uploads, committed (and fsynced) together — a group commit.

        Signature checks and validation happen before the journal lock is taken; sequence checks and
        writes happen inside one transaction, in the order given.
        """
        staged: list[_Prepared | Acknowledgement] = []
        for upload in uploads:
            try:
                staged.append(self._prepare(upload))
            except UploadRejected as exc:
                staged.append(_rejected(upload, exc))
        acks: list[Acknowledgement] = []
        with self.journal.transaction():
            # Several ingestion processes may share the journal (PostgreSQL): hold this group's devices
            # so each device's sequence advances in one process at a time.
            self.journal.lock_devices(
                [i.upload.device_id for i in staged if not isinstance(i, Acknowledgement)]
            )
            for item in staged:
                if isinstance(item, Acknowledgement):
                    acks.append(item)
                    continue
                try:
                    acks.append(self._commit(item))
                except UploadRejected as exc:
                    acks.append(_rejected(item.upload, exc))
        return acks

    def _device(self, upload: SignedUpload) -> DeviceRecord:
        device = self.journal.device(upload.device_id)
        if device is None:
            raise UnknownDevice(f"device {upload.device_id} is not registered")
        if not device.active:
            # Off the hot path: only a refused upload asks why (suspended, unbound, deactivated).
            raise self._registry.refusal(device)
        return device

    def _key_of(self, upload: SignedUpload) -> tuple[str, str]:
        """The device's registered (address, battery id), from the cache or the journal."""
        key = self._keys.get(upload.device_id)
        if key is None:
            device = self._device(upload)
            key = self._keys[upload.device_id] = (device.address, device.battery_id)
        return key

    def _prepare(self, raw: Mapping[str, Any] | SignedUpload) -> _Prepared:
        upload = parse_upload(raw)
        readings = canonical_readings(upload.readings)
        body = upload_body(upload.device_id, upload.battery_id, upload.seq, readings)
        address, battery_id = self._key_of(upload)
        verify_signature(upload, body, address)
        if upload.battery_id != battery_id:
            self._keys.pop(upload.device_id, None)  # the binding may have moved since it was cached
            _, battery_id = self._key_of(upload)
        if upload.battery_id != battery_id:
            raise WrongBattery(
                f"device {upload.device_id} reports on battery {battery_id}, not {upload.battery_id}"
            )
        records: list[NewRecord] = []
        kinds: list[ReadingKind] = []
        rejections: list[tuple[int, bytes, list[tuple[str, str]]]] = []
        meter: dict[int, tuple[bytes, StorageMeterReading]] = {}
        prefix = _record_prefix(upload.battery_id, upload.device_id)
        for index, (reading, parsed) in enumerate(zip(readings, parse_readings(readings), strict=True)):
            if isinstance(parsed, ReadingRejected):
                rejections.append((index, reading, parsed.problems))
                continue
            if isinstance(parsed, StorageMeterReading):
                meter[index] = (reading, parsed)
            canonical = _record_bytes(prefix, upload.seq, index, reading)
            kinds.append(parsed.kind)
            records.append(
                NewRecord(
                    idx=index,
                    kind=ANCHOR_KIND[parsed.kind],
                    observed_at=parsed.observed_at.timestamp(),
                    canonical=canonical,
                    digest=keccak256(canonical),
                )
            )
        return _Prepared(upload, body, keccak256(body), records, kinds, rejections, meter)

    def _meter_checked(self, item: _Prepared) -> _Prepared:
        """``item`` with each meter reading that does not follow on from the meter's previous accepted
        one (journaled, or earlier in this upload) moved to the rejections (``meter_step_problems``)."""
        upload = item.upload
        previous = previous_meter_reading(self.journal, upload.battery_id, upload.device_id)
        refused: dict[int, list[tuple[str, str]]] = {}
        for index in sorted(item.meter):
            current = item.meter[index][1]
            problems = [] if previous is None else meter_step_problems(previous, current)
            if problems:
                refused[index] = problems
            else:
                previous = current
        if not refused:
            return item
        keep = [i for i, r in enumerate(item.records) if r.idx not in refused]
        rejections = item.rejections + [(i, item.meter[i][0], problems) for i, problems in refused.items()]
        return replace(
            item,
            records=[item.records[i] for i in keep],
            kinds=[item.kinds[i] for i in keep],
            rejections=sorted(rejections, key=lambda r: r[0]),
        )

    def _commit(self, item: _Prepared) -> Acknowledgement:
        upload = item.upload
        device = self._device(upload)  # re-read inside the transaction: last_seq may have moved
        if device.battery_id != upload.battery_id:
            # Rebound to another battery after the cached check: the journal's binding decides.
            self._keys.pop(upload.device_id, None)
            raise WrongBattery(
                f"device {upload.device_id} reports on battery {device.battery_id}, not {upload.battery_id}"
            )
        if upload.seq <= device.last_seq:
            stored = self.journal.upload_at(upload.device_id, upload.seq)
            if stored is not None and stored.body_digest == item.body_digest:
                original = Acknowledgement.model_validate_json(stored.ack)
                return original.model_copy(update={"status": "duplicate"})
            raise ReplayDetected(
                f"device {upload.device_id} sent seq {upload.seq}, last accepted is {device.last_seq}"
            )
        if item.meter:
            item = self._meter_checked(item)
        gap_before = upload.seq - device.last_seq - 1
        gap = SequenceGap(first=device.last_seq + 1, last=upload.seq - 1) if gap_before else None
        if gap is not None:
            log.info("device %s skipped seq %d..%d", upload.device_id, gap.first, gap.last)
        rejected = [
            RejectedReading(index=i, problems=[Problem(path=p, reason=r) for p, r in problems])
            for i, _, problems in item.rejections
        ]

        kinds = item.kinds
        digests = ["0x" + r.digest.hex() for r in item.records]
        built: list[dict[str, Any]] = []

        def make_ack(record_ids: list[int], received_at: float) -> str:
            # Built once as plain data: serialised by the C JSON encoder for the journal, and validated
            # once by pydantic's core into the object returned (no serialise-then-parse round trip).
            ack = {
                "status": "accepted",
                "device_id": upload.device_id,
                "seq": upload.seq,
                "accepted": [
                    {"index": r.idx, "record_id": rid, "kind": kind, "digest": digest}
                    for r, rid, kind, digest in zip(item.records, record_ids, kinds, digests, strict=True)
                ],
                "rejected": [r.model_dump() for r in rejected],
                "gap": None if gap is None else gap.model_dump(),
                "code": None,
                "reason": None,
                "upload_digest": "0x" + item.body_digest.hex(),
                "received_at": received_at,
            }
            built.append(ack)
            return json.dumps(ack, separators=(",", ":"))

        self.journal.insert_upload(
            device_id=upload.device_id,
            seq=upload.seq,
            battery_id=upload.battery_id,
            body=item.body,
            body_digest=item.body_digest,
            signature=bytes.fromhex(upload.signature[2:]),
            gap_before=gap_before,
            records=item.records,
            rejections=[(i, reading, json.dumps(problems)) for i, reading, problems in item.rejections],
            make_ack=make_ack,
        )
        return Acknowledgement.model_validate(built[0])
