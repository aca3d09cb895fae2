"""Passport-id spellings: exactly those ``PASSPORT_ID_PATTERN`` (what the API schema shows) describes."""

from __future__ import annotations

import re
import uuid

import pytest

from passport.errors import InvalidIdentifier
from passport.ids import PASSPORT_ID_PATTERN, parse_passport_id

PID = uuid.UUID("6f1c2a4e-8b3d-4c1e-9a7f-2d5b8e0c4a11")


@pytest.mark.parametrize(
    "text",
    [
        str(PID),
        str(PID).upper(),
        f"urn:uuid:{PID}",
        "0x" + "00" * 16 + PID.hex,
        f"urn:uuid:0x{'00' * 16}{PID.hex}",
    ],
)
def test_accepted_spellings_match_the_pattern(text: str) -> None:
    assert re.fullmatch(PASSPORT_ID_PATTERN, text)
    assert parse_passport_id(text) == PID


@pytest.mark.parametrize(
    "text",
    ["{" + str(PID) + "}", PID.hex, f"uuid:{PID}", f"{PID}\n", "0x" + "11" * 32, "nope", "a" * 100_000],
)
def test_other_spellings_are_refused(text: str) -> None:
    assert not re.fullmatch(PASSPORT_ID_PATTERN, text)
    with pytest.raises(InvalidIdentifier):
        parse_passport_id(text)
