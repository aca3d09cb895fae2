"""``Web3ChainClient``: the ``ChainClient`` over web3.py (any JSON-RPC node, or eth-tester in process).

This is the one place web3 and eth-tester are used, and the one place their errors are translated:

* a revert with custom-error data (``ContractCustomError`` from anvil/ganache, eth-tester's
  ``TransactionFailed("execution reverted: b'…'")``) becomes ``ContractRevert(name, args)``, decoded
  against the registry ABI's errors (plus Solidity's ``Error(string)`` and ``Panic(uint256)``);
* an unreachable or timed-out node becomes ``ChainUnavailable``;
* anything else that stops a transaction becomes ``TransactionFailed``.

Transactions are signed locally with eth-account; nonces come from a local counter per account (shared
by every client made with ``as_account``) that resyncs from the node when the node rejects a nonce.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, cast, runtime_checkable

import requests
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ABIFunction
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
)
from web3.types import BlockIdentifier, Nonce, TxParams, Wei
from web3.types import TxReceipt as Web3TxReceipt

from passport.chain.artifacts import load_artifact, registry_error_abi
from passport.chain.inclusion import BlockHeader, encode_receipt, encode_transaction
from passport.chain.records import (
    AnchorRecord,
    BusinessRecord,
    CustodyOffer,
    LedgerEvent,
    PassportIssue,
    PassportRecord,
    Role,
    SafetyState,
    TxReceipt,
)
from passport.chain.sales import SaleRecord, SaleState
from passport.errors import (
    ChainError,
    ChainUnavailable,
    ContractRevert,
    InclusionProofError,
    InvalidIdentifier,
    PassportError,
    TransactionFailed,
)
from passport.model.lifecycle import AnchorKind, BusinessKind, LifecycleStatus
from passport.model.safety import InspectionKind
from passport.settings import Settings

log = logging.getLogger(__name__)

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)
# Estimates are exact for the state they ran on; the margin absorbs small changes before mining.
_GAS_MARGIN = 1.2
#: Gas limit of an ``anchorBatches`` transaction sent without an estimate: base + per root. An anchor
#: costs under 30k gas in a batch (one fresh slot, one event); the margin covers calldata and cold reads.
ANCHOR_TX_GAS = 40_000
ANCHOR_ROOT_GAS = 40_000
#: Gas limit of an ``updatePassport`` sent without an estimate: it costs ~78k (signature recovery, two
#: fresh slots for the version, one event); the limit only caps what is charged.
UPDATE_TX_GAS = 150_000
#: Gas limit of an ``issuePassports`` sent without an estimate: base + per passport. A passport costs
#: ~125k in a batch (signature recovery, its record's fresh slots, one event) whatever its values, since
#: every argument is fixed-size; 40 stay under ganache's 6.7M block gas limit. The limit only caps what
#: is charged.
ISSUE_TX_GAS = 60_000
ISSUE_PASSPORT_GAS = 140_000
_NONCE_RETRIES = 3
# How nodes word a nonce rejection: geth/anvil "nonce too low", ganache "the tx doesn't have the correct
# nonce", anvil/geth "already known" / "replacement transaction underpriced" for a reused nonce.
_NONCE_ERRORS = ("nonce", "already known", "replacement transaction underpriced")


def role_id(role: Role) -> bytes:
    """The contract's role id: ``bytes32(0)`` for the default admin, else keccak256 of the role name."""
    return ZERO32 if role is Role.ADMIN else keccak(text=role.role_name)


def connect(url: str, settings: Settings) -> Web3:
    """A ``Web3`` for a JSON-RPC URL, with response caching of chain-constant requests (``eth_chainId``).

    ``settings`` gives the request timeout; the caller built it at its edge (the library never reads the
    environment itself).
    """
    provider = HTTPProvider(url, request_kwargs={"timeout": settings.tx_timeout}, cache_allowed_requests=True)
    return Web3(provider)


# -- error translation ---------------------------------------------------------------------------


class _RevertDecoder:
    """Decodes revert data against a contract ABI's custom errors."""

    def __init__(self, w3: Web3, abi: Sequence[Mapping[str, Any]]) -> None:
        self._codec = w3.codec
        self._errors: dict[bytes, tuple[str, list[str]]] = {
            _ERROR_STRING: ("Error", ["string"]),
            _PANIC: ("Panic", ["uint256"]),
        }
        for item in abi:
            if item.get("type") == "error":
                types = [str(i["type"]) for i in item.get("inputs", [])]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                self._errors[selector] = (str(item["name"]), types)

    def decode(self, data: bytes, message: str = "") -> ChainError:
        """``ContractRevert`` for known selectors; ``TransactionFailed`` for empty or unknown data."""
        if len(data) < 4:
            return TransactionFailed(
                f"execution reverted without a reason{': ' + message if message else ''}"
            )
        known = self._errors.get(data[:4])
        if known is None:
            return TransactionFailed(f"execution reverted with unknown error data 0x{data.hex()}")
        name, types = known
        try:
            values = self._codec.decode(types, data[4:])
        except DecodingError:
            return TransactionFailed(f"execution reverted with malformed {name} data 0x{data.hex()}")
        return ContractRevert(name, tuple(_plain(v) for v in values))


def _revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by a web3 or eth-tester exception, if any."""
    if isinstance(exc, ContractLogicError):
        data = exc.data
        if isinstance(data, Mapping):  # ganache's estimateGas: {"result": "0x…", "message": "revert", …}
            data = data.get("result", data.get("data"))
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        if isinstance(data, bytes):
            return data
        return b""
    # eth-tester reports a revert as TransactionFailed("execution reverted: b'…'") with the data's repr.
    text = str(exc.args[0]) if exc.args else ""
    prefix = "execution reverted: "
    if text.startswith(prefix):
        with contextlib.suppress(ValueError, SyntaxError):
            value = ast.literal_eval(text[len(prefix) :])
            if isinstance(value, bytes):
                return value
            if isinstance(value, str):  # a plain `revert("reason")`
                return _ERROR_STRING + Web3().codec.encode(["string"], [value])
    return b"" if text.startswith("execution reverted") else None


def _is_eth_tester_failure(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("eth_tester") and type(exc).__name__ == "TransactionFailed"


def _batch_inputs(
    batches: Sequence[tuple[bytes, bytes, int, AnchorKind]],
) -> list[tuple[bytes, bytes, int, int]]:
    return [(_b32(root), _b32(cid), int(count), int(kind)) for root, cid, count, kind in batches]


def _plain(value: Any) -> Any:
    """web3's HexBytes/AttributeDict/list results as plain bytes/dict/tuple."""
    if isinstance(value, HexBytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and is_address(value) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


class _Nonces:
    """Next nonce per account, counted locally; forgotten (and re-read from the node) on any doubt."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, account: str, fetch: Callable[[], int]) -> int:
        with self._lock:
            nonce = self._next.get(account)
            if nonce is None:
                nonce = fetch()
            self._next[account] = nonce + 1
            return nonce

    def forget(self, account: str | None = None) -> None:
        with self._lock:
            if account is None:
                self._next.clear()
            else:
                self._next.pop(account, None)


class _Transactable(Protocol):
    """A bound contract function or constructor: what web3 can estimate and build."""

    def estimate_gas(self, transaction: TxParams | None = None) -> int: ...

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams: ...


class _EncodedCall:
    """A contract call whose calldata is already ABI-encoded (``eth_abi``, without web3's per-value
    normalisers, which took ~20 ms for a 40-passport ``issuePassports``): a ``_Transactable``."""

    def __init__(self, w3: Web3, to: str, data: bytes) -> None:
        self._w3 = w3
        self._to = to
        self._data = data

    def _params(self, transaction: TxParams | None) -> TxParams:
        params: TxParams = {"value": Wei(0), **(transaction or {})}
        params["to"] = self._to
        params["data"] = HexBytes(self._data)
        return params

    def estimate_gas(self, transaction: TxParams | None = None) -> int:
        return int(self._w3.eth.estimate_gas(self._params(transaction)))

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams:
        return self._params(transaction)


@runtime_checkable
class _Callable(Protocol):
    """A bound contract function (not a constructor): what web3 can also run as an ``eth_call``."""

    def call(
        self, transaction: TxParams | None = None, block_identifier: BlockIdentifier | None = None
    ) -> Any: ...


class _Sender:
    """Signs, sends and waits for transactions from one account, translating failures."""

    def __init__(
        self, w3: Web3, signer: LocalAccount, nonces: _Nonces, settings: Settings, decoder: _RevertDecoder
    ) -> None:
        self.w3 = w3
        self.signer = signer
        self.nonces = nonces
        self.settings = settings
        self.decoder = decoder
        self._chain_id: int | None = None
        self._sent: dict[bytes, TxParams] = {}  # sent by ``send``, receipt not yet read
        self._sent_lock = threading.Lock()

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with self.boundary():
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @contextlib.contextmanager
    def boundary(self) -> Iterator[None]:
        """Translate web3 / eth-tester / transport errors raised inside into ``passport.errors``."""
        try:
            yield
        except PassportError:
            raise
        except Exception as exc:
            error = self.translate(exc)
            if error is None:
                raise  # a programming error, not a chain failure: let it show as itself
            raise error from exc

    def translate(self, exc: BaseException) -> ChainError | None:
        """Our error for ``exc``, or None when it is not a chain failure at all."""
        if isinstance(exc, ContractLogicError) or _is_eth_tester_failure(exc):
            data = _revert_data(exc)
            if data is not None:
                return self.decoder.decode(data, str(exc))
        if isinstance(
            exc,
            ProviderConnectionError | RequestTimedOut | requests.ConnectionError | requests.Timeout | OSError,
        ):
            return ChainUnavailable(f"chain node unreachable: {exc}")
        if isinstance(exc, TimeExhausted):
            return TransactionFailed(f"transaction not mined in time: {exc}")
        # eth-tester / py-evm reject bad nonces, unaffordable gas etc. with their own ValidationError.
        if isinstance(exc, Web3Exception | ValueError | TypeError | KeyError) or type(
            exc
        ).__module__.startswith(("eth_tester", "eth.", "eth_utils")):
            return TransactionFailed(f"{type(exc).__name__}: {exc}")
        return None

    def transact(self, call: _Transactable) -> Web3TxReceipt:
        """Pre-flight, estimate, sign, send with a fresh nonce, wait for the receipt.

        The pre-flight is an ``eth_call`` against the *pending* block: a write that would revert raises
        its decoded ``ContractRevert`` here and is never sent (no gas spent, no nonce used). The pending
        block matters for time checks: while an instamine node idles, the latest block's timestamp goes
        stale and a call or estimate against it passes where the mined block (stamped now) reverts.
        """
        account = self.signer.address
        with self.boundary():
            if isinstance(call, _Callable):
                call.call({"from": account}, block_identifier="pending")
            gas = call.estimate_gas({"from": account})
            gas_price = int(self.w3.eth.gas_price)
        for attempt in range(_NONCE_RETRIES):
            nonce = self.nonces.take(account, self._pending_nonce)
            try:
                with self.boundary():
                    params: TxParams = {
                        "from": account,
                        "nonce": Nonce(nonce),
                        "gas": int(gas * _GAS_MARGIN),
                        "gasPrice": Wei(gas_price),
                        "chainId": self.chain_id,
                    }
                    tx = call.build_transaction(params)
                    signed = self.signer.sign_transaction(tx)  # type: ignore[arg-type]
                    tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
                break
            except ChainError as exc:
                self.nonces.forget(account)  # the nonce may or may not be used: re-read it next time
                cause = str(exc.__cause__ or exc).lower()
                if attempt + 1 < _NONCE_RETRIES and any(word in cause for word in _NONCE_ERRORS):
                    log.info("nonce %d for %s rejected (%s); resyncing", nonce, account, cause)
                    continue
                raise
        with self.boundary():
            receipt = self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.settings.tx_timeout, poll_latency=self.settings.poll_latency
            )
        if receipt["status"] != 1:
            raise self._failure(tx, receipt)
        return receipt

    def send(self, call: _Transactable, gas: int) -> bytes:
        """Sign and send with the next local nonce and a fixed ``gas`` limit; do NOT wait for it.

        For the caller that keeps several transactions in flight and collects receipts itself
        (``receipt``): no pre-flight call and no estimate (the caller knows the gas its call needs), so
        the happy path is two RPCs, the gas price and the send. A nonce rejection resyncs and retries,
        as ``transact`` does. Returns the transaction hash.
        """
        account = self.signer.address
        with self.boundary():
            gas_price = int(self.w3.eth.gas_price)
        for attempt in range(_NONCE_RETRIES):
            nonce = self.nonces.take(account, self._pending_nonce)
            try:
                with self.boundary():
                    params: TxParams = {
                        "from": account,
                        "nonce": Nonce(nonce),
                        "gas": gas,
                        "gasPrice": Wei(gas_price),
                        "chainId": self.chain_id,
                    }
                    tx = call.build_transaction(params)
                    signed = self.signer.sign_transaction(tx)  # type: ignore[arg-type]
                    tx_hash = bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
                with self._sent_lock:
                    self._sent[tx_hash] = tx
                return tx_hash
            except ChainError as exc:
                self.nonces.forget(account)
                cause = str(exc.__cause__ or exc).lower()
                if attempt + 1 < _NONCE_RETRIES and any(word in cause for word in _NONCE_ERRORS):
                    log.info("nonce %d for %s rejected (%s); resyncing", nonce, account, cause)
                    continue
                raise
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def receipt(self, tx_hash: bytes) -> Web3TxReceipt | None:
        """The receipt of a transaction ``send`` sent, or None while it is not mined (one RPC).

        A mined transaction that failed raises its decoded ``ContractRevert`` (or ``TransactionFailed``).
        """
        with self.boundary():
            try:
                receipt = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                return None
        with self._sent_lock:
            tx = self._sent.pop(tx_hash, None)
        if receipt["status"] != 1:
            if tx is None:
                block = receipt["blockNumber"]
                raise TransactionFailed(f"transaction 0x{tx_hash.hex()} failed in block {block}")
            raise self._failure(tx, receipt)
        return receipt

    def _pending_nonce(self) -> int:
        with self.boundary():
            return int(self.w3.eth.get_transaction_count(self.signer.address, "pending"))

    def _failure(self, tx: TxParams, receipt: Web3TxReceipt) -> ChainError:
        """Why a mined transaction failed: replay it as a call on the parent block to read the revert."""
        block = int(receipt["blockNumber"])
        replay: TxParams = {k: v for k, v in tx.items() if k in ("from", "to", "data", "gas", "value")}  # type: ignore[assignment]
        # On the mined block first: it carries the timestamp the transaction ran at (a failed
        # transaction changed no contract state), then on its parent.
        for at in (block, max(block - 1, 0)):
            try:
                self.w3.eth.call(replay, at)
            except Exception as exc:
                error = self.translate(exc)
                if isinstance(error, ContractRevert):
                    return error
        return TransactionFailed(
            f"transaction 0x{bytes(receipt['transactionHash']).hex()} failed in block {block} "
            f"(gas used {receipt['gasUsed']} of {tx.get('gas')})"
        )


# -- the client ----------------------------------------------------------------------------------


class Web3ChainClient:
    """A ``ChainClient`` for a deployed ``BatteryPassportRegistry``, acting as one account."""

    def __init__(
        self,
        w3: Web3,
        registry_address: str,
        private_key: bytes | str,
        *,
        settings: Settings,
        _nonces: _Nonces | None = None,
        _receipt_hooks: list[Callable[[TxReceipt], None]] | None = None,
    ) -> None:
        if not is_address(registry_address):
            raise InvalidIdentifier(f"invalid registry address {registry_address!r}")
        artifact = load_artifact()
        self._w3 = w3
        self._settings = settings  # transaction timeout and receipt poll latency
        self._contract: Contract = w3.eth.contract(
            address=to_checksum_address(registry_address), abi=list(artifact.abi)
        )
        try:
            signer: LocalAccount = Account.from_key(private_key)
        except (ValueError, TypeError) as exc:
            raise InvalidIdentifier(f"invalid private key: {exc}") from None
        self._sender = _Sender(
            w3, signer, _nonces or _Nonces(), self._settings, _RevertDecoder(w3, registry_error_abi())
        )
        # web3 re-validates the contract's whole ABI (a keccak per function) on every call it builds and
        # encodes, ~15 ms for this registry: each function name gets a contract view holding only its
        # own ABI entries (``_function``), built on first use.
        self._abi = list(artifact.abi)
        self._views: dict[str, Contract] = {}
        # Built once per event name: constructing web3's event object per log was a quarter of decoding
        # a batch's receipt (40 ``PassportIssued`` logs).
        self._event_decoders: dict[str, Any] = {}
        # Shared with every ``as_account`` client, like the nonce book.
        self._receipt_hooks = [] if _receipt_hooks is None else _receipt_hooks
        self._events_by_topic: dict[bytes, str] = {
            keccak(text=f"{e['name']}({','.join(str(i['type']) for i in e['inputs'])})"): str(e["name"])
            for e in artifact.abi
            if e.get("type") == "event"
        }

    @classmethod
    def from_rpc(
        cls, url: str, private_key: bytes | str, registry_address: str, *, settings: Settings
    ) -> Web3ChainClient:
        """A client over HTTP JSON-RPC (ganache, anvil, any node)."""
        return cls(connect(url, settings), registry_address, private_key, settings=settings)

    @classmethod
    def from_web3(
        cls, w3: Web3, private_key: bytes | str, registry_address: str, *, settings: Settings
    ) -> Web3ChainClient:
        """A client over an existing ``Web3`` (e.g. eth-tester's ``EthereumTesterProvider``)."""
        return cls(w3, registry_address, private_key, settings=settings)

    # -- identity -----------------------------------------------------------------------------------
    @property
    def w3(self) -> Web3:
        return self._w3

    @property
    def chain_id(self) -> int:
        return self._sender.chain_id

    @property
    def registry_address(self) -> str:
        return str(self._contract.address)

    @property
    def account(self) -> str:
        return str(self._sender.signer.address)

    def as_account(self, private_key: bytes) -> Web3ChainClient:
        return Web3ChainClient(
            self._w3,
            self.registry_address,
            private_key,
            settings=self._settings,
            _nonces=self._sender.nonces,
            _receipt_hooks=self._receipt_hooks,
        )

    def on_receipt(self, callback: Callable[[TxReceipt], None]) -> None:
        self._receipt_hooks.append(callback)

    def forget_nonces(self) -> None:
        """Drop every locally counted nonce (after a snapshot revert or an external sender's transactions)."""
        self._sender.nonces.forget()

    # -- chain --------------------------------------------------------------------------------------
    def block_number(self) -> int:
        with self._sender.boundary():
            return int(self._w3.eth.block_number)

    def block_hash(self, number: int) -> bytes | None:
        block = self._block(number)
        return None if block is None else bytes(block["hash"])

    def block_timestamp(self, number: int) -> int | None:
        """Unix seconds of block ``number`` on the canonical chain, or None if it does not exist."""
        block = self._block(number)
        return None if block is None else int(block["timestamp"])

    def block_header(self, block_hash: bytes) -> BlockHeader | None:
        block = self._block_by_hash(block_hash, full=False)
        if block is None:
            return None
        header = BlockHeader.from_rpc(block)
        if header.hash != bytes(block_hash):
            # eth-tester's JSON pads an empty extraData to 32 zero bytes; the hash tells which is real.
            extra = header.fields[12].lstrip(b"\x00")
            unpadded = BlockHeader((*header.fields[:12], extra, *header.fields[13:]))
            if unpadded.hash != bytes(block_hash):
                raise InclusionProofError(
                    f"the node's header fields for block 0x{bytes(block_hash).hex()} hash to "
                    f"0x{header.hash.hex()}: this node's header cannot be proven"
                )
            header = unpadded
        return header

    def block_transactions(self, block_hash: bytes) -> tuple[bytes, ...]:
        block = self._block_by_hash(block_hash, full=True)
        if block is None:
            raise InclusionProofError(f"the node has no block 0x{bytes(block_hash).hex()}")
        encoded = []
        for tx in block["transactions"]:
            raw = encode_transaction(tx)
            if raw is None or keccak(raw) != bytes(tx["hash"]):
                raw = self._raw_transaction(bytes(tx["hash"]))
            encoded.append(raw)
        return tuple(encoded)

    def block_receipts(self, block_hash: bytes) -> tuple[bytes, ...]:
        block = self._block_by_hash(block_hash, full=False)
        if block is None:
            raise InclusionProofError(f"the node has no block 0x{bytes(block_hash).hex()}")
        with self._sender.boundary():
            try:
                receipts: Sequence[Mapping[str, Any]] = self._w3.eth.get_block_receipts(HexBytes(block_hash))
            except (Web3Exception, ValueError, NotImplementedError):
                # eth_getBlockReceipts is not everywhere (ganache 7, eth-tester): one receipt per transaction.
                receipts = [self._w3.eth.get_transaction_receipt(h) for h in block["transactions"]]
        return tuple(encode_receipt(receipt) for receipt in receipts)

    def _block_by_hash(self, block_hash: bytes, *, full: bool) -> Mapping[str, Any] | None:
        with self._sender.boundary():
            try:
                return self._w3.eth.get_block(HexBytes(_b32(block_hash)), full_transactions=full)
            except BlockNotFound:
                return None

    def _raw_transaction(self, tx_hash: bytes) -> bytes:
        """The node's own encoding of a transaction (for types this module does not re-encode)."""
        with self._sender.boundary():
            try:
                raw = bytes(self._w3.eth.get_raw_transaction(HexBytes(tx_hash)))
            except (Web3Exception, ValueError, NotImplementedError) as exc:
                raise InclusionProofError(
                    f"transaction 0x{tx_hash.hex()} cannot be encoded here and the node will not give "
                    f"its raw form: {exc}"
                ) from exc
        if keccak(raw) != tx_hash:
            raise InclusionProofError(f"the node's raw transaction 0x{tx_hash.hex()} does not hash to it")
        return raw

    def next_block_time(self) -> int:
        """Unix seconds the next block will carry, as well as the node and the wall clock can tell.

        The latest block's timestamp is stale on an idle instamine node; the pending block shows a dev
        node's time offset (anvil); the wall clock is what a node stamps the next block with otherwise.
        """
        with self._sender.boundary():
            pending = self._w3.eth.get_block("pending")
        return max(int(time.time()), int(pending["timestamp"]))

    def _block(self, number: int) -> Mapping[str, Any] | None:
        if number < 0:
            return None
        with self._sender.boundary():
            try:
                return self._w3.eth.get_block(number)
            except BlockNotFound:
                return None

    # -- plumbing -----------------------------------------------------------------------------------
    def _function(self, name: str, *args: Any) -> Any:
        """``contract.functions.<name>(*args)`` from a view of the registry holding only ``name``'s ABI
        entries (every overload), so web3 validates and searches those instead of the whole ABI."""
        view = self._views.get(name)
        if view is None:
            entries = [e for e in self._abi if e.get("type") == "function" and e.get("name") == name]
            view = self._w3.eth.contract(address=self._contract.address, abi=entries)
            self._views[name] = view
        return getattr(view.functions, name)(*args)

    def _encode(self, name: str, *args: Any) -> bytes:
        """The calldata of the (only) function ``name`` with ``args``, encoded by ``eth_abi``."""
        (entry,) = [e for e in self._abi if e.get("type") == "function" and e.get("name") == name]
        function = cast(ABIFunction, entry)
        try:
            return function_abi_to_4byte_selector(function) + abi_encode(get_abi_input_types(function), args)
        except EncodingError as exc:
            raise InvalidIdentifier(f"cannot encode {name}: {exc}") from None

    def _call(self, name: str, *args: Any) -> Any:
        with self._sender.boundary():
            return self._function(name, *args).call()

    def _transact(self, name: str, *args: Any) -> TxReceipt:
        receipt = self._receipt(self._sender.transact(self._function(name, *args)))
        for hook in self._receipt_hooks:
            hook(receipt)
        return receipt

    def _receipt(self, receipt: Web3TxReceipt) -> TxReceipt:
        events = tuple(event for entry in receipt["logs"] if (event := self._decode_log(entry)) is not None)
        return TxReceipt(
            tx_hash=bytes(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=bytes(receipt["blockHash"]),
            gas_used=int(receipt["gasUsed"]),
            events=events,
        )

    def _decode_log(self, entry: Mapping[str, Any]) -> LedgerEvent | None:
        # Addresses compared without checksumming each log's (a keccak per log).
        if str(entry["address"]).lower() != self._contract.address.lower() or not entry["topics"]:
            return None
        name = self._events_by_topic.get(bytes(entry["topics"][0]))
        if name is None:
            return None
        with self._sender.boundary():
            decoder = self._event_decoders.get(name)
            if decoder is None:
                decoder = self._event_decoders[name] = getattr(self._contract.events, name)()
            decoded = decoder.process_log(entry)
        return LedgerEvent(
            name=name,
            args=_plain(decoded["args"]),
            block_number=int(entry["blockNumber"]),
            block_hash=bytes(entry["blockHash"]),
            tx_hash=bytes(entry["transactionHash"]),
            log_index=int(entry["logIndex"]),
            address=str(self._contract.address),
        )

    # -- roles and businesses -------------------------------------------------------------------------
    def grant_role(self, role: Role, account: str) -> TxReceipt:
        return self._transact("grantRole", role_id(role), _address(account))

    def revoke_role(self, role: Role, account: str) -> TxReceipt:
        return self._transact("revokeRole", role_id(role), _address(account))

    def has_role(self, role: Role, account: str) -> bool:
        return bool(self._call("hasRole", role_id(role), _address(account)))

    def register_business(self, account: str, kinds: BusinessKind, registration_hash: bytes) -> TxReceipt:
        return self._transact("registerBusiness", _address(account), int(kinds), _b32(registration_hash))

    def suspend_business(self, account: str) -> TxReceipt:
        return self._transact("suspendBusiness", _address(account))

    def reinstate_business(self, account: str) -> TxReceipt:
        return self._transact("reinstateBusiness", _address(account))

    def get_business(self, account: str) -> BusinessRecord | None:
        registration_hash, kinds, active, registered_at = self._call("getBusiness", _address(account))
        if registered_at == 0:
            return None
        return BusinessRecord(
            account=_address(account),
            kinds=BusinessKind(kinds),
            registration_hash=bytes(registration_hash),
            active=bool(active),
            registered_at=int(registered_at),
        )

    # -- passports ------------------------------------------------------------------------------------
    def issue_passport(
        self, passport_id: bytes, battery_id_hash: bytes, manifest_digest: bytes, signature: bytes
    ) -> TxReceipt:
        return self._transact(
            "issuePassport", _b32(passport_id), _b32(battery_id_hash), _b32(manifest_digest), bytes(signature)
        )

    def issue_passports(self, passports: Sequence[PassportIssue]) -> TxReceipt:
        entries = [
            (_b32(p.passport_id), _b32(p.battery_id_hash), _b32(p.manifest_digest), bytes(p.signature))
            for p in passports
        ]
        return self._transact("issuePassports", entries)

    def send_issue_passports(self, passports: Sequence[PassportIssue]) -> bytes:
        """Send ``issuePassports`` without waiting (``sent_receipt`` collects it); the tx hash.

        No pre-flight call and no estimate (``ISSUE_TX_GAS`` + ``ISSUE_PASSPORT_GAS`` each): each would
        run the whole batch's signature checks again in the node. A refused batch shows as the decoded
        revert of its receipt.
        """
        entries = [
            (_b32(p.passport_id), _b32(p.battery_id_hash), _b32(p.manifest_digest), bytes(p.signature))
            for p in passports
        ]
        call = _EncodedCall(self._w3, self._contract.address, self._encode("issuePassports", entries))
        return self._sender.send(call, ISSUE_TX_GAS + ISSUE_PASSPORT_GAS * len(entries))

    def update_passport(self, passport_id: bytes, manifest_digest: bytes, signature: bytes) -> TxReceipt:
        return self._transact("updatePassport", _b32(passport_id), _b32(manifest_digest), bytes(signature))

    def send_update_passport(self, passport_id: bytes, manifest_digest: bytes, signature: bytes) -> bytes:
        """Send ``updatePassport`` without waiting (``sent_receipt`` collects it); the tx hash.

        No pre-flight call and no estimate (``UPDATE_TX_GAS``): the caller checked the passport and
        keeps several versions in flight. A refused version shows as the decoded revert of its receipt.
        """
        call = self._function("updatePassport", _b32(passport_id), _b32(manifest_digest), bytes(signature))
        return self._sender.send(call, UPDATE_TX_GAS)

    def sent_receipt(self, tx_hash: bytes) -> TxReceipt:
        """Wait for a transaction this client sent without waiting: its receipt, polled every
        ``poll_latency`` up to ``tx_timeout`` (then ``TransactionFailed``); a failed one raises its
        decoded revert. Receipt hooks see it as they see a waited-for one."""
        deadline = time.monotonic() + self._settings.tx_timeout
        while (receipt := self._sender.receipt(tx_hash)) is None:
            if time.monotonic() > deadline:
                raise TransactionFailed(f"transaction 0x{tx_hash.hex()} not mined in time")
            time.sleep(self._settings.poll_latency)
        decoded = self._receipt(receipt)
        for hook in self._receipt_hooks:
            hook(decoded)
        return decoded

    def change_status(
        self, passport_id: bytes, status: LifecycleStatus, manifest_digest: bytes, signature: bytes
    ) -> TxReceipt:
        return self._transact(
            "changeStatus", _b32(passport_id), int(status), _b32(manifest_digest), bytes(signature)
        )

    def issue_successor(
        self,
        predecessor_id: bytes,
        passport_id: bytes,
        battery_id_hash: bytes,
        status: LifecycleStatus,
        manifest_digest: bytes,
        signature: bytes,
    ) -> TxReceipt:
        return self._transact(
            "issueSuccessor",
            _b32(predecessor_id),
            _b32(passport_id),
            _b32(battery_id_hash),
            int(status),
            _b32(manifest_digest),
            bytes(signature),
        )

    def recycle(self, passport_id: bytes, manifest_digest: bytes, signature: bytes) -> TxReceipt:
        return self._transact("recycle", _b32(passport_id), _b32(manifest_digest), bytes(signature))

    def get_passport(self, passport_id: bytes) -> PassportRecord | None:
        try:
            p = self._call("getPassport", _b32(passport_id))
        except ContractRevert as exc:
            if exc.error == "BatteryPassportRegistryUnknownPassport":
                return None
            raise
        (battery, digest, predecessor, successor, issuer, version, status, created, custodian, updated) = p
        return PassportRecord(
            passport_id=bytes(passport_id),
            battery_id_hash=bytes(battery),
            issuer=to_checksum_address(issuer),
            custodian=to_checksum_address(custodian),
            status=LifecycleStatus(status),
            manifest_digest=bytes(digest),
            version=int(version),
            predecessor=bytes(predecessor),
            successor=bytes(successor),
            created_at=int(created),
            updated_at=int(updated),
        )

    def version_digest(self, passport_id: bytes, version: int) -> bytes:
        return bytes(self._call("versionDigest", _b32(passport_id), version))

    def passport_version_hash(
        self,
        passport_id: bytes,
        battery_id_hash: bytes,
        version: int,
        status: LifecycleStatus,
        manifest_digest: bytes,
        predecessor: bytes,
    ) -> bytes:
        return bytes(
            self._call(
                "hashPassportVersion",
                _b32(passport_id),
                _b32(battery_id_hash),
                version,
                int(status),
                _b32(manifest_digest),
                _b32(predecessor),
            )
        )

    def recover_version_signer(
        self,
        passport_id: bytes,
        battery_id_hash: bytes,
        version: int,
        status: LifecycleStatus,
        manifest_digest: bytes,
        predecessor: bytes,
        signature: bytes,
    ) -> str:
        return to_checksum_address(
            self._call(
                "recoverVersionSigner",
                _b32(passport_id),
                _b32(battery_id_hash),
                version,
                int(status),
                _b32(manifest_digest),
                _b32(predecessor),
                bytes(signature),
            )
        )

    # -- custody ------------------------------------------------------------------------------------
    def offer_custody(self, passport_id: bytes, to: str, expires_at: int) -> TxReceipt:
        return self._transact("offerCustody", _b32(passport_id), _address(to), expires_at)

    def accept_custody(self, passport_id: bytes) -> TxReceipt:
        return self._transact("acceptCustody", _b32(passport_id))

    def cancel_custody_offer(self, passport_id: bytes) -> TxReceipt:
        return self._transact("cancelCustodyOffer", _b32(passport_id))

    def get_custody_offer(self, passport_id: bytes) -> CustodyOffer | None:
        to, expires_at = self._call("getCustodyOffer", _b32(passport_id))
        if to == ZERO_ADDRESS:
            return None
        passport = self.get_passport(passport_id)
        return CustodyOffer(
            passport_id=bytes(passport_id),
            from_address=passport.custodian if passport else ZERO_ADDRESS,
            to_address=to_checksum_address(to),
            expires_at=int(expires_at),
        )

    # -- battery services ---------------------------------------------------------------------------
    def set_services(self, services_address: str | None) -> TxReceipt:
        return self._transact(
            "setServices", ZERO_ADDRESS if services_address is None else _address(services_address)
        )

    def services_address(self) -> str | None:
        address = to_checksum_address(self._call("services"))
        return None if address == ZERO_ADDRESS else address

    # -- sales (BatterySales) -----------------------------------------------------------------------
    def agree_sale(
        self, sale_id: bytes, passport_id: bytes, buyer: str, terms_digest: bytes, expires_at: int
    ) -> TxReceipt:
        return self._transact(
            "agreeSale", _b32(sale_id), _b32(passport_id), _address(buyer), _b32(terms_digest), expires_at
        )

    def cancel_sale(self, sale_id: bytes, reason_digest: bytes) -> TxReceipt:
        return self._transact("cancelSale", _b32(sale_id), _b32(reason_digest))

    def dispute_sale(self, sale_id: bytes, claim_digest: bytes) -> TxReceipt:
        return self._transact("disputeSale", _b32(sale_id), _b32(claim_digest))

    def resolve_sale_dispute(self, sale_id: bytes, outcome_digest: bytes) -> TxReceipt:
        return self._transact("resolveSaleDispute", _b32(sale_id), _b32(outcome_digest))

    def get_sale(self, sale_id: bytes) -> SaleRecord | None:
        passport_id, terms, seller, agreed_at, buyer, closed_at, state = self._call("getSale", _b32(sale_id))
        if state == SaleState.NONE:
            return None
        return SaleRecord(
            sale_id=bytes(sale_id),
            passport_id=bytes(passport_id),
            terms_digest=bytes(terms),
            seller=to_checksum_address(seller),
            buyer=to_checksum_address(buyer),
            state=SaleState(state),
            agreed_at=int(agreed_at),
            closed_at=int(closed_at),
        )

    def open_sale(self, passport_id: bytes) -> bytes | None:
        sale_id = bytes(self._call("openSale", _b32(passport_id)))
        return None if sale_id == b"\x00" * 32 else sale_id

    # -- safety records -----------------------------------------------------------------------------
    def record_inspection(
        self,
        passport_id: bytes,
        kind: InspectionKind,
        passed: bool,
        valid_until: int,
        manifest_digest: bytes,
        signature: bytes,
    ) -> TxReceipt:
        return self._transact(
            "recordInspection",
            _b32(passport_id),
            int(kind),
            bool(passed),
            int(valid_until),
            _b32(manifest_digest),
            bytes(signature),
        )

    def record_incident(
        self, passport_id: bytes, serious: bool, manifest_digest: bytes, signature: bytes
    ) -> TxReceipt:
        return self._transact(
            "recordIncident", _b32(passport_id), bool(serious), _b32(manifest_digest), bytes(signature)
        )

    def get_safety_state(self, passport_id: bytes) -> SafetyState:
        valid_until, flagged = self._call("getSafetyState", _b32(passport_id))
        return SafetyState(bytes(passport_id), int(valid_until), bool(flagged))

    # -- data anchors -------------------------------------------------------------------------------
    def anchor_batch(self, root: bytes, cid_digest: bytes, record_count: int, kind: AnchorKind) -> TxReceipt:
        return self._transact("anchorBatch", _b32(root), _b32(cid_digest), record_count, int(kind))

    def anchor_batches(self, batches: Sequence[tuple[bytes, bytes, int, AnchorKind]]) -> TxReceipt:
        """``anchorBatches``: several ``(root, cid_digest, record_count, kind)`` in one transaction, mined."""
        return self._transact("anchorBatches", _batch_inputs(batches))

    def send_anchor_batches(self, batches: Sequence[tuple[bytes, bytes, int, AnchorKind]]) -> bytes:
        """Send ``anchorBatches`` without waiting (``anchor_receipt`` collects it); the tx hash.

        Gas is fixed from the count (``ANCHOR_TX_GAS`` + ``ANCHOR_ROOT_GAS`` per root, well above what
        an anchor costs) instead of estimated, so sending is two RPCs. A root that turns out to be
        anchored already makes the whole transaction revert (the contract's all-or-none rule).
        """
        gas = ANCHOR_TX_GAS + ANCHOR_ROOT_GAS * len(batches)
        return self._sender.send(self._function("anchorBatches", _batch_inputs(batches)), gas)

    def anchor_receipt(self, tx_hash: bytes) -> TxReceipt | None:
        """The receipt of a ``send_anchor_batches`` transaction (decoded events), or None if not mined."""
        receipt = self._sender.receipt(tx_hash)
        return None if receipt is None else self._receipt(receipt)

    def get_anchor(self, root: bytes) -> AnchorRecord | None:
        record_count, kind, anchored_at, block_number = self._call("getAnchor", _b32(root))
        if block_number == 0:
            return None
        return AnchorRecord(
            root=bytes(root),
            record_count=int(record_count),
            kind=AnchorKind(kind),
            anchored_at=int(anchored_at),
            block_number=int(block_number),
        )

    def verify_record(self, root: bytes, record_digest: bytes, proof: Sequence[bytes]) -> bool:
        return bool(self._call("verifyRecord", _b32(root), _b32(record_digest), [_b32(p) for p in proof]))

    # -- events -------------------------------------------------------------------------------------
    def events(self, from_block: int, to_block: int, names: Sequence[str] | None = None) -> list[LedgerEvent]:
        topics: list[bytes] | None = None
        if names is not None:
            wanted = set(names)
            topics = [topic for topic, name in self._events_by_topic.items() if name in wanted]
            if not topics:
                return []
        return self._logs(
            from_block, to_block, None if topics is None else [["0x" + t.hex() for t in topics]]
        )

    def passport_events(
        self, passport_id: bytes, from_block: int, to_block: int, names: Sequence[str]
    ) -> list[LedgerEvent]:
        """Events ``names`` whose first indexed argument (``passportId``) is ``passport_id``: one
        ``eth_getLogs`` filtered by topic, so the node returns only this passport's events."""
        wanted = set(names)
        topics = [topic for topic, name in self._events_by_topic.items() if name in wanted]
        if not topics:
            return []
        return self._logs(
            from_block, to_block, [["0x" + t.hex() for t in topics], "0x" + _b32(passport_id).hex()]
        )

    def _logs(self, from_block: int, to_block: int, topics: list[Any] | None) -> list[LedgerEvent]:
        """The registry's decoded events in the range matching ``topics``, in chain order."""
        params: dict[str, Any] = {
            "address": self._contract.address,
            "fromBlock": from_block,
            "toBlock": to_block,
        }
        if topics is not None:
            params["topics"] = topics
        with self._sender.boundary():
            logs = self._w3.eth.get_logs(params)  # type: ignore[arg-type]
        found = [event for entry in logs if (event := self._decode_log(entry)) is not None]
        found.sort(key=lambda e: (e.block_number, e.log_index))
        return found


def _b32(value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise InvalidIdentifier(f"expected 32 bytes, got {value!r}")
    return bytes(value)


def _address(value: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise InvalidIdentifier(f"invalid address {value!r}")
    return to_checksum_address(value)
