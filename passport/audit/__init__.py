"""The audit index: ledger events indexed for auditors' queries, rebuilt from the chain alone.

``IndexFollower`` reads confirmed registry events into an ``AuditIndex`` (``SqliteAuditIndex``), rolling
back and re-reading when the chain reorganises; the index answers queries by passport, battery, actor,
event kind, time and block range, with keyset pagination and streaming CSV / JSON exports.
``check_index`` compares an index with the chain row by row, ``rebuild_index`` replaces it with one
rebuilt from the chain, and ``cross_check_custody`` checks one passport's custody timeline cheaply.
"""

from passport.audit.export import CSV_COLUMNS, to_csv, to_json_array, to_json_lines
from passport.audit.follower import FollowerConfig, IndexFollower, rebuild
from passport.audit.integrity import (
    INDEX_CUSTODY_CHECK,
    CustodyCrossCheck,
    DifferenceKind,
    IndexDifference,
    IndexReport,
    RebuildResult,
    chain_custody_events,
    check_index,
    cross_check_custody,
    rebuild_index,
    with_check,
)
from passport.audit.kinds import CUSTODY_EVENTS, VERSION_EVENTS, LedgerEvent
from passport.audit.protocol import (
    AuditIndex,
    BlockTimestamps,
    EventSource,
    IndexBatch,
    PassportEvents,
    SourceIdentity,
)
from passport.audit.records import (
    MAX_INDEX_INT,
    MAX_PAGE_SIZE,
    PAGE_TOKEN_PATTERN,
    AuditEvent,
    BlockRef,
    EventPage,
    EventQuery,
    IndexedBlock,
    Reorg,
    SyncResult,
)
from passport.audit.sqlite_index import SqliteAuditIndex

__all__ = [
    "CSV_COLUMNS",
    "CUSTODY_EVENTS",
    "INDEX_CUSTODY_CHECK",
    "MAX_INDEX_INT",
    "MAX_PAGE_SIZE",
    "PAGE_TOKEN_PATTERN",
    "VERSION_EVENTS",
    "AuditEvent",
    "AuditIndex",
    "BlockRef",
    "BlockTimestamps",
    "CustodyCrossCheck",
    "DifferenceKind",
    "EventPage",
    "EventQuery",
    "EventSource",
    "FollowerConfig",
    "IndexBatch",
    "IndexDifference",
    "IndexFollower",
    "IndexReport",
    "IndexedBlock",
    "LedgerEvent",
    "PassportEvents",
    "RebuildResult",
    "Reorg",
    "SourceIdentity",
    "SqliteAuditIndex",
    "SyncResult",
    "chain_custody_events",
    "check_index",
    "cross_check_custody",
    "rebuild",
    "rebuild_index",
    "to_csv",
    "to_json_array",
    "to_json_lines",
    "with_check",
]
