-- The passport service's version log (passport/service/version_log.py). Byte values are lowercase
-- 0x-hex text, as on SQLite; recorded_at is ISO 8601 text (COLLATE "C": sorts chronologically).
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE versions (
    chain_id BIGINT NOT NULL,
    registry TEXT NOT NULL,
    passport_id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    manifest_digest TEXT NOT NULL,
    manifest_cid TEXT NOT NULL,
    status INTEGER NOT NULL,
    predecessor TEXT NOT NULL,
    signature TEXT NOT NULL,
    signer TEXT NOT NULL,
    sent_from_block BIGINT NOT NULL,
    tx_hash TEXT,
    block_number BIGINT,
    block_hash TEXT,
    recorded_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (chain_id, registry, passport_id, version, manifest_digest)
);
