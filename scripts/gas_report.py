"""Per-function gas of ``BatteryPassportRegistry``, as a markdown table (``python -m scripts.gas_report``).

Deploys the packaged artifact on eth-tester in process (or on a fresh anvil with ``--backend anvil``),
walks a passport through its whole life with one account per role, and reports each transaction's gas.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.types import Wei

from devtools.localnodes import ManagedProcess, free_port, node_tool
from passport.chain import PassportIssue, Role, TxReceipt, Web3ChainClient, connect, deploy_registry
from passport.chain.services import (
    ClaimKind,
    ConsentAction,
    HandOver,
    HolderKind,
    ServicesRole,
    StorageRole,
    site_hash,
    station_hash,
    vehicle_hash,
)
from passport.chain.services_web3 import Web3BatteryServices, deploy_services
from passport.ids import ZERO32
from passport.model import AnchorKind, BusinessKind, InspectionKind, LifecycleStatus
from passport.settings import Settings
from passport.signing import PassportDomain, PassportVersion, sign_passport_version

RECORDS_PER_BATCH = 1000
BATCH_PASSPORTS = 50
ROLES = ("admin", "issuer", "inspector", "repurposer", "recycler", "oracle", "business", "lessor", "operator")


def _h(label: str) -> bytes:
    return keccak(text=f"gas-report:{label}")


def run(w3: Web3, settings: Settings) -> list[tuple[str, int, str]]:
    keys = {name: _h(f"key:{name}") for name in ROLES}
    funder = w3.eth.accounts[0]
    for key in keys.values():
        tx = w3.eth.send_transaction(
            {"from": funder, "to": Account.from_key(key).address, "value": Wei(10**19)}
        )
        w3.eth.wait_for_transaction_receipt(tx)
    rows: list[tuple[str, int, str]] = []
    address, deployed = deploy_registry(w3, keys["admin"], settings=settings)
    rows.append(("deployment", deployed.gas_used, "once"))
    admin = Web3ChainClient.from_web3(w3, keys["admin"], address, settings=settings)
    c = {name: admin.as_account(key) for name, key in keys.items()}
    domain = PassportDomain(admin.chain_id, address)

    def sign(
        who: str, pid: bytes, version: int, status: LifecycleStatus, manifest: bytes, pred: bytes = ZERO32
    ) -> bytes:
        return sign_passport_version(
            keys[who], domain, PassportVersion(pid, _h("battery"), version, status, manifest, pred)
        )

    def record(name: str, note: str, send: Callable[[], TxReceipt]) -> None:
        rows.append((name, send().gas_used, note))

    record("grantRole", "", lambda: admin.grant_role(Role.ISSUER, c["issuer"].account))
    for role in (Role.INSPECTOR, Role.REPURPOSER, Role.RECYCLER, Role.ORACLE):
        admin.grant_role(role, c[role.name.lower()].account)
    record(
        "revokeRole", "role not held (no-op)", lambda: admin.revoke_role(Role.AUDITOR, c["issuer"].account)
    )
    record(
        "registerBusiness",
        "",
        lambda: admin.register_business(c["business"].account, BusinessKind.COLLECTOR, _h("r")),
    )
    record("suspendBusiness", "", lambda: admin.suspend_business(c["business"].account))
    record("reinstateBusiness", "", lambda: admin.reinstate_business(c["business"].account))
    for who, kinds in (("repurposer", BusinessKind.REPURPOSER), ("recycler", BusinessKind.RECYCLER)):
        admin.register_business(c[who].account, kinds, _h(who))

    pid, m = _h("passport"), [_h(f"manifest{i}") for i in range(6)]
    record(
        "issuePassport",
        "new passport, version 1",
        lambda: c["issuer"].issue_passport(
            pid, _h("battery"), m[1], sign("issuer", pid, 1, LifecycleStatus.ORIGINAL, m[1])
        ),
    )
    batch = [_h(f"batch-passport{i}") for i in range(BATCH_PASSPORTS)]
    issued = c["issuer"].issue_passports(
        [
            PassportIssue(b, _h("battery"), m[1], sign("issuer", b, 1, LifecycleStatus.ORIGINAL, m[1]))
            for b in batch
        ]
    )
    rows.append(
        (
            "issuePassports",
            issued.gas_used,
            f"{issued.gas_used / BATCH_PASSPORTS:,.0f} gas/passport at {BATCH_PASSPORTS}",
        )
    )
    record(
        "updatePassport",
        "new version (inspector)",
        lambda: c["inspector"].update_passport(
            pid, m[2], sign("inspector", pid, 2, LifecycleStatus.ORIGINAL, m[2])
        ),
    )
    expires = int(w3.eth.get_block("latest")["timestamp"]) + 3600
    record("offerCustody", "", lambda: c["issuer"].offer_custody(pid, c["business"].account, expires))
    record("cancelCustodyOffer", "", lambda: c["issuer"].cancel_custody_offer(pid))
    c["issuer"].offer_custody(pid, c["business"].account, expires)
    record("acceptCustody", "", lambda: c["business"].accept_custody(pid))
    record(
        "changeStatus",
        "Original to ReUsed",
        lambda: c["business"].change_status(
            pid, LifecycleStatus.REUSED, m[3], sign("business", pid, 3, LifecycleStatus.REUSED, m[3])
        ),
    )
    # A used battery passes to a non-recycler only with a valid pre-distribution inspection.
    record(
        "recordInspection",
        "pre-distribution, passed (first safety record)",
        lambda: c["inspector"].record_inspection(
            pid,
            InspectionKind.PRE_DISTRIBUTION,
            True,
            expires,
            m[0],
            sign("inspector", pid, 4, LifecycleStatus.REUSED, m[0]),
        ),
    )
    record(
        "recordIncident",
        "not serious (custodian)",
        lambda: c["business"].record_incident(
            pid, False, m[2], sign("business", pid, 5, LifecycleStatus.REUSED, m[2])
        ),
    )
    c["business"].offer_custody(pid, c["repurposer"].account, expires)
    c["repurposer"].accept_custody(pid)
    successor = _h("successor")
    first_life_two = sign_passport_version(
        keys["repurposer"],
        domain,
        PassportVersion(successor, _h("battery"), 1, LifecycleStatus.REPURPOSED, m[4], pid),
    )
    record(
        "issueSuccessor",
        "new passport + closes predecessor",
        lambda: c["repurposer"].issue_successor(
            pid, successor, _h("battery"), LifecycleStatus.REPURPOSED, m[4], first_life_two
        ),
    )
    waste = sign_passport_version(
        keys["repurposer"],
        domain,
        PassportVersion(successor, _h("battery"), 2, LifecycleStatus.WASTE, m[5], pid),
    )
    c["repurposer"].change_status(successor, LifecycleStatus.WASTE, m[5], waste)
    c["repurposer"].offer_custody(successor, c["recycler"].account, expires)
    c["recycler"].accept_custody(successor)
    final = sign_passport_version(
        keys["recycler"],
        domain,
        PassportVersion(successor, _h("battery"), 3, LifecycleStatus.RECYCLED, m[0], pid),
    )
    record("recycle", "Waste to Recycled", lambda: c["recycler"].recycle(successor, m[0], final))
    anchor = c["oracle"].anchor_batch(_h("root"), _h("cid"), RECORDS_PER_BATCH, AnchorKind.CHARGING)
    rows.append(
        (
            "anchorBatch",
            anchor.gas_used,
            f"{anchor.gas_used / RECORDS_PER_BATCH:.1f} gas/record at {RECORDS_PER_BATCH:,}",
        )
    )
    roots = [(_h(f"root-{i}"), _h(f"cid-{i}"), RECORDS_PER_BATCH, AnchorKind.CHARGING) for i in range(16)]
    many = c["oracle"].anchor_batches(roots)
    rows.append(
        (
            "anchorBatches (16 roots)",
            many.gas_used,
            f"{many.gas_used / (16 * RECORDS_PER_BATCH):.1f} gas/record at 16 x {RECORDS_PER_BATCH:,}",
        )
    )
    rows += _services_rows(w3, settings, keys, admin, sign)
    return rows


def _services_rows(
    w3: Web3,
    settings: Settings,
    keys: dict[str, bytes],
    admin: Web3ChainClient,
    sign: Callable[..., bytes],
) -> list[tuple[str, int, str]]:
    """``BatteryServices`` (issue #19) beside the registry, and what its consent check adds to custody."""
    rows: list[tuple[str, int, str]] = []
    address, deployed = deploy_services(
        w3, keys["admin"], admin.registry_address, settings=settings, nonces=admin._sender.nonces
    )
    rows.append(("BatteryServices deployment", deployed.gas_used, "once, beside the registry"))
    c = {name: admin.as_account(key) for name, key in keys.items()}
    s = {name: Web3BatteryServices.for_client(admin, address, key) for name, key in keys.items()}
    rows.append(("setServices", admin.set_services(address).gas_used, "registry admin: consent checks on"))
    s["admin"].grant_role(ServicesRole.OPERATOR, s["operator"].account)
    a, b, r = _h("svc-a"), _h("svc-b"), _h("svc-r")
    for pid in (a, b, r):
        c["issuer"].issue_passport(
            pid, _h("battery"), _h("m1"), sign("issuer", pid, 1, LifecycleStatus.ORIGINAL, _h("m1"))
        )
    rows.append(
        (
            "recordOwner",
            s["issuer"].record_owner(a, s["lessor"].account).gas_used,
            "issuer sets the legal owner",
        )
    )
    now = int(w3.eth.get_block("latest")["timestamp"])
    rows.append(
        (
            "grantConsent",
            s["lessor"]
            .grant_consent(a, ConsentAction.TRANSFER, c["repurposer"].account, now + 3600)
            .gas_used,
            "owner consents to a transfer to one business",
        )
    )
    rows.append(
        (
            "offerCustody (legal owner set)",
            c["issuer"].offer_custody(a, c["repurposer"].account, now + 3600).gas_used,
            "plus the registry's consent call to BatteryServices",
        )
    )
    rows.append(
        (
            "acceptCustody (legal owner set)",
            c["repurposer"].accept_custody(a).gas_used,
            "consent checked again at acceptance",
        )
    )
    lease = s["lessor"].record_lease(
        _h("lease"), a, c["business"].account, _h("lease-doc"), now, now + 86_400 * 365
    )
    rows.append(("recordLease", lease.gas_used, "digest, parties and term of a signed contract"))
    full, low = HandOver(10_000, 9_700), HandOver(1_500, 9_650)
    vin, station = vehicle_hash("KMHXX81XXMU000001"), station_hash("station-1")
    rows.append(
        (
            "installPack",
            s["operator"].install_pack(b, HolderKind.VEHICLE, vin, full).gas_used,
            "into a vehicle",
        )
    )
    s["operator"].install_pack(r, HolderKind.STATION, station, full)
    rows.append(
        (
            "swap",
            s["operator"].swap(vin, station, b, r, low, full).gas_used,
            "two packs, both legs, one transaction",
        )
    )
    rows.append(("removePack", s["operator"].remove_pack(b, low).gas_used, "out of the station"))
    c["issuer"].offer_custody(r, c["repurposer"].account, now + 3600)
    c["repurposer"].accept_custody(r)
    second = _h("svc-second-life")
    c["repurposer"].issue_successor(
        r, second, _h("battery"), LifecycleStatus.REPURPOSED, _h("m2"),
        sign("repurposer", second, 1, LifecycleStatus.REPURPOSED, _h("m2"), r),
    )  # fmt: skip
    storage = s["repurposer"].record_storage_installation(
        second, site_hash("ess-1"), 48_000, StorageRole.PEAK_SHAVING
    )
    rows.append(("recordStorageInstallation", storage.gas_used, "second-life pack in stationary storage"))
    claim = s["repurposer"].record_claim(second, ClaimKind.ENERGY_DELIVERED, 202611, 812_500, _h("proof"))
    rows.append(("recordClaim", claim.gas_used, "once per battery, kind and month"))
    return rows


def table(rows: list[tuple[str, int, str]], backend: str) -> str:
    lines = [f"| function ({backend}) | gas | note |", "|---|---:|---|"]
    lines += [f"| `{name}` | {gas:,} | {note} |" for name, gas, note in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("eth-tester", "anvil"), default="eth-tester")
    args = parser.parse_args(argv)
    settings = Settings(environment="development")
    if args.backend == "eth-tester":
        print(table(run(Web3(EthereumTesterProvider()), settings), args.backend))
        return 0
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv_node = [
        str(node_tool("@foundry-rs/anvil-linux-amd64/bin/anvil")),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--silent",
    ]
    node = ManagedProcess(
        "anvil", argv_node, Path(tempfile.mkdtemp()), ready=Web3(HTTPProvider(url)).is_connected
    )
    node.start()
    try:
        print(table(run(connect(url, settings), settings), args.backend))
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
