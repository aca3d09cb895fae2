"""References to documents held outside the passport (reports, declarations, instructions)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from passport.model._base import PassportModel

# A URI with a scheme (https:, ipfs:, urn:, did:): the passport only links; it never embeds files.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class DocumentRef(PassportModel):
    """A linked document: its title, where it is, and optionally the SHA-256 of its bytes."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=100)]  # Catena-X header limit
    content: Annotated[str, StringConstraints(min_length=1)]
    content_type: Annotated[str, StringConstraints(min_length=1)] = "URL"
    # Pins the linked bytes: the passport's own digest then covers the document too.
    sha256: Sha256Hex | None = Field(default=None)

    @model_validator(mode="after")
    def _url_is_a_uri(self) -> DocumentRef:
        if self.content_type.upper() == "URL" and not _URI.fullmatch(self.content):
            raise ValueError(f"content {self.content!r} is not a URI although content_type is URL")
        return self
