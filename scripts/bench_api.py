"""API load benchmark (``python -m scripts.bench_api``): req/s and p50/p99 of public passport reads,
verification and device uploads, each alone and reads + uploads mixed, against one uvicorn worker.

Sets up a fresh ledger in a temp dir (anvil, the deployment, the demo participants), issues
``--passports`` passports through ``PassportService.issue_many`` (timed: batched issuance's
passports/s), registers ``--devices`` devices with API keys, then starts the API as a uvicorn
subprocess on 127.0.0.1 (one worker, ``--loop uvloop --http httptools`` unless told otherwise) and
stops it, and the chain node, by PID. The load comes from this process, on a uvloop loop in a thread of
its own (so ``main`` also runs when called from inside a running event loop), ``--concurrency``
requests in flight per kind, for ``--seconds`` per scenario: reads and verifications go over lean
keep-alive HTTP/1.1 connections (one per request in flight; httpx would cost the client ~0.5 ms of CPU
per request), picking passports at random (no ``If-None-Match``, so every read is a full 200);
uploads (httpx) are each device's next signed upload of ``--readings`` readings. Reads pick among the
first ``--read-set`` passports, each read and verified once first (``first reads (cold)``: read-model
misses). Verification runs a second time with ``--verify-concurrency`` in flight (its latency without
a queue of 32 in front of it): issue #16's "verification p99 < 20 ms" is stated at that concurrency
(4 by default). One worker runs verifications one at a time under its GIL (each re-hashes the stored
documents and re-reads the index's custody rows), so with N in flight a request waits behind the
N - 1 others: at 32 in flight the p99 is a queue of about 32 service times, whatever the code does.
Uploads alone run right before and right after the mixed scenario and the ratio uses their mean.
The client shares the two cores with the server: figures are what the pair reaches, printed with the
machine's load average.

Prints a markdown table (``--json``: one JSON document). Nothing is asserted about timings; a run fails
(exit 1) only when a request gets an unexpected status. ``--quick`` is the CI mode: tiny and short.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvloop

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

T = TypeVar("T")


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


#: One request: its status and (for the error list) the start of its body.
Request = Callable[[], Awaitable[tuple[int, str]]]


class LeanConnection:
    """One keep-alive HTTP/1.1 connection for the read load: write a GET, read the head and the
    ``Content-Length`` body. httpx spends ~0.5 ms of the client's CPU per request, which on two shared
    cores caps the load this process can offer well below what the server answers."""

    def __init__(self, base_url: str) -> None:
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> tuple[int, str]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.lower().split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line[15:])
            elif line.startswith(b"transfer-encoding:"):
                raise ScriptError(f"GET {path}: a chunked answer (the lean client reads Content-Length only)")
        body = await reader.readexactly(length) if length else b""
        return status, body[:200].decode(errors="replace")

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def _worker(
    kind: Kind, deadline: float, request: Request, expected: int, pace: tuple[float, float] | None = None
) -> None:
    """Requests back to back until ``deadline``; with ``pace`` = (first offset, interval) s, one per
    interval on a fixed schedule, each timed from its scheduled start (a late server is not hidden)."""
    scheduled = time.perf_counter() + (pace[0] if pace else 0.0)
    while scheduled < deadline:
        now = time.perf_counter()
        if pace is not None and scheduled > now:
            await asyncio.sleep(scheduled - now)
        started = scheduled if pace is not None else time.perf_counter()
        status, text = await request()
        kind.latencies.append(time.perf_counter() - started)
        if status != expected:
            kind.unexpected.append(f"{status} {text}")
        scheduled = scheduled + pace[1] if pace is not None else time.perf_counter()


def _read(fx: Fixture, path: str, connection: LeanConnection) -> Request:
    async def request() -> tuple[int, str]:
        pid = random.choice(fx.passports)  # noqa: S311 (load spread, not security)
        return await connection.get(f"/api/v1/passports/{pid}{path}")

    return request


def _upload(fx: Fixture, device: int, readings: int, client: httpx.AsyncClient) -> Request:
    device_id, battery_id, key, api_key = fx.devices[device]
    start = datetime.now(UTC) - timedelta(days=60)

    async def request() -> tuple[int, str]:
        seq = fx.seqs[device_id] = fx.seqs.get(device_id, 0) + 1
        batch = [
            diagnostics_reading(start + timedelta(seconds=60 * (seq * readings + i))) for i in range(readings)
        ]
        upload = sign_upload(key, device_id, battery_id, seq, batch)
        try:
            response = await client.post(
                "/api/v1/telemetry/uploads",
                json=upload.model_dump(),
                headers={"Authorization": f"Bearer {api_key}"},
            )
        except httpx.TransportError as exc:  # counted as an unexpected answer, the run goes on
            return 0, f"{type(exc).__name__}: {exc}"
        return response.status_code, response.text[:200]

    return request


async def scenario(
    fx: Fixture, kinds: dict[str, int], seconds: float, readings: int, read_rate: float | None = None
) -> dict[str, dict[str, Any]]:
    """Run each kind with its concurrency for ``seconds``; one summary per kind. ``read_rate``: the
    readers offer that many reads per second between them (paced) instead of reading back to back."""
    limits = httpx.Limits(
        max_connections=sum(kinds.values()) + 4, max_keepalive_connections=sum(kinds.values()) + 4
    )
    connections: list[LeanConnection] = []
    async with httpx.AsyncClient(base_url=fx.base_url, limits=limits, timeout=60) as client:
        results = {name: Kind(name) for name in kinds}
        deadline = time.perf_counter() + seconds
        tasks = []
        for name, concurrency in kinds.items():
            for i in range(concurrency):
                pace = None
                if name == "upload":
                    request = _upload(fx, i, readings, client)
                else:
                    connections.append(LeanConnection(fx.base_url))
                    request = _read(fx, "" if name == "read" else "/verification", connections[-1])
                    if name == "read" and read_rate:
                        pace = (i / read_rate, concurrency / read_rate)
                tasks.append(_worker(results[name], deadline, request, 200, pace))
        started = time.perf_counter()
        try:
            await asyncio.gather(*tasks)
        finally:
            for connection in connections:
                await connection.close()
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


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on a fresh uvloop loop in a thread of its own.

    ``asyncio.run`` refuses to start inside a thread whose loop is running (``main`` called from async
    code, or a test suite whose earlier test left a loop running in the thread); a new thread has none.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="bench-api-client") as pool:
        return pool.submit(_run_on_uvloop, coroutine).result()


def _run_on_uvloop(coroutine: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


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


def serve(
    settings: Settings,
    rpc_url: str,
    log_path: Path,
    *,
    workers: int = 1,
    database_url: str | None = None,
    loop: str = "uvloop",
    http: str = "httptools",
    source: Path | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """``uvicorn --workers N`` on a free loopback port, in its own process; waits for /api/v1/health.

    ``database_url`` puts the journal, index and API stores in that PostgreSQL (several workers share
    them); ``source`` serves another checkout's ``api`` (a baseline) with the same interpreter.
    """
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
    if database_url is not None:
        env["PASSPORT_DATABASE_URL"] = database_url
    argv = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_environment"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    # Keep-alive past any scenario: a pooled connection closed while idle races the next request on it.
    argv += ["--loop", loop, "--http", http, "--timeout-keep-alive", "120"]
    argv += ["--no-access-log"]
    if source is not None:
        env["PYTHONPATH"] = str(source)
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=source)
    # Startup catches the audit index up with every event so far (one per passport issued). With several
    # workers every one must be up: several answers in a row (the kernel spreads the connections).
    needed = 1 if workers == 1 else 4 * workers
    healthy = 0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ScriptError(f"the API exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            ok = httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            ok = False
        healthy = healthy + 1 if ok else 0
        if healthy >= needed:
            return process, base_url
        time.sleep(0.2)
    stop(process)
    raise ScriptError(f"the API did not answer within 600 s: {log_path.read_text()[-2000:]}")


def profile(
    pid: int, directory: Path, scenario: str, seconds: float, *, gil: bool = False
) -> subprocess.Popen[bytes]:
    """py-spy sampling the server for one scenario (``--nonblocking``: the server is never paused),
    collapsed stacks to ``directory/<scenario>.txt`` (summary: ``python -m scripts.bench_api_profile``).

    ``--subprocesses``: the ingestion process the server starts is sampled too. ``gil``: only the
    thread holding the GIL is sampled, so the stacks are where one worker's CPU time goes (its service
    time per request), not where its threads wait."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise ScriptError("--profile needs py-spy (a dev dependency: uv sync --group dev)")
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / (scenario.replace(" ", "_").replace(",", "").replace("+", "and") + ".txt")
    argv = [spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", "200"]
    argv += ["--nonblocking", "--subprocesses", "--format", "raw", "--output", str(out)]
    if gil:
        argv.append("--gil")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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
        process, base_url = serve(
            settings,
            node.url,
            workdir / "uvicorn.log",
            loop=args.loop,
            http=args.http,
            source=args.server_source,
        )
        try:
            fx = Fixture(base_url, ids, devices)
            c, s, n = args.concurrency, args.seconds, args.readings
            v, rate = args.verify_concurrency, args.mixed_read_rate
            # Uploads alone run right before and right after the mixed scenario: the ratio compares
            # the mixed rate with their mean, so a change in the machine's load mid-run shows in both.
            scenarios = {
                "reads alone": {"read": c},
                "verification alone": {"verify": c},
                f"verification alone, {v} in flight": {"verify": v},
                "uploads alone": {"upload": c},
                "reads + uploads": {"read": c, "upload": c},
                f"reads at {rate:g}/s + uploads": {"read": c, "upload": c},
                "uploads alone (after)": {"upload": c},
            }
            # The first read of a passport fills the read model (two RPCs, the stored sections read and
            # checked): timed on its own over the read set, then the steady state is measured.
            fx.passports = ids[: args.read_set]
            cold = run_async(warm(fx, c))
            results = {}
            for name, kinds in scenarios.items():
                spy = None
                if args.profile is not None:
                    spy = profile(process.pid, args.profile, name, s, gil=args.profile_gil)
                paced = rate if name.startswith("reads at") else None
                results[name] = run_async(scenario(fx, kinds, s, n, paced))
                if spy is not None:
                    spy.wait(timeout=60)
        finally:
            stop(process)
    finally:
        node.stop()
    alone = (
        results["uploads alone"]["upload"]["req_per_s"]
        + results["uploads alone (after)"]["upload"]["req_per_s"]
    ) / 2
    mixed = results["reads + uploads"]["upload"]["req_per_s"]
    paced_mixed = results[f"reads at {args.mixed_read_rate:g}/s + uploads"]["upload"]["req_per_s"]
    return {
        "issuance": issuance,
        "scenarios": {"first reads (cold)": cold, **results},
        "uploads_mixed_vs_alone": round(mixed / alone, 3) if alone else None,
        "uploads_paced_mixed_vs_alone": round(paced_mixed / alone, 3) if alone else None,
        "config": {
            "concurrency": args.concurrency,
            "verify_concurrency": args.verify_concurrency,
            "seconds": args.seconds,
            "readings_per_upload": args.readings,
            "passports": args.passports,
            "read_set": min(args.read_set, len(ids)),
            "server": f"uvicorn --loop {args.loop} --http {args.http}",
            "server_source": None if args.server_source is None else str(args.server_source),
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
        f"uploads mixed / alone: {report['uploads_mixed_vs_alone']} (reads back to back), "
        f"{report['uploads_paced_mixed_vs_alone']} (reads paced); issuance: {issuance['passports']} "
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
    parser.add_argument(
        "--verify-concurrency", type=int, default=4, help="in flight in the second verification scenario"
    )
    parser.add_argument(
        "--mixed-read-rate", type=float, default=2000, help="reads/s offered in the paced mixed scenario"
    )
    parser.add_argument("--readings", type=int, default=10, help="readings per upload")
    parser.add_argument("--loop", default="uvloop", help="uvicorn's --loop (asyncio: the standard loop)")
    parser.add_argument("--http", default="httptools", help="uvicorn's --http (h11: the pure-Python parser)")
    parser.add_argument(
        "--server-source",
        type=Path,
        help="serve the API from this checkout (e.g. `git archive` of a baseline)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy the server per scenario into this directory")
    parser.add_argument(
        "--profile-gil", action="store_true", help="with --profile: sample only the GIL holder (CPU time)"
    )
    parser.add_argument("--quick", action="store_true", help="CI mode: 20 passports, 4 in flight, 1 s each")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--keep", type=Path, help="work in this directory (kept) instead of a temp dir")
    args = parser.parse_args(argv)
    if args.quick:
        args.passports, args.concurrency, args.seconds, args.read_set = 20, 4, 1.0, 10
        args.verify_concurrency, args.mixed_read_rate = 1, 100
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
