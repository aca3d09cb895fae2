"""Provenance reports (HTML and PDF) that a buyer keeps and can check against the ledger later."""

from passport.report.provenance import (
    ReportCheck,
    ReportError,
    ReportVerification,
    build_report,
    extract_payload,
    render_html,
    render_pdf,
    verify_report,
)

__all__ = [
    "ReportCheck",
    "ReportError",
    "ReportVerification",
    "build_report",
    "extract_payload",
    "render_html",
    "render_pdf",
    "verify_report",
]
