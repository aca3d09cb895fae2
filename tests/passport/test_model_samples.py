"""The sample passport factory: realistic, deterministic, complete."""

from __future__ import annotations

import uuid

import pytest

from devtools.samples import sample_passport
from passport.model import AccessTier, BatteryCategory, BatteryPassport, Chemistry, LifecycleStatus


def test_default_is_a_77_4_kwh_ncm811_ev_pack() -> None:
    p = sample_passport()
    rated = p.performance.rated
    assert p.general.category is BatteryCategory.EV
    assert p.materials.chemistry is Chemistry.NCM
    assert p.materials.chemistry_designation is not None
    assert "NCM811" in p.materials.chemistry_designation
    assert rated.energy is not None
    assert rated.energy.rated_kwh == 77.4
    assert rated.capacity.rated_ah == 111.2
    # 192 cells in series: 2.5 / 3.63 / 4.2 V per cell.
    assert (rated.voltage.min_v, rated.voltage.nominal_v, rated.voltage.max_v) == (480.0, 697.0, 806.4)
    # Energy is about capacity times nominal voltage.
    assert rated.capacity.rated_ah * rated.voltage.nominal_v / 1000 == pytest.approx(77.4, rel=0.01)


def test_lfp_pack_has_no_nickel_or_cobalt() -> None:
    p = sample_passport(chemistry=Chemistry.LFP)
    names = {m.name for m in p.materials.active_materials}
    assert "nickel" not in names
    assert "cobalt" not in names
    assert p.performance.rated.voltage.nominal_v == 384.0


def test_every_tier_is_populated() -> None:
    sections = sample_passport().sections()
    for tier in AccessTier:
        assert sections[tier], tier


def test_samples_are_deterministic_and_parameterised() -> None:
    assert sample_passport() == sample_passport()
    other = sample_passport("HES-E77N-2407-000124", status=LifecycleStatus.REPURPOSED)
    assert other.passport_id != sample_passport().passport_id
    assert other.general.status is LifecycleStatus.REPURPOSED
    pid = uuid.uuid4()
    assert sample_passport(passport_id=pid).passport_id == pid


def test_sample_round_trips_through_json() -> None:
    p = sample_passport()
    assert BatteryPassport.model_validate_json(p.model_dump_json()) == p


def test_unsupported_chemistry_is_refused() -> None:
    with pytest.raises(ValueError, match="no sample pack"):
        sample_passport(chemistry=Chemistry.NIMH)
