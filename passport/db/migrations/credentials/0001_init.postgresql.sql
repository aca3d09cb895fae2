-- Which index of its status list each issuer gave each passport (passport/credentials/status.py).
CREATE TABLE status_index (
    issuer TEXT COLLATE "C" NOT NULL,
    passport_id TEXT COLLATE "C" NOT NULL,
    idx INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (issuer, passport_id),
    UNIQUE (issuer, idx)
);
