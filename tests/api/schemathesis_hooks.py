"""Schemathesis hooks for the contract run (loaded through ``SCHEMATHESIS_HOOKS``).

``POST /credentials/verify`` takes the credential as ``application/vc+jwt``: a compact JWS, sent as its
text. Schemathesis has no serializer for that media type, so it is registered here.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.serializer("application/vc+jwt")
def vc_jwt(ctx: Any, value: Any) -> bytes:
    """The token's UTF-8 text (the body schema is a string; anything else is sent as its str())."""
    return (value if isinstance(value, str) else str(value)).encode()
