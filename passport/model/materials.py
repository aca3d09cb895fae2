"""Materials and composition (Annex XIII 1(b) public, 2(a) detailed composition)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from passport.model._base import PassportModel
from passport.model.access import LegitimateInterest, Public
from passport.model.documents import DocumentRef
from passport.model.units import Concentration, Percent

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Chemistry(StrEnum):
    """Battery chemistry, by the usual abbreviation of its cathode (or system)."""

    NCM = "NCM"
    NCA = "NCA"
    NCMA = "NCMA"
    LFP = "LFP"
    LMFP = "LMFP"
    LMO = "LMO"
    LCO = "LCO"
    LTO = "LTO"
    SODIUM_ION = "Na-ion"
    LEAD_ACID = "Pb-acid"
    NIMH = "NiMH"
    OTHER = "other"

    @property
    def long_name(self) -> str:
        """The chemistry spelt out, as Catena-X and labels write it."""
        return _LONG_NAMES[self]


_LONG_NAMES = {
    Chemistry.NCM: "Nickel Cobalt Manganese",
    Chemistry.NCA: "Nickel Cobalt Aluminium",
    Chemistry.NCMA: "Nickel Cobalt Manganese Aluminium",
    Chemistry.LFP: "Lithium Iron Phosphate",
    Chemistry.LMFP: "Lithium Manganese Iron Phosphate",
    Chemistry.LMO: "Lithium Manganese Oxide",
    Chemistry.LCO: "Lithium Cobalt Oxide",
    Chemistry.LTO: "Lithium Titanate",
    Chemistry.SODIUM_ION: "Sodium Ion",
    Chemistry.LEAD_ACID: "Lead Acid",
    Chemistry.NIMH: "Nickel Metal Hydride",
    Chemistry.OTHER: "Other",
}


class IdentifierScheme(StrEnum):
    """Substance registries a material may be identified in."""

    CAS = "CAS"
    EC = "EC"
    IUPAC = "IUPAC"


_CAS = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
_EC = re.compile(r"^(\d{3})-(\d{3})-(\d)$")


def cas_check_digit_ok(number: str) -> bool:
    """True if ``number`` is a CAS Registry Number whose check digit matches (e.g. 7439-93-2)."""
    match = _CAS.fullmatch(number)
    if not match:
        return False
    digits = (match[1] + match[2])[::-1]
    return sum(i * int(d) for i, d in enumerate(digits, start=1)) % 10 == int(match[3])


def ec_check_digit_ok(number: str) -> bool:
    """True if ``number`` is an EC number whose check digit matches (e.g. 231-148-6)."""
    match = _EC.fullmatch(number)
    if not match:
        return False
    digits = match[1] + match[2]
    return sum(i * int(d) for i, d in enumerate(digits, start=1)) % 11 == int(match[3])


class SubstanceId(PassportModel):
    """A substance's identifier in a named registry; CAS and EC numbers must pass their check digit."""

    scheme: IdentifierScheme
    identifier: Name
    name: Name

    @model_validator(mode="after")
    def _check_digit(self) -> SubstanceId:
        if self.scheme is IdentifierScheme.CAS and not cas_check_digit_ok(self.identifier):
            raise ValueError(f"{self.identifier!r} is not a valid CAS number (format or check digit)")
        if self.scheme is IdentifierScheme.EC and not ec_check_digit_ok(self.identifier):
            raise ValueError(f"{self.identifier!r} is not a valid EC number (format or check digit)")
        return self


class ActiveMaterial(PassportModel):
    """An active material (nickel, lithium, cobalt, lead, …): where it is and whether it is critical."""

    name: Name
    identifiers: list[SubstanceId] = Field(default_factory=list)
    location: Name  # "cathode", "anode", "electrolyte", …
    critical: bool = False
    concentration: Concentration | None = None
    # For materials outside Art. 8's four (cobalt, lithium, nickel, lead), whose shares live in
    # ``Circularity.recycled_content``.
    recycled_share_percent: Percent | None = None
    documentation: list[DocumentRef] = Field(default_factory=list)
    impact_documents: list[DocumentRef] = Field(default_factory=list)


class HazardousSubstance(PassportModel):
    """A hazardous substance (Annex VI Part A 8, Annex XIII 1(b)) with its concentration and impact."""

    name: Name
    identifiers: list[SubstanceId] = Field(default_factory=list)
    concentration: Concentration
    location: Name | None = None
    critical: bool = False
    # The impact of the substance on human health and the environment (Annex XIII 1(b)).
    impact_documents: list[DocumentRef] = Field(default_factory=list)
    documentation: list[DocumentRef] = Field(default_factory=list)


class MaterialComponent(PassportModel):
    """One line of the detailed composition: a material in a battery component."""

    location: Name  # the component: cathode, anode, electrolyte, separator, casing
    identifiers: Annotated[list[SubstanceId], Field(min_length=1)]
    concentration: Concentration
    critical: bool = False
    recycled_share_percent: Percent = 0.0
    renewable_share_percent: Percent = 0.0
    documentation: list[DocumentRef] = Field(default_factory=list)

    @property
    def name(self) -> str:
        """The material's name (that of its first identifier)."""
        return self.identifiers[0].name


class MaterialsAndComposition(PassportModel):
    """Chemistry, critical raw materials, active materials, hazardous substances, detailed composition."""

    chemistry: Public[Chemistry]
    chemistry_designation: Public[Name | None] = None  # e.g. "NCM811 / graphite"
    # Critical raw materials present above 0.1 % w/w (Annex VI Part A 10, Reg. 2024/1252 Annex II).
    critical_raw_materials: Public[list[Name]] = Field(default_factory=list)
    active_materials: Public[list[ActiveMaterial]] = Field(default_factory=list)
    hazardous_substances: Public[list[HazardousSubstance]] = Field(default_factory=list)
    # Cathode, anode and electrolyte materials in detail: for repairers and recyclers (Annex XIII 2(a)).
    composition: LegitimateInterest[list[MaterialComponent]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> MaterialsAndComposition:
        for label, names in (
            ("active material", [m.name for m in self.active_materials]),
            ("hazardous substance", [s.name for s in self.hazardous_substances]),
        ):
            lowered = [n.casefold() for n in names]
            duplicates = sorted({n for n in lowered if lowered.count(n) > 1})
            if duplicates:
                raise ValueError(f"{label} listed twice: {', '.join(duplicates)}")
        # Active materials and hazardous substances are elements or simple substances, so a critical
        # flag names the raw material itself. Composition lines are compounds (an NCM cathode powder
        # "contains" critical raw materials), so their flag is not checked against the list.
        declared = {n.casefold() for n in self.critical_raw_materials}
        flagged = [m.name for m in self.active_materials if m.critical]
        flagged += [s.name for s in self.hazardous_substances if s.critical]
        missing = sorted({n for n in flagged if n.casefold() not in declared})
        if missing:
            raise ValueError(f"flagged critical but not in critical_raw_materials: {', '.join(missing)}")
        return self
