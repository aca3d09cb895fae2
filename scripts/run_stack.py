"""Run the whole local stack until Ctrl-C: chain, ledger, demo passport, oracle anchoring worker and API.

Usage: ``python -m scripts.run_stack`` (``make run``). With ``--stop`` (``make stop``) it stops whatever
an earlier run left running under ``PASSPORT_DATA_DIR``, by PID file: a stack still running (it shuts
down cleanly), then any chain node or js-ipfs daemon.

Services start in order and stop in reverse. The stack owns its chain node while it runs: a node already
running (left by a run that was killed, or started by ``scripts.localchain``) is adopted from its PID
file and stopped with the stack too, so a clean stop leaves nothing listening; while the stack runs, a
supervisor restarts the node with its data if it dies. The stack records its own PID in
``<data_dir>/stack.pid``, so a second stack on the same data dir is refused and ``make stop`` can reach
it. Chain state, keys, the deployment manifest, the content store, the oracle journal, API keys and the
demo stay under ``PASSPORT_DATA_DIR`` (default ``.data``), so the next run resumes where this one
stopped. With ``PASSPORT_RPC_URL`` set, no local chain is started and the ledger is deployed there.

The demo is set up before the worker and the API start, so once ``/api/v1/health`` answers everything
the banner names exists; and the demo's issuer transactions never race the API's (each has its own
nonce book for the same account).

To add a service, write a class with ``name``, ``start()``, ``stop()`` and ``summary()`` and append it
in ``services()``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Final, Protocol

import uvicorn

from api.app import create_app
from devtools.localchain import LocalChainNode, NodeSupervisor, local_chain
from devtools.localnodes import read_pid_file, stop_recorded, write_pid_file
from oracle.anchoring import AnchoringPolicy
from oracle.worker import AnchoringWorker
from passport.chain.deployment import DeploymentManifest, deploy, load_deployment
from passport.chain.keystore import Keystore
from passport.errors import PassportError
from passport.settings import Settings
from scripts._console import configure_logging
from scripts.demo import Demo, ensure_demo
from scripts.deploy import describe
from scripts.errors import StackError

log = logging.getLogger("scripts.run_stack")


class Service(Protocol):
    """One piece of the stack, started in order and stopped in reverse."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None:
        """Undo ``start()``; called only after ``start()`` returned."""
        ...

    def summary(self) -> list[str]:
        """Lines printed once every service is up (URLs, addresses, paths)."""
        ...


class LocalChainService:
    """The managed ganache/anvil node, with every keystore participant funded on it, supervised.

    A node already running is adopted, and stopped on the way down like one this run started: a run
    killed with ``kill -9`` cannot stop its node (the node has its own session, so Ctrl-C in the
    terminal reaches only us), and the next run is the one that must leave nothing listening.
    """

    name = "local chain"

    def __init__(
        self, settings: Settings, node: LocalChainNode | None = None, *, supervise_s: float = 0.5
    ) -> None:
        self.settings = settings
        self.node = node or local_chain(settings)
        self.supervisor = NodeSupervisor(self.node, interval=supervise_s)

    def start(self) -> None:
        addresses = Keystore.from_settings(self.settings).ensure()
        self.node.start()
        if self.node.adopted:
            log.warning(
                "adopted %s (pid %s) left running by an earlier run; it stops with this stack",
                self.node.kind,
                self.node.pid,
            )
        self.node.fund(addresses.values())
        self.supervisor.start()

    def stop(self) -> None:
        self.supervisor.stop()  # first, or it would restart the node being stopped
        self.node.stop()

    def summary(self) -> list[str]:
        node = self.node
        return [f"chain:     {node.kind} at {node.url} (pid {node.pid}, state in {node.data_path})"]


class StackPidFile:
    """``<data_dir>/stack.pid``: this process's PID (and start time), while the stack runs.

    Taken first and released last: a second stack on the same data dir is refused (it would adopt
    this one's chain and stop it on its way out), and ``make stop`` finds a running stack by it.
    """

    name = "stack PID file"

    def __init__(self, settings: Settings) -> None:
        self.path = stack_pid_file(settings)

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if (pid := read_pid_file(self.path)) is not None:
            raise StackError(
                f"a stack is already running on {self.path.parent} (pid {pid}): `make stop` stops it"
            )
        write_pid_file(self.path, os.getpid())

    def stop(self) -> None:
        self.path.unlink(missing_ok=True)

    def summary(self) -> list[str]:
        return [f"stack:     pid {os.getpid()} ({self.path}; `make stop` stops it from anywhere)"]


def stack_pid_file(settings: Settings) -> Path:
    return settings.data_dir / "stack.pid"


#: How long ``make stop`` gives a running stack to shut down cleanly (API, worker, chain) before SIGKILL.
STACK_STOP_TIMEOUT_S: Final = 90.0


def stop_leftovers(settings: Settings) -> list[str]:
    """Stop what earlier runs left under ``data_dir``, by PID file; a line per process stopped.

    A running stack first (SIGTERM: it stops its own services in order), then every other PID file
    one or two levels down (chain nodes in ``data_dir/chain``, a js-ipfs daemon's directory), so a
    chain orphaned by a killed run is stopped too. Deeper directories (the content store) hold none.
    """
    stopped = []
    stack_file = stack_pid_file(settings)
    if (pid := stop_recorded(stack_file, timeout=STACK_STOP_TIMEOUT_S)) is not None:
        stopped.append(f"stack (pid {pid})")
    data_dir = settings.data_dir
    for pid_file in sorted({*data_dir.glob("*.pid"), *data_dir.glob("*/*.pid")}):
        if pid_file == stack_file:
            continue
        if (pid := stop_recorded(pid_file)) is not None:
            stopped.append(f"{pid_file.stem} (pid {pid}, {pid_file})")
    return stopped


class DeploymentService:
    """The ledger on the chain: deployed once, a no-op on later runs (``passport.chain.deployment``)."""

    name = "ledger deployment"

    def __init__(self, settings: Settings, rpc_url: str) -> None:
        self.settings = settings
        self.rpc_url = rpc_url
        self.manifest: DeploymentManifest | None = None

    def start(self) -> None:
        self.manifest = deploy(self.settings, rpc_url=self.rpc_url)

    def stop(self) -> None:
        """Nothing to undo: the deployment lives on the chain."""

    def summary(self) -> list[str]:
        if self.manifest is None:
            return []
        return [*describe(self.manifest), f"manifest:  {self.settings.deployment_manifest}"]


class DemoService:
    """The ready-made demo passport and its participants (``scripts.demo``): made once, then reused."""

    name = "demo passport"

    def __init__(self, settings: Settings, rpc_url: str) -> None:
        self.settings = settings
        self.rpc_url = rpc_url
        self.demo: Demo | None = None
        self.registry = ""

    def start(self) -> None:
        self.demo = ensure_demo(self.settings)
        self.registry = load_deployment(self.settings).registry_address

    def stop(self) -> None:
        """Nothing to undo: the demo lives on the chain and under ``data_dir``."""

    def summary(self) -> list[str]:
        if self.demo is None:
            return []
        return self.demo.summary(self.settings.public_base_url, self.rpc_url, self.registry)


#: A local stack seals a batch once its oldest reading is this old, so a newcomer sees readings
#: anchored within seconds; the policy's default (60 s) suits a fleet, not a demo.
DEFAULT_MAX_BATCH_AGE_S: Final = 5.0


class AnchoringWorkerService:
    """The oracle's anchoring worker (``oracle.worker``) in a thread, acting as the keystore's ``oracle``.

    A thread, not a process: the worker shares only files with the API, and a thread is joined on
    stop without PID bookkeeping. ``passport worker run`` runs the same worker on its own.
    """

    name = "oracle anchoring worker"

    def __init__(
        self,
        settings: Settings,
        rpc_url: str,
        *,
        max_batch_age_s: float = DEFAULT_MAX_BATCH_AGE_S,
        poll_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.rpc_url = rpc_url
        self.policy = AnchoringPolicy.from_settings(settings, max_batch_age_s=max_batch_age_s)
        self.poll_s = poll_s
        self._worker: AnchoringWorker | None = None

    def start(self) -> None:
        settings = self.settings
        if settings.effective_rpc_url != self.rpc_url:  # the managed node's address, if it differs
            settings = settings.model_copy(update={"rpc_url": self.rpc_url})
        self._worker = AnchoringWorker.from_settings(settings, policy=self.policy, poll_s=self.poll_s)
        self._worker.start()

    def stop(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()

    def summary(self) -> list[str]:
        account = None if self._worker is None else self._worker.account
        return [
            f"oracle:    anchoring as {account}: a batch once its oldest reading is "
            f"{self.policy.max_batch_age_s:g} s old (or {self.policy.batch_size} readings)"
        ]


API_START_TIMEOUT_S: Final = 120.0  # building the services catches the audit index up with the chain
API_STOP_TIMEOUT_S: Final = 15.0


class ApiService:
    """The API under uvicorn in a thread, its services built at startup from the settings (``connect``).

    The socket is bound here, before uvicorn runs, so a busy port fails ``start()`` with a clear error
    instead of a log line in a thread. ``lifespan="on"`` because under uvicorn's default ("auto") an
    exception while building the services is taken for "lifespan unsupported" and the API would serve
    without a ledger.
    """

    name = "API"

    def __init__(self, settings: Settings, *, access_log: bool = False) -> None:
        self.settings = settings
        self.access_log = access_log
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def start(self) -> None:
        host, port = self.settings.api_host, self.settings.api_port
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise StackError(
                f"the API cannot listen on {host}:{port}: {exc.strerror or exc} (set PASSPORT_API_PORT)"
            ) from None
        app = create_app(self.settings, connect=True)
        # log_config=None: uvicorn's records go through the logging this script configured.
        config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=self.access_log)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="api", daemon=True)
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + API_START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise StackError("the API did not start (its log lines above say why)")
            time.sleep(0.05)

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None and thread is not None:
            server.should_exit = True  # finishes in-flight requests, then runs the lifespan shutdown
            thread.join(timeout=API_STOP_TIMEOUT_S)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout=API_STOP_TIMEOUT_S)
            if thread.is_alive():
                log.warning("the API did not stop within %.0f s", 2 * API_STOP_TIMEOUT_S)
        if sock is not None:
            sock.close()

    def summary(self) -> list[str]:
        return [
            f"API:       {self.url}/api/v1 (health: {self.url}/api/v1/health)",
            f"docs:      {self.url}/docs (OpenAPI: {self.url}/openapi.json)",
        ]


def services(
    settings: Settings, *, max_batch_age_s: float = DEFAULT_MAX_BATCH_AGE_S, access_log: bool = False
) -> list[Service]:
    """The stack, in start order: its PID file, chain, ledger, demo, anchoring worker, API.

    The demo comes before the API so that a healthy API implies the demo exists, and so that its
    issuer transactions cannot race the API's for the same account.
    """
    stack: list[Service] = [StackPidFile(settings)]
    if settings.rpc_url is None:
        chain = LocalChainService(settings)
        stack.append(chain)
        rpc_url = chain.node.url
    else:
        rpc_url = settings.rpc_url
    stack += [
        DeploymentService(settings, rpc_url),
        DemoService(settings, rpc_url),
        AnchoringWorkerService(settings, rpc_url, max_batch_age_s=max_batch_age_s),
        ApiService(settings, access_log=access_log),
    ]
    return stack


class Stack:
    """Starts services in order, stops the started ones in reverse (also when a later start fails)."""

    def __init__(self, services: Sequence[Service]) -> None:
        self.services = list(services)
        self._started: list[Service] = []

    def start(self) -> None:
        for service in self.services:
            log.info("starting %s", service.name)
            try:
                service.start()
            except BaseException:
                self.stop()
                raise
            self._started.append(service)

    def stop(self) -> None:
        while self._started:
            service = self._started.pop()
            log.info("stopping %s", service.name)
            try:
                service.stop()
            except Exception:  # keep stopping the rest; the failure is logged with its traceback
                log.exception("stopping %s failed", service.name)

    def summary(self) -> list[str]:
        return [line for service in self._started for line in service.summary()]


SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ShutdownSignal:
    """Catches the shutdown signals while entered, so that one arriving during start-up is not lost.

    Without it a SIGTERM between starting the chain and waiting would kill this process at once and
    leave the node (in its own session) running, unowned.
    """

    def __init__(self, signals: Sequence[signal.Signals] = SHUTDOWN_SIGNALS) -> None:
        self.signals = tuple(signals)
        self.received: signal.Signals | None = None
        self._event = threading.Event()
        self._previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received = signal.Signals(signum)
        self._event.set()

    def __enter__(self) -> ShutdownSignal:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in self.signals}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)

    def wait(self) -> signal.Signals:
        """Block until a shutdown signal has arrived (at once if one already has); that signal."""
        while not self._event.wait(timeout=1.0):  # a timeout keeps the main thread responsive to signals
            pass
        if self.received is None:  # unreachable: set before the event
            raise StackError("shutdown event without a signal")
        return self.received


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.run_stack", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-batch-age",
        type=float,
        default=DEFAULT_MAX_BATCH_AGE_S,
        metavar="SECONDS",
        help=f"anchor a batch once its oldest reading is this old (default {DEFAULT_MAX_BATCH_AGE_S:g})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and the API's access log")
    parser.add_argument(
        "--stop",
        action="store_true",
        help="stop a stack, chain or js-ipfs node left running under PASSPORT_DATA_DIR, then exit",
    )
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if args.stop:
        return _stop_command()
    with ShutdownSignal() as shutdown:
        try:
            settings = Settings.load()
            stack = Stack(services(settings, max_batch_age_s=args.max_batch_age, access_log=args.verbose))
            stack.start()
        except (PassportError, StackError, ValueError) as exc:  # ValueError: invalid settings or policy
            print(f"error: {exc}", file=sys.stderr)
            return 1
        try:
            if shutdown.received is None:
                print("\n".join(stack.summary()), flush=True)
                print("stack running; Ctrl-C stops it (state persists for the next run)", flush=True)
            log.info("%s received", shutdown.wait().name)
        finally:
            stack.stop()
    return 0


def _stop_command() -> int:
    try:
        settings = Settings.load()
        stopped = stop_leftovers(settings)
    except (PassportError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in stopped:
        print(f"stopped {line}")
    if not stopped:
        print(f"nothing running under {settings.data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
