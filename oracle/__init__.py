"""Battery passport ledger: oracle (device data ingestion, anchoring, health evaluation)."""
