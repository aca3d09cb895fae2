"""Deploy the ledger (once) to a JSON-RPC chain and write the deployment manifest.

Usage: ``python -m scripts.deploy [--rpc URL] [--force] [--admin-delay SECONDS]``.

The deployer is the keystore's ``admin`` (``<data_dir>/keystore``); it must hold enough ether on the
target chain (``python -m scripts.localchain start`` funds it on the managed local chain). Re-running is
a no-op while the manifest still matches the chain; ``--force`` deploys a new registry regardless.
The manifest goes to ``<data_dir>/deployment.json``.
"""

from __future__ import annotations

import argparse
import sys

from passport.chain.deployment import DeploymentManifest, deploy
from passport.errors import PassportError
from passport.settings import Settings
from scripts._console import configure_logging


def describe(manifest: DeploymentManifest) -> list[str]:
    """The lines a person needs after a deployment."""
    return [
        f"registry:  {manifest.registry_address}",
        f"chain:     {manifest.chain_id} via {manifest.rpc_url}",
        f"deployed:  block {manifest.deploy_block_number} ({manifest.deploy_block_hash})",
        f"           at {manifest.deployed_at:%Y-%m-%d %H:%M:%S} UTC by {manifest.deployer}",
        *(f"  {role.name:<10} {', '.join(holders)}" for role, holders in manifest.role_holders.items()),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.deploy", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rpc", metavar="URL", help="JSON-RPC URL (default: PASSPORT_RPC_URL or the local chain)"
    )
    parser.add_argument("--force", action="store_true", help="deploy a new registry even if one is recorded")
    parser.add_argument("--admin-delay", type=int, metavar="SECONDS", help="admin hand-over delay")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = Settings.load()
        manifest = deploy(settings, rpc_url=args.rpc, force=args.force, admin_delay=args.admin_delay)
    except PassportError as exc:  # ConfigError (bad PASSPORT_* settings) included
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(describe(manifest)))
    print(f"manifest:  {settings.deployment_manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
