"""Every JSON request body goes through the library's one strict parser before FastAPI reads it.

FastAPI parses bodies with ``json.loads``: last-wins on duplicate keys, and recursive on the C stack, so
a body nested 100,000 deep can crash the process once something (``py_ecc``) has raised the recursion
limit. This middleware checks the (already size-limited) body with ``parse_json_strict`` and answers a
422 problem document naming the problem; a body that passes is handed on unchanged.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON
from passport.canonical import parse_json_strict
from passport.errors import JsonParseError

_DETAIL_LIMIT = 300  # problem details never echo a client's bytes at length


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class StrictJsonBody:
    """ASGI middleware: 422 for a JSON body that is not strict JSON (depth, duplicates, encoding)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                parse_json_strict(body)
            except JsonParseError as exc:
                await _reject(scope, send, exc)
                return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _reject(scope: Scope, send: Send, exc: JsonParseError) -> None:
    reason = exc.problems[0][1] if exc.problems else str(exc)
    reason = reason[:_DETAIL_LIMIT]
    body = json.dumps(
        {
            "type": "https://battery-passport-ledger.example/problems/422",
            "title": "Invalid JSON body",
            "status": 422,
            "detail": f"the request body is not strict JSON: {reason}",
            "instance": scope["path"][:_DETAIL_LIMIT],
            "errors": [{"field": "body", "reason": reason}],
        }
    ).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 422,
        "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
