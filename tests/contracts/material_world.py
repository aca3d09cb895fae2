"""The recycled-material ledger deployed beside the fixture registry, and helpers that make feedstock.

``material_world(backend)`` deploys ``RecycledMaterialLedger`` once per backend (cached), funds a
``certifier`` and a ``cellmaker`` account, grants RECYCLER to the fixture ``recycler`` and CERTIFIER to the
certifier. Deployment happens outside any snapshot, so per-test snapshots (``ledger``) keep it.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_utils.crypto import keccak
from web3.types import Wei

from passport.chain.material_ledger import DEFAULT_MAX_RECOVERY_BPS, MaterialRole
from passport.chain.material_web3 import Web3MaterialLedger, deploy_material_ledger
from passport.model import InspectionKind
from passport.model import LifecycleStatus as S
from tests.chain_backends import SETTINGS, Actor, ChainBackend, digest, passport_id

MATERIAL_KEYS = {
    name: keccak(text=f"battery-passport-ledger/tests/materials/{name}")
    for name in ("certifier", "cellmaker")
}
BATTERY = digest("material-battery")


@dataclass(frozen=True)
class MaterialWorld:
    """Material-ledger clients per actor (fixture actors plus certifier and cellmaker)."""

    address: str
    clients: dict[str, Web3MaterialLedger]

    def __getitem__(self, name: str) -> Web3MaterialLedger:
        return self.clients[name]


_WORLDS: dict[int, MaterialWorld] = {}


def material_world(backend: ChainBackend) -> MaterialWorld:
    """The material ledger on ``backend`` (deployed on first use)."""
    world = _WORLDS.get(id(backend))
    if world is not None:
        return world
    admin = backend.actors["admin"]
    funder = backend.w3.eth.accounts[0]
    for key in MATERIAL_KEYS.values():
        tx = backend.w3.eth.send_transaction(
            {"from": funder, "to": Account.from_key(key).address, "value": Wei(10**19)}
        )
        backend.w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.005)
    address, _ = deploy_material_ledger(
        backend.w3, admin.key, backend.registry_address, settings=SETTINGS, nonces=admin.client._sender.nonces
    )
    keys = {name: actor.key for name, actor in backend.actors.items()} | MATERIAL_KEYS
    clients = {name: Web3MaterialLedger.for_client(admin.client, address, key) for name, key in keys.items()}
    clients["admin"].grant_role(MaterialRole.RECYCLER, clients["recycler"].account)
    clients["admin"].grant_role(MaterialRole.CERTIFIER, clients["certifier"].account)
    assert clients["admin"].max_recovery(0) == DEFAULT_MAX_RECOVERY_BPS[0]  # type: ignore[arg-type]
    world = MaterialWorld(address, clients)
    _WORLDS[id(backend)] = world
    return world


def waste_in_custody(
    backend: ChainBackend, label: str, holder: str = "recycler", *, recycled: bool = False
) -> bytes:
    """A passport issued by ``issuer``, declared waste and handed to ``holder`` (and recycled if asked)."""
    issuer: Actor = backend.actors["issuer"]
    receiver: Actor = backend.actors[holder]
    pid = passport_id(f"material:{label}")
    issuer.client.issue_passport(
        pid, BATTERY, digest(f"{label}:1"), issuer.sign(pid, BATTERY, 1, S.ORIGINAL, digest(f"{label}:1"))
    )
    issuer.client.change_status(
        pid, S.WASTE, digest(f"{label}:2"), issuer.sign_next(pid, digest(f"{label}:2"), S.WASTE)
    )
    if holder not in ("issuer", "recycler"):
        # A used battery goes to a non-recycler only after a passed pre-distribution inspection.
        inspector: Actor = backend.actors["inspector"]
        manifest = digest(f"{label}:inspected")
        inspector.client.record_inspection(
            pid, InspectionKind.PRE_DISTRIBUTION, True, backend.now() + 3600, manifest,
            inspector.sign_next(pid, manifest),
        )  # fmt: skip
    if holder != "issuer":
        issuer.client.offer_custody(pid, receiver.address, backend.now() + 3600)
        receiver.client.accept_custody(pid)
    if recycled:
        receiver.client.recycle(
            pid, digest(f"{label}:3"), receiver.sign_next(pid, digest(f"{label}:3"), S.RECYCLED)
        )
    return pid


def original_passport(backend: ChainBackend, label: str) -> bytes:
    """A passport still in its first life (not valid feedstock)."""
    issuer: Actor = backend.actors["issuer"]
    pid = passport_id(f"material:{label}")
    issuer.client.issue_passport(
        pid, BATTERY, digest(f"{label}:1"), issuer.sign(pid, BATTERY, 1, S.ORIGINAL, digest(f"{label}:1"))
    )
    return pid
