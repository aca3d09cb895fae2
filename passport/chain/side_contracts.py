"""What the clients of the registry's side contracts share (``RecycledMaterialLedger``, ``BatteryServices``).

Each side contract reads the registry, so its revert decoder knows both ABIs. A client reuses the
registry client's transaction sender, so errors are translated exactly as there: custom errors become
``ContractRevert``, an unreachable node ``ChainUnavailable``, anything else that stops a transaction
``TransactionFailed``. Built with ``for_client`` it shares the registry client's connection and nonce
book, so one account writing to several contracts never reuses a nonce.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, Self

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract

from passport.chain.artifacts import REGISTRY_CONTRACT, load_artifact
from passport.chain.records import LedgerEvent, TxReceipt
from passport.chain.web3_client import Web3ChainClient, _Nonces, _plain, _RevertDecoder, _Sender
from passport.errors import DeploymentError, InvalidIdentifier
from passport.settings import Settings

log = logging.getLogger(__name__)

_ZERO32 = b"\x00" * 32


def role_id(role_name: str | None) -> bytes:
    """A role's id in OpenZeppelin ``AccessControl``: zero for the default admin (``None``), else keccak."""
    return _ZERO32 if role_name is None else keccak(text=role_name)


def side_decoder(w3: Web3, contract: str) -> _RevertDecoder:
    # The side contract calls the registry: a registry revert surfaces with the registry's selector.
    return _RevertDecoder(w3, [*load_artifact(contract).abi, *load_artifact(REGISTRY_CONTRACT).abi])


def _receipt(receipt: Any, events: tuple[LedgerEvent, ...] = ()) -> TxReceipt:
    return TxReceipt(
        tx_hash=bytes(receipt["transactionHash"]),
        block_number=int(receipt["blockNumber"]),
        block_hash=bytes(receipt["blockHash"]),
        gas_used=int(receipt["gasUsed"]),
        events=events,
    )


class SideContractClient:
    """One account's client of a deployed side contract: calls, transactions and event decoding."""

    CONTRACT: ClassVar[str]  # the artifact name
    LABEL: ClassVar[str]  # how errors name the contract ("material ledger", "services contract")

    def __init__(
        self,
        w3: Web3,
        address: str,
        private_key: bytes | str,
        *,
        settings: Settings,
        _nonces: _Nonces | None = None,
    ) -> None:
        if not is_address(address):
            raise InvalidIdentifier(f"invalid {self.LABEL} address {address!r}")
        try:
            signer: LocalAccount = Account.from_key(private_key)
        except (ValueError, TypeError) as exc:
            raise InvalidIdentifier(f"invalid private key: {exc}") from None
        artifact = load_artifact(self.CONTRACT)
        self._w3 = w3
        self._contract: Contract = w3.eth.contract(
            address=to_checksum_address(address), abi=list(artifact.abi)
        )
        self._sender = _Sender(w3, signer, _nonces or _Nonces(), settings, side_decoder(w3, self.CONTRACT))
        self._events_by_topic: dict[bytes, str] = {
            keccak(text=f"{e['name']}({','.join(str(i['type']) for i in e['inputs'])})"): str(e["name"])
            for e in artifact.abi
            if e.get("type") == "event"
        }

    @classmethod
    def for_client(cls, client: Web3ChainClient, address: str, private_key: bytes | str) -> Self:
        """A client sharing ``client``'s connection, settings and nonce book."""
        return cls(client.w3, address, private_key, settings=client._settings, _nonces=client._sender.nonces)

    @property
    def address(self) -> str:
        return str(self._contract.address)

    @property
    def account(self) -> str:
        return str(self._sender.signer.address)

    def _call(self, name: str, *args: Any) -> Any:
        with self._sender.boundary():
            return getattr(self._contract.functions, name)(*args).call()

    def _decode(self, entry: Any) -> LedgerEvent | None:
        """``entry`` as this contract's event, or None when another contract or an unknown topic wrote it."""
        if to_checksum_address(entry["address"]) != self._contract.address or not entry["topics"]:
            return None
        event_name = self._events_by_topic.get(bytes(entry["topics"][0]))
        if event_name is None:
            return None
        with self._sender.boundary():
            decoded = getattr(self._contract.events, event_name)().process_log(entry)
        return LedgerEvent(
            name=event_name,
            args=_plain(decoded["args"]),
            block_number=int(entry["blockNumber"]),
            block_hash=bytes(entry["blockHash"]),
            tx_hash=bytes(entry["transactionHash"]),
            log_index=int(entry["logIndex"]),
            address=self.address,
        )

    def _transact(self, name: str, *args: Any) -> TxReceipt:
        receipt = self._sender.transact(getattr(self._contract.functions, name)(*args))
        events = tuple(e for entry in receipt["logs"] if (e := self._decode(entry)) is not None)
        return _receipt(receipt, events)


def deploy_side_contract(
    chain: Web3,
    private_key: bytes | str,
    registry_address: str,
    *,
    contract: str,
    label: str,
    constructor_args: Callable[[str, int, str], tuple[Any, ...]],
    admin: str | None,
    admin_delay: int,
    settings: Settings,
    nonces: _Nonces | None,
) -> tuple[str, TxReceipt]:
    """Deploy ``contract`` reading ``registry_address``; returns its address and receipt.

    ``constructor_args(registry, admin_delay, admin)`` orders the constructor's arguments; ``nonces``
    shares a nonce book with clients of the same deployer (the registry's deployment).
    """
    try:
        signer = Account.from_key(private_key)
    except (ValueError, TypeError) as exc:
        raise InvalidIdentifier(f"invalid deployer private key: {exc}") from None
    admin = signer.address if admin is None else admin
    if not is_address(admin) or not is_address(registry_address):
        raise InvalidIdentifier(f"invalid admin {admin!r} or registry address {registry_address!r}")
    if not 0 <= admin_delay < 2**48:
        raise DeploymentError(f"admin delay {admin_delay} is outside 0..2**48-1")
    artifact = load_artifact(contract)
    sender = _Sender(chain, signer, nonces or _Nonces(), settings, side_decoder(chain, contract))
    factory = chain.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    args = constructor_args(to_checksum_address(registry_address), admin_delay, to_checksum_address(admin))
    receipt = sender.transact(factory.constructor(*args))
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError(f"{label} deployment receipt has no contract address")
    with sender.boundary():
        code = chain.eth.get_code(address)
    if not code:
        raise DeploymentError(f"no code at {address} after deployment")
    log.info("deployed %s at %s (block %d)", contract, address, receipt["blockNumber"])
    return to_checksum_address(address), _receipt(receipt)


__all__ = ["SideContractClient", "deploy_side_contract", "role_id", "side_decoder"]
