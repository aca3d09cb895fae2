"""The installed ``passport`` command: the core library's commands plus the pilot simulation.

``passport.cli`` holds the commands that need only the core library (verify, issue, show, bundle);
the simulation drives the oracle and managed nodes, so it is attached here, above both packages, to
keep imports flowing one way (``scripts → oracle → passport``).
"""

from __future__ import annotations

from passport.cli import app
from scripts.simulation.__main__ import main as simulate

app.command(
    "simulate",
    help="Run the Busan-style pilot end to end on a managed local node and write its report and chart.",
)(simulate)

__all__ = ["app"]
