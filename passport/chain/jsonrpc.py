"""A bare JSON-RPC call over HTTP, for the few node queries that need no contract ABI.

Readiness probes, balance top-ups and deployment checks use this instead of a ``Web3`` object: one
request each, no middleware, and httpx's errors translated here, where they enter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from passport.errors import ChainError, ChainUnavailable


def json_rpc(url: str, method: str, params: Sequence[Any] = (), *, timeout: float = 5.0) -> Any:
    """One JSON-RPC call; ``ChainUnavailable`` if the node cannot be reached, ``ChainError`` on an error."""
    try:
        response = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=timeout
        )
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ChainUnavailable(f"{method} to {url} failed: {exc}") from exc
    if not isinstance(body, dict):
        raise ChainError(f"{method} to {url}: malformed JSON-RPC response {body!r}")
    if "error" in body:
        raise ChainError(f"{method} to {url}: {body['error']}")
    return body.get("result")
