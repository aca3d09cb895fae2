"""The vendored W3C VC 2.0 JSON-LD context (see ``contexts/LICENSE.md``), for offline JSON-LD processing."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from passport.credentials.credential import VC_CONTEXT


@cache
def vc_v2_context() -> dict[str, Any]:
    """The context document ``https://www.w3.org/ns/credentials/v2`` resolves to, from the package."""
    text = resources.files("passport.credentials").joinpath("contexts/credentials-v2.jsonld").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


def document_loader(url: str) -> dict[str, Any]:
    """A JSON-LD document loader (pyld's shape) that serves the VC 2.0 context offline, nothing else."""
    if url.rstrip("/") != VC_CONTEXT:
        raise LookupError(f"{url} is not vendored; only {VC_CONTEXT} is available offline")
    return {"contextUrl": None, "documentUrl": url, "document": vc_v2_context()}
