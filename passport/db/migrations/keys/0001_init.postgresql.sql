-- Participants, their batteries and their API keys (api/auth.py). COLLATE "C": names and key ids sort
-- byte-wise, as on SQLite.
CREATE TABLE participants (
    name TEXT COLLATE "C" PRIMARY KEY,
    roles TEXT NOT NULL,
    account TEXT,
    device_id TEXT,
    kind TEXT,
    display_name TEXT,
    country TEXT,
    registration_number TEXT,
    contact TEXT,
    created_at BIGINT
);
CREATE TABLE owned_batteries (
    participant TEXT COLLATE "C" NOT NULL REFERENCES participants(name),
    battery_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (participant, battery_id)
);
CREATE INDEX owned_batteries_battery ON owned_batteries (battery_id);
CREATE TABLE api_keys (
    key_id TEXT COLLATE "C" PRIMARY KEY,
    participant TEXT COLLATE "C" NOT NULL REFERENCES participants(name),
    secret_sha256 BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    roles TEXT,
    read_only INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT,
    last_used_at BIGINT,
    label TEXT,
    replaced_by TEXT
);
CREATE INDEX api_keys_participant ON api_keys (participant, created_at);
