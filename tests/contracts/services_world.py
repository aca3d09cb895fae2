"""``BatteryServices`` deployed beside the fixture registry, with its own actors.

``services_world(backend)`` deploys the contract once per backend (cached), funds a ``lessor`` (a leasing
company, the legal owner) and an ``operator`` (a swap-station operator, granted OPERATOR_ROLE). The
registry is pointed at it per test (``ServicesWorld.wire``, inside the test's snapshot), so suites that
share the session's registry never see it.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_utils.crypto import keccak
from web3.types import Wei

from passport.chain.services import ServicesRole
from passport.chain.services_web3 import Web3BatteryServices, deploy_services
from passport.model import LifecycleStatus as S
from tests.chain_backends import SETTINGS, Actor, ChainBackend, digest, passport_id

SERVICE_KEYS = {
    name: keccak(text=f"battery-passport-ledger/tests/services/{name}") for name in ("lessor", "operator")
}
BATTERY = digest("service-battery")


@dataclass(frozen=True)
class ServicesWorld:
    """Services clients per actor (fixture actors plus lessor and operator)."""

    address: str
    clients: dict[str, Web3BatteryServices]

    def __getitem__(self, name: str) -> Web3BatteryServices:
        return self.clients[name]

    def wire(self, backend: ChainBackend) -> None:
        """Point the registry at the services contract (call inside the test's snapshot)."""
        backend.actors["admin"].client.set_services(self.address)


_WORLDS: dict[int, ServicesWorld] = {}


def services_world(backend: ChainBackend) -> ServicesWorld:
    """The services contract on ``backend`` (deployed on first use)."""
    world = _WORLDS.get(id(backend))
    if world is not None:
        return world
    admin = backend.actors["admin"]
    funder = backend.w3.eth.accounts[0]
    for key in SERVICE_KEYS.values():
        tx = backend.w3.eth.send_transaction(
            {"from": funder, "to": Account.from_key(key).address, "value": Wei(10**19)}
        )
        backend.w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.005)
    address, _ = deploy_services(
        backend.w3, admin.key, backend.registry_address, settings=SETTINGS, nonces=admin.client._sender.nonces
    )
    keys = {name: actor.key for name, actor in backend.actors.items()} | SERVICE_KEYS
    clients = {name: Web3BatteryServices.for_client(admin.client, address, key) for name, key in keys.items()}
    clients["admin"].grant_role(ServicesRole.OPERATOR, clients["operator"].account)
    world = ServicesWorld(address, clients)
    _WORLDS[id(backend)] = world
    return world


def issued(backend: ChainBackend, label: str, *, waste: bool = False) -> bytes:
    """A passport issued (and held) by ``issuer``, declared waste if asked."""
    issuer: Actor = backend.actors["issuer"]
    pid = passport_id(f"services:{label}")
    issuer.client.issue_passport(
        pid, BATTERY, digest(f"{label}:1"), issuer.sign(pid, BATTERY, 1, S.ORIGINAL, digest(f"{label}:1"))
    )
    if waste:
        issuer.client.change_status(
            pid, S.WASTE, digest(f"{label}:2"), issuer.sign_next(pid, digest(f"{label}:2"), S.WASTE)
        )
    return pid


def hand_over(backend: ChainBackend, pid: bytes, holder: str) -> None:
    """Custody from the current custodian (``issuer``) to ``holder``."""
    backend.actors["issuer"].client.offer_custody(pid, backend.actors[holder].address, backend.now() + 3600)
    backend.actors[holder].client.accept_custody(pid)


def repurposed(backend: ChainBackend, label: str) -> bytes:
    """A Repurposed successor passport held by ``repurposer`` (its predecessor closed)."""
    predecessor = issued(backend, label)
    hand_over(backend, predecessor, "repurposer")
    repurposer: Actor = backend.actors["repurposer"]
    pid = passport_id(f"services:{label}:second-life")
    manifest = digest(f"{label}:second-life:1")
    repurposer.client.issue_successor(
        predecessor, pid, BATTERY, S.REPURPOSED, manifest,
        repurposer.sign(pid, BATTERY, 1, S.REPURPOSED, manifest, predecessor),
    )  # fmt: skip
    return pid
