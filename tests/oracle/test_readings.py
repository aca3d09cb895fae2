"""Readings: valid ones parse, out-of-range or malformed ones are rejected with (field path, why)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracle.errors import ReadingRejected
from oracle.readings import (
    ANCHOR_KIND,
    ChargingSession,
    DiagnosticSnapshot,
    ParkingPeriod,
    SafetyEvent,
    parse_reading,
    reading_json,
)
from passport.canonical import canonical_json, flat_canonical_json
from passport.model import AnchorKind
from tests.builders import charging, diagnostics, parking, safety


@pytest.mark.parametrize(
    ("reading", "model", "kind"),
    [
        (charging(), ChargingSession, AnchorKind.CHARGING),
        (charging(mode="fast", max_power_kw=350, avg_power_kw=120, energy_kwh=80), ChargingSession, None),
        (safety(), SafetyEvent, AnchorKind.SAFETY),
        (
            safety(event="thermal_runaway_warning", severity="critical", max_cell_temp_c=180),
            SafetyEvent,
            None,
        ),
        (parking(), ParkingPeriod, AnchorKind.PARKING),
        (diagnostics(), DiagnosticSnapshot, AnchorKind.DIAGNOSTICS),
        ({k: v for k, v in diagnostics().items() if k != "cell_soh_spread_pct"}, DiagnosticSnapshot, None),
    ],
)
def test_valid_readings_parse(reading: dict[str, Any], model: type, kind: AnchorKind | None) -> None:
    parsed = parse_reading(canonical_json(reading))
    assert isinstance(parsed, model)
    if kind is not None:
        assert ANCHOR_KIND[parsed.kind] is kind
    # What a device would send for the parsed reading canonicalises to the same bytes.
    assert canonical_json(reading_json(parsed)) == canonical_json(reading)


REJECTIONS: list[tuple[str, dict[str, Any] | list[int], str, str]] = [
    # (case, reading, field path, fragment of the reason)
    ("energy as a string", charging(energy_kwh="12.5"), "energy_kwh", "valid number"),
    ("energy as a boolean", charging(energy_kwh=True), "energy_kwh", "valid number"),
    ("Wh sent as kWh", charging(energy_kwh=12_500), "energy_kwh", "less than or equal to 1000"),
    ("negative energy", charging(energy_kwh=-1), "energy_kwh", "greater than or equal to 0"),
    ("SoC over 100 %", charging(soc_end_pct=101), "soc_end_pct", "less than or equal to 100"),
    ("°F cell temperature", charging(max_cell_temp_c=140), "max_cell_temp_c", "less than or equal to 100"),
    ("W sent as kW", charging(max_power_kw=22_000), "max_power_kw", "less than or equal to 4000"),
    ("unknown mode", charging(mode="turbo"), "mode", "'fast' or 'slow'"),
    ("no time zone", charging(started_at="2025-03-01T08:00:00"), "started_at", "timezone"),
    ("not a time", charging(ended_at="yesterday"), "ended_at", "datetime"),
    ("ends before it starts", charging(ended_at="2025-03-01T07:00:00+09:00"), "$", "after started_at"),
    ("energy above power x time", charging(energy_kwh=40), "$", "exceeds max_power_kw x duration"),
    ("discharging 'charge'", charging(soc_end_pct=10), "$", "not a charging session"),
    ("avg above max power", charging(avg_power_kw=30), "$", "max_power_kw is below avg_power_kw"),
    ("clock unset (1970)", charging(started_at="1970-01-01T00:00:00Z"), "$", "outside 2015..2099"),
    ("unexpected field", charging(voltage=400), "voltage", "Extra inputs"),
    ("missing field", {k: v for k, v in charging().items() if k != "energy_kwh"}, "energy_kwh", "required"),
    ("unknown kind", charging(kind="driving"), "kind", "kind must be one of"),
    ("no kind", {k: v for k, v in charging().items() if k != "kind"}, "kind", "kind must be one of"),
    ("not an object", [1, 2], "$", "object"),
    ("unknown safety event", safety(event="meteor"), "event", "Input should be"),
    ("unknown severity", safety(severity="bad"), "severity", "Input should be"),
    ("cell voltage in mV", safety(min_cell_voltage_v=3200), "min_cell_voltage_v", "less than or equal to 5"),
    ("min temp above max", safety(min_cell_temp_c=70), "$", "min_cell_temp_c is above max_cell_temp_c"),
    ("parking a decade", parking(ended_at="2035-03-04T07:30:00+09:00"), "$", "more than a year"),
    ("self-discharge > 100 %", parking(self_discharge_pct=140), "self_discharge_pct", "less than or equal"),
    ("ambient in kelvin", parking(temp_max_c=281.15), "temp_max_c", "less than or equal to 90"),
    ("zero capacity", diagnostics(capacity_ah=0), "capacity_ah", "greater than 0"),
    ("SOCE 250 %", diagnostics(soce_pct=250), "soce_pct", "less than or equal to 110"),
    ("resistance in Ω·1e6", diagnostics(internal_resistance_mohm=95_000), "internal_resistance_mohm", "5000"),
    ("fractional cycles", diagnostics(cycle_count=1.5), "cycle_count", "valid integer"),
    ("0xFFFF spread", diagnostics(cell_voltage_spread_mv=65535), "cell_voltage_spread_mv", "2000"),
]


@pytest.mark.parametrize(("case", "reading", "path", "why"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejections_name_the_field_and_the_reason(
    case: str, reading: dict[str, Any] | list[int], path: str, why: str
) -> None:
    with pytest.raises(ReadingRejected) as caught:
        parse_reading(canonical_json(reading))
    problems = caught.value.problems
    assert any(p == path and why in reason for p, reason in problems), problems
    assert isinstance(caught.value, ValueError)


def test_every_problem_is_reported_not_just_the_first() -> None:
    with pytest.raises(ReadingRejected) as caught:
        parse_reading(canonical_json(charging(energy_kwh=5000, soc_start_pct=-3, extra=1)))
    assert {p for p, _ in caught.value.problems} == {"energy_kwh", "soc_start_pct", "extra"}


_json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)


@given(st.dictionaries(st.text(), _json_scalar, max_size=12))
def test_flat_fast_path_is_byte_identical_to_jcs(value: dict[str, Any]) -> None:
    try:
        expected = canonical_json(value)
    except ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 — same refusal either way (lone surrogates)
            flat_canonical_json(value)
        return
    assert flat_canonical_json(value) == expected


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "energy_kwh", "x_y", "Z"]),
        st.floats(min_value=-1e25, max_value=1e25, allow_nan=False) | st.integers(-(10**6), 10**6),
    )
)
def test_flat_fast_path_numbers(value: dict[str, Any]) -> None:
    assert flat_canonical_json(value) == canonical_json(value)
