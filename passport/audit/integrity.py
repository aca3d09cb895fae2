"""Is the audit index still what the chain says? ``check_index``, ``rebuild_index`` and per-passport
cross-checks.

The index is derived data in a plain SQLite file: anyone with write access to the file can change what
the custody routes, the audit routes and the passport page show. Nothing in the file can prove itself,
so every check here re-reads the chain:

- ``check_index`` replays the chain into a scratch index with the follower itself (``IndexFollower``
  and ``SqliteAuditIndex.apply``, the one extraction there is), up to the index's own cursor, and
  compares the two row by row: events, their lookup references, the passport-to-battery table, the
  hashes of event blocks and checkpoints, the cursor and the ledger identity. Every difference is
  reported (missing, extra or altered, with the values on both sides); nothing is repaired.
- ``rebuild_index`` builds a fresh index from the chain, keeps a consistent backup of the old file
  (SQLite's online backup, so a tampered file is preserved as evidence) and swaps the new one in with
  fsync and an atomic rename.
- ``cross_check_custody`` is the cheap, per-request form for one passport: its custody events in the
  index against the same events read from the chain with one filtered log query. The page and the
  verification route add its result to the verification report as the check ``index.custody``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, computed_field

from passport.audit._extract import event_row
from passport.audit.follower import FollowerConfig, IndexFollower, rebuild
from passport.audit.kinds import CUSTODY_EVENTS
from passport.audit.protocol import AuditIndex, BlockTimestamps, EventSource, PassportEvents
from passport.audit.records import AuditEvent, BlockRef, normalize_passport_id
from passport.audit.sqlite_index import SqliteAuditIndex
from passport.chain.records import LedgerEvent
from passport.errors import AuditIndexError
from passport.ids import passport_id_bytes32
from passport.verify import Check, CheckStatus, VerificationReport

log = logging.getLogger(__name__)

#: The verification check that compares the custody timeline an index serves with the chain's events.
INDEX_CUSTODY_CHECK: Final = "index.custody"

_EVENT_COLUMNS: Final = (
    "block_number",
    "log_index",
    "block_hash",
    "block_timestamp",
    "tx_hash",
    "address",
    "name",
    "passport_id",
    "battery_id_hash",
    "root",
    "args",
)
_MAX_VALUE_CHARS: Final = 200


class DifferenceKind(StrEnum):
    """How an index row differs from the chain."""

    MISSING = "missing"  # on the chain, not in the index
    EXTRA = "extra"  # in the index, not on the chain
    ALTERED = "altered"  # in both, with different values


class IndexDifference(BaseModel):
    """One row (or cursor, or identity field) of the index that is not what the chain says."""

    model_config = ConfigDict(frozen=True)

    table: str
    kind: DifferenceKind
    key: str
    detail: str

    def describe(self) -> str:
        return f"{self.table} {self.key}: {self.kind.value}: {self.detail}"


class IndexReport(BaseModel):
    """The outcome of ``check_index``: what was compared and every difference found."""

    model_config = ConfigDict(frozen=True)

    path: str | None
    chain_id: int
    registry_address: str
    start_block: int
    cursor: int | None  # the index's cursor block (as stored), None for an index never synced
    checked_to_block: int | None  # the last block whose events were compared
    chain_head: int
    events_in_index: int
    events_on_chain: int
    differences: tuple[IndexDifference, ...]

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented use on a property
    @property
    def ok(self) -> bool:
        return not self.differences


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What ``rebuild_index`` did."""

    path: Path
    backup: Path | None
    events: int
    cursor: BlockRef | None


# -- the whole index -------------------------------------------------------------------------------


def check_index(index: SqliteAuditIndex, chain: EventSource, *, start_block: int) -> IndexReport:
    """Compare every row of ``index`` with the chain's events up to the index's cursor.

    ``start_block`` is the registry's deployment block (from the deployment manifest, not from the
    index, which could have been edited too). The index is only read. Raises ``ChainError`` when the
    chain cannot be read and ``AuditIndexError`` when the index cannot.
    """
    differences: list[IndexDifference] = []
    stored = index.source()
    if stored is not None:
        differences += _identity_differences(
            stored.chain_id, stored.registry_address, stored.start_block, chain, start_block
        )
    head = chain.block_number()
    cursor = index.cursor()
    checked_to: int | None = None
    if cursor is not None:
        canonical = chain.block_hash(cursor.number)
        if canonical is None:
            differences.append(
                IndexDifference(
                    table="cursor",
                    kind=DifferenceKind.EXTRA,
                    key=f"block {cursor.number}",
                    detail=f"the index claims to cover block {cursor.number}; the chain's head is {head}",
                )
            )
        elif canonical != cursor.hash:
            differences.append(
                IndexDifference(
                    table="cursor",
                    kind=DifferenceKind.ALTERED,
                    key=f"block {cursor.number}",
                    detail=f"hash 0x{cursor.hash.hex()} in the index, 0x{canonical.hex()} on the chain "
                    "(edited, or a reorg the follower has not seen yet)",
                )
            )
        checked_to = min(cursor.number, head)
    reference = _replay(chain, start_block, checked_to)
    try:
        ours, theirs = index.dump(), reference.dump()
        differences += _event_differences(ours["events"], theirs["events"])
        differences += _ref_differences(ours, theirs)
        differences += _keyed_differences(
            "passports", ours["passports"], theirs["passports"], ("battery_id_hash", "block_number")
        )
        differences += _keyed_differences(
            "blocks", ours["blocks"], theirs["blocks"], ("hash", "timestamp"), key_label="block"
        )
        events_on_chain = reference.event_count()
    finally:
        reference.close()
    differences += _checkpoint_differences(index.checkpoints(), chain)
    return IndexReport(
        path=None if index.path is None else str(index.path),
        chain_id=chain.chain_id,
        registry_address=chain.registry_address,
        start_block=start_block,
        cursor=None if cursor is None else cursor.number,
        checked_to_block=checked_to,
        chain_head=head,
        events_in_index=index.event_count(),
        events_on_chain=events_on_chain,
        differences=tuple(differences),
    )


def rebuild_index(
    chain: EventSource,
    path: Path | str,
    config: FollowerConfig,
    *,
    backup: bool = True,
) -> RebuildResult:
    """Rebuild the index at ``path`` from the chain alone and swap it in atomically.

    The old file (if any) is first copied to ``<path>.bak`` with SQLite's online backup, so the copy is
    consistent even while another process writes, and a tampered index survives as evidence. Stop every
    process that has ``path`` open (the API server) before calling this, and restart it after: SQLite
    finds a database's write-ahead log by file name, so a connection left open on the replaced file
    could later write its log over the new one.
    """
    path = Path(path)
    backup_path = _backup(path) if backup and path.exists() else None
    index = rebuild(chain, path, config)
    try:
        return RebuildResult(path=path, backup=backup_path, events=index.event_count(), cursor=index.cursor())
    finally:
        index.close()


def _replay(chain: EventSource, start_block: int, to_block: int | None) -> SqliteAuditIndex:
    """A scratch index holding the chain's events in ``[start_block, to_block]``, built by the follower."""
    reference = SqliteAuditIndex(":memory:")
    if to_block is None or to_block < start_block:
        return reference
    try:
        result = IndexFollower(reference, FollowerConfig(start_block=start_block)).sync(
            chain, max_blocks=to_block - start_block + 1
        )
    except BaseException:
        reference.close()
        raise
    if result.cursor is None or result.cursor.number != to_block:
        reference.close()
        raise AuditIndexError(f"could not re-read the chain up to block {to_block}; try again")
    return reference


def _identity_differences(
    chain_id: int, registry: str, stored_start: int, chain: EventSource, start_block: int
) -> list[IndexDifference]:
    found = []
    for field, stored, expected in (
        ("chain_id", str(chain_id), str(chain.chain_id)),
        ("registry_address", registry.lower(), chain.registry_address.lower()),
        ("start_block", str(stored_start), str(start_block)),
    ):
        if stored != expected:
            found.append(
                IndexDifference(
                    table="meta",
                    kind=DifferenceKind.ALTERED,
                    key=field,
                    detail=f"{stored} in the index, {expected} for this ledger",
                )
            )
    return found


def _difference(table: str, kind: DifferenceKind, key: str, detail: str) -> IndexDifference:
    return IndexDifference(table=table, kind=kind, key=key, detail=detail)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _event_key(key: tuple[Any, ...]) -> str:
    return f"block {key[0]} log {key[1]}"


def _summary(row: Sequence[Any]) -> str:
    named = dict(zip(_EVENT_COLUMNS, row, strict=True))
    args = _short(named["args"])
    return f"{named['name']} passport={named['passport_id']} tx={named['tx_hash']} args={args}"


def _event_differences(ours: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]) -> list[IndexDifference]:
    mine = {tuple(row[:2]): row for row in ours}
    chain = {tuple(row[:2]): row for row in theirs}
    found = []
    for key in sorted(mine.keys() | chain.keys()):
        have, want = mine.get(key), chain.get(key)
        if have is None and want is not None:
            found.append(
                IndexDifference(
                    table="events",
                    kind=DifferenceKind.MISSING,
                    key=_event_key(key),
                    detail=f"on the chain: {_summary(want)}",
                )
            )
        elif want is None and have is not None:
            found.append(
                IndexDifference(
                    table="events",
                    kind=DifferenceKind.EXTRA,
                    key=_event_key(key),
                    detail=f"not on the chain: {_summary(have)}",
                )
            )
        elif have is not None and want is not None and tuple(have) != tuple(want):
            changed = [
                f"{column}: {_short(a)} in the index, {_short(b)} on the chain"
                for column, a, b in zip(_EVENT_COLUMNS, have, want, strict=True)
                if a != b
            ]
            found.append(
                IndexDifference(
                    table="events",
                    kind=DifferenceKind.ALTERED,
                    key=_event_key(key),
                    detail="; ".join(changed),
                )
            )
    return found


def _ref_differences(
    ours: Mapping[str, list[tuple[Any, ...]]], theirs: Mapping[str, list[tuple[Any, ...]]]
) -> list[IndexDifference]:
    # References of an event that is itself missing or extra add nothing to that finding: only report
    # references that differ for events both sides hold.
    both = {tuple(r[:2]) for r in ours["events"]} & {tuple(r[:2]) for r in theirs["events"]}
    mine, chain = set(map(tuple, ours["event_refs"])), set(map(tuple, theirs["event_refs"]))
    found = []
    for kind, rows in ((DifferenceKind.MISSING, chain - mine), (DifferenceKind.EXTRA, mine - chain)):
        for ref_kind, value, block, log_index in sorted(rows, key=lambda r: (r[2], r[3], r[0], r[1])):
            if (block, log_index) in both:
                found.append(
                    IndexDifference(
                        table="event_refs",
                        kind=kind,
                        key=_event_key((block, log_index)),
                        detail=f"lookup by {ref_kind} {value}",
                    )
                )
    return found


def _keyed_differences(
    table: str,
    ours: list[tuple[Any, ...]],
    theirs: list[tuple[Any, ...]],
    columns: tuple[str, ...],
    *,
    key_label: str = "",
) -> list[IndexDifference]:
    mine = {row[0]: tuple(row[1:]) for row in ours}
    chain = {row[0]: tuple(row[1:]) for row in theirs}
    found = []
    for key in sorted(mine.keys() | chain.keys()):
        label = f"{key_label} {key}".strip()
        have, want = mine.get(key), chain.get(key)
        if have is None:
            values = dict(zip(columns, want or (), strict=False))
            found.append(_difference(table, DifferenceKind.MISSING, label, f"on the chain: {values}"))
        elif want is None:
            values = dict(zip(columns, have, strict=False))
            found.append(_difference(table, DifferenceKind.EXTRA, label, f"not on the chain: {values}"))
        elif have != want:
            found.append(
                IndexDifference(
                    table=table,
                    kind=DifferenceKind.ALTERED,
                    key=label,
                    detail="; ".join(
                        f"{column}: {_short(a)} in the index, {_short(b)} on the chain"
                        for column, a, b in zip(columns, have, want, strict=True)
                        if a != b
                    ),
                )
            )
    return found


def _checkpoint_differences(checkpoints: list[BlockRef], chain: EventSource) -> list[IndexDifference]:
    # Checkpoints are few (pruned outside the follower's reorg window), so each is asked for directly.
    found = []
    for block in checkpoints:
        canonical = chain.block_hash(block.number)
        if canonical != block.hash:
            found.append(
                IndexDifference(
                    table="blocks",
                    kind=DifferenceKind.ALTERED,
                    key=f"checkpoint {block.number}",
                    detail=f"hash 0x{block.hash.hex()} in the index, "
                    f"{'no such block' if canonical is None else '0x' + canonical.hex()} on the chain",
                )
            )
    return found


def _backup(path: Path) -> Path:
    """Copy the index at ``path`` to ``<path>.bak`` (consistent, durable); return the backup's path.

    SQLite's online backup gives a consistent copy even while another process writes; a file SQLite
    no longer reads as a database is copied byte for byte instead (with its log), as evidence.
    """
    target = path.with_name(path.name + ".bak")
    partial = path.with_name(path.name + ".bak.partial")
    for leftover in (partial, *_companions(partial), *_companions(target)):
        leftover.unlink(missing_ok=True)
    try:
        try:
            _sqlite_copy(path, partial)
        except sqlite3.DatabaseError:
            partial.unlink(missing_ok=True)
            shutil.copyfile(path, partial)
            for log_file, copy in zip(_companions(path), _companions(target), strict=True):
                if log_file.exists():
                    shutil.copyfile(log_file, copy)
                    _fsync(copy)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise AuditIndexError(f"cannot back up the audit index {path} to {target}: {exc}") from exc
    return target


def _sqlite_copy(source_path: Path, target: Path) -> None:
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def _companions(path: Path) -> tuple[Path, Path]:
    """The write-ahead log and shared-memory files SQLite keeps beside ``path``."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- one passport -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustodyCrossCheck:
    """A passport's custody timeline as the index serves it, and whether the chain agrees (``check``)."""

    events: list[AuditEvent]
    check: Check


def cross_check_custody(
    index: AuditIndex,
    chain: EventSource,
    passport_id: str | bytes | uuid.UUID,
    *,
    start_block: int = 0,
    chain_events: Callable[[int], list[AuditEvent]] | None = None,
    canonical_hash: Callable[[int], bytes | None] | None = None,
) -> CustodyCrossCheck:
    """The index's custody timeline of one passport, checked event by event against the chain.

    Compared up to the index's cursor (what it claims to cover), so an index that merely lags the chain
    passes; the cursor block's hash is checked too. ``start_block`` comes from the deployment, not from
    the index. Events above the cursor (written after it was read) are left out of the timeline.
    ``chain_events(upto)``: the chain's side (``chain_custody_events`` up to block ``upto``) as the
    caller remembers it, instead of asking the chain; the index's side is read every time.
    ``canonical_hash(number)``: the chain's block hash as the caller remembers it (default: ask).
    """
    pid_hex = normalize_passport_id(passport_id)
    cursor = index.cursor()
    shown = index.custody_timeline(pid_hex)
    if cursor is None:
        return CustodyCrossCheck(
            [],
            _custody_check(
                not shown,
                "the audit index has not indexed any block yet",
                f"the audit index holds {len(shown)} custody event(s) but claims to cover no block",
            ),
        )
    shown = [event for event in shown if event.block_number <= cursor.number]
    canonical = (chain.block_hash if canonical_hash is None else canonical_hash)(cursor.number)
    if canonical != cursor.hash:
        return CustodyCrossCheck(
            shown,
            _custody_check(
                False,
                "",
                f"the audit index's cursor block {cursor.number} is not the chain's "
                "(the index was edited, or a reorg has not been followed yet)",
            ),
        )
    expected = (
        chain_custody_events(chain, passport_id, start_block, cursor.number)
        if chain_events is None
        else chain_events(cursor.number)
    )
    problems = _timeline_problems(shown, expected)
    return CustodyCrossCheck(
        shown,
        _custody_check(
            not problems,
            f"the audit index's {len(shown)} custody event(s) match the chain's up to block {cursor.number}",
            "the audit index's custody timeline differs from the chain: " + "; ".join(problems),
        ),
    )


def chain_custody_events(
    chain: EventSource, passport_id: str | bytes | uuid.UUID, start_block: int, end_block: int
) -> list[AuditEvent]:
    """The passport's custody events on the chain in ``[start_block, end_block]``, as the index has them."""
    pid = passport_id_bytes32(passport_id)
    return [_audit_event(event, chain) for event in _passport_events(chain, pid, start_block, end_block)]


def with_check(report: VerificationReport, check: Check) -> VerificationReport:
    """``report`` with ``check`` appended (``ok`` follows, as it is computed from the checks)."""
    return report.model_copy(update={"checks": [*report.checks, check]})


def _custody_check(passed: bool, ok_reason: str, fail_reason: str) -> Check:
    return Check(
        name=INDEX_CUSTODY_CHECK,
        status=CheckStatus.PASS if passed else CheckStatus.FAIL,
        reason=ok_reason if passed else fail_reason,
    )


def _passport_events(chain: EventSource, pid: bytes, start: int, end: int) -> list[LedgerEvent]:
    if isinstance(chain, PassportEvents):
        return chain.passport_events(pid, start, end, CUSTODY_EVENTS)
    # A client without the filtered read: every custody event of the range, filtered here.
    return [e for e in chain.events(start, end, CUSTODY_EVENTS) if e.args.get("passportId") == pid]


def _audit_event(event: LedgerEvent, chain: EventSource) -> AuditEvent:
    """``event`` as the index would serve it (the follower's extraction, and the block's time)."""
    row = event_row(event)
    timestamp = chain.block_timestamp(event.block_number) if isinstance(chain, BlockTimestamps) else None
    return AuditEvent(
        block_number=row.block_number,
        log_index=row.log_index,
        block_hash=row.block_hash,
        block_timestamp=timestamp,
        tx_hash=row.tx_hash,
        address=row.address,
        name=row.name,
        passport_id=row.passport_id,
        battery_id_hash=row.battery_id_hash,
        root=row.root,
        args=json.loads(row.args_json),
    )


def _timeline_problems(shown: list[AuditEvent], expected: list[AuditEvent]) -> list[str]:
    mine = {event.key: event for event in shown}
    chain = {event.key: event for event in expected}
    problems = []
    for key in sorted(mine.keys() | chain.keys()):
        have, want = mine.get(key), chain.get(key)
        where = f"block {key[0]} log {key[1]}"
        if have is None and want is not None:
            problems.append(f"{want.name} at {where} is missing from the index")
        elif want is None and have is not None:
            problems.append(f"{have.name} at {where} is not on the chain")
        elif have is not None and want is not None and have != want:
            fields = _changed_fields(have.model_dump(), want.model_dump())
            problems.append(f"{want.name} at {where} was altered ({', '.join(fields)})")
    return problems


def _changed_fields(have: Mapping[str, Any], want: Mapping[str, Any]) -> list[str]:
    return [name for name in want if have.get(name) != want[name]]
