"""Request and response shapes more than one router uses."""

from __future__ import annotations

from typing import Annotated

from eth_utils.address import is_address, to_checksum_address
from pydantic import AfterValidator, BaseModel

from api.web.views import bundle_path, page_path
from passport.service.results import IssuedVersion


def _address(value: str) -> str:
    if not is_address(value):
        raise ValueError("not a 20-byte 0x-hex address")
    return to_checksum_address(value)


#: An account in a request body: 20-byte 0x-hex, returned checksummed (a 422 naming the field otherwise).
Address = Annotated[str, AfterValidator(_address)]


class PassportVersionPublic(BaseModel):
    """A version the ledger recorded: where its documents are and the transaction that anchored it."""

    passport_id: str
    version: int
    status: str
    predecessor_id: str | None
    manifest_cid: str
    manifest_digest: str
    signer: str
    tx_hash: str
    block_number: int
    page_url: str
    bundle_url: str

    @classmethod
    def of(cls, issued: IssuedVersion) -> PassportVersionPublic:
        pid = str(issued.passport_id)
        return cls(
            passport_id=pid,
            version=issued.version,
            status=issued.status.name,
            predecessor_id=None if issued.predecessor is None else str(issued.predecessor),
            manifest_cid=issued.manifest_cid,
            manifest_digest="0x" + issued.manifest_digest.hex(),
            signer=issued.signer,
            tx_hash="0x" + issued.tx_hash.hex(),
            block_number=issued.block_number,
            page_url=page_path(pid),
            bundle_url=bundle_path(pid),
        )
