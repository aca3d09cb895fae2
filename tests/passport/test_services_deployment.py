"""The deploy command deploys ``BatteryServices`` beside the registry and points the registry at it;
a manifest from before it gains it on the next deploy; ``open_ledger`` hands participants a client."""

from __future__ import annotations

import json

import pytest

from passport.chain.deployment import deploy, load_deployment
from passport.chain.services import ServicesRole
from passport.ledger import open_ledger
from tests.passport.test_deployment import Chain
from tests.passport.test_material_deployment import anvil_chain  # noqa: F401 - the fixture

_SERVICES_FIELDS = (
    "services_address",
    "services_tx_hash",
    "services_code_sha256",
    "services_artifacts",
    "services_operators",
)


@pytest.mark.node
def test_deploy_adds_the_services_contract_and_wires_the_registry(anvil_chain: Chain) -> None:  # noqa: F811
    chain = anvil_chain
    manifest = deploy(chain.settings)
    assert manifest.services_address is not None
    assert manifest.services_operators == (chain.keystore.address("collector"),)
    ledger = open_ledger(chain.settings)
    assert ledger.client(None).services_address() == manifest.services_address
    services = ledger.services_ledger("collector")
    assert services.account == chain.keystore.address("collector")
    assert services.has_role(ServicesRole.OPERATOR, chain.keystore.address("collector"))
    assert ledger.service_models("issuer").ledger.account == chain.keystore.address("issuer")

    document = json.loads(chain.settings.deployment_manifest.read_text())
    for name in _SERVICES_FIELDS:
        document.pop(name)
    chain.settings.deployment_manifest.write_text(json.dumps(document))
    assert load_deployment(chain.settings).services_address is None
    upgraded = deploy(chain.settings)
    assert upgraded.registry_address == manifest.registry_address
    assert upgraded.services_address not in (None, manifest.services_address)
    assert open_ledger(chain.settings).client(None).services_address() == upgraded.services_address
    assert deploy(chain.settings) == upgraded
