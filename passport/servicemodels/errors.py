"""The battery-service-models subsystem's branch of ``PassportError``."""

from __future__ import annotations

from passport.errors import PassportError


class ServiceModelError(PassportError):
    """Raised when a lease, binding, storage installation or claim cannot be recorded or read."""


class ServiceDocumentError(ServiceModelError, ValueError):
    """Raised when a lease / subscription contract is malformed, badly signed or not the one on-chain."""


class ServiceRecordNotFound(ServiceModelError, LookupError):
    """Raised when a lease or claim is not on the services contract."""


__all__ = ["ServiceDocumentError", "ServiceModelError", "ServiceRecordNotFound"]
