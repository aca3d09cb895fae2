"""``Web3MaterialLedger``: the ``MaterialLedger`` port over web3.py, and its deployment.

It reuses the registry client's transaction sender, so errors are translated exactly as there: custom
errors (of this contract and of the registry it calls) become ``ContractRevert``, an unreachable node
``ChainUnavailable``, anything else that stops a transaction ``TransactionFailed``. Built from a registry
client with ``for_client``, it shares that client's connection and nonce book, so one account writing
to both contracts never reuses a nonce.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract

from passport.chain.artifacts import REGISTRY_CONTRACT, load_artifact
from passport.chain.material_ledger import (
    DEFAULT_MAX_RECOVERY_BPS,
    MATERIAL_LEDGER_CONTRACT,
    ClaimRecord,
    ClaimStatus,
    LotRecord,
    LotStatus,
    MaterialRole,
    Metal,
    MetalGrams,
)
from passport.chain.records import TxReceipt
from passport.chain.web3_client import (
    Web3ChainClient,
    _address,
    _b32,
    _Nonces,
    _plain,
    _RevertDecoder,
    _Sender,
)
from passport.errors import DeploymentError, InvalidIdentifier
from passport.settings import Settings

log = logging.getLogger(__name__)

_ZERO32 = b"\x00" * 32


def material_role_id(role: MaterialRole) -> bytes:
    """The contract's role id: zero for the default admin, else keccak256 of the role name."""
    return _ZERO32 if role is MaterialRole.ADMIN else keccak(text=role.role_name)


def _decoder(w3: Web3) -> _RevertDecoder:
    # The ledger calls the registry: a registry revert would surface with the registry's error selector.
    abi = [*load_artifact(MATERIAL_LEDGER_CONTRACT).abi, *load_artifact(REGISTRY_CONTRACT).abi]
    return _RevertDecoder(w3, abi)


def _grams(values: Sequence[int], what: str) -> list[int]:
    grams = [int(v) for v in values]
    if len(grams) != len(Metal) or any(not 0 <= g < 2**64 for g in grams):
        raise InvalidIdentifier(f"{what} must be four gram amounts in 0..2**64-1, got {values!r}")
    return grams


def _metal_grams(value: Any) -> MetalGrams:
    a, b, c, d = (int(v) for v in value)
    return (a, b, c, d)


class Web3MaterialLedger:
    """A ``MaterialLedger`` for a deployed ``RecycledMaterialLedger``, acting as one account."""

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
            raise InvalidIdentifier(f"invalid material ledger address {address!r}")
        try:
            signer: LocalAccount = Account.from_key(private_key)
        except (ValueError, TypeError) as exc:
            raise InvalidIdentifier(f"invalid private key: {exc}") from None
        artifact = load_artifact(MATERIAL_LEDGER_CONTRACT)
        self._w3 = w3
        self._contract: Contract = w3.eth.contract(
            address=to_checksum_address(address), abi=list(artifact.abi)
        )
        self._sender = _Sender(w3, signer, _nonces or _Nonces(), settings, _decoder(w3))
        self._events_by_topic: dict[bytes, str] = {
            keccak(text=f"{e['name']}({','.join(str(i['type']) for i in e['inputs'])})"): str(e["name"])
            for e in artifact.abi
            if e.get("type") == "event"
        }

    @classmethod
    def for_client(
        cls, client: Web3ChainClient, address: str, private_key: bytes | str
    ) -> Web3MaterialLedger:
        """A material-ledger client sharing ``client``'s connection, settings and nonce book."""
        return cls(
            client.w3,
            address,
            private_key,
            settings=client._settings,
            _nonces=client._sender.nonces,
        )

    @property
    def address(self) -> str:
        return str(self._contract.address)

    @property
    def account(self) -> str:
        return str(self._sender.signer.address)

    # -- plumbing -----------------------------------------------------------------------------------
    def _call(self, name: str, *args: Any) -> Any:
        with self._sender.boundary():
            return getattr(self._contract.functions, name)(*args).call()

    def _transact(self, name: str, *args: Any) -> TxReceipt:
        from passport.chain.records import LedgerEvent

        receipt = self._sender.transact(getattr(self._contract.functions, name)(*args))
        events = []
        for entry in receipt["logs"]:
            if to_checksum_address(entry["address"]) != self._contract.address or not entry["topics"]:
                continue
            event_name = self._events_by_topic.get(bytes(entry["topics"][0]))
            if event_name is None:
                continue
            with self._sender.boundary():
                decoded = getattr(self._contract.events, event_name)().process_log(entry)
            events.append(
                LedgerEvent(
                    name=event_name,
                    args=_plain(decoded["args"]),
                    block_number=int(entry["blockNumber"]),
                    block_hash=bytes(entry["blockHash"]),
                    tx_hash=bytes(entry["transactionHash"]),
                    log_index=int(entry["logIndex"]),
                    address=self.address,
                )
            )
        return TxReceipt(
            tx_hash=bytes(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=bytes(receipt["blockHash"]),
            gas_used=int(receipt["gasUsed"]),
            events=tuple(events),
        )

    # -- roles ----------------------------------------------------------------------------------------
    def grant_role(self, role: MaterialRole, account: str) -> TxReceipt:
        return self._transact("grantRole", material_role_id(role), _address(account))

    def has_role(self, role: MaterialRole, account: str) -> bool:
        return bool(self._call("hasRole", material_role_id(role), _address(account)))

    # -- writes ---------------------------------------------------------------------------------------
    def record_lot(
        self,
        lot_id: bytes,
        *,
        post_consumer: bool,
        feedstock: Sequence[bytes],
        feedstock_grams: MetalGrams,
        recovered_grams: MetalGrams,
        document_digest: bytes,
    ) -> TxReceipt:
        return self._transact(
            "recordLot",
            _b32(lot_id),
            bool(post_consumer),
            [_b32(p) for p in feedstock],
            _grams(feedstock_grams, "feedstock grams"),
            _grams(recovered_grams, "recovered grams"),
            _b32(document_digest),
        )

    def certify_lot(self, lot_id: bytes, certificate_digest: bytes) -> TxReceipt:
        return self._transact("certifyLot", _b32(lot_id), _b32(certificate_digest))

    def transfer_credits(self, to: str, metal: Metal, grams: int, *, post_consumer: bool) -> TxReceipt:
        if not 0 <= int(grams) < 2**256:
            raise InvalidIdentifier(f"grams must be a non-negative uint256, got {grams!r}")
        return self._transact(
            "transferCredits", _address(to), int(Metal(metal)), bool(post_consumer), int(grams)
        )

    def submit_usage_claim(
        self, claim_id: bytes, claim_digest: bytes, pre_consumer: MetalGrams, post_consumer: MetalGrams
    ) -> TxReceipt:
        return self._transact(
            "submitUsageClaim",
            _b32(claim_id),
            _b32(claim_digest),
            _grams(pre_consumer, "pre-consumer grams"),
            _grams(post_consumer, "post-consumer grams"),
        )

    def certify_usage(self, claim_id: bytes, certificate_digest: bytes) -> TxReceipt:
        return self._transact("certifyUsage", _b32(claim_id), _b32(certificate_digest))

    def reject_usage_claim(self, claim_id: bytes, reason_digest: bytes) -> TxReceipt:
        return self._transact("rejectUsageClaim", _b32(claim_id), _b32(reason_digest))

    def set_max_recovery(self, metal: Metal, basis_points: int) -> TxReceipt:
        if not 0 <= int(basis_points) < 2**16:
            raise InvalidIdentifier(f"basis points must fit uint16, got {basis_points!r}")
        return self._transact("setMaxRecovery", int(Metal(metal)), int(basis_points))

    # -- reads ----------------------------------------------------------------------------------------
    def get_lot(self, lot_id: bytes) -> LotRecord | None:
        raw = self._call("getLot", _b32(lot_id))
        status = LotStatus(int(raw[1]))
        if status is LotStatus.NONE:
            return None
        feedstock = tuple(bytes(p) for p in self._call("lotFeedstock", _b32(lot_id)))
        return LotRecord(
            lot_id=bytes(lot_id),
            recycler=to_checksum_address(raw[0]),
            status=status,
            post_consumer=bool(raw[2]),
            recorded_at=int(raw[3]),
            document_digest=bytes(raw[4]),
            certificate_digest=bytes(raw[5]),
            feedstock_grams=_metal_grams(raw[6]),
            recovered_grams=_metal_grams(raw[7]),
            feedstock=feedstock,
        )

    def get_claim(self, claim_id: bytes) -> ClaimRecord | None:
        raw = self._call("getClaim", _b32(claim_id))
        status = ClaimStatus(int(raw[1]))
        if status is ClaimStatus.NONE:
            return None
        return ClaimRecord(
            claim_id=bytes(claim_id),
            claimant=to_checksum_address(raw[0]),
            status=status,
            submitted_at=int(raw[2]),
            claim_digest=bytes(raw[3]),
            certificate_digest=bytes(raw[4]),
            pre_consumer_grams=_metal_grams(raw[5]),
            post_consumer_grams=_metal_grams(raw[6]),
        )

    def feedstock_lot(self, passport_id: bytes) -> bytes | None:
        lot = bytes(self._call("feedstockLot", _b32(passport_id)))
        return None if lot == _ZERO32 else lot

    def credit_balance(self, holder: str, metal: Metal, *, post_consumer: bool) -> int:
        return int(self._call("creditBalance", _address(holder), int(Metal(metal)), bool(post_consumer)))

    def credit_totals(self, metal: Metal, *, post_consumer: bool) -> tuple[int, int]:
        certified, retired = self._call("creditTotals", int(Metal(metal)), bool(post_consumer))
        return int(certified), int(retired)

    def max_recovery(self, metal: Metal) -> int:
        return int(self._call("maxRecovery", int(Metal(metal))))


def deploy_material_ledger(
    chain: Web3,
    private_key: bytes | str,
    registry_address: str,
    *,
    max_recovery_bps: MetalGrams = DEFAULT_MAX_RECOVERY_BPS,
    admin: str | None = None,
    admin_delay: int = 0,
    settings: Settings,
    nonces: _Nonces | None = None,
) -> tuple[str, TxReceipt]:
    """Deploy ``RecycledMaterialLedger`` reading ``registry_address``; returns its address and receipt.

    ``nonces`` shares a nonce book with clients of the same deployer (the registry's deployment).
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
    artifact = load_artifact(MATERIAL_LEDGER_CONTRACT)
    sender = _Sender(chain, signer, nonces or _Nonces(), settings, _decoder(chain))
    factory = chain.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    receipt = sender.transact(
        factory.constructor(
            to_checksum_address(registry_address),
            _grams(max_recovery_bps, "max recovery"),
            admin_delay,
            to_checksum_address(admin),
        )
    )
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError("material ledger deployment receipt has no contract address")
    with sender.boundary():
        code = chain.eth.get_code(address)
    if not code:
        raise DeploymentError(f"no code at {address} after deployment")
    log.info("deployed RecycledMaterialLedger at %s (block %d)", address, receipt["blockNumber"])
    return to_checksum_address(address), TxReceipt(
        tx_hash=bytes(receipt["transactionHash"]),
        block_number=int(receipt["blockNumber"]),
        block_hash=bytes(receipt["blockHash"]),
        gas_used=int(receipt["gasUsed"]),
    )


__all__ = ["MATERIAL_LEDGER_CONTRACT", "Web3MaterialLedger", "deploy_material_ledger", "material_role_id"]
