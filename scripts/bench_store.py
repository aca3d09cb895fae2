"""Put/get throughput of the content stores (``python -m scripts.bench_store``), as a markdown table.

Runs the embedded store (fsync on, as in production) in a temp directory and the IPFS RPC store against
a fresh offline js-ipfs daemon started for the run, with the same documents: many small JSON-sized
documents (the passport sections) and a few multi-chunk files. Every document is fresh random bytes,
so nothing is deduplicated. Numbers are printed, not asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from devtools.jsipfs import JsIpfsNode
from passport.store import ContentStore, EmbeddedStore, IpfsRpcStore
from scripts._console import configure_logging


def _timed(action: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        action()
    return time.perf_counter() - started


def measure(store: ContentStore, count: int, size: int) -> tuple[float, float]:
    """Seconds to put ``count`` fresh documents of ``size`` bytes, and to get them all back."""
    documents = iter([os.urandom(size) for _ in range(count)])
    cids: list[str] = []
    put_seconds = _timed(lambda: cids.append(store.put(next(documents))), count)
    pending = iter(cids)
    get_seconds = _timed(lambda: store.get(next(pending)), count)
    return put_seconds, get_seconds


def run(workloads: list[tuple[str, int, int]], name: str, store: ContentStore) -> list[str]:
    rows = []
    for label, count, size in workloads:
        put_s, get_s = measure(store, count, size)
        megabytes = count * size / 1e6
        rows.append(
            f"| {name} | {count} x {label} | {count / put_s:,.0f} | {count / get_s:,.0f} "
            f"| {megabytes / put_s:,.1f} | {megabytes / get_s:,.1f} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=500, help="number of 2 KB documents")
    parser.add_argument("--large", type=int, default=5, help="number of 8 MiB files")
    parser.add_argument("--no-ipfs", action="store_true", help="skip the js-ipfs backend")
    args = parser.parse_args(argv)
    configure_logging()

    workloads = [("2 KB docs", args.small, 2048), ("8 MiB files", args.large, 8 << 20)]
    rows = ["| backend | workload | put/s | get/s | put MB/s | get MB/s |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        rows += run(workloads, "embedded (fsync)", EmbeddedStore(Path(tmp) / "store"))
        if not args.no_ipfs:
            # Started only after the embedded run, so the daemon's start-up work does not skew it.
            with JsIpfsNode(Path(tmp) / "jsipfs") as node, IpfsRpcStore(node.api_url, timeout=60) as store:
                rows += run(workloads, "js-ipfs RPC", store)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
