"""The shared builders themselves: default readings are valid, uploads are signed as devices sign them."""

from __future__ import annotations

from typing import get_args

import pytest

from oracle.devices import canonical_readings, recover_signer, upload_body
from oracle.readings import reading_json
from tests.builders import READING_DEFAULTS, ReadingKind, SigningDevice, device_key, reading, reading_model


@pytest.mark.parametrize("kind", get_args(ReadingKind))
def test_each_kinds_default_reading_is_valid_and_round_trips(kind: ReadingKind) -> None:
    model = reading_model(kind)
    assert model.kind == kind
    assert reading_json(model) == reading(kind)


def test_overrides_replace_fields_without_touching_the_defaults() -> None:
    changed = reading("charging", energy_kwh=3, kind_note="extra")
    assert (changed["energy_kwh"], changed["kind_note"]) == (3, "extra")
    assert READING_DEFAULTS["charging"]["energy_kwh"] == 12.5
    assert "kind_note" not in reading("charging")


def test_signing_device_numbers_its_uploads_and_signs_with_its_key() -> None:
    device = SigningDevice.numbered(3)
    assert (device.device_id, device.battery_id, device.address) == (
        "dev-003",
        "KR-BUSAN-BAT-00003",
        device_key(3).address,
    )
    first = device.upload([reading("parking")])
    replay = device.upload([reading("parking")], seq=1)
    other_battery = device.upload([reading("safety")], battery_id="KR-BUSAN-BAT-00009")
    assert [u.seq for u in (first, replay, other_battery)] == [1, 1, 2]
    assert other_battery.battery_id == "KR-BUSAN-BAT-00009"
    body = upload_body(first.device_id, first.battery_id, first.seq, canonical_readings(first.readings))
    assert recover_signer(body, bytes.fromhex(first.signature[2:])) == device.address
    assert device.upload_json([reading("parking")], seq=1) == first.model_dump(mode="json")
