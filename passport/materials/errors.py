"""The recycled-material subsystem's branch of ``PassportError``."""

from __future__ import annotations

from passport.errors import PassportError


class MaterialsError(PassportError):
    """Raised when recycled-material certification or a carbon-footprint declaration fails."""


class MaterialDocumentError(MaterialsError, ValueError):
    """Raised when a lot, certificate, claim or declaration is malformed, inconsistent or badly signed."""


class MassBalanceError(MaterialsError, ValueError):
    """Raised when amounts do not balance: more metal claimed than held, shares above 100 %, and so on."""


class MaterialNotFound(MaterialsError, LookupError):
    """Raised when a lot or usage claim is not on the material ledger."""


class CarbonFootprintError(MaterialDocumentError):
    """Raised when a carbon-footprint computation lacks an emission factor or its stages do not add up."""


__all__ = [
    "CarbonFootprintError",
    "MassBalanceError",
    "MaterialDocumentError",
    "MaterialNotFound",
    "MaterialsError",
]
