"""``passport recycled …`` and ``passport carbon …`` against a ledger deployed from settings (anvil).

A pre-consumer lot (manufacturing scrap, no feedstock passports) goes through the whole loop: recorded,
certified, its credits sold, retired by a claim, the claim certified and its shares verified. The
post-consumer path and the contract's refusals are covered on every backend by the contract suites.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import app
from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from passport.chain.keystore import Keystore
from passport.chain.material_ledger import MaterialRole
from passport.ledger import open_ledger
from passport.materials import hex32
from passport.settings import Settings
from tests.chain_backends import Actor, digest
from tests.cli.runner import ok, runner
from tests.passport.materials.test_carbon import ACTIVITIES, FACTORS, STUDY

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)


def _write(path: Path, value: object) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def test_a_pre_consumer_lot_through_the_whole_loop(
    deployed: str, ledger_settings: Settings, recycler: Actor, inspector: Actor, issuer: Actor, tmp_path: Path
) -> None:
    keystore = Keystore.from_settings(ledger_settings)
    keystore.import_key("recycler", recycler.key)
    keystore.import_key("certifier", inspector.key)
    admin = open_ledger(ledger_settings).material_ledger("admin")
    admin.grant_role(MaterialRole.RECYCLER, recycler.address)
    admin.grant_role(MaterialRole.CERTIFIER, inspector.address)
    lot = {
        "lot_id": hex32(digest("cli-lot")),
        "recycler": recycler.address,
        "post_consumer": False,
        "process": "scrap leaching",
        "plant": "Pohang",
        "produced_on": "2030-03-01",
        "scrap_metal": {"lithium": 10_000},
        "outputs": [
            {
                "metal": "lithium",
                "compound": "Li2CO3",
                "compound_grams": 40_000,
                "metal_content_percent": 18.79,
            }
        ],
    }
    recorded = ok("recycled", "record-lot", _write(tmp_path / "lot.json", lot))
    assert recorded["lot_id"] == lot["lot_id"]
    assert ok("recycled", "show-lot", lot["lot_id"])["recovered_grams"] == [0, 7_516, 0, 0]
    certified = ok("recycled", "certify-lot", lot["lot_id"])
    ok("recycled", "transfer", issuer.address, "lithium", "7516", "--pre-consumer")
    assert ok("recycled", "balance", issuer.address)["pre_consumer"]["lithium"] == 7_516
    claim = {
        "claim_id": hex32(digest("cli-claim")),
        "claimant": issuer.address,
        "battery_model": "LFP-2031",
        "plant": "Nanjing",
        "period_start": "2031-01-01",
        "period_end": "2031-03-31",
        "passports": [hex32(digest("cli-new"))],
        "metal_in_scope": {"lithium": 100_000},
        "retired_pre_consumer": {"lithium": 7_516},
        "retired_post_consumer": {},
        "sources": [
            {
                "production_certificate_digest": certified["digest"],
                "production_certificate_cid": certified["cid"],
                "metal": "lithium",
                "post_consumer": False,
                "grams": 7_516,
            }
        ],
    }
    ok("recycled", "submit-claim", _write(tmp_path / "claim.json", claim))
    usage = ok("recycled", "certify-claim", claim["claim_id"])
    assert usage["shares"][0]["pre_consumer_percent"] == 7.51
    assert usage["targets"]["lithium"]["meets_2031"] is True
    shares = _write(tmp_path / "shares.json", usage["shares"])
    assert ok("recycled", "verify", shares, "--trust", inspector.address)["ok"] is True
    refused = runner.invoke(app, ["recycled", "verify", shares, "--json"])  # the certifier is not trusted
    assert refused.exit_code == EXIT_INVALID
    assert "usage_certificate.signature" in json.loads(refused.stdout)["failed"]
    again = runner.invoke(app, ["recycled", "certify-lot", lot["lot_id"]])
    assert again.exit_code == EXIT_INVALID
    assert "RecycledMaterialLedgerLotNotRecorded" in again.output


def test_bad_files_exit_2(deployed: str, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    for argv in (
        ["recycled", "record-lot", str(tmp_path / "bad.json")],
        ["recycled", "record-lot", _write(tmp_path / "lot.json", {"lot_id": "0x1"})],
        ["recycled", "verify", str(tmp_path / "missing.json")],
        ["recycled", "show-lot", "0xnope"],
        ["carbon", "show", "not-a-cid"],
    ):
        result = runner.invoke(app, argv)
        assert result.exit_code == EXIT_UNREADABLE, (argv, result.output)


def test_carbon_declare_and_show(deployed: str, tmp_path: Path) -> None:
    body = {
        "passport_id": "0x" + "00" * 16 + "33" * 16,
        "battery_model": "KX-60 2031",
        "plant": "Ochang",
        "usable_energy_kwh": 60,
        "expected_full_cycles": 1_000,
        "factors": [f.model_dump(mode="json") for f in FACTORS],
        "activities": [a.model_dump(mode="json") for a in ACTIVITIES],
        "study": STUDY.model_dump(mode="json"),
    }
    declared = ok("carbon", "declare", _write(tmp_path / "cf.json", body))
    assert (declared["total_kg_co2e_per_kwh"], declared["performance_class"]) == (0.0646, "B")
    shown = ok("carbon", "show", declared["cid"])
    assert shown["stages"]["main_production"] == 0.0283
    body["activities"][0]["factor_id"] = "coal"
    result = runner.invoke(app, ["carbon", "declare", _write(tmp_path / "bad-cf.json", body)])
    assert result.exit_code == EXIT_UNREADABLE
    assert "unknown emission factor 'coal'" in result.output
