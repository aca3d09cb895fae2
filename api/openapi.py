"""The OpenAPI document, completed in one place: the API-key scheme, each route's security, and every
problem status a route can answer with, as ``application/problem+json`` with the ``Problem`` schema.

A route's problem statuses are not listed by hand per route: each shared dependency in ``api.deps``
declares the statuses it raises (``@raises``), an endpoint declares those its own body raises, and
``route_problems`` collects them over the route's dependency tree, adding what the framework itself
answers (400 for a malformed path segment or an unparseable body, 422 for a bad query or body, 413 for
an oversized body). The
same walk finds whether a route needs an API key, accepts one, or ignores it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from api.errors import PROBLEM_JSON, Problem

F = TypeVar("F", bound=Callable[..., Any])

SECURITY_SCHEME = "ApiKey"
_STATUSES_ATTR = "__problem_statuses__"
_AUTH_ATTR = "__api_key__"
_ROLES_ATTR = "__api_roles__"

# What each problem status means on this API (the response's description in the document).
PROBLEM_STATUSES: dict[int, str] = {
    400: "Malformed identifier in the path, or a body that cannot be parsed (not UTF-8 JSON)",
    401: "No API key where one is needed, or a malformed, unknown or revoked key",
    403: "The caller lacks the role, or the object is not theirs",
    404: "No such passport, business, record or content",
    409: "The ledger's state forbids this (closed passport, no pending offer, a named revert)",
    410: "The identifier has ended (its battery was recycled)",
    413: "Request body over the size limit",
    422: "Invalid query or body (each offending field with its reason)",
    502: "Stored content failed its integrity check",
    503: "The ledger, store or journal is not available",
}


class KeyUse(StrEnum):
    """How a route treats the ``Authorization`` header."""

    REQUIRED = "required"  # 401 without a key
    OPTIONAL = "optional"  # anonymous callers are served; a key can unlock more (a wrong one is a 401)


def raises(*statuses: int) -> Callable[[F], F]:
    """Declare the problem statuses a dependency or endpoint can answer with (kept on the function)."""
    unknown = set(statuses) - set(PROBLEM_STATUSES)
    if unknown:
        raise ValueError(f"undocumented problem statuses {sorted(unknown)}")

    def mark(fn: F) -> F:
        setattr(fn, _STATUSES_ATTR, frozenset(getattr(fn, _STATUSES_ATTR, frozenset())) | set(statuses))
        return fn

    return mark


def api_key(use: KeyUse) -> Callable[[F], F]:
    """Declare that a dependency reads the caller's API key (``use``: needs one, or accepts one)."""

    def mark(fn: F) -> F:
        setattr(fn, _AUTH_ATTR, use)
        return fn

    return mark


def requires_roles(*roles: str) -> Callable[[F], F]:
    """Declare that a dependency admits only callers holding one of ``roles`` (documented as ``x-roles``)."""

    def mark(fn: F) -> F:
        setattr(fn, _ROLES_ATTR, frozenset(getattr(fn, _ROLES_ATTR, frozenset())) | set(roles))
        return fn

    return mark


def route_roles(route: APIRoute) -> list[str]:
    """The roles ``route`` admits (any one of them suffices); empty when it checks none."""
    roles: set[str] = set()
    for call in _calls(route.dependant):
        roles |= getattr(call, _ROLES_ATTR, frozenset())
    return sorted(roles)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _has_params(dependant: Dependant, kind: str) -> bool:
    params = {
        "path": dependant.path_params,
        "query": dependant.query_params,
        "body": dependant.body_params,
        "header": dependant.header_params,
    }[kind]
    return bool(params) or any(_has_params(sub, kind) for sub in dependant.dependencies)


def route_problems(route: APIRoute) -> set[int]:
    """Every problem status ``route`` can answer with."""
    statuses: set[int] = set()
    for call in _calls(route.dependant):
        statuses |= getattr(call, _STATUSES_ATTR, frozenset())
    if _has_params(route.dependant, "path"):
        statuses.add(400)
    if _has_params(route.dependant, "query") or _has_params(route.dependant, "header"):
        statuses.add(422)
    if _has_params(route.dependant, "body"):
        statuses |= {400, 413, 422}
    return statuses


def route_key_use(route: APIRoute) -> KeyUse | None:
    """Whether ``route`` needs an API key, accepts one, or never reads one (None)."""
    uses = {getattr(call, _AUTH_ATTR, None) for call in _calls(route.dependant)} - {None}
    if KeyUse.REQUIRED in uses:
        return KeyUse.REQUIRED
    return KeyUse.OPTIONAL if uses else None


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Every route in the document, with its full path (routers are included lazily)."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and context.path_format:
            yield context.path_format, route


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": PROBLEM_STATUSES[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The application's OpenAPI document with security and problem responses filled in."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # Every 422 is a problem document now; FastAPI's own error shapes are never sent.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["Problem"].pop("$defs", {}))
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "bpl_<key id>_<secret>",
            "description": "An API key issued by the ledger's operator, sent as a bearer token.",
        }
    }
    for path, route in api_routes(app):
        key_use = route_key_use(route)
        problems = route_problems(route)
        if key_use is not None:
            problems.add(401)
        for method in route.methods or ():
            operation = document["paths"][path][method.lower()]
            responses = operation.setdefault("responses", {})
            # FastAPI's default 422 names its own error shape, which this API never sends.
            if "HTTPValidationError" in str(responses.get("422", "")):
                del responses["422"]
            for status in sorted(problems):
                # A route that answers a status in another form (the HTML page) declares it itself.
                responses.setdefault(str(status), _problem_response(status))
            operation["responses"] = dict(sorted(responses.items()))
            roles = route_roles(route)
            if roles:
                # Machine-readable for clients, and in the text for people reading the rendered docs.
                operation["x-roles"] = roles
                note = "**Roles:** " + ", ".join(roles) + " (any one)."
                operation["description"] = (operation.get("description", "").rstrip() + "\n\n" + note).strip()
            if key_use is KeyUse.REQUIRED:
                operation["security"] = [{SECURITY_SCHEME: []}]
            elif key_use is KeyUse.OPTIONAL:
                operation["security"] = [{SECURITY_SCHEME: []}, {}]
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve ``build_openapi``'s document at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
