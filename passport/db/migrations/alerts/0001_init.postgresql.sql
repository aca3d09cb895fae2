-- The early-warning alert journal (oracle/early_warnings.py). Times are ISO 8601 text, as on SQLite, so
-- ORDER BY observed_at is chronological on both (COLLATE "C": byte-wise).
CREATE TABLE alerts (
    alert_id TEXT COLLATE "C" PRIMARY KEY,
    battery_id TEXT COLLATE "C" NOT NULL,
    rule TEXT NOT NULL,
    observed_at TEXT COLLATE "C" NOT NULL,
    raised_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    body TEXT NOT NULL
);
CREATE INDEX alerts_battery ON alerts (battery_id, observed_at);
