-- Participants, their batteries and their API keys (api/auth.py). IF NOT EXISTS: a file written before
-- migrations were versioned already holds these tables (its missing columns are added by ApiKeyStore).
CREATE TABLE IF NOT EXISTS participants (
    name TEXT PRIMARY KEY,
    roles TEXT NOT NULL,
    account TEXT,
    device_id TEXT,
    kind TEXT,
    display_name TEXT,
    country TEXT,
    registration_number TEXT,
    contact TEXT,
    created_at INTEGER
);
CREATE TABLE IF NOT EXISTS owned_batteries (
    participant TEXT NOT NULL REFERENCES participants(name),
    battery_id TEXT NOT NULL,
    PRIMARY KEY (participant, battery_id)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    participant TEXT NOT NULL REFERENCES participants(name),
    secret_sha256 BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    roles TEXT,
    read_only INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,
    last_used_at INTEGER,
    label TEXT,
    replaced_by TEXT
);
