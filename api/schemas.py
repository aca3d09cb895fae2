"""Request and response shapes more than one router uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field
from pydantic.config import JsonDict

from api.web.views import bundle_path, page_path
from passport.ids import BATTERY_ID_PATTERN, BYTES32_PATTERN, PASSPORT_ID_PATTERN
from passport.service.results import IssuedVersion
from passport.signing import checksum_address

# What the schema shows of an account: all-lowercase or all-uppercase hex. A mixed-case (EIP-55) address
# is accepted too when its checksum is right; a pattern cannot check a checksum, so the schema shows
# only the spellings every client can produce without one, and says so.
ADDRESS_PATTERN = r"^0x([0-9a-f]{40}|[0-9A-F]{40})$"
ADDRESS_DESCRIPTION = "20-byte 0x-hex address; mixed case must carry a valid EIP-55 checksum."
# Each pattern is anchored and fixes the length too (no separate minLength/maxLength to disagree with).
ADDRESS_SCHEMA: JsonDict = {"pattern": ADDRESS_PATTERN}
PASSPORT_ID_SCHEMA: JsonDict = {"pattern": PASSPORT_ID_PATTERN}
BYTES32_SCHEMA: JsonDict = {"pattern": BYTES32_PATTERN}
BATTERY_ID_SCHEMA: JsonDict = {"pattern": BATTERY_ID_PATTERN}


def _address(value: str) -> str:
    return checksum_address(value, "address")


#: An account in a request body: 20-byte 0x-hex, returned checksummed (a 422 naming the field otherwise).
Address = Annotated[
    str,
    Field(description=ADDRESS_DESCRIPTION, json_schema_extra=ADDRESS_SCHEMA),
    AfterValidator(_address),
]


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
