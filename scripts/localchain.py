"""Start, stop or inspect the managed local chain (ganache by default, or anvil).

Usage: ``python -m scripts.localchain start|stop|status [--chain ganache|anvil]``.

``start`` makes sure the keystore holds every participant's key, starts the node (or adopts the one
already running from this data directory), funds the participants' accounts, and returns, leaving the
node running in the background; ``stop`` stops it by the PID in ``<data_dir>/chain/<chain>.pid``.
Chain state is kept under ``<data_dir>/chain`` between runs; delete that directory for a fresh chain.
``make run`` adopts a node started here and stops it when the stack stops (``make stop`` too).
``status`` exits 0 when the node is running and 3 when it is not.
"""

from __future__ import annotations

import argparse
import sys

from devtools.localchain import LocalChainNode, local_chain
from passport.chain.keystore import Keystore
from passport.errors import PassportError
from passport.settings import Settings
from scripts._console import configure_logging

EXIT_NOT_RUNNING = 3


def start_chain(settings: Settings, node: LocalChainNode) -> None:
    """Start (or adopt) ``node`` and fund every keystore participant on it."""
    addresses = Keystore.from_settings(settings).ensure()
    node.start()
    node.fund(addresses.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.localchain", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument(
        "--chain", choices=["ganache", "anvil"], help="default: PASSPORT_LOCAL_CHAIN (ganache)"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = Settings.load()
        node = local_chain(settings, args.chain)
        if args.command == "start":
            start_chain(settings, node)
            verb = "already running" if node.adopted else "started"
            print(f"{node.kind} {verb}: {node.url} (pid {node.pid}, chain id {node.chain_id})")
            print(f"state: {node.data_path}\nlog:   {node.log_file}")
        elif args.command == "stop":
            if node.is_running():
                node.stop()
                print(f"{node.kind} stopped; state kept in {node.data_path}")
            else:
                print(f"{node.kind} is not running")
        else:
            status = node.status()
            if not status.running:
                print(f"{node.kind} is not running (state: {status.data_path})")
                return EXIT_NOT_RUNNING
            answering = (
                f"chain id {status.chain_id}, block {status.block_number}"
                if status.chain_id
                else "not answering"
            )
            print(f"{node.kind} running: {status.url} (pid {status.pid}, {answering})")
            print(f"state: {status.data_path}\nlog:   {status.log_file}")
    except PassportError as exc:  # ConfigError (bad PASSPORT_* settings) included
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
