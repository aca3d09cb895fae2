"""``MirroredStore``: every put goes to the embedded directory *and* an IPFS node, so content survives the
loss of either.

Writes are acknowledged only once both copies exist: the embedded copy first (fsynced), then the node's
(added and pinned). If the node cannot be reached the put fails with ``StoreUnavailable`` — the caller's
write (an issuance, a batch) fails rather than leaving content with one copy that looks mirrored. A retry
is harmless: both backends address content by its bytes.

Reads come from the embedded copy (local disk, no network hop) and fall back to the node when the file
is missing or damaged; a copy fetched from the node is written back to the directory (read repair), so a
restored or wiped data directory heals as content is read, or all at once with ``repair()``. ``repair()``
also re-adds to the node whatever only the directory holds (a node replaced by an empty one).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from passport.errors import ContentIntegrityError, ContentNotFound
from passport.store.cid import parse_cid
from passport.store.embedded import EmbeddedStore
from passport.store.ipfs_rpc import IpfsRpcStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RepairReport:
    """What ``MirroredStore.repair`` copied: to the node, and back to the directory."""

    checked: int
    to_node: int
    to_embedded: int


class MirroredStore:
    """A ``ContentStore`` over an ``EmbeddedStore`` and an ``IpfsRpcStore`` holding the same CIDs."""

    def __init__(self, embedded: EmbeddedStore, node: IpfsRpcStore) -> None:
        self.embedded = embedded
        self.node = node

    def __repr__(self) -> str:
        return f"MirroredStore({self.embedded!r}, {self.node!r})"

    def close(self) -> None:
        self.node.close()

    # -- ContentStore -------------------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        cid = self.embedded.put(data)
        added = self.node.put(data)  # StoreUnavailable when the node is down: no half-mirrored success
        assert added == cid  # both compute the CID from the bytes (the node's answer is checked)
        self.node.pin(cid)
        return cid

    def get(self, cid: str) -> bytes:
        parse_cid(cid)
        try:
            return self.embedded.get(cid)
        except (ContentNotFound, ContentIntegrityError) as local:
            try:
                data = self.node.get(cid)
            except ContentNotFound:
                raise local from None  # neither holds good bytes: the local reason is the telling one
            log.warning("content %s read from the IPFS node (%s); restoring the embedded copy", cid, local)
            self.embedded.put(data)
            return data

    def has(self, cid: str) -> bool:
        return self.embedded.has(cid) or self.node.has(cid)

    def pin(self, cid: str) -> None:
        parse_cid(cid)
        if not self.node.has(cid):
            # Only the directory holds it (a node that lost it): put it back before pinning.
            self.node.put(self.embedded.get(cid))
        self.node.pin(cid)

    def size(self, cid: str) -> int:
        try:
            return self.embedded.size(cid)
        except ContentNotFound:
            return self.node.size(cid)

    # -- beyond the protocol ------------------------------------------------------------------------

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """The embedded store's ``deferred_sync`` (the node commits each add itself)."""
        with self.embedded.deferred_sync():
            yield

    def repair(self, cids: list[str] | None = None) -> RepairReport:
        """Make both copies whole: every CID the directory holds (and ``cids``, e.g. the ledger's
        manifests) is added to the node if it lacks it, and read back into the directory if that lacks it
        or holds damaged bytes."""
        wanted = dict.fromkeys([*self.embedded.cids(), *(cids or [])])
        to_node = to_embedded = 0
        for cid in wanted:
            local_ok = True
            try:
                self.embedded.get(cid)
            except (ContentNotFound, ContentIntegrityError):
                local_ok = False
            if not local_ok:
                self.embedded.put(self.node.get(cid))
                to_embedded += 1
            if not self.node.has(cid):
                self.node.put(self.embedded.get(cid))
                self.node.pin(cid)
                to_node += 1
        return RepairReport(checked=len(wanted), to_node=to_node, to_embedded=to_embedded)
