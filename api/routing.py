"""Which methods a request path allows, across every route that matches it.

Starlette answers a 405 with the ``Allow`` of the first route whose path matched, so a path served by
two routes (``POST`` and ``DELETE`` of one resource) would advertise only one of them.
"""

from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp


def allowed_methods(app: ASGIApp, path: str) -> list[str]:
    """Every method some route of ``app`` serves at ``path``, sorted."""
    methods: set[str] = set()
    for context in iter_route_contexts(getattr(app, "routes", [])):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path_format:
            regex, _, _ = compile_path(context.path_format)
            if regex.match(path):
                methods |= route.methods or set()
    return sorted(methods)
