"""``PassportReadModel``: fills once, invalidates on events, writes and reorgs, never keeps a stale fill."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import cast

from passport.chain.protocol import ChainClient
from passport.chain.records import PassportRecord
from passport.model import LifecycleStatus
from passport.service import PassportReadModel, passports_named

PID = b"\x00" * 16 + b"\x11" * 16
OTHER = b"\x00" * 16 + b"\x22" * 16


def record(version: int = 1, pid: bytes = PID) -> PassportRecord:
    return PassportRecord(
        passport_id=pid,
        battery_id_hash=b"\x01" * 32,
        issuer="0x" + "aa" * 20,
        custodian="0x" + "aa" * 20,
        status=LifecycleStatus.ORIGINAL,
        manifest_digest=bytes([version]) * 32,
        version=version,
        predecessor=b"\x00" * 32,
        successor=b"\x00" * 32,
        created_at=1,
        updated_at=1,
    )


class Ledger:
    """The two reads the model makes, from a dict; counts them, and can pause inside ``get_passport``."""

    def __init__(self) -> None:
        self.head = 10
        self.records: dict[bytes, PassportRecord] = {PID: record()}
        self.calls = 0
        self.reading = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def block_number(self) -> int:
        return self.head

    def get_passport(self, pid: bytes) -> PassportRecord | None:
        self.calls += 1
        found = self.records.get(pid)
        self.reading.set()
        self.release.wait(5)
        return found


def model(ledger: Ledger) -> PassportReadModel:
    return PassportReadModel(cast(ChainClient, ledger))


def test_a_passport_is_read_from_the_chain_once() -> None:
    ledger = Ledger()
    m = model(ledger)
    first, second = m.lookup(PID), m.lookup(PID)
    assert first.record == second.record == record()
    assert (first.block, ledger.calls, m.hits, m.misses) == (10, 1, 1, 1)
    assert m.lookup(OTHER).record is None  # absence is remembered too
    m.lookup(OTHER)
    assert ledger.calls == 2


def test_invalidation_reads_the_new_state() -> None:
    ledger = Ledger()
    m = model(ledger)
    m.lookup(PID)
    ledger.records[PID], ledger.head = record(2), 11
    assert m.lookup(PID).record == record()  # stale until told
    m.invalidate([PID])
    entry = m.lookup(PID)
    assert (entry.record, entry.block) == (record(2), 11)


def test_a_fill_that_raced_an_invalidation_is_not_kept() -> None:
    ledger = Ledger()
    m = model(ledger)
    ledger.release.clear()
    reader = threading.Thread(target=m.lookup, args=(PID,))
    reader.start()
    assert ledger.reading.wait(5)
    m.invalidate([PID])  # a write landed while the read was in flight
    ledger.release.set()
    reader.join(5)
    assert m.peek(PID) is None
    m.lookup(PID)
    assert m.peek(PID) is not None


def test_sync_drops_touched_and_provisional_entries_and_states_the_block() -> None:
    ledger = Ledger()
    m = model(ledger)
    m.apply_sync(8, [], reorged=False)
    ledger.records[OTHER] = record(pid=OTHER)
    confirmed, provisional = m.lookup(PID), m.lookup(OTHER)
    assert m.reflects(confirmed) == 10
    m.apply_sync(10, [], reorged=False)
    assert m.peek(PID) is not None
    assert m.peek(OTHER) is not None
    ledger.head = 12
    m.apply_sync(10, [PID], reorged=False)
    assert m.peek(PID) is None  # an event named it
    assert m.reflects(provisional) == 10
    m.lookup(PID)  # read at block 12, above the confirmed block 10
    m.apply_sync(11, [], reorged=False)
    assert m.peek(PID) is None  # provisional: dropped until block 12 is confirmed
    assert m.peek(OTHER) is not None
    m.apply_sync(11, [], reorged=True)
    assert m.peek(OTHER) is None  # a reorg forgets everything


def test_derived_values_live_and_die_with_their_record() -> None:
    ledger = Ledger()
    m = model(ledger)
    held = m.lookup(PID).record
    assert held is not None
    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return len(computed)

    assert m.derived(held, "view", compute) == 1
    assert m.derived(held, "view", compute) == 1
    assert m.cached(held, "view") == 1
    assert m.cached(replace(held, custodian="0x" + "bb" * 20), "view") is None
    assert m.derived(held, "failing", lambda: 0, keep=bool) == 0
    assert m.cached(held, "failing") is None  # not kept: keep() said no
    m.invalidate([PID])
    assert m.cached(held, "view") is None


def test_passports_named_reads_bytes_and_hex_and_skips_zero() -> None:
    successor = b"\x00" * 16 + b"\x33" * 16
    assert passports_named({"predecessorId": "0x" + PID.hex(), "successorId": successor}) == [PID, successor]
    assert passports_named({"passportId": b"\x00" * 32, "root": PID}) == []
