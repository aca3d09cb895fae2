"""Recycled-content shares as Art. 8 of Regulation (EU) 2023/1542 defines them.

For cobalt, lithium and nickel the share is the mass of the metal recovered from waste that is present
in the *active materials*, over the total mass of that metal in the active materials; for lead it is
over the lead in the *battery*. Pre-consumer (manufacturing waste) and post-consumer shares are computed
apart and reported apart; their sum is the total share. Under mass balance (ISO 22095) the recovered
mass is the credits retired against the claim, not a physical tracing of atoms.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from passport.materials.documents import METALS, MetalMass
from passport.materials.errors import MassBalanceError
from passport.materials.targets import EU_TARGETS_2031, EU_TARGETS_2036
from passport.model.circularity import RecycledContentShare, RecycledElement

#: Shares are reported to two decimals, rounded down: a declared share never exceeds what was retired.
_QUANTUM = Decimal("0.01")


def _percent(part: int, whole: int) -> float:
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(_QUANTUM, rounding=ROUND_DOWN))


def recycled_shares(
    metal_in_scope: MetalMass, pre_consumer: MetalMass, post_consumer: MetalMass
) -> list[RecycledContentShare]:
    """One share per metal with metal in scope, pre- and post-consumer apart; total = pre + post.

    ``metal_in_scope`` is active-material grams for Co/Li/Ni and whole-battery grams for lead. Raises
    ``MassBalanceError`` if recycled metal is claimed for a metal with none in scope, or above 100 %.
    """
    shares = []
    for metal in METALS:
        whole = metal_in_scope.of(metal)
        pre, post = pre_consumer.of(metal), post_consumer.of(metal)
        if whole == 0:
            if pre or post:
                raise MassBalanceError(f"recycled {metal.value} claimed but the batteries contain none")
            continue
        if pre + post > whole:
            raise MassBalanceError(f"{pre + post} g of recycled {metal.value} for {whole} g in scope")
        pre_pct, post_pct = _percent(pre, whole), _percent(post, whole)
        shares.append(
            RecycledContentShare(
                element=metal,
                pre_consumer_percent=pre_pct,
                post_consumer_percent=post_pct,
                total_percent=float(Decimal(repr(pre_pct)) + Decimal(repr(post_pct))),
            )
        )
    return shares


def against_targets(shares: list[RecycledContentShare]) -> dict[RecycledElement, dict[str, float | bool]]:
    """Each share beside the EU 2031 and 2036 minimums, and whether it meets them."""
    return {
        s.element: {
            "share_percent": s.total_percent,
            "target_2031_percent": EU_TARGETS_2031[s.element],
            "meets_2031": s.total_percent >= EU_TARGETS_2031[s.element],
            "target_2036_percent": EU_TARGETS_2036[s.element],
            "meets_2036": s.total_percent >= EU_TARGETS_2036[s.element],
        }
        for s in shares
    }


__all__ = ["against_targets", "recycled_shares"]
