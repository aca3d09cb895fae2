"""Carbon-footprint declarations (Art. 7) against a worked example checked by hand."""

from __future__ import annotations

import pytest
from eth_account import Account

from passport.materials import (
    Activity,
    CarbonFootprintDeclaration,
    CarbonFootprintError,
    EmissionFactor,
    Stage,
    declare_carbon_footprint,
    open_document,
    sign_document,
)
from passport.materials.carbon import performance_class
from passport.model.documents import DocumentRef
from tests.chain_backends import ACTOR_KEYS

PASSPORT = "0x" + "00" * 16 + "11" * 16
STUDY = DocumentRef(title="Carbon footprint study 2031 model", content="https://example.org/cf-study.pdf")
FACTORS = [
    EmissionFactor(factor_id="cam", unit="kg", kg_co2e_per_unit=15.0, source="supplier EPD CAM-2030"),
    EmissionFactor(factor_id="aluminium", unit="kg", kg_co2e_per_unit=8.0, source="EAA 2022 primary Al"),
    EmissionFactor(
        factor_id="grid-kr", unit="kWh", kg_co2e_per_unit=0.5, source="KR grid 2030 (illustrative)"
    ),
    EmissionFactor(factor_id="natural-gas", unit="kWh", kg_co2e_per_unit=0.2, source="IPCC 2006 stationary"),
    EmissionFactor(factor_id="truck", unit="t.km", kg_co2e_per_unit=0.1, source="GLEC v3 rigid truck"),
    EmissionFactor(factor_id="hydromet", unit="kg", kg_co2e_per_unit=0.5, source="recycler LCA 2029"),
]
ACTIVITIES = [
    Activity(
        process="cathode active material",
        stage=Stage.RAW_MATERIAL_ACQUISITION,
        factor_id="cam",
        quantity=100,
        unit="kg",
    ),
    Activity(
        process="pack housing",
        stage=Stage.RAW_MATERIAL_ACQUISITION,
        factor_id="aluminium",
        quantity=50,
        unit="kg",
    ),
    Activity(
        process="electrode coating and formation",
        stage=Stage.MAIN_PRODUCTION,
        factor_id="grid-kr",
        quantity=3_000,
        unit="kWh",
    ),
    Activity(
        process="drying ovens",
        stage=Stage.MAIN_PRODUCTION,
        factor_id="natural-gas",
        quantity=1_000,
        unit="kWh",
    ),
    Activity(
        process="pack to vehicle plant",
        stage=Stage.DISTRIBUTION,
        factor_id="truck",
        quantity=800,
        unit="t.km",
    ),
    Activity(
        process="hydrometallurgical recycling",
        stage=Stage.END_OF_LIFE,
        factor_id="hydromet",
        quantity=400,
        unit="kg",
    ),
]


def declare() -> CarbonFootprintDeclaration:
    return declare_carbon_footprint(
        passport_id=PASSPORT,
        battery_model="KX-60 2031",
        plant="Ochang",
        usable_energy_kwh=60.0,
        expected_full_cycles=1_000,
        factors=FACTORS,
        activities=ACTIVITIES,
        study=STUDY,
    )


def test_worked_example() -> None:
    # By hand: lifetime energy 60 kWh x 1,000 cycles = 60,000 kWh.
    # raw material: 100 kg x 15 + 50 kg x 8 = 1,900 kg CO2e -> 0.031666... -> 0.0317
    # main production: 3,000 kWh x 0.5 + 1,000 kWh x 0.2 = 1,700 kg -> 0.028333... -> 0.0283
    # distribution: 800 t.km x 0.1 = 80 kg -> 0.001333... -> 0.0013
    # end of life: 400 kg x 0.5 = 200 kg -> 0.003333... -> 0.0033
    # total = 0.0317 + 0.0283 + 0.0013 + 0.0033 = 0.0646 (class B: 0.05 < 0.0646 <= 0.07)
    declaration = declare()
    assert declaration.lifetime_energy_kwh == 60_000
    assert [(s.stage, s.kg_co2e, s.kg_co2e_per_kwh) for s in declaration.stages] == [
        (Stage.RAW_MATERIAL_ACQUISITION, 1_900, 0.0317),
        (Stage.MAIN_PRODUCTION, 1_700, 0.0283),
        (Stage.DISTRIBUTION, 80, 0.0013),
        (Stage.END_OF_LIFE, 200, 0.0033),
    ]
    assert declaration.total_kg_co2e_per_kwh == 0.0646
    assert declaration.performance_class == "B"
    assert [(p.process, p.kg_co2e) for p in declaration.processes][:2] == [
        ("cathode active material", 1_500),
        ("pack housing", 400),
    ]
    section = declaration.to_passport()
    assert section.total_kg_co2e_per_kwh == 0.0646
    assert section.main_production_kg_co2e_per_kwh == 0.0283
    assert section.study == STUDY


def test_declaration_is_a_signed_document_of_the_passport() -> None:
    data = sign_document(declare(), ACTOR_KEYS["issuer"])
    declaration, signer = open_document(data, CarbonFootprintDeclaration)
    assert declaration.passport_id == PASSPORT
    assert declaration == declare()
    assert signer == Account.from_key(ACTOR_KEYS["issuer"]).address


def test_stages_must_add_up_and_match_the_activity_data() -> None:
    body = declare().model_dump(mode="json")
    body["total_kg_co2e_per_kwh"] = 0.0647
    with pytest.raises(ValueError, match=r"stages add up to 0\.0646"):
        CarbonFootprintDeclaration.model_validate(body)
    body = declare().model_dump(mode="json")
    body["stages"][1]["kg_co2e_per_kwh"] = 0.02
    with pytest.raises(ValueError, match="not what the activity data"):
        CarbonFootprintDeclaration.model_validate(body)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"factor_id": "coal"}, "unknown emission factor 'coal'"),
        ({"unit": "t"}, "its factor per 'kg'"),
    ],
)
def test_activity_needs_its_documented_factor(change: dict[str, str], message: str) -> None:
    activities = [ACTIVITIES[0].model_copy(update=change), *ACTIVITIES[1:]]
    with pytest.raises(CarbonFootprintError, match=message):
        declare_carbon_footprint(
            passport_id=PASSPORT,
            battery_model="m",
            plant="p",
            usable_energy_kwh=60,
            expected_full_cycles=1000,
            factors=FACTORS,
            activities=activities,
            study=STUDY,
        )


@pytest.mark.parametrize(("total", "klass"), [(0.05, "A"), (0.0501, "B"), (0.11, "D"), (0.5, "E")])
def test_performance_class_bounds_are_inclusive(total: float, klass: str) -> None:
    assert performance_class(total) == klass
