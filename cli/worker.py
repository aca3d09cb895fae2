"""``passport worker run``: the oracle's anchoring worker on its own, outside the API and the stack.

It acts as the keystore's ``oracle`` participant on the ledger ``PASSPORT_*`` point at, on the same
journal and content store as the API (``oracle.worker``). ``--once`` anchors everything pending and
exits (a cron job, a script); without it the worker runs until SIGINT/SIGTERM, finishing the pass in
progress. Exit codes: 0 done, 1 the ledger or anchoring failed, 2 invalid settings or options.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from cli.output import EXIT_INVALID, EXIT_OK, die, reported
from cli.session import Session
from oracle.anchoring import AnchoringPolicy
from oracle.errors import OracleError
from oracle.worker import AnchoringWorker

app = typer.Typer(help="The oracle's anchoring worker.", no_args_is_help=True)


@app.callback()
def worker() -> None:
    """The oracle's anchoring worker (a group even with one command, so it reads ``worker run``)."""


@app.command("run")
def run_command(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Anchor everything pending now (any age), then exit.")
    ] = False,
    max_batch_age: Annotated[
        float | None,
        typer.Option(
            "--max-batch-age",
            min=0.001,
            metavar="SECONDS",
            help="Seal a batch once its oldest reading is this old.",
        ),
    ] = None,
    poll: Annotated[
        float, typer.Option("--poll", min=0.001, metavar="SECONDS", help="Wait between idle passes.")
    ] = 1.0,
) -> None:
    """Anchor journaled device readings on the ledger, as the keystore's ``oracle`` participant."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Session.of(ctx).settings
    overrides = {} if max_batch_age is None else {"max_batch_age_s": max_batch_age}
    policy = AnchoringPolicy.from_settings(settings, **overrides)
    with reported("cannot start the anchoring worker"):
        worker = AnchoringWorker.from_settings(settings, policy=policy, poll_s=poll)
    with worker:
        if once:
            try:
                report = worker.drain()
            except OracleError as exc:  # AnchorMismatch: an operator must look
                die(f"{type(exc).__name__}: {exc}", EXIT_INVALID)
            typer.echo(
                f"anchored as {worker.account}: {report.sealed} batches sealed, {report.advanced} steps, "
                f"{report.confirmed} confirmed"
            )
            if report.error is not None:
                die(f"anchoring stopped: {report.error}", EXIT_INVALID)
            raise typer.Exit(EXIT_OK)
        _run_until_signalled(worker)


def _run_until_signalled(worker: AnchoringWorker) -> None:
    stop = threading.Event()

    def _handle(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker.run(stop)
    except OracleError as exc:
        die(f"{type(exc).__name__}: {exc}", EXIT_INVALID)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
