"""The passport service: passport models in, signed, stored and anchored versions out, and back again."""

from passport.service.passport_service import (
    SECTIONS_CHECK,
    STORE_CHECK,
    PassportIdLike,
    PassportService,
    stamp,
)
from passport.service.read_model import ModelEntry, PassportReadModel, passports_named
from passport.service.results import FetchedPassport, IssuedVersion, VersionInfo
from passport.service.safety import KIND_OF_STAGE, SafetyRecords
from passport.service.version_log import Anchor, VersionLog, VersionRecord

__all__ = [
    "KIND_OF_STAGE",
    "SECTIONS_CHECK",
    "STORE_CHECK",
    "Anchor",
    "FetchedPassport",
    "IssuedVersion",
    "ModelEntry",
    "PassportIdLike",
    "PassportReadModel",
    "PassportService",
    "SafetyRecords",
    "VersionInfo",
    "VersionLog",
    "VersionRecord",
    "passports_named",
    "stamp",
]
