"""API load benchmark (``python -m scripts.bench_api``): req/s and p50/p99 of public passport reads,
verification and device uploads, each alone and reads + uploads mixed, against one uvicorn worker.

Sets up a fresh ledger in a temp dir (anvil, the deployment, the demo participants), issues
``--passports`` passports through ``PassportService.issue_many`` (timed: batched issuance's
passports/s), registers ``--devices`` devices with API keys, then starts the API as a uvicorn
subprocess on 127.0.0.1 (one worker) and stops it, and the chain node, by PID. The load comes from an
httpx/asyncio client in this process, ``--concurrency`` requests in flight per kind, for ``--seconds``
per scenario: reads pick passports at random (no ``If-None-Match``, so every read is a full 200),
uploads are each device's next signed upload of ``--readings`` readings. Reads pick among the first
``--read-set`` passports, each read and verified once first (``first reads (cold)``: read-model
misses). The client shares the two cores with the server: figures are what the pair reaches, printed
with the machine's load average.

Prints a markdown table (``--json``: one JSON document). Nothing is asserted about timings; a run fails
(exit 1) only when a request gets an unexpected status. ``--quick`` is the CI mode: tiny and short.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.auth import ApiKeyStore, ApiRole
from devtools.localchain import local_chain
from devtools.localnodes import free_port
from devtools.samples import sample_passport
from oracle.devices import DeviceKey, sign_upload
from oracle.journal import Journal
from passport.chain.deployment import deploy
from passport.chain.keystore import Keystore
from passport.ledger import open_ledger
from passport.settings import Settings
from scripts._console import configure_logging
from scripts.demo import ISSUER, diagnostics_reading, ensure_demo
from scripts.errors import ScriptError


@dataclass
class Kind:
    """Latencies and statuses of one kind of request within one scenario."""

    name: str
    latencies: list[float] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not ordered:
                return None
            return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

        return {
            "requests": len(ordered),
            "req_per_s": round(len(ordered) / seconds, 1),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "errors": len(self.unexpected),
        }


@dataclass
class Fixture:
    base_url: str
    passports: list[str]
    devices: list[tuple[str, str, DeviceKey, str]]  # device id, battery id, key, API key
    seqs: dict[str, int] = field(default_factory=dict)


async def _worker(
    client: httpx.AsyncClient,
    kind: Kind,
    deadline: float,
    request: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    expected: int,
) -> None:
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        response = await request(client)
        kind.latencies.append(time.perf_counter() - started)
        if response.status_code != expected:
            kind.unexpected.append(f"{response.status_code} {response.text[:200]}")


def _read(fx: Fixture, path: str) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    async def request(client: httpx.AsyncClient) -> httpx.Response:
        pid = random.choice(fx.passports)  # noqa: S311 (load spread, not security)
        return await client.get(f"/api/v1/passports/{pid}{path}")

    return request


def _upload(
    fx: Fixture, device: int, readings: int
) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    device_id, battery_id, key, api_key = fx.devices[device]
    start = datetime.now(UTC) - timedelta(days=60)

    async def request(client: httpx.AsyncClient) -> httpx.Response:
        seq = fx.seqs[device_id] = fx.seqs.get(device_id, 0) + 1
        batch = [
            diagnostics_reading(start + timedelta(seconds=60 * (seq * readings + i))) for i in range(readings)
        ]
        upload = sign_upload(key, device_id, battery_id, seq, batch)
        return await client.post(
            "/api/v1/telemetry/uploads",
            json=upload.model_dump(),
            headers={"Authorization": f"Bearer {api_key}"},
        )

    return request


async def scenario(
    fx: Fixture, kinds: dict[str, int], seconds: float, readings: int
) -> dict[str, dict[str, Any]]:
    """Run each kind with its concurrency for ``seconds``; one summary per kind."""
    limits = httpx.Limits(
        max_connections=sum(kinds.values()) + 4, max_keepalive_connections=sum(kinds.values()) + 4
    )
    async with httpx.AsyncClient(base_url=fx.base_url, limits=limits, timeout=60) as client:
        results = {name: Kind(name) for name in kinds}
        deadline = time.perf_counter() + seconds
        tasks = []
        for name, concurrency in kinds.items():
            for i in range(concurrency):
                if name == "read":
                    request, expected = _read(fx, ""), 200
                elif name == "verify":
                    request, expected = _read(fx, "/verification"), 200
                else:
                    request, expected = _upload(fx, i, readings), 200
                tasks.append(_worker(client, results[name], deadline, request, expected))
        started = time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {name: {**kind.summary(elapsed), "concurrency": kinds[name]} for name, kind in results.items()} | {
        "_unexpected": {name: kind.unexpected[:3] for name, kind in results.items() if kind.unexpected}
    }


async def warm(fx: Fixture, concurrency: int) -> dict[str, Any]:
    """Read and verify every passport of the read set once (cold: each a read-model miss)."""
    pending = list(fx.passports)
    kinds = {"read": Kind("read"), "verify": Kind("verify")}

    async def one(client: httpx.AsyncClient) -> None:
        while pending:
            pid = pending.pop()
            for name, path in (("read", ""), ("verify", "/verification")):
                started = time.perf_counter()
                response = await client.get(f"/api/v1/passports/{pid}{path}")
                kinds[name].latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    kinds[name].unexpected.append(f"{response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(base_url=fx.base_url, timeout=120) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {name: {**kind.summary(elapsed), "concurrency": concurrency} for name, kind in kinds.items()} | {
        "_unexpected": {name: kind.unexpected[:3] for name, kind in kinds.items() if kind.unexpected}
    }


def prepare(settings: Settings, passports: int, devices: int) -> tuple[list[str], list[Any], dict[str, Any]]:
    """The demo participants, ``passports`` more passports (batched, timed) and ``devices`` devices."""
    demo = ensure_demo(settings)
    issuer = open_ledger(settings).passports(ISSUER)
    docs = [sample_passport(f"BENCH-{i:05d}", passport_id=uuid.uuid4()) for i in range(passports)]
    started = time.perf_counter()
    issued = issuer.issue_many(docs)
    issue_s = time.perf_counter() - started
    issuer.version_log.close()
    rows = []
    store = ApiKeyStore.from_settings(settings)
    try:
        with Journal.open(settings) as journal:
            for i in range(devices):
                device_id, battery_id, key = f"bench-device-{i}", f"BENCH-{i:05d}", DeviceKey.generate()
                journal.register_device(device_id, key.address, battery_id)
                store.upsert_participant(
                    device_id, [ApiRole.DEVICE], device_id=device_id, battery_ids=[battery_id]
                )
                rows.append((device_id, battery_id, key, store.issue_key(device_id)))
    finally:
        store.close()
    ids = [demo.info.passport_id, *(str(one.passport_id) for one in issued)]
    issuance = {
        "passports": passports,
        "seconds": round(issue_s, 2),
        "passports_per_s": round(passports / issue_s, 1) if issue_s else None,
        "transactions": len({one.tx_hash for one in issued}),
    }
    return ids, rows, issuance


def serve(settings: Settings, rpc_url: str, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn (one worker) on a free loopback port, in its own process; waits for /api/v1/health."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(settings.data_dir),
        "PASSPORT_RPC_URL": rpc_url,
        "PASSPORT_PUBLIC_BASE_URL": base_url,
        "PASSPORT_POLL_LATENCY": str(settings.poll_latency),
    }
    argv = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_environment"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning"]
    argv += ["--no-access-log"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    # Startup catches the audit index up with every event so far (one per passport issued).
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ScriptError(f"the API exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=1).status_code == 200:
                return process, base_url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(process)
    raise ScriptError(f"the API did not answer within 600 s: {log_path.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started, by its PID."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
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
    try:
        node.fund(addresses.values())
        settings = settings.model_copy(update={"rpc_url": node.url})
        deploy(settings, rpc_url=node.url)
        ids, devices, issuance = prepare(settings, args.passports, max(args.concurrency, 1))
        process, base_url = serve(settings, node.url, workdir / "uvicorn.log")
        try:
            fx = Fixture(base_url, ids, devices)
            c, s, n = args.concurrency, args.seconds, args.readings
            scenarios = {
                "reads alone": {"read": c},
                "verification alone": {"verify": c},
                "uploads alone": {"upload": c},
                "reads + uploads": {"read": c, "upload": c},
            }
            # The first read of a passport fills the read model (two RPCs, the stored sections read and
            # checked): timed on its own over the read set, then the steady state is measured.
            fx.passports = ids[: args.read_set]
            cold = asyncio.run(warm(fx, c))
            results = {name: asyncio.run(scenario(fx, kinds, s, n)) for name, kinds in scenarios.items()}
        finally:
            stop(process)
    finally:
        node.stop()
    alone = results["uploads alone"]["upload"]["req_per_s"]
    mixed = results["reads + uploads"]["upload"]["req_per_s"]
    return {
        "issuance": issuance,
        "scenarios": {"first reads (cold)": cold, **results},
        "uploads_mixed_vs_alone": round(mixed / alone, 3) if alone else None,
        "config": {
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "readings_per_upload": args.readings,
            "passports": args.passports,
            "read_set": min(args.read_set, len(ids)),
        },
        "loadavg_before": list(args.loadavg),
        "loadavg_after": list(os.getloadavg()),
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| scenario | kind | concurrency | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, kinds in report["scenarios"].items():
        for kind, row in kinds.items():
            if kind.startswith("_"):
                continue
            lines.append(
                f"| {name} | {kind} | {row['concurrency']} | {row['req_per_s']:,} | {row['p50_ms']} | "
                f"{row['p99_ms']} | {row['errors']} |"
            )
    issuance = report["issuance"]
    lines.append("")
    lines.append(
        f"uploads mixed / alone: {report['uploads_mixed_vs_alone']}; issuance: {issuance['passports']} "
        f"passports in {issuance['seconds']} s ({issuance['passports_per_s']}/s, "
        f"{issuance['transactions']} transactions); "
        f"load average {report['loadavg_before']} before, {report['loadavg_after']} after"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_api", description=__doc__.splitlines()[0])
    parser.add_argument("--passports", type=int, default=500, help="passports issued (batched) and read")
    parser.add_argument("--read-set", type=int, default=200, help="passports the reads pick from")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight per kind")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each scenario")
    parser.add_argument("--readings", type=int, default=10, help="readings per upload")
    parser.add_argument("--quick", action="store_true", help="CI mode: 20 passports, 4 in flight, 1 s each")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--keep", type=Path, help="work in this directory (kept) instead of a temp dir")
    args = parser.parse_args(argv)
    if args.quick:
        args.passports, args.concurrency, args.seconds, args.read_set = 20, 4, 1.0, 10
    args.loadavg = os.getloadavg()
    configure_logging(verbose=False)
    try:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            report = run(args, args.keep)
        else:
            with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
                report = run(args, Path(tmp))
    except ScriptError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2) if args.json else table(report))
    unexpected = {n: k["_unexpected"] for n, k in report["scenarios"].items() if k["_unexpected"]}
    if unexpected:
        print(f"unexpected responses: {json.dumps(unexpected)[:2000]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
