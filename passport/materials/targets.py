"""EU minimum recycled-content targets (Regulation (EU) 2023/1542, Art. 8(2) and 8(3)).

Shares are percent of the metal "recovered from manufacturing waste or post-consumer waste" in the
battery's active materials (cobalt, lithium, nickel) or in the battery (lead), per battery model, per
year and per manufacturing plant. Art. 8(2) applies from 18 August 2031, Art. 8(3) from 18 August 2036.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from passport.model.circularity import RecycledElement as E

SOURCE: Final = "Regulation (EU) 2023/1542 of 12 July 2023 on batteries, Article 8(2) and 8(3)"

#: Art. 8(2)(a)-(d): from 18 August 2031.
EU_TARGETS_2031: Final = MappingProxyType({E.COBALT: 16.0, E.LITHIUM: 6.0, E.NICKEL: 6.0, E.LEAD: 85.0})
#: Art. 8(3)(a)-(d): from 18 August 2036.
EU_TARGETS_2036: Final = MappingProxyType({E.COBALT: 26.0, E.LITHIUM: 12.0, E.NICKEL: 15.0, E.LEAD: 85.0})

#: Art. 8(1)-(3): lead is counted over the whole battery, the other metals over its active materials.
WHOLE_BATTERY_METALS: Final = frozenset({E.LEAD})

__all__ = ["EU_TARGETS_2031", "EU_TARGETS_2036", "SOURCE", "WHOLE_BATTERY_METALS"]
