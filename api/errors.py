"""The API's exceptions and their one JSON shape: RFC 9457 problem details.

Every error a client can cause leaves as ``application/problem+json`` with a 4xx status, a title, a
detail and, for bad input, each offending field with its reason. Library errors (``PassportError``,
``OracleError``) are mapped to statuses here, at the API's one boundary; nothing a client can send
becomes a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.routing import allowed_methods
from oracle import errors as oerr
from passport import errors as perr
from passport import market as market_errors
from passport.materials.errors import MassBalanceError, MaterialNotFound, MaterialsError
from passport.servicemodels.errors import ServiceModelError, ServiceRecordNotFound

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://battery-passport-ledger.example/problems/"

# A problem document names what was wrong, it does not mirror the request: any string in it (a 100k
# character id in ``detail``, a megabyte query value in ``errors``, the path in ``instance``) is cut here.
MAX_ECHO_CHARS = 200


def bounded(value: Any, limit: int = MAX_ECHO_CHARS) -> Any:
    """``value`` with every string in it cut to ``limit`` characters (plus a note of how many were cut)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return f"{value[:limit]}… ({len(value) - limit} more characters)"
    if isinstance(value, dict):
        return {bounded(k, limit): bounded(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v, limit) for v in value]
    return value


class ProblemField(BaseModel):
    """One offending input: where it is (``query.limit``, ``body.passport.general``) and what is wrong."""

    field: str
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem document: the body of every error response (``application/problem+json``).

    Some problems carry more members (``ledger_error`` for a named revert, ``acknowledgement`` for a
    rejected upload); strings echoed from the request are cut to a few hundred characters.
    """

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str = Field(description="The request path.")
    errors: list[ProblemField] = Field(default=[], description="Each offending input, for bad input.")


class ApiError(Exception):
    """Raised when a request cannot be served; rendered as a problem document with ``status``."""

    status: int = 400
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        title: str | None = None,
        errors: Sequence[dict[str, str]] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status or type(self).status
        self.title = title or type(self).title
        self.errors = list(errors)
        self.extra = extra or {}


class Unauthenticated(ApiError):
    """Raised when a restricted route is called without valid credentials."""

    status = 401
    title = "Authentication required"


class Forbidden(ApiError):
    """Raised when the caller is authenticated but lacks the role or the object is not theirs."""

    status = 403
    title = "Forbidden"


class Gone(ApiError):
    """Raised when an identifier existed but has ended (a recycled battery's identification link)."""

    status = 410
    title = "Gone"


class NotFound(ApiError):
    """Raised when the addressed passport, record or resource does not exist."""

    status = 404
    title = "Not found"


class Conflict(ApiError):
    """Raised when the request is valid but the ledger's state forbids it (e.g. a named revert)."""

    status = 409
    title = "Conflict"


def problem(
    status: int,
    title: str,
    detail: str,
    request: Request,
    errors: Sequence[dict[str, str]] = (),
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, title, detail, request.url.path, errors, extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def problem_body(
    status: int,
    title: str,
    detail: str,
    instance: str,
    errors: Sequence[dict[str, str]] = (),
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The RFC 9457 document, every echoed string ``bounded``."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_BASE}{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    result: dict[str, Any] = bounded(body)
    return result


def _library_status(exc: perr.PassportError) -> tuple[int, str]:
    """Map a library error to (status, title); order matters: most specific first."""
    table: list[tuple[type[perr.PassportError], int, str]] = [
        (market_errors.FairTradeViolation, 409, "Refused by a fair-trade rule"),
        (market_errors.ListingNotFound, 404, "Listing not found"),
        (market_errors.OfferNotFound, 404, "Offer or sale not found"),
        (market_errors.NotAParty, 403, "Not a party to this trade"),
        (market_errors.MarketStateError, 409, "Not possible in the trade's current state"),
        (market_errors.PassportUnverified, 409, "Passport failed verification"),
        (market_errors.TermsMismatch, 502, "Stored terms do not match the ledger"),
        (perr.InvalidIdentifier, 400, "Invalid identifier"),
        (perr.InvalidPageToken, 400, "Invalid page token"),
        (perr.PassportNotFound, 404, "Passport not found"),
        (perr.VersionNotRecorded, 404, "Version not recorded by this service"),
        (perr.DocumentValidationError, 422, "Invalid document"),
        (perr.DecryptionError, 422, "Section cannot be decrypted"),
        (perr.ContentNotFound, 404, "Content not found"),
        (perr.ContentIntegrityError, 502, "Stored content failed its integrity check"),
        (perr.LedgerContentMismatch, 502, "Stored content disagrees with the ledger"),
        (perr.ContractRevert, 409, "Rejected by the ledger"),
        (perr.ChainUnavailable, 503, "Chain unavailable"),
        (perr.StoreUnavailable, 503, "Content store unavailable"),
        (perr.VerificationError, 422, "Cannot verify"),
        (perr.UnknownIdentifier, 404, "Unknown identifier"),
        (perr.IssuerNotHosted, 409, "Issuer not hosted here"),
        (perr.CredentialInvalid, 422, "Invalid credential"),
        (perr.DidResolutionError, 502, "DID document unavailable"),
        (ServiceRecordNotFound, 404, "Not found"),
        (ServiceModelError, 422, "Invalid battery-service document"),
        (MaterialNotFound, 404, "Not found"),
        (MassBalanceError, 422, "Amounts do not balance"),
        (MaterialsError, 422, "Invalid recycled-material or carbon document"),
    ]
    for kind, status, title in table:
        if isinstance(exc, kind):
            return status, title
    return 500, "Internal error"


def _oracle_status(exc: oerr.OracleError) -> tuple[int, str]:
    """Map an oracle error to (status, title); order matters: most specific first."""
    table: list[tuple[type[oerr.OracleError], int, str]] = [
        (oerr.RecordNotFound, 404, "Record not found"),
        (oerr.NotAnchored, 409, "Record not anchored yet"),
        (oerr.InsufficientData, 422, "Not enough data to evaluate"),
        (oerr.UngradableBattery, 422, "Cannot evaluate"),
        (oerr.ReadingRejected, 422, "Invalid reading"),
        (oerr.UploadRejected, 422, "Upload rejected"),
        (oerr.DeviceAlreadyRegistered, 409, "Device already registered"),
        (oerr.MalformedEvidence, 422, "Invalid evidence bundle"),
        (oerr.InvalidMonth, 422, "Invalid month"),
        (oerr.MonthNotCovered, 404, "Month not covered by meter readings"),
        (oerr.MalformedEnergyProof, 422, "Invalid energy proof"),
        (oerr.EnergyProofInvalid, 422, "Energy proof fails its checks"),
        (oerr.UnknownHealthPolicy, 409, "Unknown health policy"),
        (oerr.WarningStoreError, 503, "Alert store unavailable"),
        (oerr.UnknownDeviceId, 404, "Device not found"),
        (oerr.InvalidDeviceDetails, 422, "Invalid device"),
        (oerr.DeviceStateError, 409, "Device state conflict"),
    ]
    for kind, status, title in table:
        if isinstance(exc, kind):
            return status, title
    return 500, "Internal error"


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as a problem document."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="battery-passport"'} if exc.status == 401 else None
        return problem(exc.status, exc.title, exc.detail, request, exc.errors, exc.extra, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "reason": str(err.get("msg", ""))}
            for err in exc.errors()
        ]
        # A malformed path segment names no resource: the same 400 the id parsers give, not a 422.
        if any(err.get("loc", ("",))[0] == "path" for err in exc.errors()):
            return problem(400, "Invalid identifier", "a path parameter is malformed", request, errors)
        return problem(422, "Invalid request", "the request failed validation", request, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Keep the router's headers: a 405 must say which methods are allowed (``Allow``), all of them.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            methods = allowed_methods(request.app, request.url.path)
            if methods:
                headers["Allow"] = ", ".join(methods)
        return problem(exc.status_code, "HTTP error", str(exc.detail), request, headers=headers)

    @app.exception_handler(perr.PassportError)
    async def _library(request: Request, exc: perr.PassportError) -> JSONResponse:
        status, title = _library_status(exc)
        extra: dict[str, Any] = {}
        if isinstance(exc, perr.ContractRevert):
            extra["ledger_error"] = exc.error
        if isinstance(exc, market_errors.FairTradeViolation):
            # The rule is the problem type: a client tells the refusals apart without parsing prose.
            extra = {"type": f"{PROBLEM_TYPE_BASE}fair-trade/{exc.rule}", "rule": exc.rule}
        if isinstance(exc, market_errors.MarketError):
            extra["error"] = type(exc).__name__
        if isinstance(exc, perr.DocumentValidationError):
            errs = [{"field": path, "reason": reason} for path, reason in exc.problems]
            return problem(status, title, str(exc), request, errs)
        if status >= 500:
            log.error("request %s failed: %r", request.url.path, exc)
        return problem(status, title, str(exc), request, extra=extra)

    @app.exception_handler(oerr.OracleError)
    async def _oracle(request: Request, exc: oerr.OracleError) -> JSONResponse:
        status, title = _oracle_status(exc)
        if status >= 500:
            log.error("request %s failed: %r", request.url.path, exc)
        errors: list[dict[str, str]] = []
        if isinstance(exc, oerr.ReadingRejected):
            errors = [{"field": path, "reason": reason} for path, reason in exc.problems]
        return problem(status, title, str(exc), request, errors)


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the problem documents (RFC 9457) a route may answer with."""
    return {code: {"content": {PROBLEM_JSON: {}}, "description": "Problem document"} for code in codes}
