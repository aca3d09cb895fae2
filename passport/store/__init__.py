"""Content-addressed storage of passport sections and batch documents (IPFS CIDs)."""

from passport.store.protocol import ContentStore

__all__ = ["ContentStore"]
