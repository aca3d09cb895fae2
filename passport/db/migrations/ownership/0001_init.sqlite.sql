-- Claim codes, owner links, sessions, sign-in links, shares and the access log (api/ownership.py).
CREATE TABLE IF NOT EXISTS claim_codes (
    code_sha256 BLOB PRIMARY KEY,
    passport_id TEXT NOT NULL,
    battery_id  TEXT NOT NULL,
    issued_by   TEXT NOT NULL,
    issued_at   REAL NOT NULL,
    expires_at  REAL NOT NULL,
    used_at     REAL,
    used_by     TEXT,
    voided_at   REAL
);
CREATE INDEX IF NOT EXISTS claim_codes_passport ON claim_codes(passport_id);
CREATE TABLE IF NOT EXISTS owner_links (
    id          INTEGER PRIMARY KEY,
    participant TEXT NOT NULL,
    passport_id TEXT NOT NULL,
    battery_id  TEXT NOT NULL,
    custodian   TEXT NOT NULL,
    linked_at   REAL NOT NULL,
    unlinked_at REAL,
    reason      TEXT
);
CREATE INDEX IF NOT EXISTS owner_links_passport ON owner_links(passport_id, unlinked_at);
CREATE INDEX IF NOT EXISTS owner_links_participant ON owner_links(participant, unlinked_at);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 BLOB PRIMARY KEY,
    participant  TEXT NOT NULL,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    ended_at     REAL
);
CREATE TABLE IF NOT EXISTS sign_in_links (
    token_sha256 BLOB PRIMARY KEY,
    participant  TEXT NOT NULL,
    passport_id  TEXT NOT NULL,
    expires_at   REAL NOT NULL,
    used_at      REAL
);
CREATE TABLE IF NOT EXISTS shares (
    id           INTEGER PRIMARY KEY,
    passport_id  TEXT NOT NULL,
    battery_id   TEXT NOT NULL,
    grantor      TEXT NOT NULL,
    grantee      TEXT,
    token_sha256 BLOB UNIQUE,
    tier         TEXT NOT NULL,
    kinds        TEXT NOT NULL,
    purpose      TEXT,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    revoked_at   REAL,
    revoked_by   TEXT
);
CREATE INDEX IF NOT EXISTS shares_passport ON shares(passport_id);
CREATE TABLE IF NOT EXISTS access_log (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    passport_id TEXT NOT NULL,
    reader      TEXT NOT NULL,
    basis       TEXT NOT NULL,
    what        TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS access_log_passport ON access_log(passport_id, id);
