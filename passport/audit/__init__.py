"""The audit index: ledger events indexed for auditors' queries, rebuilt from the chain alone.

``IndexFollower`` reads confirmed registry events into an ``AuditIndex`` (``SqliteAuditIndex``), rolling
back and re-reading when the chain reorganises; the index answers queries by passport, battery, actor,
event kind, time and block range, with keyset pagination and streaming CSV / JSON exports.
"""

from passport.audit.export import CSV_COLUMNS, to_csv, to_json_array, to_json_lines
from passport.audit.follower import FollowerConfig, IndexFollower, rebuild
from passport.audit.kinds import CUSTODY_EVENTS, VERSION_EVENTS, LedgerEvent
from passport.audit.protocol import AuditIndex, BlockTimestamps, EventSource, IndexBatch, SourceIdentity
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
    "MAX_INDEX_INT",
    "MAX_PAGE_SIZE",
    "PAGE_TOKEN_PATTERN",
    "VERSION_EVENTS",
    "AuditEvent",
    "AuditIndex",
    "BlockRef",
    "BlockTimestamps",
    "EventPage",
    "EventQuery",
    "EventSource",
    "FollowerConfig",
    "IndexBatch",
    "IndexFollower",
    "IndexedBlock",
    "LedgerEvent",
    "Reorg",
    "SourceIdentity",
    "SqliteAuditIndex",
    "SyncResult",
    "rebuild",
    "to_csv",
    "to_json_array",
    "to_json_lines",
]
