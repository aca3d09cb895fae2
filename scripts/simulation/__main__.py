"""``python -m scripts.simulation [N_EVS] [DAYS]``: run the pilot simulation, time it, write the report.

Writes ``docs/fleet-soh.png`` and ``docs/fleet-summary.json``; prints the generation time (columns
only) and the time to turn the readings into upload JSON objects.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from scripts.simulation.fleet import FleetConfig
from scripts.simulation.generator import FleetSimulation
from scripts.simulation.report import FleetReport


def main(argv: list[str]) -> None:
    n_evs = int(argv[0]) if argv else 2500
    days = int(argv[1]) if len(argv) > 1 else 365
    config = FleetConfig(n_evs=n_evs, days=days)
    report = FleetReport(config)
    started = time.perf_counter()
    sim = FleetSimulation(config)
    batches = []
    for batch in sim:
        batches.append(batch)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    uploads = sum(len(batch.uploads()) for batch in batches)
    materialised = time.perf_counter() - started
    for batch in batches:
        report.add(batch)
    report.write_png(Path("docs/fleet-soh.png"))
    report.write_json(Path("docs/fleet-summary.json"))
    total = sum(batch.n_readings for batch in batches)
    print(f"{n_evs} EVs x {days} days: {total:,} readings in {uploads:,} uploads")
    rate = total / generated
    print(f"generation {generated:.2f} s ({rate:,.0f} readings/s); JSON objects {materialised:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
