"""Deploy ``BatteryPassportRegistry`` from the packaged artifact (no compiler needed)."""

from __future__ import annotations

import logging

from eth_account import Account
from eth_utils.address import is_address, to_checksum_address
from web3 import Web3

from passport.chain.artifacts import load_artifact, registry_error_abi
from passport.chain.records import TxReceipt
from passport.chain.web3_client import Web3ChainClient, _Nonces, _RevertDecoder, _Sender, connect
from passport.errors import DeploymentError, InvalidIdentifier
from passport.settings import Settings

log = logging.getLogger(__name__)

# uint48 in the constructor (OpenZeppelin AccessControlDefaultAdminRules).
MAX_ADMIN_DELAY = 2**48 - 1


def deploy_registry(
    chain: Web3 | str,
    private_key: bytes | str,
    *,
    admin: str | None = None,
    admin_delay: int = 0,
    settings: Settings,
) -> tuple[str, TxReceipt]:
    """Deploy the registry from ``private_key``'s account; returns its address and the deployment receipt.

    ``chain`` is a ``Web3`` or a JSON-RPC URL. ``admin`` (default: the deployer) becomes the default
    admin; ``admin_delay`` is the seconds a later admin transfer must wait. ``settings`` gives the
    transaction timeout and receipt poll latency.
    """
    w3 = connect(chain, settings) if isinstance(chain, str) else chain
    try:
        signer = Account.from_key(private_key)
    except (ValueError, TypeError) as exc:
        raise InvalidIdentifier(f"invalid deployer private key: {exc}") from None
    admin = signer.address if admin is None else admin
    if not is_address(admin):
        raise InvalidIdentifier(f"invalid admin address {admin!r}")
    if not 0 <= admin_delay <= MAX_ADMIN_DELAY:
        raise DeploymentError(f"admin delay {admin_delay} is outside 0..2**48-1")
    artifact = load_artifact()
    sender = _Sender(w3, signer, _Nonces(), settings, _RevertDecoder(w3, registry_error_abi()))
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    receipt = sender.transact(factory.constructor(admin_delay, to_checksum_address(admin)))
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError("deployment receipt has no contract address")
    with sender.boundary():
        code = w3.eth.get_code(address)
    if not code:
        raise DeploymentError(f"no code at {address} after deployment")
    client = Web3ChainClient(w3, str(address), private_key, settings=settings)
    log.info("deployed BatteryPassportRegistry at %s (block %d)", address, receipt["blockNumber"])
    return to_checksum_address(address), client._receipt(receipt)
