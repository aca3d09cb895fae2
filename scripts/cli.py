"""The installed ``passport`` command: the core library's commands plus the oracle's and the pilot's.

``passport.cli`` holds the commands that need only the core library (verify, issue, show, bundle,
custody, business, versions, audit); the telemetry and record-proof commands (``scripts.cli_oracle``)
and the simulation drive the oracle (and managed nodes), so they are attached here, above both
packages, to keep imports flowing one way (``scripts → oracle → passport``).
"""

from __future__ import annotations

from passport.cli import app
from scripts.cli_oracle import record_app, telemetry_app
from scripts.simulation.__main__ import main as simulate

app.command(
    "simulate",
    help="Run the Busan-style pilot end to end on a managed local node and write its report and chart.",
)(simulate)

app.add_typer(telemetry_app, name="telemetry")
app.add_typer(record_app, name="record")

__all__ = ["app"]
