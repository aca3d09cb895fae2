"""The signed sale terms: a canonical-JSON document whose SHA-256 the ledger records with the sale.

The *body* (parties, price, delivery, conditions, the disclosed summary) is fixed when the buyer makes
the offer; its digest is what the buyer signs then, what the seller signs on accepting, and what
``agreeSale`` records on-chain. Both signatures are EIP-712 ``SaleTerms(saleId, passportId,
termsDigest)`` under the registry's domain, so any wallet library can check them. The stored document is
``{"body": …, "signatures": [...]}``; ``check_terms`` re-derives the digest from the stored body.
"""

from __future__ import annotations

import hashlib
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_keys.exceptions import BadSignature

from passport.canonical import canonical_json, parse_canonical_object
from passport.market.errors import TermsMismatch
from passport.signing import PassportDomain, check_signature_form

TERMS_FORMAT = "battery-passport-ledger/sale-terms/v1"

_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "SaleTerms": [
        {"name": "saleId", "type": "bytes32"},
        {"name": "passportId", "type": "bytes32"},
        {"name": "termsDigest", "type": "bytes32"},
    ],
}


def terms_digest(body: dict[str, Any]) -> bytes:
    """SHA-256 of the body's RFC 8785 canonical JSON."""
    return hashlib.sha256(canonical_json(body)).digest()


def _signable(domain: PassportDomain, sale_id: bytes, passport_id: bytes, digest: bytes) -> SignableMessage:
    return encode_typed_data(
        full_message={
            "types": _TYPES,
            "primaryType": "SaleTerms",
            "domain": domain.as_dict(),
            "message": {"saleId": sale_id, "passportId": passport_id, "termsDigest": digest},
        }
    )


def sign_terms(
    private_key: bytes, domain: PassportDomain, sale_id: bytes, passport_id: bytes, digest: bytes
) -> str:
    """A 0x-hex 65-byte EIP-712 signature of the terms by ``private_key``."""
    signed = Account.sign_message(_signable(domain, sale_id, passport_id, digest), private_key=private_key)
    return "0x" + bytes(signed.signature).hex()


def terms_signer(
    domain: PassportDomain, sale_id: bytes, passport_id: bytes, digest: bytes, signature: str
) -> str:
    """The address that signed the terms; ``TermsMismatch`` if the signature is malformed."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        check_signature_form(raw)
        return str(Account.recover_message(_signable(domain, sale_id, passport_id, digest), signature=raw))
    except (ValueError, TypeError, BadSignature) as exc:
        raise TermsMismatch(f"a terms signature cannot be checked: {exc}") from None


def terms_document(body: dict[str, Any], signatures: list[dict[str, str]]) -> bytes:
    """The stored document's canonical bytes."""
    return canonical_json({"body": body, "signatures": signatures})


def check_terms(
    document: bytes, *, expected_digest: bytes, domain: PassportDomain, seller: str, buyer: str
) -> dict[str, Any]:
    """The stored terms' body, after checking it hashes to ``expected_digest`` (the ledger's) and that
    the seller and the buyer both signed it. Raises ``TermsMismatch`` otherwise."""
    try:
        parsed = parse_canonical_object(document)
    except ValueError as exc:
        raise TermsMismatch(f"the stored terms are not canonical JSON: {exc}") from None
    body, signatures = parsed.get("body"), parsed.get("signatures")
    if not isinstance(body, dict) or not isinstance(signatures, list):
        raise TermsMismatch("the stored terms lack a body or signatures")
    digest = terms_digest(body)
    if digest != expected_digest:
        raise TermsMismatch(
            f"the stored terms hash to 0x{digest.hex()}, the ledger recorded 0x{expected_digest.hex()}"
        )
    sale_id = bytes.fromhex(str(body["sale_id"]).removeprefix("0x"))
    passport_id = bytes.fromhex(str(body["passport_id32"]).removeprefix("0x"))
    signers = {
        terms_signer(domain, sale_id, passport_id, digest, str(entry.get("signature", "")))
        for entry in signatures
        if isinstance(entry, dict)
    }
    for role, account in (("seller", seller), ("buyer", buyer)):
        if account not in signers:
            raise TermsMismatch(f"the {role} {account} did not sign the stored terms")
    return body
