-- The passport service's version log (passport/service/version_log.py). Byte values are lowercase
-- 0x-hex text so the file can be read with the sqlite3 shell.
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (
    chain_id INTEGER NOT NULL,
    registry TEXT NOT NULL,
    passport_id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    manifest_digest TEXT NOT NULL,
    manifest_cid TEXT NOT NULL,
    status INTEGER NOT NULL,
    predecessor TEXT NOT NULL,
    signature TEXT NOT NULL,
    signer TEXT NOT NULL,
    sent_from_block INTEGER NOT NULL,
    tx_hash TEXT,
    block_number INTEGER,
    block_hash TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (chain_id, registry, passport_id, version, manifest_digest)
) WITHOUT ROWID;
