"""Interoperability with other battery-passport formats (Catena-X BatteryPass 6.1.0)."""

from passport.interop.catenax import (
    SPEC_VERSION,
    CatenaXImport,
    catenax_schema,
    export_catenax,
    import_catenax,
    read_catenax,
    schema_problems,
    write_catenax,
)

__all__ = [
    "SPEC_VERSION",
    "CatenaXImport",
    "catenax_schema",
    "export_catenax",
    "import_catenax",
    "read_catenax",
    "schema_problems",
    "write_catenax",
]
