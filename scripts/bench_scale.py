"""Scale-out benchmark (``python -m scripts.bench_scale``): readings/s with 1 and 2 ingestion processes,
and API req/s with 1 and 2 uvicorn workers, all on one PostgreSQL (issue #17).

Starts a throwaway PostgreSQL 15 (``devtools.postgres``, durable: fsync and ``synchronous_commit`` on)
and anvil, deploys the ledger, issues ``--passports`` passports and registers devices, then:

* **ingestion**: ``N`` ingestion processes (this script with ``--ingest-child``), each a
  ``GroupCommitter`` on the shared journal, journal a fixed total of signed uploads (pre-signed before
  the clock starts), split evenly across them; readings/s = readings acknowledged / wall time.
* **API**: ``uvicorn --workers N`` (``PASSPORT_DATABASE_URL`` set: journal and audit index in
  PostgreSQL), public passport reads alone, then device uploads alone, ``--concurrency`` in flight.

The 1- and 2-worker runs alternate in one run (``--rounds`` times each) and the ratios compare them.
The client, the servers, PostgreSQL and the chain share the machine's cores: the figures are what they
reach together, printed with the load average. Nothing is asserted about timings (``--quick``: CI).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.localchain import local_chain
from devtools.localnodes import free_port
from devtools.postgres import PostgresServer
from oracle.devices import DeviceKey, sign_upload
from oracle.group_commit import GroupCommitter
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from passport.chain.deployment import deploy
from passport.chain.keystore import Keystore
from passport.settings import Settings
from scripts._console import configure_logging
from scripts.bench_api import Fixture, prepare, scenario, serve, stop
from scripts.demo import diagnostics_reading
from scripts.errors import ScriptError


def ingest_child(url: str, data_dir: str, prefix: str, devices: int, uploads: int, readings: int) -> None:
    """One ingestion process: register its devices, pre-sign, wait for ``go``, journal, report."""
    settings = Settings(environment="development", data_dir=Path(data_dir), database_url=url)
    start = datetime.now(UTC) - timedelta(days=60)
    with Journal.open(settings) as journal:
        signed = []
        for d in range(devices):
            device_id, battery_id, key = f"{prefix}-{d}", f"BENCH-{d:05d}", DeviceKey.generate()
            journal.register_device(device_id, key.address, battery_id)
            for seq in range(1, uploads + 1):
                batch = [
                    diagnostics_reading(start + timedelta(seconds=60 * (seq * readings + i)))
                    for i in range(readings)
                ]
                signed.append((seq, sign_upload(key, device_id, battery_id, seq, batch)))
        signed.sort(key=lambda item: item[0])  # round by round: every device's seq 1, then 2, …
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.perf_counter()
        with GroupCommitter(Ingestor(journal)) as committer:
            futures = [committer.submit(upload) for _, upload in signed]
            acks = [f.result(timeout=600) for f in futures]
        elapsed = time.perf_counter() - started
    accepted = sum(len(a.accepted) for a in acks if a.status == "accepted")
    print("done", elapsed, accepted, flush=True)


def ingestion_run(
    url: str, data_dir: Path, workers: int, run: int, args: argparse.Namespace
) -> dict[str, Any]:
    """``workers`` ingestion processes sharing ``args.devices`` devices' uploads; wall-clock readings/s."""
    per = max(1, args.devices // workers)
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scripts.bench_scale",
                "--ingest-child",
                url,
                str(data_dir),
                f"r{run}w{workers}p{i}",
                str(per),
                str(args.uploads),
                str(args.readings),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise ScriptError("an ingestion process failed to start")
        started = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        accepted = 0
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().split()
            if not line or line[0] != "done":
                raise ScriptError("an ingestion process failed")
            accepted += int(line[2])
        wall = time.perf_counter() - started
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
            child.wait(timeout=30)
    expected = per * workers * args.uploads * args.readings
    if accepted != expected:
        raise ScriptError(f"{accepted} readings accepted, {expected} sent")
    return {
        "workers": workers,
        "readings": accepted,
        "seconds": round(wall, 3),
        "readings_per_s": round(accepted / wall, 1),
        "loadavg": list(os.getloadavg()),
    }


def api_run(
    settings: Settings, rpc_url: str, url: str, workers: int, fx: Fixture, args: argparse.Namespace
) -> dict[str, Any]:
    log_path = settings.data_dir / f"uvicorn-{workers}.log"
    process, base_url = serve(settings, rpc_url, log_path, workers=workers, database_url=url)
    try:
        fx.base_url = base_url
        reads = asyncio.run(scenario(fx, {"read": args.concurrency}, args.seconds, args.readings))
        uploads = asyncio.run(scenario(fx, {"upload": args.concurrency}, args.seconds, 1))
    finally:
        stop(process)
    unexpected = {**reads["_unexpected"], **uploads["_unexpected"]}
    if unexpected:
        raise ScriptError(f"unexpected responses: {json.dumps(unexpected)[:2000]}")
    return {
        "workers": workers,
        "reads_per_s": reads["read"]["req_per_s"],
        "reads_p50_ms": reads["read"]["p50_ms"],
        "uploads_per_s": uploads["upload"]["req_per_s"],
        "uploads_p50_ms": uploads["upload"]["p50_ms"],
        "loadavg": list(os.getloadavg()),
    }


def _ratio(rows: list[dict[str, Any]], key: str) -> float | None:
    one = [r[key] for r in rows if r["workers"] == 1]
    two = [r[key] for r in rows if r["workers"] == 2]
    return round((sum(two) / len(two)) / (sum(one) / len(one)), 3) if one and two and sum(one) else None


def run(args: argparse.Namespace, workdir: Path, pg_base: Path) -> dict[str, Any]:
    with PostgresServer(pg_base, durable=True, stop_with=os.getpid()) as pg:
        settings = Settings(
            environment="development",
            data_dir=workdir,
            local_chain="anvil",
            local_chain_port=free_port(),
            poll_latency=0.002,
            database_url=pg.url,
        )
        addresses = Keystore.from_settings(settings).ensure()
        node = local_chain(settings)
        node.start()
        try:
            node.fund(addresses.values())
            settings = settings.model_copy(update={"rpc_url": node.url})
            deploy(settings, rpc_url=node.url)
            ids, devices, _ = prepare(settings, args.passports, max(args.concurrency, 1))
            fx = Fixture("", ids[: args.read_set], devices)
            ingestion: list[dict[str, Any]] = []
            api: list[dict[str, Any]] = []
            for run_ in range(args.rounds):
                for workers in (1, 2):  # interleaved, so drift in the machine's load hits both alike
                    ingestion.append(ingestion_run(pg.url, workdir, workers, run_, args))
                    api.append(api_run(settings, node.url, pg.url, workers, fx, args))
        finally:
            node.stop()
    return {
        "ingestion": ingestion,
        "api": api,
        "ratios_2_over_1": {
            "readings_per_s": _ratio(ingestion, "readings_per_s"),
            "api_reads_per_s": _ratio(api, "reads_per_s"),
            "api_uploads_per_s": _ratio(api, "uploads_per_s"),
        },
        "config": {
            k: getattr(args, k)
            for k in ("devices", "uploads", "readings", "concurrency", "seconds", "passports", "rounds")
        },
        "cpus": os.cpu_count(),
        "loadavg_before": list(args.loadavg),
        "loadavg_after": list(os.getloadavg()),
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| workers | readings/s (ingestion) | API reads/s | API uploads/s | load (1/5/15 min) |",
        "|---:|---:|---:|---:|---|",
    ]
    for ing, api in zip(report["ingestion"], report["api"], strict=True):
        load = "/".join(f"{x:.1f}" for x in api["loadavg"])
        lines.append(
            f"| {ing['workers']} | {ing['readings_per_s']:,} | {api['reads_per_s']:,} | "
            f"{api['uploads_per_s']:,} | {load} |"
        )
    r = report["ratios_2_over_1"]
    lines.append("")
    lines.append(
        f"2 workers / 1: ingestion {r['readings_per_s']}, API reads {r['api_reads_per_s']}, API uploads "
        f"{r['api_uploads_per_s']} ({report['cpus']} CPUs; load {report['loadavg_before']} before, "
        f"{report['loadavg_after']} after)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench_scale", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--devices", type=int, default=32, help="devices (split across ingestion processes)")
    parser.add_argument("--uploads", type=int, default=20, help="uploads per device per ingestion run")
    parser.add_argument("--readings", type=int, default=10, help="readings per upload")
    parser.add_argument("--passports", type=int, default=100, help="passports issued and read")
    parser.add_argument("--read-set", type=int, default=50, help="passports the reads pick from")
    parser.add_argument("--concurrency", type=int, default=16, help="API requests in flight")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each API scenario")
    parser.add_argument("--rounds", type=int, default=2, help="1-worker and 2-worker runs, alternating")
    parser.add_argument("--quick", action="store_true", help="CI mode: tiny and short, one round")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--ingest-child", nargs=6, metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ingest_child:
        url, data_dir, prefix, devices, uploads, readings = args.ingest_child
        ingest_child(url, data_dir, prefix, int(devices), int(uploads), int(readings))
        return 0
    if args.quick:
        args.devices, args.uploads, args.readings, args.passports = 4, 3, 2, 4
        args.read_set, args.concurrency, args.seconds, args.rounds = 4, 2, 0.5, 1
    args.loadavg = os.getloadavg()
    configure_logging(verbose=False)
    pg_base = Path(tempfile.mkdtemp(prefix="bench-scale-pg-"))  # outside the work dir: the server's user
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            report = run(args, Path(tmp), pg_base)
    except ScriptError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(pg_base, ignore_errors=True)
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
