"""The base class every passport document model derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PassportModel(BaseModel):
    """A strict, immutable part of a battery passport.

    ``extra="forbid"``: a misspelt or smuggled attribute (say, a dynamic value slipped into the public
    section) must fail loudly rather than be dropped. ``frozen``: a passport version is committed by
    digest, so its objects must not change after validation. ``allow_inf_nan=False``: NaN and
    infinities have no JSON spelling, so they could never be canonicalised and committed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
