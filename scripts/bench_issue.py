"""``python -m scripts.bench_issue``: batched passport issuance and versions in flight, timed (issue #16).

Sets up a fresh ledger in a temp dir (anvil, the deployment, a durable embedded store) and times:

* ``offchain``: stamping, sectioning, sealing, storing and signing ``--passports`` passports with no
  chain at all (what ``issue_many`` does per passport before it sends), in one syncfs'd store block;
* ``issue``: ``PassportService.issue_many`` of ``--passports`` passports (batched ``issuePassports``);
* ``update``: ``PassportService.update_many`` of ``--updates`` of them (the pilot's health refresh).

Each stage reports wall seconds, this process's CPU seconds and anvil's, passports/s, and for the chain
stages gas per passport. ``--compare DIR`` also runs this same script with the code (and ``.venv``) of
another checkout, e.g. a worktree of main, alternating runs (``--rounds``) so both see the same load;
the machine's load average is recorded with every run. It measures, it never asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools.localchain import local_chain
from devtools.localnodes import free_port
from devtools.samples import sample_passport
from passport.chain.deployment import deploy
from passport.chain.keystore import Keystore
from passport.envelope import KeyRing
from passport.ids import battery_id_hash
from passport.ledger import open_ledger
from passport.model import LifecycleStatus
from passport.sections import commit_passport
from passport.service.passport_service import stamp
from passport.settings import Settings
from passport.signing import PassportDomain, sign_passport_version
from passport.store import EmbeddedStore
from scripts._console import configure_logging
from scripts.demo import ISSUER

QUICK_PASSPORTS = 45  # two issuePassports chunks, the second partial
QUICK_UPDATES = 12


def _load() -> float:
    return os.getloadavg()[0]


def _cpu_of(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far; 0 if it cannot be read."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _stage(out: dict[str, Any], count: int, node_pid: int | None) -> Iterator[None]:
    load = _load()
    wall, cpu, node = time.perf_counter(), time.process_time(), _cpu_of(node_pid)
    yield
    seconds = time.perf_counter() - wall
    out.update(
        count=count,
        wall_s=round(seconds, 3),
        cpu_s=round(time.process_time() - cpu, 3),
        node_cpu_s=round(_cpu_of(node_pid) - node, 3),
        per_s=round(count / seconds, 1) if seconds else None,
        load=round(load, 2),
    )


def _offchain(workdir: Path, count: int) -> Callable[[], None]:
    """Prepare ``count`` passports as ``issue_many`` does before sending, with no chain: a closure."""
    store = EmbeddedStore(workdir / "offchain-store")
    keyring = KeyRing(workdir / "offchain-keys")
    key = bytes.fromhex("ac0974bec39a17e36ba4a4b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    domain = PassportDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
    docs = [sample_passport(f"OFF-{i:05d}", passport_id=uuid.uuid4()) for i in range(count)]

    def run() -> None:
        with store.deferred_sync():
            for passport in docs:
                document = stamp(passport, version=1, status=LifecycleStatus.ORIGINAL, predecessor=None)
                committed = commit_passport(
                    document.sections(),
                    passport_id=document.passport_id,
                    battery_id_hash=battery_id_hash(document.battery_id),
                    version=1,
                    status=LifecycleStatus.ORIGINAL,
                    store=store,
                    keyring=keyring,
                )
                sign_passport_version(key, domain, committed.version_struct())

    return run


def run(passports: int, updates: int, workdir: Path) -> dict[str, Any]:
    settings = Settings(
        environment="development",
        data_dir=workdir,
        local_chain="anvil",
        local_chain_port=free_port(),
        poll_latency=0.002,
    )
    addresses = Keystore.from_settings(settings).ensure()
    node = local_chain(settings)
    node.start()
    stages: dict[str, dict[str, Any]] = {"offchain": {}, "issue": {}, "update": {}}
    try:
        node.fund(addresses.values())
        settings = settings.model_copy(update={"rpc_url": node.url})
        deploy(settings, rpc_url=node.url)
        prepare = _offchain(workdir, passports)
        with _stage(stages["offchain"], passports, None):
            prepare()
        issuer = open_ledger(settings).passports(ISSUER)
        try:
            docs = [sample_passport(f"BENCH-{i:05d}", passport_id=uuid.uuid4()) for i in range(passports)]
            with _stage(stages["issue"], passports, node.pid):
                issued = issuer.issue_many(docs)
            receipts = {one.receipt.tx_hash: one.receipt.gas_used for one in issued}
            stages["issue"]["transactions"] = len(receipts)
            stages["issue"]["gas_per_passport"] = round(sum(receipts.values()) / max(len(issued), 1))
            # The same document again: a new version all the same (fresh salts, a new manifest digest).
            changed = [(one.passport_id, one.document) for one in issued[:updates]]
            with _stage(stages["update"], len(changed), node.pid):
                versions = issuer.update_many(changed)
            gas = {one.receipt.tx_hash: one.receipt.gas_used for one in versions}
            stages["update"]["transactions"] = len(gas)
            stages["update"]["gas_per_passport"] = round(sum(gas.values()) / max(len(versions), 1))
            if [v.version for v in versions] != [2] * len(changed):
                raise SystemExit("update_many did not write version 2 of every passport")
        finally:
            issuer.version_log.close()
    finally:
        node.stop()
    return {
        "passports": passports,
        "updates": updates,
        "passports_per_s": stages["issue"]["per_s"],
        "gas_per_passport": stages["issue"]["gas_per_passport"],
        "stages": stages,
    }


def _one_run(passports: int, updates: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-issue-") as tmp:
        return run(passports, updates, Path(tmp))


def _run_in(checkout: Path, passports: int, updates: int) -> dict[str, Any]:
    """This script run with ``checkout``'s code and virtualenv (a baseline), its JSON report."""
    argv = [str(checkout / ".venv/bin/python"), str(Path(__file__).resolve())]
    argv += ["--json", "--passports", str(passports), "--updates", str(updates), "--rounds", "1"]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run in {checkout} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)["runs"][0]
    return result


def _line(label: str, result: dict[str, Any]) -> str:
    parts = [f"{label:>9}:"]
    for name, stage in result["stages"].items():
        parts.append(
            f"{name} {stage['count']} in {stage['wall_s']} s ({stage['per_s']}/s, cpu {stage['cpu_s']} s, "
            f"anvil {stage['node_cpu_s']} s, load {stage['load']}"
            + (f", {stage['gas_per_passport']} gas each)" if "gas_per_passport" in stage else ")")
        )
    return "\n    ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passports", type=int, default=2500, help="passports issued (default 2500)")
    parser.add_argument("--updates", type=int, default=500, help="of them given a version 2 (update_many)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant, alternating")
    parser.add_argument("--compare", type=Path, help="a checkout (with .venv) to run as the baseline too")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PASSPORTS} passports, for CI")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.passports, args.updates = QUICK_PASSPORTS, QUICK_UPDATES
    if args.passports < 1 or not 0 <= args.updates <= args.passports or args.rounds < 1:
        parser.error("need --passports >= 1, 0 <= --updates <= --passports and --rounds >= 1")
    if not args.json:
        configure_logging()
    runs: list[dict[str, Any]] = []
    baseline: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        if args.compare is not None:
            baseline.append(_run_in(args.compare, args.passports, args.updates))
        runs.append(_one_run(args.passports, args.updates))
    report: dict[str, Any] = {"runs": runs}
    if baseline:
        report["baseline"] = {"checkout": str(args.compare), "runs": baseline}
        ours = sum(r["passports_per_s"] for r in runs) / len(runs)
        theirs = sum(r["passports_per_s"] for r in baseline) / len(baseline)
        report["speedup"] = round(ours / theirs, 2) if theirs else None
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for result in runs:
            print(_line("this", result))
        for result in baseline:
            print(_line("baseline", result))
        if "speedup" in report:
            print(f"issuance speed-up over the baseline: {report['speedup']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
