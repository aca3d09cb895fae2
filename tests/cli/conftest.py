"""The ledger the ledger-backed commands act on: ``PASSPORT_*`` pointing at a registry deployed for the test.

The commands read everything from settings (an RPC URL, a data dir with the deployment manifest and
keystore), so these suites run on the node backends; eth-tester has no URL to point them at. The
registry is deployed with ``passport.chain.deployment.deploy`` inside the test's snapshot.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from passport.chain.deployment import RoleGrant, deploy
from passport.chain.keystore import Keystore
from passport.chain.records import Role
from passport.settings import Settings
from tests.chain_backends import ACTOR_KEYS, Actor, ChainBackend
from tests.cli.runner import BASE_URL


@pytest.fixture
def deployed(
    ledger: ChainBackend,
    issuer: Actor,
    business: Actor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A fresh registry with admin, issuer and business in the keystore; its address."""
    assert ledger.url is not None
    for name, value in {
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(tmp_path / "data"),
        "PASSPORT_RPC_URL": ledger.url,
        "PASSPORT_PUBLIC_BASE_URL": BASE_URL,
        "PASSPORT_POLL_LATENCY": "0.005",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.load()
    keystore = Keystore.from_settings(settings)
    keystore.import_key("admin", ACTOR_KEYS["admin"])
    keystore.import_key("issuer", issuer.key)
    keystore.import_key("business", business.key)
    manifest = deploy(
        settings,
        deployer_key=ACTOR_KEYS["admin"],
        role_grants=[RoleGrant(role=Role.ISSUER, account=issuer.address, participant="issuer")],
    )
    return manifest.registry_address
