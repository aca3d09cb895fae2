"""Domain enums the passport documents and the ledger share: lifecycle status, business kinds, anchor kinds.

They live in the model because they are facts about batteries and the businesses handling them; the chain
package imports them from here and encodes them in the contract's order (the integer values below).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class LifecycleStatus(IntEnum):
    """Battery status per EU 2023/1542 Annex XIII / DIN DKE SPEC 99100 (same order as the contract)."""

    ORIGINAL = 0
    REPURPOSED = 1
    REUSED = 2
    REMANUFACTURED = 3
    WASTE = 4
    RECYCLED = 5


class AnchorKind(IntEnum):
    """What a batch of anchored collection-device records holds (same order as the contract)."""

    CHARGING = 0
    SAFETY = 1
    PARKING = 2
    DIAGNOSTICS = 3
    ENERGY = 4  # a second-life storage system's energy meter


class BusinessKind(IntFlag):
    """Activities a registered used-battery business may carry out (a bitmask on-chain)."""

    COLLECTOR = 1  # collection / transport / trading of used batteries
    REUSER = 2
    REPURPOSER = 4
    REMANUFACTURER = 8
    RECYCLER = 16
