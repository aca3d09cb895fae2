"""From a new passport's recycled-content figure back to the recycled batteries, offline; each tampered
link fails its named check. Runs the whole workflow once on eth-tester (module-scoped)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from passport.chain.material_ledger import Metal
from passport.materials import (
    CreditSource,
    Evidence,
    FeedstockBattery,
    MassBalanceError,
    MaterialsService,
    MetalMass,
    RecoveredOutput,
    RecycledLot,
    StoredDocument,
    UsageCertificate,
    UsageClaim,
    collect_evidence,
    hex32,
    sign_document,
    verify_evidence,
)
from passport.materials.documents import document_digest
from passport.model.circularity import RecycledElement as E
from passport.store import EmbeddedStore
from tests.chain_backends import ChainBackend, digest
from tests.contracts.material_world import MATERIAL_KEYS, MaterialWorld, material_world, waste_in_custody


@dataclass
class Loop:
    evidence: Evidence
    certifiers: list[str]
    certificate: StoredDocument
    shares: list[Any]


@pytest.fixture(scope="module")
def loop(eth_tester_backend: ChainBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    backend = eth_tester_backend
    world = material_world(backend)  # deployed outside the snapshot: other modules reuse it
    with backend.isolated():
        yield _close_the_loop(backend, world, tmp_path_factory)


def _close_the_loop(
    backend: ChainBackend, world: MaterialWorld, tmp_path_factory: pytest.TempPathFactory
) -> Loop:
    store = EmbeddedStore(Path(tmp_path_factory.mktemp("material-store")), durable=False)
    recycler_chain = backend.actors["recycler"].client
    recycler = MaterialsService(
        world["recycler"], store, chain=recycler_chain, signer_key=backend.actors["recycler"].key
    )
    certifier = MaterialsService(
        world["certifier"], store, chain=recycler_chain, signer_key=MATERIAL_KEYS["certifier"]
    )
    maker = MaterialsService(world["cellmaker"], store, signer_key=MATERIAL_KEYS["cellmaker"])
    feedstock = [waste_in_custody(backend, f"coc-{i}", recycled=i == 1) for i in range(2)]
    lot = RecycledLot(
        lot_id=hex32(digest("coc-lot")),
        recycler=world["recycler"].account,
        post_consumer=True,
        process="hydrometallurgical leaching and solvent extraction",
        plant="Gumi plant 2",
        produced_on=date(2030, 11, 2),
        feedstock=[
            FeedstockBattery(
                passport_id=hex32(p),
                manifest_digest=hex32(digest(f"coc-{i}:2")),
                metal=MetalMass(cobalt=5_000, lithium=1_000, nickel=15_000),
            )
            for i, p in enumerate(feedstock)
        ],
        outputs=[
            RecoveredOutput(
                metal=E.COBALT, compound="CoSO4.7H2O", compound_grams=45_000, metal_content_percent=20.97
            ),
            RecoveredOutput(
                metal=E.LITHIUM, compound="Li2CO3", compound_grams=10_000, metal_content_percent=18.79
            ),
            RecoveredOutput(
                metal=E.NICKEL, compound="NiSO4.6H2O", compound_grams=120_000, metal_content_percent=22.33
            ),
        ],
    )
    assert lot.recovered() == MetalMass(cobalt=9_436, lithium=1_879, nickel=26_796)
    recycler.record_lot(lot)
    production = certifier.certify_lot(digest("coc-lot"), issued_at=datetime(2030, 11, 20, tzinfo=UTC))
    for element, grams in lot.recovered().model_dump().items():
        if grams:
            recycler.transfer(maker.ledger.account, E(element), grams, post_consumer=True)
    sources = [
        CreditSource(
            production_certificate_digest=hex32(production.digest),
            production_certificate_cid=production.cid,
            metal=element,
            post_consumer=True,
            grams=lot.recovered().of(element),
        )
        for element in (E.COBALT, E.LITHIUM, E.NICKEL)
    ]
    claim = UsageClaim(
        claim_id=hex32(digest("coc-claim")),
        claimant=maker.ledger.account,
        battery_model="KX-60 model year 2031",
        plant="Ochang",
        period_start=date(2031, 1, 1),
        period_end=date(2031, 6, 30),
        passports=[hex32(digest("new-passport-1")), hex32(digest("new-passport-2"))],
        metal_in_scope=MetalMass(cobalt=50_000, lithium=20_000, nickel=300_000),
        retired_pre_consumer=MetalMass(),
        retired_post_consumer=lot.recovered(),
        sources=sources,
    )
    maker.submit_claim(claim)
    assert maker.ledger.credit_balance(maker.ledger.account, Metal.NICKEL, post_consumer=True) == 0
    certificate = certifier.certify_usage(digest("coc-claim"), issued_at=datetime(2031, 7, 5, tzinfo=UTC))
    shares = maker.passport_shares(certificate)
    evidence = collect_evidence(
        shares, store=store, ledger=world["stranger"], chain=backend.actors["stranger"].client
    )
    return Loop(evidence, [certifier.ledger.account], certificate, shares)


def test_the_passport_figure_follows_back_to_the_recycled_batteries(loop: Loop) -> None:
    by = {s.element: s for s in loop.shares}
    assert (by[E.COBALT].post_consumer_percent, by[E.LITHIUM].total_percent, by[E.NICKEL].total_percent) == (
        18.87,
        9.39,
        8.93,
    )
    assert by[E.NICKEL].usage_certificate is not None
    assert by[E.NICKEL].usage_certificate.sha256 == loop.certificate.digest.hex()
    # Offline: the evidence round-trips through JSON and verifies without store or node.
    evidence = Evidence.model_validate_json(loop.evidence.model_dump_json())
    result = verify_evidence(evidence, trusted_certifiers=loop.certifiers)
    assert result.ok, [c for c in result.checks if not c.ok]
    names = {c.name for c in result.checks}
    assert {"feedstock.passports", "lot.recovery_cap", "production_certificate.on_chain"} <= names
    assert sum(c.name == "feedstock.passports" for c in result.checks) == 2


def _edit(evidence: Evidence, change: Callable[[dict[str, Any]], None]) -> Evidence:
    data = evidence.model_dump(mode="json")
    change(data)
    return Evidence.model_validate(data)


def _doc(data: dict[str, Any], kind: str) -> str:
    for key, encoded in data["documents"].items():
        if f"/{kind}/" in base64.b64decode(encoded).decode():
            return str(key)
    raise AssertionError(kind)


def _rewrite(data: dict[str, Any], kind: str, edit: Callable[[str], str]) -> None:
    key = _doc(data, kind)
    text = base64.b64decode(data["documents"][key]).decode()
    data["documents"][key] = base64.b64encode(edit(text).encode()).decode()


def _flip_share(data: dict[str, Any]) -> None:
    data["shares"][0]["post_consumer_percent"] += 1
    data["shares"][0]["total_percent"] += 1


TAMPERING: dict[str, Callable[[dict[str, Any]], None]] = {
    "passport.shares": _flip_share,
    "passport.certificate_link": lambda d: _rewrite(
        d, "recycled-content-usage-certificate", lambda t: t.replace("Ochang", "Ochanq")
    ),
    "usage_certificate.on_chain": lambda d: d["claim"].update(status=1),
    "usage_claim.link": lambda d: _rewrite(
        d, "recycled-content-usage-claim", lambda t: t.replace("2031", "2032")
    ),
    "retired_credits.on_chain": lambda d: d["claim"].update(post_consumer_grams=[9_436, 1_879, 26_795, 0]),
    "retired_credits.sources": lambda d: d["documents"].pop(
        _doc(d, "recycled-material-production-certificate")
    ),
    "production_certificate.on_chain": lambda d: next(iter(d["lots"].values())).update(
        certificate_digest="0x" + "ab" * 32
    ),
    "lot.link": lambda d: _rewrite(d, "recycled-lot", lambda t: t.replace("Gumi", "Gumy")),
    "lot.on_chain": lambda d: next(iter(d["lots"].values())).update(feedstock=[]),
    "lot.recovery_cap": lambda d: d.update(max_recovery_bps=[9_000, 9_500, 9_800, 9_900]),
    "feedstock.passports": lambda d: next(iter(d["feedstock"].values())).update(status=0),
}


@pytest.mark.parametrize("check", sorted(TAMPERING))
def test_tampering_with_a_link_fails_its_check(loop: Loop, check: str) -> None:
    evidence = _edit(loop.evidence, TAMPERING[check])
    result = verify_evidence(evidence, trusted_certifiers=loop.certifiers)
    assert not result.ok
    assert check in result.failed, result.failed


def test_an_untrusted_certifier_fails_the_signature_checks(loop: Loop) -> None:
    result = verify_evidence(loop.evidence, trusted_certifiers=["0x" + "11" * 20])
    assert result.failed == ["usage_certificate.signature", "production_certificate.signature"]


def test_a_re_signed_certificate_from_someone_else_is_caught(loop: Loop) -> None:
    """A forger re-signs a usage certificate with better shares and points the passport at it."""
    data = loop.evidence.model_dump(mode="json")
    key = _doc(data, "recycled-content-usage-certificate")
    original = UsageCertificate.model_validate(
        json.loads(base64.b64decode(data["documents"][key]))["document"]
    )
    forged = original.model_copy(
        update={"shares": [s.model_copy(update={"usage_certificate": None}) for s in original.shares]}
    )
    signed = sign_document(forged, MATERIAL_KEYS["cellmaker"])
    new_key = hex32(document_digest(signed))
    data["documents"][new_key] = base64.b64encode(signed).decode()
    for share in data["shares"]:
        share["usage_certificate"]["sha256"] = new_key.removeprefix("0x")
    result = verify_evidence(Evidence.model_validate(data), trusted_certifiers=loop.certifiers)
    assert "usage_certificate.signature" in result.failed
    assert "usage_certificate.on_chain" in result.failed


def test_the_certifier_refuses_a_lot_whose_document_disagrees_with_the_chain(
    eth_tester_backend: ChainBackend, tmp_path: Path
) -> None:
    world = material_world(eth_tester_backend)
    store = EmbeddedStore(tmp_path, durable=False)
    with eth_tester_backend.isolated():
        feed = waste_in_custody(eth_tester_backend, "liar")
        lot = RecycledLot(
            lot_id=hex32(digest("liar-lot")),
            recycler=world["recycler"].account,
            post_consumer=True,
            process="p",
            plant="p",
            produced_on=date(2030, 1, 1),
            feedstock=[
                FeedstockBattery(
                    passport_id=hex32(feed),
                    manifest_digest=hex32(digest("liar:2")),
                    metal=MetalMass(nickel=10_000),
                )
            ],
            outputs=[
                RecoveredOutput(
                    metal=E.NICKEL, compound="Ni", compound_grams=9_000, metal_content_percent=100
                )
            ],
        )
        data = sign_document(lot, eth_tester_backend.actors["recycler"].key)
        store.put(data)
        # The chain records more nickel than the document shows.
        world["recycler"].record_lot(
            digest("liar-lot"),
            post_consumer=True,
            feedstock=[feed],
            feedstock_grams=(0, 0, 10_000, 0),
            recovered_grams=(0, 0, 9_500, 0),
            document_digest=document_digest(data),
        )
        certifier = MaterialsService(world["certifier"], store, signer_key=MATERIAL_KEYS["certifier"])
        with pytest.raises(MassBalanceError, match="amounts are not those recorded"):
            certifier.certify_lot(digest("liar-lot"))
