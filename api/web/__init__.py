"""The buyer/owner web page behind the QR code: its view model, its data source protocol, its chart."""

from api.web.views import (
    CheckOutcome,
    CustodyEntryView,
    CustodyKind,
    HealthPointView,
    PassportPageSource,
    PassportPageView,
    Verdict,
    VerificationCheckView,
    VerificationView,
    bundle_path,
    page_path,
    qr_png_path,
    qr_svg_path,
)

__all__ = [
    "CheckOutcome",
    "CustodyEntryView",
    "CustodyKind",
    "HealthPointView",
    "PassportPageSource",
    "PassportPageView",
    "Verdict",
    "VerificationCheckView",
    "VerificationView",
    "bundle_path",
    "page_path",
    "qr_png_path",
    "qr_svg_path",
]
