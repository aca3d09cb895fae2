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
from passport.ids import ZERO32
from passport.model import AnchorKind, BusinessKind, InspectionKind, LifecycleStatus
from passport.settings import Settings
from passport.signing import PassportDomain, PassportVersion, sign_passport_version

RECORDS_PER_BATCH = 1000
BATCH_PASSPORTS = 50
ROLES = ("admin", "issuer", "inspector", "repurposer", "recycler", "oracle", "business")


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
