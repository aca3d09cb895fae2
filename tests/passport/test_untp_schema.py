"""The passport credential against the UNTP Digital Product Passport 0.5.0 model (see fixtures/untp/).

First the JSON Schema transcription is checked against the published 0.5.0 types, property by property;
then credentials built from the sample passports (and a minimal one) are validated against it.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devtools.samples import sample_passport
from passport.credentials.credential import LedgerAnchor, build_credential, status_entry
from passport.envelope import KeyRing
from passport.ids import battery_id_hash
from passport.model import AccessTier, LifecycleStatus
from passport.sections import commit_passport
from passport.store import EmbeddedStore

FIXTURES = Path(__file__).parent / "fixtures" / "untp"
SCHEMA: dict[str, Any] = json.loads((FIXTURES / "dpp-0.5.0.schema.json").read_text())
# Each schema definition and the generated 0.5.0 interface it transcribes.
TRANSCRIBED = {
    "DigitalProductPassport": "DigitalProductPassport",
    "CredentialIssuer": "CredentialIssuer",
    "Identifier": "Identifier1",
    "IdentifierScheme": "IdentifierScheme1",
    "Product": "Product",
    "Classification": "Classification",
    "Dimension": "Dimension",
    "Measure": "Measure",
}


def interfaces() -> dict[str, tuple[dict[str, bool], bool]]:
    """Each interface of the .d.ts: {property: required}, and whether it takes other properties."""
    text = (FIXTURES / "DigitalProductPassport-0.5.0.d.ts").read_text()
    found: dict[str, tuple[dict[str, bool], bool]] = {}
    for name, body in re.findall(r"export interface (\w+) \{\n(.*?)\n\}", text, flags=re.S):
        props = {
            prop.strip('"'): optional != "?"
            for prop, optional in re.findall(r'^    ("?[@\w]+"?)(\??): ', body, flags=re.M)
        }
        found[name] = (props, "[k: string]: unknown;" in body)
    return found


@pytest.mark.parametrize(("definition", "interface"), sorted(TRANSCRIBED.items()))
def test_schema_transcribes_the_published_types(definition: str, interface: str) -> None:
    props, open_ended = interfaces()[interface]
    schema = SCHEMA["$defs"][definition]
    assert set(schema["properties"]) == set(props)
    assert set(schema.get("required", [])) == {p for p, required in props.items() if required}
    assert (schema.get("additionalProperties", True) is not False) == open_ended


def credential_for(battery_id: str, tmp_path: Path) -> dict[str, Any]:
    passport = sample_passport(battery_id)
    committed = commit_passport(
        passport.sections(),
        passport_id=passport.passport_id,
        battery_id_hash=battery_id_hash(battery_id),
        version=1,
        status=LifecycleStatus.ORIGINAL,
        store=EmbeddedStore(tmp_path / "store"),
        keyring=KeyRing(tmp_path / "keys"),
    )
    anchor = LedgerAnchor(
        chain_id=31337, registry="0x" + "12" * 20, passport_id=passport.passport_id, version=1,
        manifest_digest=committed.manifest_digest, manifest_cid=committed.manifest_cid, status="original",
    )  # fmt: skip
    return build_credential(
        issuer_did="did:web:passports.example:participants:0x" + "ab" * 20,
        issuer_name="issuer",
        anchor=anchor,
        manifest=committed.manifest,
        public=passport.sections()[AccessTier.PUBLIC],
        product_link=f"https://passports.example/id/{passport.passport_id}",
        status=status_entry("https://passports.example/api/v1/status-lists/0xab", 3),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize("battery_id", ["HES-E77N-0001-000001", "CELL-LFP-42"])
def test_credentials_validate_against_untp_dpp_0_5_0(battery_id: str, tmp_path: Path) -> None:
    credential = credential_for(battery_id, tmp_path)
    jsonschema.validate(credential, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert credential["credentialSubject"]["type"] == ["Product"]


def test_a_wrong_shape_is_caught(tmp_path: Path) -> None:
    credential = credential_for("HES-E77N-0001-000002", tmp_path)
    credential["credentialSubject"]["producedByParty"]["website"] = "https://example.org"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(credential, SCHEMA, cls=jsonschema.Draft202012Validator)
    del credential["issuer"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(credential, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert uuid.UUID(credential["credentialSubject"]["passportId"].removeprefix("urn:uuid:"))
