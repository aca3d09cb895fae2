-- The early-warning alert journal (oracle/early_warnings.py).
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    battery_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_battery ON alerts (battery_id, observed_at);
