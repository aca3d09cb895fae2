"""Battery passport ledger: API layer."""
