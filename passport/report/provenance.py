"""The provenance report: a buyer's record of what was verified about a passport, and when.

``build_report`` gathers, from the verified passport, its identity, status, custody history (with
business names), grade and state of health with their provenance, inspections, incidents, recycled
content and carbon footprint, the verification result with each check, the QR link, and the passport's
offline verification bundle. That payload's RFC 8785 canonical bytes are embedded in the report
(HTML: a ``<script type="application/json">``; PDF: an attached file) next to their SHA-256, so
``verify_report`` can later re-check the report against the ledger: the digest, the bundle (signature,
anchor, the ledger's current state) and the recorded version digest. Changing one byte of the embedded
data breaks the digest.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import segno
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel

from passport.bundle import VerificationBundle
from passport.canonical import canonical_json, parse_canonical_object
from passport.chain.protocol import ChainClient
from passport.errors import PassportError
from passport.ids import passport_id_bytes32
from passport.market.summary import CustodyStep, ListingSummary, build_summary
from passport.model import AccessTier
from passport.service import PassportService
from passport.verify import FRESHNESS_CHECKS, CheckStatus, verify_bundle

REPORT_FORMAT = "battery-passport-ledger/provenance-report/v1"
PAYLOAD_NAME = "provenance.json"
DIGEST_NAME = "provenance.sha256"
_SCRIPT = re.compile(
    r'<script type="application/json" id="provenance-data" data-sha256="(0x[0-9a-f]{64})">(.*?)</script>',
    re.S,
)


class ReportError(PassportError):
    """Raised when a provenance report cannot be built, rendered or read."""


class ReportCheck(BaseModel):
    name: str
    ok: bool
    reason: str


class ReportVerification(BaseModel):
    """The result of ``verify_report``: each check and whether all passed."""

    passport_id: str | None
    digest: str | None
    checks: list[ReportCheck]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def build_report(
    passports: PassportService,
    passport_id: uuid.UUID,
    *,
    custody: Callable[[uuid.UUID], list[CustodyStep]],
    base_url: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The report's payload (JSON-ready): everything the report shows, plus the verification bundle."""
    when = now or datetime.now(UTC)
    verification = passports.verify(passport_id)
    fetched = passports.fetch(passport_id, frozenset(AccessTier))
    passport = fetched.view.to_passport()
    record = fetched.record
    summary: ListingSummary = build_summary(
        passport,
        version=record.version,
        manifest_digest=record.manifest_digest,
        status=record.status.name,
        custody=custody(passport_id),
        verified_checks=len(verification.checks),
        now=when,
    )
    general = passport.general
    footprint = passport.carbon_footprint
    return {
        "format": REPORT_FORMAT,
        "generated_at": when.isoformat(),
        "passport_id": str(passport_id),
        "identity": {
            "battery_id": general.battery_id,
            "model": general.model_identifier,
            "manufacturer": general.manufacturer.name or general.manufacturer.identifier,
            "manufacturing_date": general.manufacturing_date.isoformat(),
            "category": general.category.value,
            "chemistry": summary.chemistry,
            "rated_capacity_ah": summary.rated_capacity_ah,
        },
        "status": {
            "lifecycle": record.status.name,
            "version": record.version,
            "manifest_digest": "0x" + record.manifest_digest.hex(),
            "custodian": record.custodian,
            "issuer": record.issuer,
        },
        "summary": summary.model_dump(mode="json"),
        "inspections": [i.model_dump(mode="json") for i in passport.korea.safety_inspections],
        "recycled_content": [
            {"element": s.element.value, "total_percent": s.total_percent}
            for s in passport.circularity.recycled_content
        ],
        "carbon_footprint_kg_co2e_per_kwh": footprint.total_kg_co2e_per_kwh,
        "carbon_performance_class": footprint.performance_class,
        "verification": verification.model_dump(mode="json"),
        "qr_url": f"{base_url.rstrip('/')}/id/{passport_id}",
        "bundle": passports.bundle(passport_id).model_dump(mode="json"),
    }


def payload_bytes(payload: dict[str, Any]) -> bytes:
    return canonical_json(payload)


def _qr_data_uri(url: str) -> str:
    buffer = io.BytesIO()
    segno.make_qr(url, error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


_ENV = Environment(
    loader=PackageLoader("passport.report", "templates"), autoescape=select_autoescape(["html"])
)


def render_html(payload: dict[str, Any]) -> str:
    """The report as one self-contained HTML page with the payload embedded."""
    data = payload_bytes(payload)
    digest = "0x" + hashlib.sha256(data).hexdigest()
    # The JSON is embedded verbatim except that "<" becomes its JSON escape would change the bytes; so
    # it is HTML-escaped instead (and un-escaped on reading), which keeps the digest over the exact bytes.
    embedded = html.escape(data.decode("utf-8"), quote=False)
    return _ENV.get_template("provenance.html").render(
        p=payload, digest=digest, embedded=embedded, qr=_qr_data_uri(str(payload["qr_url"]))
    )


def render_pdf(payload: dict[str, Any]) -> bytes:
    """The report as PDF (WeasyPrint), with the payload and its digest attached as files."""
    from weasyprint import HTML, Attachment

    data = payload_bytes(payload)
    digest = "0x" + hashlib.sha256(data).hexdigest()
    document = HTML(string=render_html(payload))
    pdf = document.write_pdf(
        attachments=[
            Attachment(file_obj=io.BytesIO(data), name=PAYLOAD_NAME, description="provenance report data"),
            Attachment(file_obj=io.BytesIO(digest.encode()), name=DIGEST_NAME, description="its SHA-256"),
        ]
    )
    if pdf is None:
        raise ReportError("WeasyPrint produced no PDF")
    return bytes(pdf)


def extract_payload(report: bytes) -> tuple[bytes, str]:
    """The embedded payload bytes and the digest the report states, from an HTML or PDF report."""
    if report.startswith(b"%PDF"):
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        try:
            attachments = PdfReader(io.BytesIO(report)).attachments
            data = attachments[PAYLOAD_NAME][0]
            stated = attachments[DIGEST_NAME][0].decode("ascii")
        except (KeyError, IndexError, PyPdfError, ValueError, UnicodeDecodeError) as exc:
            raise ReportError(f"the PDF carries no readable provenance data: {exc}") from None
        return data, stated
    try:
        text = report.decode("utf-8")
    except UnicodeDecodeError:
        raise ReportError("the report is neither a PDF nor UTF-8 HTML") from None
    match = _SCRIPT.search(text)
    if match is None:
        raise ReportError("the HTML carries no provenance data")
    return html.unescape(match.group(2)).encode("utf-8"), match.group(1)


def verify_report(report: bytes, chain: ChainClient, trusted_issuers: frozenset[str]) -> ReportVerification:
    """Check a report against the ledger: embedded data, its digest, the bundle, the recorded version."""
    checks: list[ReportCheck] = []
    try:
        data, stated = extract_payload(report)
    except ReportError as exc:
        return ReportVerification(
            passport_id=None, digest=None, checks=[ReportCheck(name="report.data", ok=False, reason=str(exc))]
        )
    actual = "0x" + hashlib.sha256(data).hexdigest()
    checks.append(
        ReportCheck(
            name="report.digest",
            ok=actual == stated,
            reason=f"the embedded data hashes to {actual}"
            + ("" if actual == stated else f", the report states {stated}"),
        )
    )
    try:
        payload = parse_canonical_object(data)
        if payload.get("format") != REPORT_FORMAT:
            raise ReportError(f"unknown report format {payload.get('format')!r}")
        bundle = VerificationBundle.model_validate(payload["bundle"])
        pid = uuid.UUID(str(payload["passport_id"]))
        status = payload["status"]
    except (PassportError, ValueError, KeyError, TypeError) as exc:
        checks.append(
            ReportCheck(name="report.data", ok=False, reason=f"the embedded data is unreadable: {exc}")
        )
        return ReportVerification(passport_id=None, digest=actual, checks=checks)
    checks.append(
        ReportCheck(name="report.data", ok=True, reason="the embedded data is canonical JSON of a report")
    )
    result = verify_bundle(bundle, trusted_issuers, chain)
    hard = [c for c in result.checks if c.status is CheckStatus.FAIL and c.name not in FRESHNESS_CHECKS]
    moved_on = [c for c in result.checks if c.status is CheckStatus.FAIL and c.name in FRESHNESS_CHECKS]
    checks.append(
        ReportCheck(
            name="report.bundle",
            ok=not hard,
            reason=result.summary if not hard else "; ".join(f"{c.name}: {c.reason}" for c in hard),
        )
    )
    version = int(status["version"])
    onchain = "0x" + chain.version_digest(passport_id_bytes32(pid), version).hex()
    checks.append(
        ReportCheck(
            name="report.version",
            ok=onchain == status["manifest_digest"] and bundle.signed.version == version,
            reason=f"the ledger records {onchain} for version {version}"
            + ("; a later version exists" if moved_on else ""),
        )
    )
    return ReportVerification(passport_id=str(pid), digest=actual, checks=checks)


ReportKind = Literal["html", "pdf"]
