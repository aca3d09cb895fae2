"""Content-addressed storage of passport sections and batch documents (IPFS CIDs).

Two backends, one protocol, the same CIDs: ``EmbeddedStore`` (a directory; the default) and
``IpfsRpcStore`` (an IPFS node's RPC API), and ``MirroredStore`` writing to both. ``open_store(settings)``
picks one; ``cid_of(data)`` gives the CID each returns for ``data``, and ``cid_digest(cid)`` the 32 bytes
the ledger anchors.
"""

from passport.store.backends import open_store
from passport.store.car import read_car, write_car
from passport.store.cid import Cid, Codec, cid_digest, cid_from_digest, is_cid, parse_cid
from passport.store.embedded import EmbeddedStore
from passport.store.ipfs_rpc import IpfsRpcStore, NodeHealth
from passport.store.mirrored import MirroredStore, RepairReport
from passport.store.protocol import ContentStore
from passport.store.unixfs import CHUNK_SIZE, MAX_LINKS, Block, cid_of, file_cid, iter_file_blocks

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "Block",
    "Cid",
    "Codec",
    "ContentStore",
    "EmbeddedStore",
    "IpfsRpcStore",
    "MirroredStore",
    "NodeHealth",
    "RepairReport",
    "cid_digest",
    "cid_from_digest",
    "cid_of",
    "file_cid",
    "is_cid",
    "iter_file_blocks",
    "open_store",
    "parse_cid",
    "read_car",
    "write_car",
]
