"""Run the local stack until Ctrl-C: the managed chain, the deployed ledger, and (later) the API and oracle.

Usage: ``python -m scripts.run_stack`` (``make run``).

Services start in order and stop in reverse. Each stops only what it started: a chain node that was
already running (adopted from its PID file) is left running. Chain state, keys and the deployment
manifest stay under ``PASSPORT_DATA_DIR`` (default ``.data``), so the next run resumes where this one
stopped. With ``PASSPORT_RPC_URL`` set, no local chain is started and the ledger is deployed there.

To add a service, write a class with ``name``, ``start()``, ``stop()`` and ``summary()`` and append it
in ``services()``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Protocol

from passport.chain.deployment import DeploymentManifest, deploy
from passport.chain.keystore import Keystore
from passport.errors import PassportError
from passport.localchain import LocalChainNode, local_chain
from passport.settings import Settings
from scripts._console import configure_logging
from scripts.deploy import describe

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
    """The managed ganache/anvil node, with every keystore participant funded on it."""

    name = "local chain"

    def __init__(self, settings: Settings, node: LocalChainNode | None = None) -> None:
        self.settings = settings
        self.node = node or local_chain(settings)

    def start(self) -> None:
        addresses = Keystore.from_settings(self.settings).ensure()
        self.node.start()
        self.node.fund(addresses.values())

    def stop(self) -> None:
        if self.node.adopted:
            log.info("leaving %s running (pid %s): this run did not start it", self.node.kind, self.node.pid)
        else:
            self.node.stop()

    def summary(self) -> list[str]:
        node = self.node
        return [f"chain:     {node.kind} at {node.url} (pid {node.pid}, state in {node.data_path})"]


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


def services(settings: Settings) -> list[Service]:
    """The stack, in start order."""
    stack: list[Service] = []
    if settings.rpc_url is None:
        chain = LocalChainService(settings)
        stack.append(chain)
        rpc_url = chain.node.url
    else:
        rpc_url = settings.rpc_url
    stack.append(DeploymentService(settings, rpc_url))
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
            raise RuntimeError("shutdown event without a signal")
        return self.received


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.run_stack", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    configure_logging(parser.parse_args(argv).verbose)
    with ShutdownSignal() as shutdown:
        try:
            settings = Settings()
            stack = Stack(services(settings))
            stack.start()
        except (PassportError, ValueError) as exc:  # ValueError: pydantic's wrapping of invalid settings
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


if __name__ == "__main__":
    sys.exit(main())
