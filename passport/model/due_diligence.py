"""Supply-chain due diligence (Art. 48-52, Annex XIII 1(d))."""

from __future__ import annotations

from pydantic import Field

from passport.model._base import PassportModel
from passport.model.access import Authority, Public
from passport.model.documents import DocumentRef


class SupplyChainDueDiligence(PassportModel):
    """The due-diligence report and policy, their assurances, and the detailed audits behind them."""

    # Art. 52(3): the report is made available to the public.
    report: Public[DocumentRef | None] = None
    policies: Public[list[DocumentRef]] = Field(default_factory=list)
    third_party_assurances: Public[list[DocumentRef]] = Field(default_factory=list)
    sustainability_reports: Public[list[DocumentRef]] = Field(default_factory=list)
    eu_taxonomy_disclosures: Public[list[DocumentRef]] = Field(default_factory=list)
    # Detailed audit reports name suppliers and sites: for notified bodies and authorities only.
    detailed_audit_reports: Authority[list[DocumentRef]] = Field(default_factory=list)
