"""The passport page's battery-services section: legal owner (with its directory name), where the pack
is bound now (vehicle or swap station, by hash only) and a second-life storage installation. Ledger
facts anyone may see; the VIN itself is never on the chain, so the page cannot show it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from passport.servicemodels import Binding, HolderKind, StorageInstallation


class ServicesView(BaseModel):
    """What the services contract says about this battery, ready for the template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    legal_owner: str | None = None
    legal_owner_name: str | None = None
    binding_kind: Literal["vehicle", "station"] | None = None
    binding_holder: str | None = None
    binding_since: datetime | None = None
    binding_soc_percent: float | None = None
    binding_soh_percent: float | None = None
    storage_site: str | None = None
    storage_rated_kwh: float | None = None
    storage_role: str | None = None

    @property
    def empty(self) -> bool:
        return self.legal_owner is None and self.binding_kind is None and self.storage_site is None


def services_view(
    owner: str | None, owner_name: str | None, binding: Binding | None, storage: StorageInstallation | None
) -> ServicesView:
    """The section's view from the contract's records."""
    fields: dict[str, object] = {"legal_owner": owner, "legal_owner_name": owner_name}
    if binding is not None:
        fields |= {
            "binding_kind": "vehicle" if binding.kind is HolderKind.VEHICLE else "station",
            "binding_holder": "0x" + binding.holder.hex(),
            "binding_since": datetime.fromtimestamp(binding.since, UTC),
            "binding_soc_percent": binding.reading.soc_bps / 100,
            "binding_soh_percent": binding.reading.soh_bps / 100,
        }
    if storage is not None:
        fields |= {
            "storage_site": "0x" + storage.site_hash.hex(),
            "storage_rated_kwh": storage.rated_energy_wh / 1000,
            "storage_role": storage.role.name.lower().replace("_", " "),
        }
    return ServicesView.model_validate(fields)


__all__ = ["ServicesView", "services_view"]
