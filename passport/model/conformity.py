"""Labels and conformity (Art. 13, Art. 18, Annex VI Part B, Annex XIII 1 and 3)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from passport.model._base import PassportModel
from passport.model.access import Authority, Public
from passport.model.documents import DocumentRef


class LabelSymbol(StrEnum):
    """Symbols and marks a battery label may carry."""

    SEPARATE_COLLECTION = "separate_collection"  # the crossed-out wheeled bin (Annex VI Part B)
    CADMIUM = "Cd"  # chemical symbols under the bin when above the Art. 13(4) thresholds
    LEAD = "Pb"
    MERCURY = "Hg"
    CE = "CE"
    CAPACITY = "capacity"
    QR_CODE = "qr_code"
    OTHER = "other"


class Label(PassportModel):
    """One symbol on the battery or its packaging, with what it means."""

    symbol: LabelSymbol
    meaning: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    document: DocumentRef | None = None


class LabelsAndConformity(PassportModel):
    """Label symbols and their meaning, the EU declaration of conformity, and the test reports."""

    labels: Public[list[Label]] = Field(default_factory=list)
    label_meaning_documents: Public[list[DocumentRef]] = Field(default_factory=list)
    declaration_of_conformity_id: Public[
        Annotated[str, StringConstraints(min_length=1, max_length=100)] | None
    ] = None
    declarations_of_conformity: Public[list[DocumentRef]] = Field(default_factory=list)
    # Annex XIII 3: results of test reports proving compliance, for notified bodies and authorities.
    test_reports: Authority[list[DocumentRef]] = Field(default_factory=list)
