"""Owner history reads: ``GET /api/v1/passports/{id}/device-history`` as the battery's owner, over HTTP.

What it sets up, once: an anvil node with the registry, one passport issued for real, one collection
device registered and bound to its battery, and a year of that battery's readings at the Busan pilot's
volume (``passport simulate``: 929,228 readings from 2,500 EVs in a year, i.e. per EV ~85 charging
sessions, ~234 parking periods, ~52 diagnostics and ~0.4 safety events; ``--days`` scales it), ingested
through the oracle's ``Ingestor`` as signed daily uploads. An owner redeems a claim code for the battery.
The API then runs under uvicorn on 127.0.0.1 and ``--clients`` threads send ``--requests`` reads in total
with the owner's key; each read checks the owner link against the chain, reads the records, builds the
monthly summaries and writes the access-log entry.

It prints reads per second and the latency percentiles (p50, p90, p99, max); it never asserts timings.
``--quick`` is a smoke run (30 days, 40 reads) for the test suite.

    uv run python -m scripts.bench_owner_history              # a year, 2,000 reads, 4 clients
    uv run python -m scripts.bench_owner_history --quick
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from eth_account import Account

from api.app import create_app
from api.auth import ApiKeyStore, ApiRole
from api.owners import redeem
from api.services import Services
from devtools.localchain import NODE_KINDS
from devtools.localnodes import free_port
from devtools.samples import sample_passport
from oracle.device_registry import DeviceRegistry
from oracle.devices import DeviceKey, sign_upload
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from passport.audit import SqliteAuditIndex
from passport.chain import Role, Web3ChainClient, deploy_registry
from passport.envelope import KeyRing
from passport.service import VersionLog
from passport.settings import Settings
from passport.store import EmbeddedStore
from scripts._console import configure_logging

log = logging.getLogger("bench_owner_history")

# Per EV per year in the pilot simulation (README, "Fleet model"): 929,228 readings over 2,500 EVs.
PER_YEAR = {"charging": 85, "parking": 234, "diagnostics": 52, "safety": 1}
START = datetime(2025, 1, 1, tzinfo=UTC)


def year_of_readings(days: int) -> list[tuple[datetime, dict[str, Any]]]:
    """Readings spread over ``days`` at the pilot's per-EV rates, in observation order."""
    out: list[tuple[datetime, dict[str, Any]]] = []
    for kind, per_year in PER_YEAR.items():
        count = max(1, round(per_year * days / 365))
        for n in range(count):
            at = START + timedelta(days=days * n / count, hours=7)
            out.append((at, _reading(kind, at, n)))
    out.sort(key=lambda item: item[0])
    return out


def _reading(kind: str, at: datetime, n: int) -> dict[str, Any]:
    iso = at.isoformat()
    if kind == "charging":
        return {
            "kind": "charging", "started_at": iso, "ended_at": (at + timedelta(hours=1)).isoformat(),
            "energy_kwh": 12.5, "soc_start_pct": 20.0, "soc_end_pct": 80.0, "avg_power_kw": 11.0,
            "max_power_kw": 22.0, "max_cell_temp_c": 30.0 + n % 8, "mode": "fast" if n % 5 == 0 else "slow",
        }  # fmt: skip
    if kind == "parking":
        return {
            "kind": "parking", "started_at": iso, "ended_at": (at + timedelta(hours=10)).isoformat(),
            "temp_min_c": -5.0 + n % 20, "temp_max_c": 5.0 + n % 35, "self_discharge_pct": 0.3,
        }  # fmt: skip
    if kind == "diagnostics":
        return {
            "kind": "diagnostics", "measured_at": iso, "capacity_ah": 180.0 - n * 0.05, "soce_pct": 93.0,
            "internal_resistance_mohm": 95.0 + n * 0.1, "cell_voltage_spread_mv": 18, "cycle_count": 600 + n,
            "energy_throughput_kwh": 41_000 + n * 50, "capacity_throughput_ah": 115_000 + n * 140,
        }  # fmt: skip
    return {"kind": "safety", "occurred_at": iso, "event": "over_temperature", "severity": "warning"}


@dataclass
class Result:
    days: int
    readings: int
    requests: int
    clients: int
    seconds: float
    reads_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    records_per_read: int
    months_per_read: int
    cpus: int | None
    load_average: tuple[float, float, float]
    python: str


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


@contextlib.contextmanager
def _serve(services: Services) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(services.settings.model_copy(update={"public_base_url": base_url}), services=services)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 20 s")
            time.sleep(0.01)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run(days: int, requests: int, clients: int, workdir: Path) -> Result:
    settings = Settings(
        environment="development", data_dir=workdir / "data", poll_latency=0.005, tx_timeout=30
    )
    node = NODE_KINDS["anvil"](workdir / "anvil", port=free_port())
    node.start()
    try:
        admin_key, issuer_key = bytes(Account.create().key), bytes(Account.create().key)
        issuer = Account.from_key(issuer_key).address
        node.fund([Account.from_key(admin_key).address, issuer])
        registry, receipt = deploy_registry(node.url, admin_key, settings=settings)
        Web3ChainClient.from_rpc(node.url, admin_key, registry, settings=settings).grant_role(
            Role.ISSUER, issuer
        )
        data = settings.data_dir
        services = Services(
            settings=settings,
            reader=Web3ChainClient.from_rpc(
                node.url, bytes(Account.create().key), registry, settings=settings
            ),
            keys={"issuer": issuer_key},
            store=EmbeddedStore(data / "store"),
            keyring=KeyRing(data / "keys"),
            versions=VersionLog(data / "versions.sqlite3"),
            audit=SqliteAuditIndex(data / "audit.sqlite3"),
            api_keys=ApiKeyStore(data / "api-keys.sqlite3"),
            journal=Journal(data / "journal.sqlite3"),
            trusted_issuers=frozenset({issuer}),
            start_block=receipt.block_number,
        )
        try:
            return _measure(services, days, requests, clients)
        finally:
            services.close()
    finally:
        node.stop()


def _measure(services: Services, days: int, requests: int, clients: int) -> Result:
    battery = f"BENCH-OWNER-{os.getpid()}"
    issuer = services.api_keys.upsert_participant("issuer", [ApiRole.ISSUER])
    pid = services.passports_for(issuer).issue(sample_passport(battery)).passport_id
    journal = services.journal
    assert journal is not None
    key = DeviceKey.generate()
    DeviceRegistry(journal).register(
        "bench-dev-1", address=key.address, public_key=None, model="bench", firmware="1",
        battery_id=battery, vehicle_id=None, actor="bench",
    )  # fmt: skip
    readings = year_of_readings(days)
    uploads, day, seq = [], [], 0
    for n, (at, reading) in enumerate(readings):
        day.append(reading)
        if n + 1 == len(readings) or readings[n + 1][0].date() != at.date():
            seq += 1
            uploads.append(sign_upload(key, "bench-dev-1", battery, seq, day))
            day = []
    acks = Ingestor(journal).ingest_many(uploads)
    assert all(ack.status == "accepted" for ack in acks), [a.reason for a in acks if a.status != "accepted"]
    log.info("%d readings in %d uploads journaled for %s", len(readings), len(uploads), battery)

    code, _ = services.ownership.issue_claim(str(pid), battery, "issuer", 3600)
    services.api_keys.upsert_participant("owner", [ApiRole.OWNER])
    redeem(services, "owner", code)
    owner_key = services.api_keys.issue_key("owner")

    with _serve(services) as base_url:
        url = f"{base_url}/api/v1/passports/{pid}/device-history"
        headers = {"Authorization": f"Bearer {owner_key}"}
        local = threading.local()

        def read(_: int) -> tuple[float, dict[str, Any]]:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(timeout=60)
            start = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise RuntimeError(f"read failed: {response.status_code} {response.text[:200]}")
            body: dict[str, Any] = response.json()
            return elapsed, body

        for n in range(min(20, requests)):  # warm-up: connections, caches, the first page
            read(n)
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            timings = list(pool.map(read, range(requests)))
        seconds = time.perf_counter() - started
    latencies = sorted(t for t, _ in timings)
    body = timings[-1][1]
    return Result(
        days=days,
        readings=len(readings),
        requests=requests,
        clients=clients,
        seconds=round(seconds, 3),
        reads_per_second=round(requests / seconds, 1),
        p50_ms=round(_percentile(latencies, 0.50) * 1000, 2),
        p90_ms=round(_percentile(latencies, 0.90) * 1000, 2),
        p99_ms=round(_percentile(latencies, 0.99) * 1000, 2),
        max_ms=round(latencies[-1] * 1000, 2),
        records_per_read=len(body["records"]),
        months_per_read=len(body["months"]),
        cpus=os.cpu_count(),
        load_average=os.getloadavg(),
        python=platform.python_version(),
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--days", type=int, default=365, help="days of readings (default a year)")
    parser.add_argument("--requests", type=int, default=2000, help="reads to time (default 2000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 days, 40 reads, 2 clients")
    parser.add_argument("--json", type=Path, help="also write the result here as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.days, args.requests, args.clients = 30, 40, 2
    if args.days < 1 or args.requests < 1 or args.clients < 1:
        parser.error("--days, --requests and --clients must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    with tempfile.TemporaryDirectory(prefix="bench-owner-") as tmp:
        result = run(args.days, args.requests, args.clients, Path(tmp))
    load = ", ".join(f"{x:.2f}" for x in result.load_average)
    print(
        f"owner history: {result.readings} readings over {result.days} days ({result.months_per_read} months)"
    )
    print(f"  {result.requests} reads by {result.clients} clients in {result.seconds} s: "
          f"{result.reads_per_second} reads/s")  # fmt: skip
    latency = f"p50 {result.p50_ms} ms, p90 {result.p90_ms} ms, p99 {result.p99_ms} ms"
    print(f"  latency {latency}, max {result.max_ms} ms")
    print(
        f"  each read: {result.records_per_read} records + monthly summaries; {result.cpus} CPUs, load {load}"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(result), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
