"""A test-only ``PassportPageSource`` with fixed views, shared by the page, QR and browser tests.

The page is a UI component: these tests pin what it shows for given views. The real source (ledger,
store, oracle) is wired by the application and plugged into the same browser suite as another scenario.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import cache

from api.auth import ApiRole, Caller
from api.errors import NotFound
from api.web import (
    CheckOutcome,
    CustodyEntryView,
    CustodyKind,
    FactGroup,
    HealthPointView,
    PassportPageView,
    VerificationCheckView,
    VerificationView,
    bundle_path,
    qr_svg_path,
)
from api.web.groups import passport_groups
from devtools.samples import sample_passport
from passport.model import AccessTier, PassportView

PASSPORT_ID = "6f1c2a4e-8b3d-4c1e-9a7f-2d5b8e0c4a11"
PREDECESSOR_ID = "0b7e4d2c-1a3f-4e5d-8c6b-9f0a1b2c3d4e"
BATTERY_ID = "BAT-2026-000123"
ISSUER = "0x" + "1a" * 20
DEALER = "0x" + "2b" * 20
OWNER = "0x" + "3c" * 20

OFFLINE_CHECKS = (
    "bundle.format",
    "manifest.schema",
    "manifest.digest",
    "manifest.cid",
    "manifest.consistency",
    "public_section.digest",
    "public_section.cid",
    "public_section.document",
    "signature.recover",
    "signature.trusted_issuer",
)
CHAIN_CHECKS = (
    "chain.network",
    "chain.record_exists",
    "chain.digest_matches",
    "chain.current_version",
    "chain.lifecycle",
    "chain.status_matches",
    "chain.identity",
    "chain.custody",
    "chain.signature_onchain",
    "chain.anchor",
    "store.sections",
)
# The check names are ``passport.verify``'s. After someone rewrites the stored public section, its bytes
# no longer hash to the manifest's digest nor to its CID; everything the manifest commits to still holds.
TAMPERED_CHECKS = ("public_section.digest", "public_section.cid")


def passing_verification() -> VerificationView:
    return VerificationView(
        ok=True,
        checks=tuple(
            VerificationCheckView(name=name, outcome=CheckOutcome.PASS, reason="ok")
            for name in OFFLINE_CHECKS + CHAIN_CHECKS
        ),
    )


def tampered_verification() -> VerificationView:
    checks = []
    for name in OFFLINE_CHECKS + CHAIN_CHECKS:
        if name in TAMPERED_CHECKS:
            checks.append(
                VerificationCheckView(
                    name=name,
                    outcome=CheckOutcome.FAIL,
                    reason="sha-256 of the stored section is not the manifest's digest",
                )
            )
        else:
            checks.append(VerificationCheckView(name=name, outcome=CheckOutcome.PASS, reason="ok"))
    return VerificationView(ok=False, checks=tuple(checks))


# What a reader must find in each group of the full sample passport's page, per language.
_GROUP_TEXTS_EN = {
    "general": (
        "Battery identifier",
        "Electric vehicle battery",
        "Hanbit Energy Solutions Co., Ltd.",
        "BPNL00000007HBES",
        "Ochang plant 1",
        "July 15, 2024",
        "477 kg",
        "2,050 mm",
        "10 yrs",
        "8507 60 00 00",
        "Approved",
    ),
    "carbon_footprint": ("61.3 kg CO₂e/kWh", "44.1 kg CO₂e/kWh", "Carbon footprint study (public version)"),
    "due_diligence": (
        "Supply chain due diligence report 2024",
        "Third-party verification (notified body 2841)",
    ),
    "materials": (
        "NCM811 / graphite-SiOx",
        "cobalt, lithium, manganese, natural graphite, nickel",
        "cadmium",
        "2 ppm",
    ),
    "circularity": ("Cobalt", "16%", "3.5%", "Water (large quantities, for cooling)", "RMC-2024-0193"),
    "performance": (
        "111.2 Ah",
        "77.4 kWh",
        "697 V",
        "250,000 W",
        "0.0011 Ω",
        "-30°C",
        "60°C",
        "2,000 cycles",
    ),
    "conformity": ("CE marking", "Separate collection symbol", "DoC-HES-E77N-192S-2024-01"),
}
_GROUP_TEXTS_KO = {
    "general": ("배터리 식별자", "전기차 배터리", "2024년 7월 15일", "477kg", "10년", "승인됨"),
    "carbon_footprint": ("kWh당 탄소발자국 (합계)", "61.3 kg CO₂e/kWh"),
    "due_diligence": ("실사 보고서",),
    "materials": ("유해 물질", "2ppm"),
    "circularity": ("코발트", "16%"),
    "performance": ("정격 용량", "111.2 Ah", "697V", "2,000회 사이클"),
    "conformity": ("CE 마크", "분리 수거 기호"),
}


GROUP_TEXTS = {"en": _GROUP_TEXTS_EN, "ko": _GROUP_TEXTS_KO}


def health_history(n: int = 6) -> tuple[HealthPointView, ...]:
    start = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
    return tuple(
        HealthPointView(
            at=start + timedelta(days=60 * i), soh_percent=99.5 - 1.6 * i, capacity_ah=230.0 - 3.7 * i
        )
        for i in range(n)
    )


@cache
def public_groups(passport_id: str = PASSPORT_ID) -> tuple[FactGroup, ...]:
    """The groups a QR scan shows for the full sample passport (``devtools.samples``) of the battery."""
    sample = sample_passport(BATTERY_ID, passport_id=uuid.UUID(passport_id))
    return passport_groups(PassportView.of(sample, {AccessTier.PUBLIC}))


def sample_view(passport_id: str = PASSPORT_ID, /, **changes: object) -> PassportPageView:
    base: dict[str, object] = {
        "passport_id": passport_id,
        "battery_id": BATTERY_ID,
        "category": "EV",
        "chemistry": "NMC811",
        "manufacturer": "Voltwerk Batteries GmbH",
        "status": "ORIGINAL",
        "version": 3,
        "predecessor_id": None,
        "successor_id": None,
        "custodian": OWNER,
        "custody": (
            CustodyEntryView(
                at=datetime(2025, 2, 1, 10, 0, tzinfo=UTC),
                from_party=ISSUER,
                to_party=DEALER,
                kind=CustodyKind.OFFERED,
                tx_hash="0x" + "aa" * 32,
            ),
            CustodyEntryView(
                at=datetime(2025, 2, 2, 11, 0, tzinfo=UTC),
                from_party=ISSUER,
                to_party=DEALER,
                kind=CustodyKind.ACCEPTED,
                tx_hash="0x" + "bb" * 32,
            ),
            CustodyEntryView(
                at=datetime(2025, 6, 3, 12, 0, tzinfo=UTC),
                from_party=DEALER,
                to_party=OWNER,
                kind=CustodyKind.ACCEPTED,
                tx_hash="0x" + "cc" * 32,
            ),
        ),
        "verification": passing_verification(),
        "health": health_history(),
        "qr_url": qr_svg_path(passport_id),
        "bundle_url": bundle_path(passport_id),
        "groups": public_groups(passport_id),
    }
    base.update(changes)
    return PassportPageView.model_validate(base)


def owner_caller(battery_id: str = BATTERY_ID) -> Caller:
    return Caller(name="ev-owner", roles=frozenset({ApiRole.OWNER}), battery_ids=frozenset({battery_id}))


class FixedPageSource:
    """Fixed views by passport id, filtered the way the real source filters: restricted health data is
    shown to the battery's owner, an authority or an inspector, and to nobody else."""

    def __init__(self, *views: PassportPageView) -> None:
        self.views = {view.passport_id: view for view in views}
        self.requests: list[tuple[str, Caller | None]] = []

    def page_view(self, passport_id: str, caller: Caller | None) -> PassportPageView:
        self.requests.append((passport_id, caller))
        view = self.views.get(passport_id)
        if view is None:
            raise NotFound(f"no passport {passport_id}")
        may_see = caller is not None and (
            caller.has(ApiRole.AUTHORITY, ApiRole.INSPECTOR) or view.battery_id in caller.battery_ids
        )
        return view if may_see else view.model_copy(update={"health": None})

    def tamper(self, passport_id: str) -> str:
        """Report what verification would report after the stored public section was rewritten."""
        self.views[passport_id] = self.views[passport_id].model_copy(
            update={"verification": tampered_verification()}
        )
        return TAMPERED_CHECKS[0]
