"""The root ``passport`` command: builds the Typer ``app`` and registers each command group on it.

Each group is a module with its own Typer ``app`` (``cli.custody.app``, …); adding a group is one
``app.add_typer(module.app, name=…)`` line below. Groups registered without a name (``passports``,
``simulate``) put their commands at the top level. Exit codes and error output: ``cli.output``;
settings and the ledger: ``cli.session``.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from cli import (
    admin,
    audit,
    businesses,
    carbon,
    credentials,
    custody,
    db,
    devices,
    did,
    energy,
    health,
    interop,
    market,
    owners,
    passports,
    records,
    recycled,
    report,
    safety,
    services,
    shares,
    simulate,
    store,
    telemetry,
    worker,
)
from cli.session import Session

app = typer.Typer(
    name="passport",
    help="Battery passport ledger: issue, inspect and verify EV battery passports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False,
) -> None:
    """Battery passport ledger."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    ctx.obj = Session()


app.add_typer(passports.app)  # verify, issue, show, bundle, versions
app.add_typer(custody.app, name="custody")
app.add_typer(businesses.app, name="business")
app.add_typer(admin.app, name="admin")
app.add_typer(audit.app, name="audit")
app.add_typer(telemetry.app, name="telemetry")
app.add_typer(devices.app, name="device")
app.add_typer(owners.app, name="owner")
app.add_typer(shares.app, name="share")
app.add_typer(records.app, name="record")
app.add_typer(interop.app)  # import catenax, export catenax
app.add_typer(worker.app, name="worker")
app.add_typer(db.app, name="db")
app.add_typer(store.app, name="store")
app.add_typer(credentials.app, name="vc")
app.add_typer(did.app, name="did")
app.add_typer(health.app, name="health")
app.add_typer(energy.app, name="energy")
app.add_typer(market.app, name="market")
app.add_typer(report.app)  # report, verify-report

app.add_typer(safety.inspect_app, name="inspect")
app.add_typer(safety.incident_app, name="incident")
app.add_typer(safety.ship_app, name="ship")

app.add_typer(recycled.app, name="recycled")
app.add_typer(carbon.app, name="carbon")
app.add_typer(services.app, name="services")
app.add_typer(simulate.app)  # simulate (development: the pilot on a managed local node)

__all__ = ["app"]
