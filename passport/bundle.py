"""The verification bundle: one JSON file that lets anyone check a passport version offline.

It carries the exact stored bytes of the public section, the manifest (as a JSON object; its digest is
recomputed from its canonical form), the issuer's EIP-712 signature over the version fields, those
fields, the issuer's address, and the receipt of the transaction that anchored the version on-chain
with its proof: the block header's RLP fields and the Merkle-Patricia proofs of the transaction and its
receipt against the header's roots. Nothing in it is trusted as given: ``passport.verify`` recomputes
every digest, CID, signer, header hash and proof, and with a chain client compares them with the ledger.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from eth_utils.crypto import keccak
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from passport.canonical import parse_json_strict
from passport.chain.inclusion import BlockHeader, prove, trie_root
from passport.chain.protocol import ChainClient
from passport.errors import CanonicalJsonError, InclusionProofError, InvalidIdentifier, VerificationError
from passport.model import LifecycleStatus
from passport.sections import CommittedPassport, hex0x, unhex0x
from passport.signing import SIGNATURE_BYTES, PassportDomain, PassportVersion, checksum_address

# v2 added the anchor's header and inclusion proofs; a v1 bundle's anchor could not be checked offline.
BUNDLE_FORMAT = "battery-passport-ledger/bundle/v2"
# A bundle is a few KiB; refuse to parse something absurd instead of exhausting memory.
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


def _address(value: str) -> str:
    try:
        return checksum_address(value)
    except InvalidIdentifier as exc:  # pydantic reports ValueErrors as validation problems
        raise ValueError(str(exc)) from None


def _strict_base64(value: str) -> str:
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not standard base64") from None
    # One spelling per byte string: no stray padding bits that decode to the same bytes.
    if base64.b64encode(decoded).decode() != value:
        raise ValueError("base64 is not in canonical form")
    return value


Address = Annotated[str, AfterValidator(_address)]
Hex32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]
HexSignature = Annotated[str, StringConstraints(pattern=rf"^0x[0-9a-f]{{{2 * SIGNATURE_BYTES}}}$")]
Base64 = Annotated[str, AfterValidator(_strict_base64)]
HexData = Annotated[str, StringConstraints(pattern=r"^0x(?:[0-9a-f]{2})*$")]
# A trie proof is at most one node per nibble of a 32-byte key path, plus the leaf.
MAX_PROOF_NODES = 65


class AnchorReceipt(BaseModel):
    """Where the version was anchored (chain, registry, transaction, block), and the proof of it.

    ``header`` is the block header as its RLP fields in consensus order (their RLP hashes to
    ``block_hash``); ``transaction_proof`` and ``receipt_proof`` are the RLP-encoded trie nodes that
    show the transaction and its receipt at ``tx_index`` under the header's transactions and receipts
    roots.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_id: int = Field(gt=0)
    registry: Address
    tx_hash: Hex32
    block_number: int = Field(ge=0)
    block_hash: Hex32
    tx_index: int = Field(ge=0, le=2**32)
    header: list[HexData] = Field(min_length=1, max_length=64)
    transaction_proof: list[HexData] = Field(min_length=1, max_length=MAX_PROOF_NODES)
    receipt_proof: list[HexData] = Field(min_length=1, max_length=MAX_PROOF_NODES)

    def domain(self) -> PassportDomain:
        """The EIP-712 domain the issuer signed under: this chain's registry."""
        return PassportDomain(chain_id=self.chain_id, verifying_contract=self.registry)

    def header_fields(self) -> tuple[bytes, ...]:
        return tuple(unhex0x(field) for field in self.header)

    def transaction_nodes(self) -> tuple[bytes, ...]:
        return tuple(unhex0x(node) for node in self.transaction_proof)

    def receipt_nodes(self) -> tuple[bytes, ...]:
        return tuple(unhex0x(node) for node in self.receipt_proof)


def prove_anchor(chain: ChainClient, tx_hash: bytes, block_hash: bytes) -> AnchorReceipt:
    """The anchor of transaction ``tx_hash`` in block ``block_hash``, with its header and proofs.

    Raises ``InclusionProofError`` if the node does not have the block or the transaction in it, or if
    what it returns does not reproduce the header's roots (so a bundle is never built with a bad proof).
    """
    header = chain.block_header(block_hash)
    if header is None:
        raise InclusionProofError(f"the node has no block {hex0x(block_hash)}")
    transactions = chain.block_transactions(block_hash)
    hashes = [keccak(tx) for tx in transactions]
    if tx_hash not in hashes:
        raise InclusionProofError(f"transaction {hex0x(tx_hash)} is not in block {hex0x(block_hash)}")
    index = hashes.index(tx_hash)
    receipts = chain.block_receipts(block_hash)
    for name, values, root in (
        ("transactions", transactions, header.transactions_root),
        ("receipts", receipts, header.receipts_root),
    ):
        if trie_root(values) != root:
            raise InclusionProofError(
                f"the node's {name} of block {hex0x(block_hash)} do not rebuild the header's {name} root"
            )
    return AnchorReceipt(
        chain_id=chain.chain_id,
        registry=chain.registry_address,
        tx_hash=hex0x(tx_hash),
        block_number=header.number,
        block_hash=hex0x(block_hash),
        tx_index=index,
        header=[hex0x(field) for field in header.fields],
        transaction_proof=[hex0x(node) for node in prove(transactions, index)],
        receipt_proof=[hex0x(node) for node in prove(receipts, index)],
    )


def decode_header(anchor: AnchorReceipt) -> BlockHeader:
    """The shipped header; raises ``InclusionProofError`` if its fields cannot be a header."""
    return BlockHeader.decode(anchor.header_fields())


class SignedVersion(BaseModel):
    """The EIP-712 ``PassportVersion`` fields, as signed (status is the contract's uint8)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passport_id: Hex32
    battery_id_hash: Hex32
    version: int = Field(ge=1, le=2**32 - 1)
    status: int = Field(ge=0, le=max(LifecycleStatus))
    manifest_digest: Hex32
    predecessor: Hex32

    @classmethod
    def from_struct(cls, struct: PassportVersion) -> SignedVersion:
        return cls(
            passport_id=hex0x(struct.passport_id),
            battery_id_hash=hex0x(struct.battery_id_hash),
            version=struct.version,
            status=int(struct.status),
            manifest_digest=hex0x(struct.manifest_digest),
            predecessor=hex0x(struct.predecessor),
        )

    def to_struct(self) -> PassportVersion:
        return PassportVersion(
            passport_id=unhex0x(self.passport_id),
            battery_id_hash=unhex0x(self.battery_id_hash),
            version=self.version,
            status=LifecycleStatus(self.status),
            manifest_digest=unhex0x(self.manifest_digest),
            predecessor=unhex0x(self.predecessor),
        )


class VerificationBundle(BaseModel):
    """Everything needed to verify one passport version's public section without the service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A plain string, not a Literal: an unknown format is reported by the ``bundle.format`` check
    # rather than making the whole file unreadable.
    format: str = BUNDLE_FORMAT
    issuer: Address
    signed: SignedVersion
    signature: HexSignature
    anchor: AnchorReceipt
    manifest_cid: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    manifest: dict[str, Any]
    public_section: Base64  # the exact stored bytes of the public section document

    @property
    def public_section_bytes(self) -> bytes:
        return base64.b64decode(self.public_section, validate=True)

    @property
    def signature_bytes(self) -> bytes:
        return unhex0x(self.signature)

    def to_json(self) -> bytes:
        return (self.model_dump_json(indent=2) + "\n").encode()


def build_bundle(
    committed: CommittedPassport, *, issuer: str, signature: bytes, anchor: AnchorReceipt
) -> VerificationBundle:
    """The bundle for a committed, signed and anchored passport version."""
    return VerificationBundle(
        issuer=issuer,
        signed=SignedVersion.from_struct(committed.version_struct()),
        signature=hex0x(signature),
        anchor=anchor,
        manifest_cid=committed.manifest_cid,
        manifest=committed.manifest.document(),
        public_section=base64.b64encode(committed.public_section).decode(),
    )


def load_bundle(data: bytes | str | dict[str, Any]) -> VerificationBundle:
    """Parse a bundle file; raises ``VerificationError`` naming the problem if it cannot be read."""
    if isinstance(data, dict):
        document: Any = data
    else:
        raw = data.encode() if isinstance(data, str) else data
        if len(raw) > MAX_BUNDLE_BYTES:
            raise VerificationError(f"bundle is {len(raw)} bytes; the limit is {MAX_BUNDLE_BYTES}")
        try:
            # Strict: duplicate keys would let two readers of one bundle see different values.
            document = parse_json_strict(raw)
        except CanonicalJsonError as exc:
            raise VerificationError(f"bundle is not strict JSON: {exc}") from None
    if not isinstance(document, dict):
        raise VerificationError("bundle is not a JSON object")
    try:
        return VerificationBundle.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "$"
        hint = ""
        if document.get("format") != BUNDLE_FORMAT:
            hint = f" (format {document.get('format')!r}; this verifier reads {BUNDLE_FORMAT!r})"
        raise VerificationError(
            f"bundle is malformed at {where}: {first['msg']} ({exc.error_count()} problem(s)){hint}"
        ) from None
