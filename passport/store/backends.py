"""Choosing the content store from the settings."""

from __future__ import annotations

from passport.settings import Settings
from passport.store.embedded import EmbeddedStore
from passport.store.ipfs_rpc import IpfsRpcStore
from passport.store.mirrored import MirroredStore
from passport.store.protocol import ContentStore


def open_store(settings: Settings) -> ContentStore:
    """The ``ContentStore`` that ``settings.store_backend`` names.

    ``embedded`` is a directory under ``settings.store_dir``; ``ipfs`` talks to the node at
    ``settings.ipfs_api_url`` (not contacted until first use: call ``health()`` to check it);
    ``mirrored`` writes to both and reads from the directory first (``MirroredStore``).
    """
    if settings.store_backend == "ipfs":
        return IpfsRpcStore(settings.ipfs_api_url, timeout=settings.ipfs_timeout)
    if settings.store_backend == "mirrored":
        return MirroredStore(
            EmbeddedStore(settings.store_dir),
            IpfsRpcStore(settings.ipfs_api_url, timeout=settings.ipfs_timeout),
        )
    return EmbeddedStore(settings.store_dir)
