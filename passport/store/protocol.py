"""The ``ContentStore`` boundary: content-addressed bytes, named by IPFS CIDv1 strings.

Implementations: ``EmbeddedStore`` (a directory on disk; the default) and ``IpfsRpcStore`` (a node's
Kubo RPC API). For the same bytes both return the same CID, so content can move between them freely.
"""

from __future__ import annotations

import contextlib
from typing import Protocol, runtime_checkable


@runtime_checkable
class ContentStore(Protocol):
    """Put bytes, get them back by CID; every read is checked against its CID."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (pinned) and return its CIDv1 (base32): raw for one block, else UnixFS."""
        ...

    def get(self, cid: str) -> bytes:
        """Return the bytes for ``cid``.

        Raises ``ContentNotFound`` if absent, ``ContentIntegrityError`` if the bytes do not match.
        """
        ...

    def has(self, cid: str) -> bool: ...

    def pin(self, cid: str) -> None:
        """Keep ``cid`` from garbage collection (the embedded store keeps everything)."""
        ...

    def size(self, cid: str) -> int:
        """Size in bytes of the content behind ``cid``."""
        ...


@runtime_checkable
class DeferredSync(Protocol):
    """A store that can make many puts durable at once (``EmbeddedStore``): see its ``deferred_sync``."""

    def deferred_sync(self) -> contextlib.AbstractContextManager[None]: ...
