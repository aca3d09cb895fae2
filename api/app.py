"""The FastAPI application factory: one app, routers per resource under ``/api/v1``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers
from api.ingest_process import IngestProcess
from api.limits import BodySizeLimit
from api.openapi import install_openapi
from api.reads import PublicReadFastPath
from api.routes import (
    audit,
    businesses,
    carbon,
    credentials,
    custody,
    devices,
    energy,
    evaluations,
    health,
    interop,
    leases,
    market,
    materials_page,
    owner_pages,
    owners,
    pages,
    participants,
    passport_batches,
    passport_health,
    passports,
    products,
    qr,
    recycled,
    reports,
    resolver,
    safety,
    service_claims,
    storage_installations,
    telemetry,
    vehicle_bindings,
    wellknown,
)
from api.services import Services
from api.strict_json import StrictJsonBody
from api.web.ledger import LedgerPageSource
from api.web.views import PassportPageSource
from passport.settings import Settings

# Ingestion carries batches of device readings; everything else is small documents.
DEFAULT_BODY_LIMIT = 256 * 1024
TELEMETRY_BODY_LIMIT = 4 * 1024 * 1024
# Batched issuance carries up to 500 whole passport documents.
BATCH_BODY_LIMIT = 16 * 1024 * 1024


def _operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids: the endpoint function's name, never a generated path string."""
    return route.name


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the services (when asked to) and run the audit index follower while the app serves."""
    services: Services | None = app.state.services
    owned = False
    if services is None and app.state.connect:
        services = await run_in_threadpool(Services.from_settings, app.state.settings)
        owned = True
        app.state.services = services
        if app.state.page_source is None:
            app.state.page_source = LedgerPageSource(services)
    if services is not None:
        await run_in_threadpool(services.start)
    # A server that built its own services ingests uploads in a process of its own (issue #16: off the
    # read path's GIL); injected services (tests) keep ingesting in process.
    ingest: IngestProcess | None = None
    if owned and services is not None and services.journal is not None:
        ingest = IngestProcess(app.state.settings, journal_path=services.journal.path)
        await run_in_threadpool(ingest.start)
        app.state.ingest = ingest
    try:
        yield
    finally:
        if ingest is not None:
            app.state.ingest = None
            await run_in_threadpool(ingest.close)
        if services is not None:
            # Injected services belong to whoever built them: stop our thread, leave their files open.
            await run_in_threadpool(services.close if owned else services.stop)
            if owned:
                app.state.services = None


def create_app(
    settings: Settings | None = None,
    *,
    page_source: PassportPageSource | None = None,
    services: Services | None = None,
    connect: bool = False,
) -> FastAPI:
    """The application.

    ``services``: already-built services (tests); ``connect=True``: build them from ``settings`` at
    startup (the deployed ledger must exist). With neither, the ledger routes answer 503: useful for the
    page and QR tests, which bring their own ``page_source``.
    """
    app = FastAPI(
        title="Battery passport ledger",
        version="1",
        summary="EV battery passports on a blockchain ledger: issue, fetch, verify, transfer, audit.",
        generate_unique_id_function=_operation_id,
        lifespan=_lifespan,
    )
    app.state.settings = settings if settings is not None else Settings.load()
    app.state.services = services
    app.state.connect = connect
    app.state.ingest = None
    # The QR page's data source; None until the services are wired (pages then answer 503).
    if page_source is None and services is not None:
        page_source = LedgerPageSource(services)
    app.state.page_source = page_source
    install_error_handlers(app)
    # Added first, so it runs inside the size limit: it only ever buffers a bounded body.
    app.add_middleware(StrictJsonBody)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=DEFAULT_BODY_LIMIT,
        overrides={"/api/v1/telemetry": TELEMETRY_BODY_LIMIT, "/api/v1/passport-batches": BATCH_BODY_LIMIT},
    )
    # Outermost: an anonymous passport read the read model has rendered never reaches the routing.
    app.add_middleware(PublicReadFastPath)
    for module in (
        health,
        passports,
        passport_batches,
        custody,
        evaluations,
        passport_health,
        businesses,
        telemetry,
        audit,
        qr,
        interop,
        credentials,
        products,
        participants,
        market,
        reports,
        devices,
        owners,
        safety,
        recycled,
        carbon,
        leases,
        vehicle_bindings,
        storage_installations,
        service_claims,
        energy,
    ):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(owner_pages.router)
    app.include_router(pages.router)
    app.include_router(businesses.page_router)

    app.include_router(materials_page.router)
    app.include_router(wellknown.router)
    app.include_router(resolver.router)
    # Functions of the request, not ``dependency_overrides`` (see ``pages.get_page_caller``): the API key's
    # holder or the signed-in owner, and the owner's panel under the chart.
    app.state.page_caller = owner_pages.page_caller
    app.state.owner_panel = owner_pages.owner_panel
    app.mount("/static", pages.static_files(), name="static")
    install_openapi(app)
    return app


def app_from_environment() -> FastAPI:
    """``uvicorn --factory api.app:app_from_environment``: settings from ``PASSPORT_*``, ledger connected.

    ``Settings.load`` so that a bad variable stops the server with a ``ConfigError`` naming it.
    """
    return create_app(Settings.load(), connect=True)
