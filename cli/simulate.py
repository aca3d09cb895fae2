"""``passport simulate`` (development): the pilot end to end on a managed local node, then its report.

Prints the report, writes it as ``pilot-report.json`` and the SoH chart as ``fleet-soh.png`` under
``--out`` (default ``pilot-out``), where the node's state, keystore, store and journal also stay, so the
ledger can be inspected after the run. ``python -m scripts.simulation`` runs the same command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from scripts.simulation.fleet import FleetConfig
from scripts.simulation.health import HealthPilotConfig
from scripts.simulation.pilot import ChainKind, PilotConfig, PilotReport, run_pilot

app = typer.Typer()


def _render(report: PilotReport, console: Console) -> None:
    data = report.as_dict()
    summary = Table(title="Pilot", show_header=False)
    readings = data["readings"]
    transactions = data["transactions"]
    throughput = data["throughput"]
    config, naive = data["config"], data["naive"]
    rows: list[tuple[str, Any]] = [
        ("EVs x days (seed)", f"{config['n_evs']} x {config['days']} ({config['seed']})"),
        ("readings", f"{readings['total']:,}"),
        ("acknowledged / rejected", f"{readings['acknowledged']:,} / {readings['rejected']}"),
        ("uploads", f"{readings['uploads']:,}"),
        ("batches anchored", f"{data['batches']['count']:,}"),
        ("transactions", f"{transactions['total']:,}"),
        ("gas", f"{transactions['gas_total']:,}"),
        ("anchoring gas per reading", data["gas_per_reading"]),
        ("wall time (s)", data["wall_s"]),
        ("readings/s (simulated days)", throughput["readings_per_s_days"]),
        ("readings/s (end to end)", throughput["readings_per_s_end_to_end"]),
        ("passports issued/s", throughput["issue_passports_per_s"]),
        ("peak memory (MiB)", data["peak_memory_mib"]),
        ("grades of packs in use", data["grades"]["latest_of_packs_in_use"]),
        ("grades at end of first life", data["grades"]["at_end_of_first_life"]),
        ("end-of-life routes", data["end_of_first_life"]["routes"]),
        ("passports by status", data["passports_by_status"]),
        ("proofs checked on-chain", data["verification"].get("checked_on_chain")),
        ("audit index agrees", data["audit"].get("agrees")),
        ("naive gas/record (ratio)", f"{naive.get('gas_per_record')} ({naive.get('gas_ratio')}x)"),
        ("health refreshed", data["health"].get("refresh", {}).get("refreshed")),
        ("warnings TP/FN/FP by rule", {
            rule: f"{s['tp']}/{s['fn']}/{s['fp']}"
            for rule, s in data["health"].get("warnings", {}).get("per_rule", {}).items()
        }),
    ]  # fmt: skip
    for name, value in rows:
        summary.add_row(name, str(value))
    console.print(summary)
    stages = Table(title="Time by stage (s)")
    stages.add_column("stage")
    stages.add_column("seconds", justify="right")
    for name, seconds in data["stages_s"].items():
        stages.add_row(name, f"{seconds:.2f}")
    console.print(stages)


@app.command(
    "simulate",
    help="Run the Busan-style pilot end to end on a managed local node and write its report and chart.",
)
def simulate_command(
    evs: Annotated[int, typer.Option(min=1, help="Vehicles in the fleet.")] = 2500,
    days: Annotated[int, typer.Option(min=1, help="Simulated days.")] = 365,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same report numbers.")] = 7,
    chain: Annotated[str, typer.Option(help="Managed local node: anvil or ganache.")] = "anvil",
    out: Annotated[Path, typer.Option(help="Data directory and report output.")] = Path("pilot-out"),
    naive_sample: Annotated[
        int, typer.Option(min=0, help="Records anchored one per tx for the ratio.")
    ] = 200,
    verify_sample: Annotated[
        int, typer.Option(min=0, help="Proofs checked on-chain; 0 = every record.")
    ] = 200,
    batch_size: Annotated[int, typer.Option(min=1, help="Records per anchored batch.")] = 1000,
    signing_workers: Annotated[
        int,
        typer.Option(min=0, help="Processes signing uploads a day ahead of ingestion (0: in-process)."),
    ] = 0,
    fault_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of first packs given an injected device fault."),
    ] = 0.04,
) -> None:
    """Run the pilot and write ``pilot-report.json`` and ``fleet-soh.png`` under ``--out``."""
    if chain not in ("anvil", "ganache"):
        raise typer.BadParameter("--chain must be anvil or ganache")
    kind: ChainKind = "anvil" if chain == "anvil" else "ganache"
    try:
        fleet = FleetConfig(n_evs=evs, days=days, seed=seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    config = PilotConfig(
        fleet=fleet,
        chain=kind,
        data_dir=out,
        batch_size=batch_size,
        naive_sample=naive_sample,
        verify_sample=verify_sample or None,
        health=HealthPilotConfig(fault_share=fault_share),
        signing_workers=signing_workers,
    )
    console = Console()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        report = run_pilot(config, progress=advance, chart=out / "fleet-soh.png")
    path = out / "pilot-report.json"
    report.outputs["report"] = str(path)
    path.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    _render(report, console)
    console.print(f"report: {path}\nchart:  {report.outputs.get('chart')}")
