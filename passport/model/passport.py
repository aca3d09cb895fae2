"""The battery passport document, its split into access-tier sections, and partial views."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from pydantic import Field, ValidationError

from passport.errors import DocumentValidationError
from passport.model._base import PassportModel
from passport.model.access import (
    AccessTier,
    SectionData,
    SectionsInput,
    check_section,
    merge_section_data,
    normalise_tiers,
    split_sections,
    tier_of,
    validation_problems,
)
from passport.model.carbon import CarbonFootprint
from passport.model.circularity import Circularity
from passport.model.conformity import LabelsAndConformity
from passport.model.due_diligence import SupplyChainDueDiligence
from passport.model.general import GeneralProductInformation, PassportMetadata
from passport.model.korea import KoreanExtensions
from passport.model.materials import MaterialsAndComposition
from passport.model.performance import PerformanceAndDurability

# Names the document model in manifests (``document_schema``), so a reader knows how to parse sections.
DOCUMENT_SCHEMA = "battery-passport-ledger/passport/v1"


class BatteryPassport(PassportModel):
    """A battery passport: the attribute groups of the Battery Pass / DIN DKE SPEC 99100 model.

    Build one with ``model_validate`` (pydantic errors) or ``from_sections``; store it as
    ``sections()``, one JSON-able dict per access tier.
    """

    metadata: PassportMetadata
    general: GeneralProductInformation
    carbon_footprint: CarbonFootprint = Field(default_factory=CarbonFootprint)
    due_diligence: SupplyChainDueDiligence = Field(default_factory=SupplyChainDueDiligence)
    materials: MaterialsAndComposition
    circularity: Circularity = Field(default_factory=Circularity)
    performance: PerformanceAndDurability
    conformity: LabelsAndConformity = Field(default_factory=LabelsAndConformity)
    korea: KoreanExtensions = Field(default_factory=KoreanExtensions)

    @property
    def passport_id(self) -> uuid.UUID:
        """The passport's own identifier."""
        return self.general.passport_id

    @property
    def battery_id(self) -> str:
        """The battery's identifier (its manufacturer serial)."""
        return self.general.battery_id

    def sections(self) -> dict[AccessTier, dict[str, Any]]:
        """One JSON-able dict per access tier, each with only that tier's attributes, nested by group.

        All three tiers are always present (a tier with no attributes set still lists them as
        ``null`` or ``[]``), so every version of a passport commits the same section layout.
        """
        return split_sections(self)

    @classmethod
    def from_sections(cls, sections: SectionsInput) -> Self:
        """Rebuild the full passport from all three sections (keys: ``AccessTier`` or its values).

        Raises ``DocumentValidationError`` listing every problem by path: a missing tier, an
        attribute in the wrong tier's section, an unknown attribute, or an invalid value. A caller
        holding only some tiers uses ``PassportView.from_sections`` instead.
        """
        by_tier = normalise_tiers(sections)
        missing = [t for t in AccessTier if t not in by_tier]
        problems = [(t.value, "section missing: a full passport needs every tier") for t in missing]
        for tier, data in by_tier.items():
            problems.extend(check_section(cls, tier, data, validate_values=False))
        if problems:
            raise DocumentValidationError("passport sections do not form a passport", problems)
        try:
            return cls.model_validate(merge_section_data(by_tier))
        except ValidationError as exc:
            raise DocumentValidationError("invalid passport", validation_problems(exc)) from None

    @classmethod
    def tier_of(cls, path: str) -> AccessTier:
        """The access tier of the attribute at dotted ``path`` (e.g. ``"general.mass_kg"``)."""
        return tier_of(cls, path)


def merge_sections(sections: SectionsInput) -> SectionData:
    """Merge whichever sections the caller holds into one nested dict, checking each one.

    Every section must hold only its own tier's attributes and each value must be valid on its own;
    otherwise ``DocumentValidationError`` lists the problems by path. Missing tiers are fine.
    """
    by_tier = normalise_tiers(sections)
    problems: list[tuple[str, str]] = []
    for tier, data in by_tier.items():
        problems.extend(check_section(BatteryPassport, tier, data, validate_values=True))
    if problems:
        raise DocumentValidationError("invalid passport sections", problems)
    return merge_section_data(by_tier)


@dataclass(frozen=True, slots=True)
class PassportView:
    """What a caller holding some of the tiers can see: say, a buyer with the public section only.

    ``data`` is the merged, checked JSON of the held sections; attributes of other tiers are absent.
    """

    tiers: frozenset[AccessTier]
    data: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_sections(cls, sections: SectionsInput) -> PassportView:
        """Check and merge the held sections (see ``merge_sections``)."""
        data = merge_sections(sections)
        return cls(tiers=frozenset(AccessTier(t) for t in sections), data=data)

    @classmethod
    def of(cls, passport: BatteryPassport, tiers: set[AccessTier] | frozenset[AccessTier]) -> PassportView:
        """The view of ``passport`` for a holder of ``tiers``."""
        sections = passport.sections()
        return cls.from_sections({t: sections[t] for t in tiers})

    @property
    def is_complete(self) -> bool:
        """True when every tier is held, so ``to_passport`` can succeed."""
        return self.tiers == frozenset(AccessTier)

    def can_read(self, path: str) -> bool:
        """True if the attribute at ``path`` belongs to a tier this view holds."""
        return BatteryPassport.tier_of(path) in self.tiers

    def get(self, path: str, default: Any = None) -> Any:
        """The JSON value at dotted ``path``, or ``default`` if absent or not in a held tier."""
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def to_passport(self) -> BatteryPassport:
        """The full passport; needs every tier (``DocumentValidationError`` otherwise)."""
        if not self.is_complete:
            missing = sorted(t.value for t in AccessTier if t not in self.tiers)
            raise DocumentValidationError(
                "a partial view is not a passport", [(t, "section not held") for t in missing]
            )
        try:
            return BatteryPassport.model_validate(self.data)
        except ValidationError as exc:
            raise DocumentValidationError("invalid passport", validation_problems(exc)) from None
