"""Realistic sample passports for tests and demos (values typical of series production, not measured).

``sample_passport()`` is a 77.4 kWh NCM811 EV pack (192 pouch cells in series, 111.2 Ah, 697 V
nominal), one year into service; ``chemistry=Chemistry.LFP`` gives a 60.5 kWh LFP pack instead.
Every optional group is filled, so a sample exercises every access tier and exports to Catena-X.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from devtools.errors import NoSamplePack
from passport.model import LifecycleStatus
from passport.model.carbon import CarbonFootprint
from passport.model.circularity import (
    Circularity,
    EndOfLifeInformation,
    ExtinguishingAgent,
    RecycledContentShare,
    RecycledElement,
    SparePart,
)
from passport.model.conformity import Label, LabelsAndConformity, LabelSymbol
from passport.model.documents import DocumentRef
from passport.model.due_diligence import SupplyChainDueDiligence
from passport.model.general import (
    BatteryCategory,
    DataCarrier,
    Dimensions,
    GeneralProductInformation,
    PassportMetadata,
    ProductCode,
    PublicationStatus,
)
from passport.model.korea import (
    EvaluationGrade,
    InspectionResult,
    InspectionStage,
    KoreanExtensions,
    PerformanceEvaluation,
    RecycledMaterialCertificate,
    SafetyInspection,
    SecondLifeRoute,
)
from passport.model.materials import (
    ActiveMaterial,
    Chemistry,
    HazardousSubstance,
    IdentifierScheme,
    MaterialComponent,
    MaterialsAndComposition,
    SubstanceId,
)
from passport.model.parties import Facility, Organisation, PostalAddress
from passport.model.passport import BatteryPassport
from passport.model.performance import (
    CycleLifeTest,
    DynamicPerformance,
    ExpectedLifetime,
    MeasurementMethod,
    NegativeEvent,
    NegativeEventKind,
    PerformanceAndDurability,
    RatedCapacity,
    RatedEnergy,
    RatedPerformance,
    RatedPower,
    RatedResistance,
    RatedRoundTripEfficiency,
    RatedVoltage,
    Reading,
    TemperatureRange,
)
from passport.model.units import Concentration, ConcentrationUnit, Warranty, WarrantyUnit

KST = timezone(timedelta(hours=9))
DEFAULT_BATTERY_ID = "HES-E77N-2407-000123"
DEFAULT_AS_OF = datetime(2025, 6, 30, 9, 0, tzinfo=KST)
_SAMPLE_NAMESPACE = uuid.UUID("6f1c3a52-0c7e-4d0e-9a3b-2f7d1c9e4b10")
_DOCS = "https://docs.hanbit-energy.example"


@dataclass(frozen=True, slots=True)
class _PackSpec:
    """The electrical and mechanical design of a sample pack."""

    model_identifier: str
    designation: str
    cells_in_series: int
    cell_min_v: float
    cell_nominal_v: float
    cell_max_v: float
    capacity_ah: float
    energy_kwh: float
    mass_kg: float
    power_w: float
    cycles: int
    cell_resistance_ohm: float


_SPECS = {
    Chemistry.NCM: _PackSpec(
        model_identifier="E77N-192S",
        designation="NCM811 / graphite-SiOx",
        cells_in_series=192,
        cell_min_v=2.5,
        cell_nominal_v=3.63,
        cell_max_v=4.2,
        capacity_ah=111.2,
        energy_kwh=77.4,
        mass_kg=477.0,
        power_w=250_000,
        cycles=2000,
        cell_resistance_ohm=0.0011,
    ),
    Chemistry.NCA: _PackSpec(
        model_identifier="E77A-192S",
        designation="NCA / graphite",
        cells_in_series=192,
        cell_min_v=2.5,
        cell_nominal_v=3.63,
        cell_max_v=4.2,
        capacity_ah=111.2,
        energy_kwh=77.4,
        mass_kg=472.0,
        power_w=250_000,
        cycles=1800,
        cell_resistance_ohm=0.0011,
    ),
    Chemistry.LFP: _PackSpec(
        model_identifier="E60L-120S",
        designation="LFP / graphite (cell-to-pack)",
        cells_in_series=120,
        cell_min_v=2.5,
        cell_nominal_v=3.2,
        cell_max_v=3.65,
        capacity_ah=157.6,
        energy_kwh=60.5,
        mass_kg=410.0,
        power_w=180_000,
        cycles=3500,
        cell_resistance_ohm=0.0009,
    ),
}


def _doc(title: str, path: str) -> DocumentRef:
    return DocumentRef(title=title, content=f"{_DOCS}/{path}")


def _cas(number: str, name: str) -> SubstanceId:
    return SubstanceId(scheme=IdentifierScheme.CAS, identifier=number, name=name)


def sample_passport(
    battery_id: str = DEFAULT_BATTERY_ID,
    chemistry: Chemistry = Chemistry.NCM,
    *,
    passport_id: uuid.UUID | None = None,
    status: LifecycleStatus = LifecycleStatus.ORIGINAL,
    as_of: datetime = DEFAULT_AS_OF,
) -> BatteryPassport:
    """A complete, valid passport for an EV pack of ``chemistry`` (NCM, NCA or LFP).

    The passport id defaults to a UUIDv5 of the battery id, so the same arguments always give the
    same passport (and the same section digests). Dynamic values are stamped ``as_of``.
    """
    spec = _SPECS.get(chemistry)
    if spec is None:
        raise NoSamplePack(f"no sample pack for chemistry {chemistry.value}; choose NCM, NCA or LFP")
    pid = passport_id or uuid.uuid5(_SAMPLE_NAMESPACE, battery_id)
    manufacturer = Organisation(
        name="Hanbit Energy Solutions Co., Ltd.",
        identifier="BPNL00000007HBES",
        address=PostalAddress(
            street="123 Gwahaksaneop 2-ro, Ochang-eup", postal_code="28122", city="Cheongju", country="KR"
        ),
        email="passport@hanbit-energy.example",
        website="https://hanbit-energy.example",
    )
    return BatteryPassport(
        metadata=PassportMetadata(
            issued_on=date(2024, 9, 2),
            last_modified_on=as_of.date(),
            expires_on=date(2049, 9, 2),
            document_version="1.0.0",
            publication_status=PublicationStatus.APPROVED,
            backup_reference=f"https://backup.passport-ledger.example/{pid}",
        ),
        general=_general(battery_id, pid, chemistry, spec, manufacturer, status),
        carbon_footprint=_carbon(chemistry),
        due_diligence=SupplyChainDueDiligence(
            report=_doc("Supply chain due diligence report 2024", "dd/report-2024.pdf"),
            policies=[_doc("Responsible sourcing policy", "dd/policy.pdf")],
            third_party_assurances=[
                _doc("Third-party verification (notified body 2841)", "dd/assurance-2024.pdf")
            ],
            sustainability_reports=[_doc("Sustainability report 2024", "esg/report-2024.pdf")],
            detailed_audit_reports=[_doc("Refiner and mine audit findings 2024", "dd/audits-2024.pdf")],
        ),
        materials=_materials(chemistry, spec),
        circularity=_circularity(chemistry, manufacturer),
        performance=PerformanceAndDurability(rated=_rated(spec), dynamic=_dynamic(spec, as_of)),
        conformity=LabelsAndConformity(
            labels=[
                Label(
                    symbol=LabelSymbol.SEPARATE_COLLECTION,
                    meaning="Collect separately; do not dispose of as household waste",
                ),
                Label(symbol=LabelSymbol.CE, meaning="Conforms to Regulation (EU) 2023/1542"),
                Label(symbol=LabelSymbol.CAPACITY, meaning=f"Rated capacity {spec.capacity_ah:g} Ah"),
                Label(symbol=LabelSymbol.QR_CODE, meaning="Leads to this battery passport"),
            ],
            label_meaning_documents=[_doc("Meaning of label symbols", "labels.pdf")],
            declaration_of_conformity_id=f"DoC-HES-{spec.model_identifier}-2024-01",
            declarations_of_conformity=[
                _doc("EU declaration of conformity", f"doc/{spec.model_identifier}.pdf")
            ],
            test_reports=[
                _doc("Type-approval safety test report (UN R100 / UN 38.3)", "tests/safety-2024.pdf")
            ],
        ),
        korea=_korea(spec, as_of),
    )


def _general(
    battery_id: str,
    pid: uuid.UUID,
    chemistry: Chemistry,
    spec: _PackSpec,
    manufacturer: Organisation,
    status: LifecycleStatus,
) -> GeneralProductInformation:
    return GeneralProductInformation(
        battery_id=battery_id,
        passport_id=pid,
        category=BatteryCategory.EV,
        model_identifier=spec.model_identifier,
        product_name=f"{spec.energy_kwh:g} kWh {chemistry.value} traction battery pack",
        batch_id="B2407-OCH1-07",
        manufacturer=manufacturer,
        manufacturing_date=date(2024, 7, 15),
        manufacturing_place=Facility(
            identifier="BPNA00000007OCH1",
            name="Ochang plant 1",
            address=PostalAddress(street="45 Gwahaksaneop 4-ro, Ochang-eup", city="Cheongju", country="KR"),
        ),
        placed_on_market=date(2024, 9, 2),
        put_into_service=date(2024, 10, 1),
        mass_kg=spec.mass_kg,
        dimensions=Dimensions(length_mm=2050.0, width_mm=1430.0, height_mm=150.0),
        status=status,
        warranty=Warranty(value=10, unit=WarrantyUnit.YEAR),
        intended_use=["automotive"],
        data_carrier=DataCarrier(
            carrier_type="QR",
            layout="top cover, left of the high-voltage connector",
            encoded_identifier=f"https://passport-ledger.example/p/{pid}",
        ),
        product_codes=[ProductCode(key="TARIC", value="8507 60 00 00")],
    )


def _carbon(chemistry: Chemistry) -> CarbonFootprint:
    # LFP avoids nickel and cobalt refining, the largest raw-material share of an NCM footprint.
    raw, main, dist, eol = (34.9, 12.1, 1.2, 1.3) if chemistry is Chemistry.LFP else (44.1, 14.6, 1.2, 1.4)
    return CarbonFootprint(
        total_kg_co2e_per_kwh=round(raw + main + dist + eol, 2),
        raw_material_acquisition_kg_co2e_per_kwh=raw,
        main_production_kg_co2e_per_kwh=main,
        distribution_kg_co2e_per_kwh=dist,
        end_of_life_kg_co2e_per_kwh=eol,
        performance_class="B",
        study=_doc("Carbon footprint study (public version)", "cfp/study-2024.pdf"),
        declarations=[_doc("Carbon footprint declaration", "cfp/declaration-2024.pdf")],
        rulebooks=[_doc("JRC rules for the EV battery carbon footprint", "cfp/rules.pdf")],
    )


def _materials(chemistry: Chemistry, spec: _PackSpec) -> MaterialsAndComposition:
    pct, ppm = ConcentrationUnit.PERCENT, ConcentrationUnit.PPM
    impact = [_doc("Impact of substances on health and environment", "materials/impact.pdf")]
    lithium = ActiveMaterial(
        name="lithium", identifiers=[_cas("7439-93-2", "lithium")], location="cathode", critical=True
    )
    graphite = ActiveMaterial(
        name="natural graphite",
        identifiers=[_cas("7782-42-5", "graphite")],
        location="anode",
        critical=True,
        recycled_share_percent=0.0,
    )
    if chemistry is Chemistry.LFP:
        active = [lithium, graphite]
        cathode = MaterialComponent(
            location="cathode",
            identifiers=[_cas("15365-14-7", "lithium iron phosphate")],
            concentration=Concentration(value=29.0, unit=pct),
            recycled_share_percent=4.0,
        )
    else:
        active = [
            ActiveMaterial(
                name="nickel", identifiers=[_cas("7440-02-0", "nickel")], location="cathode", critical=True
            ),
            lithium,
            ActiveMaterial(
                name="cobalt", identifiers=[_cas("7440-48-4", "cobalt")], location="cathode", critical=True
            ),
            ActiveMaterial(
                name="manganese",
                identifiers=[_cas("7439-96-5", "manganese")],
                location="cathode",
                critical=True,
                recycled_share_percent=3.0,
            ),
            graphite,
        ]
        compound = (
            _cas("193214-24-3", "lithium nickel cobalt aluminium oxide")
            if chemistry is Chemistry.NCA
            else _cas("346417-97-8", "lithium nickel cobalt manganese oxide")
        )
        cathode = MaterialComponent(
            location="cathode",
            identifiers=[compound],
            concentration=Concentration(value=24.5, unit=pct),
            critical=True,
            recycled_share_percent=8.0,
        )
    return MaterialsAndComposition(
        chemistry=chemistry,
        chemistry_designation=spec.designation,
        critical_raw_materials=sorted(m.name for m in active if m.critical),
        active_materials=active,
        hazardous_substances=[
            # Trace heavy metals, declared so that readers see they are below the Art. 13(4) label thresholds.
            HazardousSubstance(
                name="cadmium",
                identifiers=[_cas("7440-43-9", "cadmium")],
                concentration=Concentration(value=2.0, unit=ppm),
                location="cell",
                impact_documents=impact,
            ),
            HazardousSubstance(
                name="mercury",
                identifiers=[_cas("7439-97-6", "mercury")],
                concentration=Concentration(value=0.5, unit=ppm),
                location="cell",
                impact_documents=impact,
            ),
            HazardousSubstance(
                name="lead",
                identifiers=[_cas("7439-92-1", "lead")],
                concentration=Concentration(value=15.0, unit=ppm),
                location="electronics (solder)",
                impact_documents=impact,
            ),
            HazardousSubstance(
                name="lithium hexafluorophosphate",
                identifiers=[_cas("21324-40-3", "lithium hexafluorophosphate")],
                concentration=Concentration(value=1.2, unit=pct),
                location="electrolyte",
                impact_documents=impact,
            ),
        ],
        composition=[
            cathode,
            MaterialComponent(
                location="anode",
                identifiers=[_cas("7782-42-5", "graphite")],
                concentration=Concentration(value=16.0, unit=pct),
                critical=True,
            ),
            MaterialComponent(
                location="electrolyte",
                identifiers=[_cas("21324-40-3", "lithium hexafluorophosphate")],
                concentration=Concentration(value=1.2, unit=pct),
            ),
            MaterialComponent(
                location="separator",
                identifiers=[_cas("9002-88-4", "polyethylene")],
                concentration=Concentration(value=1.5, unit=pct),
            ),
            MaterialComponent(
                location="housing",
                identifiers=[_cas("7429-90-5", "aluminium")],
                concentration=Concentration(value=18.0, unit=pct),
                recycled_share_percent=35.0,
            ),
        ],
    )


def _circularity(chemistry: Chemistry, manufacturer: Organisation) -> Circularity:
    shares = [
        RecycledContentShare(
            element=RecycledElement.LITHIUM,
            pre_consumer_percent=4.0,
            post_consumer_percent=2.0,
            total_percent=6.0,
        )
    ]
    if chemistry is not Chemistry.LFP:
        shares += [
            RecycledContentShare(
                element=RecycledElement.COBALT,
                pre_consumer_percent=10.0,
                post_consumer_percent=6.0,
                total_percent=16.0,
            ),
            RecycledContentShare(
                element=RecycledElement.NICKEL,
                pre_consumer_percent=4.0,
                post_consumer_percent=2.0,
                total_percent=6.0,
            ),
        ]
    return Circularity(
        recycled_content=shares,
        renewable_content_percent=3.5,
        end_of_life=EndOfLifeInformation(
            waste_prevention=[_doc("Extending battery life and preventing waste", "eol/prevention.pdf")],
            separate_collection=[_doc("Separate collection and take-back points", "eol/collection.pdf")],
            collection_and_recycling=[_doc("Your role in battery recycling", "eol/recycling.pdf")],
        ),
        extinguishing_agents=[
            ExtinguishingAgent(media="Water (large quantities, for cooling)", fire_class="A"),
            ExtinguishingAgent(media="Dry powder (surrounding fires only)", fire_class="A, B, C"),
        ],
        dismantling_documents=[
            _doc("Dismantling manual: exploded view, sequence, tools", "service/dismantling.pdf")
        ],
        removal_documents=[_doc("Removal from the vehicle", "service/removal.pdf")],
        safe_discharging_documents=[_doc("Safe discharging procedure", "service/discharge.pdf")],
        safety_measures=[_doc("High-voltage safety measures for workshops", "service/hv-safety.pdf")],
        spare_part_sources=[manufacturer],
        spare_parts=[
            SparePart(part_number="BMU-192S-V3", name="Battery management unit"),
            SparePart(part_number="CMU-12S-V2", name="Cell monitoring unit"),
            SparePart(part_number="HVJB-800-A", name="High-voltage junction box"),
        ],
    )


def _rated(spec: _PackSpec) -> RatedPerformance:
    n = spec.cells_in_series
    return RatedPerformance(
        capacity=RatedCapacity(
            rated_ah=spec.capacity_ah, exhaustion_threshold_percent=70.0, temperature_c=25.0
        ),
        energy=RatedEnergy(rated_kwh=spec.energy_kwh, temperature_c=25.0),
        voltage=RatedVoltage(
            min_v=round(n * spec.cell_min_v, 1),
            nominal_v=round(n * spec.cell_nominal_v, 1),
            max_v=round(n * spec.cell_max_v, 1),
            temperature_c=25.0,
        ),
        power=RatedPower(
            original_w=spec.power_w,
            at_80_percent_soc_w=round(spec.power_w * 0.98),
            at_20_percent_soc_w=round(spec.power_w * 0.72),
            temperature_c=25.0,
        ),
        resistance=RatedResistance(
            cell_ohm=spec.cell_resistance_ohm,
            module_ohm=round(spec.cell_resistance_ohm * 12 * 1.05, 5),
            # Series cells plus busbars and contactors (about 5 %).
            pack_ohm=round(spec.cell_resistance_ohm * n * 1.05, 4),
            temperature_c=25.0,
        ),
        round_trip_efficiency=RatedRoundTripEfficiency(
            initial_percent=95.0,
            at_50_percent_cycle_life_percent=92.5,
            depth_of_discharge_percent=90.0,
            temperature_c=25.0,
        ),
        temperature_range=TemperatureRange(lower_c=-30.0, upper_c=60.0),
        lifetime=ExpectedLifetime(
            cycles=spec.cycles,
            years=15,
            cycle_life_test=CycleLifeTest(
                charge_c_rate=0.5, discharge_c_rate=1.0, depth_of_discharge_percent=100.0, temperature_c=25.0
            ),
            reports=[_doc("Cycle-life test summary", "performance/cycle-life.pdf")],
        ),
        self_discharge_rate_percent=2.0,
        documents=[_doc("Performance and durability datasheet", f"performance/{spec.model_identifier}.pdf")],
        test_reports=[_doc("Annex IV performance test report", "tests/annex-iv-2024.pdf")],
    )


def _dynamic(spec: _PackSpec, as_of: datetime) -> DynamicPerformance:
    bms = {"measured_at": as_of, "method": MeasurementMethod.BMS_ESTIMATE, "originator": "vehicle BMS"}
    counted = {"measured_at": as_of, "method": MeasurementMethod.COUNTED, "originator": "vehicle BMS"}
    soh = 0.96  # about a year and 370 equivalent full cycles in
    cycles = 370
    return DynamicPerformance(
        remaining_capacity_ah=Reading(value=round(spec.capacity_ah * soh, 1), uncertainty=1.5, **bms),
        capacity_fade_percent=Reading(value=round((1 - soh) * 100, 1), uncertainty=1.5, **bms),
        capacity_throughput_ah=Reading(value=round(spec.capacity_ah * cycles * 2), **counted),
        remaining_energy_kwh=Reading(value=round(spec.energy_kwh * soh, 1), uncertainty=1.0, **bms),
        state_of_certified_energy_percent=Reading(value=soh * 100, uncertainty=1.5, **bms),
        energy_throughput_kwh=Reading(value=round(spec.energy_kwh * cycles * 2), **counted),
        state_of_charge_percent=Reading(value=64.0, uncertainty=3.0, **bms),
        remaining_power_capability_w=Reading(value=round(spec.power_w * 0.964), uncertainty=5000, **bms),
        power_fade_percent=Reading(value=3.6, uncertainty=2.0, **bms),
        cell_resistance_ohm=Reading(value=round(spec.cell_resistance_ohm * 1.073, 6), **bms),
        module_resistance_ohm=Reading(value=round(spec.cell_resistance_ohm * 12 * 1.05 * 1.073, 5), **bms),
        pack_resistance_ohm=Reading(
            value=round(spec.cell_resistance_ohm * spec.cells_in_series * 1.05 * 1.073, 4), **bms
        ),
        cell_resistance_increase_percent=Reading(value=7.3, uncertainty=2.0, **bms),
        module_resistance_increase_percent=Reading(value=7.3, uncertainty=2.0, **bms),
        pack_resistance_increase_percent=Reading(value=7.3, uncertainty=2.0, **bms),
        round_trip_efficiency_percent=Reading(value=94.2, uncertainty=0.5, **bms),
        round_trip_efficiency_fade_percent=Reading(value=0.8, uncertainty=0.5, **bms),
        self_discharge_rate_percent=Reading(value=2.1, uncertainty=0.5, **bms),
        full_cycles=Reading(value=cycles, **counted),
        # Extremes over life so far, stamped with the time they refer to (the snapshot time).
        min_temperature_c=Reading(value=-21.5, **bms),
        max_temperature_c=Reading(value=47.8, **bms),
        deep_discharge_events=Reading(value=0, **counted),
        overcharge_events=Reading(value=0, **counted),
        negative_events=[
            NegativeEvent(
                kind=NegativeEventKind.ACCIDENT,
                occurred_at=datetime(2025, 2, 14, 18, 5, tzinfo=KST),
                description="Low-speed front collision; housing inspected, no deformation or leakage.",
                reported_by="Authorised service centre, Cheongju",
                documents=[_doc("Post-collision inspection", "service/inspection-2025-02-14.pdf")],
            )
        ],
        documents=[_doc("State-of-health report", "performance/soh-2025-06.pdf")],
    )


def _korea(spec: _PackSpec, as_of: datetime) -> KoreanExtensions:
    evaluator = Organisation(name="Korea Battery Evaluation Center", identifier="KR-BRN-312-81-00000")
    return KoreanExtensions(
        performance_evaluations=[
            PerformanceEvaluation(
                evaluated_at=as_of,
                evaluator=evaluator,
                method="Pre-removal residual performance evaluation (capacity and insulation test)",
                state_of_health_percent=96.0,
                remaining_capacity_ah=round(spec.capacity_ah * 0.96, 1),
                grade=EvaluationGrade.A,
                recommendation=SecondLifeRoute.REUSE,
                report=_doc("Performance evaluation certificate", "kr/evaluation-2025-06.pdf"),
            )
        ],
        safety_inspections=[
            SafetyInspection(
                stage=InspectionStage.PRE_DISTRIBUTION,
                inspected_at=as_of + timedelta(days=2),
                inspector=evaluator,
                result=InspectionResult.PASS,
                certificate_number="SI-2025-000481",
            )
        ],
        recycled_material_certificates=[
            RecycledMaterialCertificate(
                certificate_id="RMC-2024-0193",
                issuer=Organisation(name="Korea Recycled Materials Certification Body"),
                material="lithium",
                recycled_share_percent=6.0,
                issued_on=date(2024, 6, 1),
                valid_until=date(2027, 5, 31),
            )
        ],
    )
