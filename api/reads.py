"""How the public read routes run: their own thread pool, the read model's block, and HTTP caching.

Reads and writes used to share FastAPI's one thread pool, so a crowd of anonymous readers held every
thread while device uploads queued behind them. The read routes are ``async``: an answer the read model
already holds is served on the event loop without a thread, and work that must block (a model miss that
asks the chain, reading and decrypting stored sections, verification) runs in threads gated by a limiter
of its own (``READ_THREADS``), so reads never hold more than that many of the threads writes use.

An anonymous ``GET /api/v1/passports/{id}`` whose rendered answer the read model already holds is served
by ``PublicReadFastPath`` before FastAPI routes it (no dependency resolution, no thread, headers ready):
a dictionary lookup and two ASGI messages. A verification of a passport the model holds skips the
routing too (its checks still run per request, in the read pool). Anything else (a key, a miss, a
malformed id, another path) goes on to the routes, which fill the model; the memo is keyed by the exact
record it was rendered from, so whatever invalidates the record (a write's receipt, a follower event, a
reorg) drops it too.

Every read answer says which ledger state it reflects (``X-Ledger-Block``: see
``PassportReadModel.reflects``); passport reads carry an ``ETag`` that changes with any field of the
on-chain record (version, digest, status, custodian, links) and with the tiers shown, and answer
``If-None-Match`` with 304. Anonymous reads are ``public`` and may be cached briefly; reads with an API
key are ``private``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import anyio
from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.services import Services
from passport.chain.records import PassportRecord
from passport.errors import PassportError
from passport.ids import parse_passport_id, passport_id_bytes32
from passport.model import AccessTier
from passport.service import ModelEntry, PassportReadModel

T = TypeVar("T")

#: Threads the read routes may hold at once (FastAPI's pool for everything else has 40).
READ_THREADS: Final = 8
#: How long a shared cache may serve an anonymous read before revalidating it (seconds).
PUBLIC_MAX_AGE: Final = 5
LEDGER_BLOCK_HEADER: Final = "X-Ledger-Block"
#: The read model's memo kind of an anonymous passport answer (a ``PublicAnswer``).
PUBLIC_ANSWER: Final = "public"
_PUBLIC_CACHE_CONTROL: Final = f"public, max-age={PUBLIC_MAX_AGE}"
_PASSPORTS_PREFIX: Final = "/api/v1/passports/"
_VERIFICATION_SUFFIX: Final = "/verification"
_BLOCK_HEADER: Final = LEDGER_BLOCK_HEADER.lower().encode()


def _limiter(app: Any) -> anyio.CapacityLimiter:
    # Created on first use: an anyio limiter belongs to the running event loop.
    limiter: anyio.CapacityLimiter | None = getattr(app.state, "read_limiter", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(READ_THREADS)
        app.state.read_limiter = limiter
    return limiter


async def run_read(request: Request, fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in a thread of the read pool."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=_limiter(request.app))


def record_etag(record: PassportRecord, tiers: Collection[AccessTier]) -> str:
    """A strong validator for a passport answer: every field of the record, and the tiers shown."""
    shown = ",".join(sorted(str(t.value) for t in tiers))
    digest = hashlib.sha256(f"{record!r}|{shown}".encode()).hexdigest()[:32]
    return f'"v{record.version}-{digest}"'


def not_modified(request: Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``etag`` (weak comparison, ``*`` included)."""
    header = request.headers.get("if-none-match")
    return header is not None and _names(header, etag)


def read_headers(model: PassportReadModel, entry: ModelEntry, *, public: bool) -> dict[str, str]:
    """``X-Ledger-Block`` and ``Cache-Control`` for an answer from ``entry``."""
    return {
        LEDGER_BLOCK_HEADER: str(model.reflects(entry)),
        "Cache-Control": _PUBLIC_CACHE_CONTROL if public else "private, no-cache",
        "Vary": "Authorization",
    }


@dataclass(frozen=True, slots=True)
class PublicAnswer:
    """An anonymous passport answer rendered once per record: the body, its ETag, and the fixed headers
    (as raw ASGI pairs) the fast path sends with it."""

    body: bytes
    etag: str
    raw_headers: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of(cls, body: bytes, etag: str) -> PublicAnswer:
        return cls(
            body,
            etag,
            (
                (b"etag", etag.encode()),
                (b"cache-control", _PUBLIC_CACHE_CONTROL.encode()),
                (b"vary", b"Authorization"),
            ),
        )


class PublicReadFastPath:
    """ASGI middleware: answer public passport reads from the read model without FastAPI's routing.

    ``GET /api/v1/passports/{id}`` without ``Authorization`` whose answer is already memoised for the
    record the model holds, and ``GET /api/v1/passports/{id}/verification`` of a passport the model
    holds (the same ``Services.verification`` the route runs, in the read pool: stored documents and
    the index's custody rows are still checked on every request). Everything else, restricted reads
    above all, and anything that fails goes on to the app, which answers as it always did.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(_PASSPORTS_PREFIX):
                if path.endswith(_VERIFICATION_SUFFIX):
                    raw_id = path[len(_PASSPORTS_PREFIX) : -len(_VERIFICATION_SUFFIX)]
                    if await self._verify(scope, raw_id, send):
                        return
                elif await self._answer(scope, path[len(_PASSPORTS_PREFIX) :], send):
                    return
        await self.app(scope, receive, send)

    async def _verify(self, scope: Scope, raw_id: str, send: Send) -> bool:
        held = _held(scope, raw_id)
        if held is None:
            return False
        services, entry = held
        assert entry.record is not None
        try:
            pid = parse_passport_id(raw_id)
            report = await anyio.to_thread.run_sync(
                services.verification, pid, entry.record, limiter=_limiter(scope["app"])
            )
        except PassportError:
            return False  # the route runs it again and answers the problem document
        body = report.model_dump_json().encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (_BLOCK_HEADER, str(services.read_model.reflects(entry)).encode()),
            (b"cache-control", b"no-cache"),
            (b"vary", b"Authorization"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    async def _answer(self, scope: Scope, raw_id: str, send: Send) -> bool:
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                return False  # a caller with a key: tiers, access log, private answer (the route)
            if name == b"if-none-match":
                if_none_match = value
        held = _held(scope, raw_id)
        if held is None:
            return False
        model, entry = held[0].read_model, held[1]
        assert entry.record is not None
        answer = model.cached(entry.record, PUBLIC_ANSWER)
        if not isinstance(answer, PublicAnswer):
            return False
        block = (_BLOCK_HEADER, str(model.reflects(entry)).encode())
        if if_none_match is not None and _names(if_none_match.decode("latin-1"), answer.etag):
            status, body, headers = 304, b"", [*answer.raw_headers, block]
        else:
            status, body = 200, answer.body
            length = (b"content-length", str(len(body)).encode())
            headers = [(b"content-type", b"application/json"), length, *answer.raw_headers, block]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True


def _held(scope: Scope, raw_id: str) -> tuple[Services, ModelEntry] | None:
    """The app's services and the read model's entry of an existing passport ``raw_id`` names, if the
    model holds it (None: no services, a malformed id, a miss or no such passport; the route answers)."""
    services: Services | None = getattr(scope["app"].state, "services", None)
    if services is None or not raw_id or "/" in raw_id:
        return None
    try:
        pid32 = passport_id_bytes32(raw_id)
    except PassportError:
        return None
    model: PassportReadModel = services.read_model
    entry = model.peek(pid32)
    return None if entry is None or entry.record is None else (services, entry)


def _names(header: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags
