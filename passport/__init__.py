"""Battery passport ledger: the core library (documents, commitments, store, chain, verification)."""

from passport.errors import PassportError
from passport.settings import Settings

__all__ = ["PassportError", "Settings"]
