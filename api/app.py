"""The FastAPI application factory: one app, routers per resource under ``/api/v1``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.routes import health

# Ingestion carries batches of device readings; everything else is small documents.
DEFAULT_BODY_LIMIT = 256 * 1024
TELEMETRY_BODY_LIMIT = 4 * 1024 * 1024


def _operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids: the endpoint function's name, never a generated path string."""
    return route.name


def create_app() -> FastAPI:
    app = FastAPI(
        title="Battery passport ledger",
        version="1",
        summary="EV battery passports on a blockchain ledger: issue, fetch, verify, transfer, audit.",
        generate_unique_id_function=_operation_id,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=DEFAULT_BODY_LIMIT,
        overrides={"/api/v1/telemetry": TELEMETRY_BODY_LIMIT},
    )
    app.include_router(health.router, prefix="/api/v1")
    return app
