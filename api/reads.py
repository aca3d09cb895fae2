"""How the public read routes run: their own thread pool, the read model's block, and HTTP caching.

Reads and writes used to share FastAPI's one thread pool, so a crowd of anonymous readers held every
thread while device uploads queued behind them. The read routes are ``async``: an answer the read model
already holds is served on the event loop without a thread, and work that must block (a model miss that
asks the chain, reading and decrypting stored sections, verification) runs in threads gated by a limiter
of its own (``READ_THREADS``), so reads never hold more than that many of the threads writes use.

Every read answer says which ledger state it reflects (``X-Ledger-Block``: see
``PassportReadModel.reflects``); passport reads carry an ``ETag`` that changes with any field of the
on-chain record (version, digest, status, custodian, links) and with the tiers shown, and answer
``If-None-Match`` with 304. Anonymous reads are ``public`` and may be cached briefly; reads with an API
key are ``private``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from typing import Final, TypeVar

import anyio
from fastapi import Request

from passport.chain.records import PassportRecord
from passport.model import AccessTier
from passport.service import ModelEntry, PassportReadModel

T = TypeVar("T")

#: Threads the read routes may hold at once (FastAPI's pool for everything else has 40).
READ_THREADS: Final = 8
#: How long a shared cache may serve an anonymous read before revalidating it (seconds).
PUBLIC_MAX_AGE: Final = 5
LEDGER_BLOCK_HEADER: Final = "X-Ledger-Block"


def _limiter(request: Request) -> anyio.CapacityLimiter:
    # Created on first use: an anyio limiter belongs to the running event loop.
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "read_limiter", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(READ_THREADS)
        request.app.state.read_limiter = limiter
    return limiter


async def run_read(request: Request, fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in a thread of the read pool."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=_limiter(request))


def record_etag(record: PassportRecord, tiers: Collection[AccessTier]) -> str:
    """A strong validator for a passport answer: every field of the record, and the tiers shown."""
    shown = ",".join(sorted(str(t.value) for t in tiers))
    digest = hashlib.sha256(f"{record!r}|{shown}".encode()).hexdigest()[:32]
    return f'"v{record.version}-{digest}"'


def not_modified(request: Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``etag`` (weak comparison, ``*`` included)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def read_headers(model: PassportReadModel, entry: ModelEntry, *, public: bool) -> dict[str, str]:
    """``X-Ledger-Block`` and ``Cache-Control`` for an answer from ``entry``."""
    return {
        LEDGER_BLOCK_HEADER: str(model.reflects(entry)),
        "Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}" if public else "private, no-cache",
        "Vary": "Authorization",
    }
