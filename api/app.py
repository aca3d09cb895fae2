"""The FastAPI application factory: one app, routers per resource under ``/api/v1``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.routes import health, pages, qr
from api.web.views import PassportPageSource
from passport.settings import Settings

# Ingestion carries batches of device readings; everything else is small documents.
DEFAULT_BODY_LIMIT = 256 * 1024
TELEMETRY_BODY_LIMIT = 4 * 1024 * 1024


def _operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids: the endpoint function's name, never a generated path string."""
    return route.name


def create_app(settings: Settings | None = None, *, page_source: PassportPageSource | None = None) -> FastAPI:
    app = FastAPI(
        title="Battery passport ledger",
        version="1",
        summary="EV battery passports on a blockchain ledger: issue, fetch, verify, transfer, audit.",
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings if settings is not None else Settings()
    # The QR page's data source; None until the services are wired (pages then answer 503).
    app.state.page_source = page_source
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=DEFAULT_BODY_LIMIT,
        overrides={"/api/v1/telemetry": TELEMETRY_BODY_LIMIT},
    )
    app.include_router(health.router, prefix="/api/v1")
    app.include_router(qr.router, prefix="/api/v1")
    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
    return app
