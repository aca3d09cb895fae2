-- The audit index on PostgreSQL: the SQLite schema with BIGINT block numbers and times.
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    number BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    timestamp BIGINT,
    has_events INTEGER NOT NULL CHECK (has_events IN (0, 1))
);
CREATE TABLE IF NOT EXISTS events (
    block_number BIGINT NOT NULL,
    log_index INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    block_timestamp BIGINT,
    tx_hash TEXT NOT NULL,
    address TEXT NOT NULL,
    name TEXT NOT NULL,
    passport_id TEXT,
    battery_id_hash TEXT,
    root TEXT,
    args TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX IF NOT EXISTS events_by_name ON events (name, block_number, log_index);
CREATE INDEX IF NOT EXISTS events_by_time ON events (block_timestamp, block_number, log_index);
CREATE INDEX IF NOT EXISTS events_by_tx ON events (tx_hash);
CREATE TABLE IF NOT EXISTS event_refs (
    kind TEXT NOT NULL CHECK (kind IN ('passport', 'battery', 'actor', 'root')),
    value TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    log_index INTEGER NOT NULL,
    PRIMARY KEY (kind, value, block_number, log_index)
);
CREATE INDEX IF NOT EXISTS event_refs_by_event ON event_refs (block_number, log_index);
CREATE TABLE IF NOT EXISTS passports (
    passport_id TEXT PRIMARY KEY,
    battery_id_hash TEXT NOT NULL,
    block_number BIGINT NOT NULL
);
