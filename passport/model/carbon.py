"""Carbon footprint (Art. 7, Annex XIII 1(c)): kg CO2e per kWh of total energy over service life."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from passport.model._base import PassportModel
from passport.model.access import Public
from passport.model.documents import DocumentRef
from passport.model.units import KgCo2ePerKwh

PerformanceClass = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9+-]{0,7}$")]

# The life-cycle stages of the carbon-footprint delegated act, in reporting order. The stages are
# rounded separately, so their sum may differ from the total by rounding; beyond this it is an error.
LIFECYCLE_STAGES = ("raw_material_acquisition", "main_production", "distribution", "end_of_life")
_SUM_TOLERANCE_REL = 0.01
_SUM_TOLERANCE_ABS = 0.01


class CarbonFootprint(PassportModel):
    """The battery's carbon footprint, in total and per life-cycle stage, with its class and study."""

    total_kg_co2e_per_kwh: Public[KgCo2ePerKwh | None] = None
    raw_material_acquisition_kg_co2e_per_kwh: Public[KgCo2ePerKwh | None] = None
    main_production_kg_co2e_per_kwh: Public[KgCo2ePerKwh | None] = None
    distribution_kg_co2e_per_kwh: Public[KgCo2ePerKwh | None] = None
    end_of_life_kg_co2e_per_kwh: Public[KgCo2ePerKwh | None] = None
    performance_class: Public[PerformanceClass | None] = None
    # The public version of the carbon-footprint study (Art. 7(1)(e)).
    study: Public[DocumentRef | None] = None
    declarations: Public[list[DocumentRef]] = Field(default_factory=list)
    rulebooks: Public[list[DocumentRef]] = Field(default_factory=list)

    def stage_values(self) -> dict[str, float | None]:
        """Each life-cycle stage's value, by stage name."""
        return {stage: getattr(self, f"{stage}_kg_co2e_per_kwh") for stage in LIFECYCLE_STAGES}

    @model_validator(mode="after")
    def _stages_sum_to_total(self) -> CarbonFootprint:
        stages = list(self.stage_values().values())
        if self.total_kg_co2e_per_kwh is None or any(v is None for v in stages):
            return self
        total = math.fsum(v for v in stages if v is not None)
        if not math.isclose(
            total, self.total_kg_co2e_per_kwh, rel_tol=_SUM_TOLERANCE_REL, abs_tol=_SUM_TOLERANCE_ABS
        ):
            raise ValueError(
                f"life-cycle stages sum to {total:g} kg CO2e/kWh, "
                f"not the total {self.total_kg_co2e_per_kwh:g}"
            )
        return self
