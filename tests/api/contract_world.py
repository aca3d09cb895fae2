"""A ledger on the in-process eth-tester chain with one API key per role, for the HTTP contract run.

Every role the API knows gets a participant and a key (plus ``anonymous``: no key), and the ledger holds a
passport so that some generated requests reach real records rather than only 404s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from api.app import create_app
from api.auth import ApiRole
from api.services import Services
from devtools.samples import sample_passport
from oracle.devices import DeviceKey
from passport.chain.material_web3 import deploy_material_ledger
from passport.chain.services_web3 import deploy_services
from tests.api.api_stack import PARTICIPANTS, build_services, new_battery_id
from tests.chain_backends import SETTINGS, running_backend

# The participant whose key speaks for each role (``anonymous`` sends none).
ROLE_PARTICIPANT: dict[str, str | None] = {
    "anonymous": None,
    "admin": "admin",
    "issuer": "issuer",
    "oracle": "oracle",
    "inspector": "inspector",
    "repurposer": "repurposer",
    "recycler": "recycler",
    "auditor": "auditor",
    "business": "business",
    "authority": "authority",
    "owner": "owner",
    "device": "device",
}
assert set(ROLE_PARTICIPANT) == {"anonymous", *(r.value for r in ApiRole)}


@dataclass
class ContractWorld:
    app: FastAPI
    services: Services
    passport_id: str
    battery_id: str
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        name = ROLE_PARTICIPANT[role]
        return {} if name is None else {"Authorization": f"Bearer {self.keys[name]}"}


@contextmanager
def contract_world(data_dir: Path) -> Iterator[ContractWorld]:
    with running_backend("eth-tester", data_dir / "chain") as backend:
        services = build_services(backend, data_dir / "data")
        # eth-tester is not built for concurrent callers: routes sync the index themselves, so the
        # background follower only needs to tick rarely.
        services.index_interval = 3600.0
        # The recycled-material ledger beside the registry, so its routes answer from a real contract.
        admin = backend.actors["admin"]
        services.material_ledger_address, _ = deploy_material_ledger(
            backend.w3,
            admin.key,
            backend.registry_address,
            settings=SETTINGS,
            nonces=admin.client._sender.nonces,
        )
        # The battery-services contract too, wired into the registry (consent is then asked on custody).
        services.services_address, _ = deploy_services(
            backend.w3,
            admin.key,
            backend.registry_address,
            settings=SETTINGS,
            nonces=admin.client._sender.nonces,
        )
        admin.client.set_services(services.services_address)
        try:
            battery_id = new_battery_id()
            passport = sample_passport(battery_id)
            services.passports_for(services.api_keys.participant("issuer")).issue(passport)
            store = services.api_keys
            store.upsert_participant("owner", [ApiRole.OWNER], battery_ids=[battery_id])
            store.upsert_participant(
                "device", [ApiRole.DEVICE], device_id="dev-contract", battery_ids=[battery_id]
            )
            assert services.journal is not None
            services.journal.register_device("dev-contract", DeviceKey.generate().address, battery_id)
            keys = {name: store.issue_key(name) for name in [*PARTICIPANTS, "owner", "device"]}
            app = create_app(services.settings, services=services)
            yield ContractWorld(app, services, str(passport.passport_id), battery_id, keys)
        finally:
            services.close()
