"""The deploy command deploys the recycled-material ledger beside the registry; old manifests still load
and gain it on the next deploy; ``open_ledger`` hands participants a client for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.localchain import AnvilNode
from devtools.localnodes import free_port
from passport.chain.deployment import DeploymentManifest, deploy, load_deployment
from passport.chain.material_ledger import MaterialRole, Metal
from passport.ledger import open_ledger
from tests.passport.test_deployment import Chain, _settings


@pytest.fixture
def anvil_chain(tmp_path: Path) -> Iterator[Chain]:
    settings = _settings(tmp_path / "data", "test", free_port())
    chain = Chain(AnvilNode(settings.chain_dir, port=settings.local_chain_port, chain_id=1337), settings)
    try:
        yield chain.start()
    finally:
        chain.node.stop()


_MATERIAL_FIELDS = (
    "material_ledger_address",
    "material_ledger_tx_hash",
    "material_ledger_code_sha256",
    "material_ledger_artifacts",
    "material_role_grants",
)


@pytest.mark.node
def test_deploy_adds_the_material_ledger_and_open_ledger_serves_it(anvil_chain: Chain) -> None:
    chain = anvil_chain
    manifest = deploy(chain.settings)
    assert manifest.material_ledger_address is not None
    grants = {(g.role, g.participant) for g in manifest.material_role_grants}
    assert grants == {("RECYCLER", "recycler"), ("CERTIFIER", "certifier")}
    ledger = open_ledger(chain.settings)
    materials = ledger.material_ledger("certifier")
    assert materials.account == chain.keystore.address("certifier")
    assert materials.has_role(MaterialRole.CERTIFIER, chain.keystore.address("certifier"))
    assert materials.has_role(MaterialRole.RECYCLER, chain.keystore.address("recycler"))
    assert ledger.material_ledger(None).max_recovery(Metal.COBALT) == 9_800
    assert ledger.materials("recycler").ledger.account == chain.keystore.address("recycler")

    # A manifest written before the material ledger existed still loads, and the next deploy adds the
    # ledger beside the same registry instead of redeploying it.
    document = json.loads(chain.settings.deployment_manifest.read_text())
    for name in _MATERIAL_FIELDS:
        document.pop(name)
    chain.settings.deployment_manifest.write_text(json.dumps(document))
    old = load_deployment(chain.settings)
    assert old.material_ledger_address is None
    assert isinstance(old, DeploymentManifest)
    upgraded = deploy(chain.settings)
    assert upgraded.registry_address == manifest.registry_address
    assert upgraded.material_ledger_address not in (None, manifest.material_ledger_address)
    assert load_deployment(chain.settings) == upgraded
    assert deploy(chain.settings) == upgraded  # and then it is a no-op
