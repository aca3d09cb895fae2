-- The oracle journal (oracle/journal.py): devices, uploads, records, rejections, batches.
CREATE TABLE IF NOT EXISTS devices (
    device_id     TEXT PRIMARY KEY,
    address       TEXT NOT NULL,
    battery_id    TEXT NOT NULL,
    registered_at REAL NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    last_seq      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS uploads (
    id          INTEGER PRIMARY KEY,
    device_id   TEXT NOT NULL REFERENCES devices(device_id),
    seq         INTEGER NOT NULL,
    body_digest BLOB NOT NULL,
    body        BLOB NOT NULL,
    signature   BLOB NOT NULL,
    received_at REAL NOT NULL,
    gap_before  INTEGER NOT NULL DEFAULT 0,
    ack         TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE TABLE IF NOT EXISTS batches (
    id              INTEGER PRIMARY KEY,
    kind            INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('open', 'stored', 'sent', 'anchored', 'confirmed')),
    created_at      REAL NOT NULL,
    record_count    INTEGER NOT NULL,
    root            BLOB NOT NULL UNIQUE,
    document        BLOB NOT NULL,
    cid             TEXT,
    cid_digest      BLOB,
    tx_hash         BLOB,
    block_number    INTEGER,
    block_hash      BLOB,
    confirmed_at    REAL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    reorgs          INTEGER NOT NULL DEFAULT 0,
    updated_at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_state ON batches(state, id);
CREATE INDEX IF NOT EXISTS batches_state_block ON batches(state, block_number);
CREATE TABLE IF NOT EXISTS records (
    id          INTEGER PRIMARY KEY,
    upload_id   INTEGER NOT NULL REFERENCES uploads(id),
    idx         INTEGER NOT NULL,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    battery_id  TEXT NOT NULL,
    kind        INTEGER NOT NULL,
    observed_at REAL NOT NULL,
    received_at REAL NOT NULL,
    canonical   BLOB NOT NULL,
    digest      BLOB NOT NULL UNIQUE,
    batch_id    INTEGER REFERENCES batches(id)
);
CREATE INDEX IF NOT EXISTS records_pending ON records(kind, id) WHERE batch_id IS NULL;
CREATE INDEX IF NOT EXISTS records_battery ON records(battery_id, kind, observed_at);
CREATE INDEX IF NOT EXISTS records_batch ON records(batch_id);
CREATE TABLE IF NOT EXISTS rejections (
    upload_id INTEGER NOT NULL REFERENCES uploads(id),
    idx       INTEGER NOT NULL,
    reading   BLOB NOT NULL,
    problems  TEXT NOT NULL,
    PRIMARY KEY (upload_id, idx)
);
CREATE TABLE IF NOT EXISTS batch_batteries (
    battery_id TEXT NOT NULL,
    batch_id   INTEGER NOT NULL REFERENCES batches(id),
    PRIMARY KEY (battery_id, batch_id)
) WITHOUT ROWID;
