-- The device registry's profiles and lifecycle events (oracle/device_registry.py).
CREATE TABLE IF NOT EXISTS device_profiles (
    device_id      TEXT PRIMARY KEY REFERENCES devices(device_id),
    public_key     TEXT,
    model          TEXT NOT NULL,
    firmware       TEXT NOT NULL,
    vehicle_id     TEXT,
    bound          INTEGER NOT NULL DEFAULT 1,
    suspended_at   REAL,
    suspend_reason TEXT
);
CREATE TABLE IF NOT EXISTS device_events (
    id         INTEGER PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices(device_id),
    at         REAL NOT NULL,
    action     TEXT NOT NULL,
    battery_id TEXT,
    vehicle_id TEXT,
    actor      TEXT NOT NULL,
    reason     TEXT
);
CREATE INDEX IF NOT EXISTS device_events_battery ON device_events(battery_id, id);
CREATE INDEX IF NOT EXISTS device_events_device ON device_events(device_id, id);
