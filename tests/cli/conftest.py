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
def ledger_settings(
    ledger: ChainBackend,
    issuer: Actor,
    business: Actor,
    oracle: Actor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """``PASSPORT_*`` pointing at a fresh registry (issuer and oracle roles granted), with admin, issuer,
    business and oracle in the keystore; the settings the commands will load."""
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
    actors = {
        "admin": ACTOR_KEYS["admin"],
        "issuer": issuer.key,
        "business": business.key,
        "oracle": oracle.key,
    }
    for name, key in actors.items():
        keystore.import_key(name, key)
    deploy(
        settings,
        deployer_key=ACTOR_KEYS["admin"],
        role_grants=[
            RoleGrant(role=Role.ISSUER, account=issuer.address, participant="issuer"),
            RoleGrant(role=Role.ORACLE, account=oracle.address, participant="oracle"),
        ],
    )
    return settings


@pytest.fixture
def deployed(ledger_settings: Settings) -> str:
    """The registry ``ledger_settings`` deployed; its address."""
    from passport.chain.deployment import load_deployment

    return load_deployment(ledger_settings).registry_address
