"""The fair-trade rules, as code. Each rule is one small function that raises a named
``FairTradeViolation`` (its ``rule`` is the problem type the API answers with) or returns quietly.

They follow Korea's used-battery fair-trade guideline: a buyer of a used battery must be told what the
seller knows, that knowledge must still be true when the sale happens, and only registered businesses
in good standing trade. The rules take plain values (the listing summary, the ledger's business record)
so the lead can point each one at richer data (device-driven grades, incident flags, on-chain inspection
records) without touching the market's workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from passport.chain.records import BusinessRecord
from passport.market.errors import (
    BusinessNotActive,
    DeliveryRejectionUnfounded,
    DisclosureMissing,
    DisclosureStale,
    GradeChangedWithoutEvaluation,
    SellerNotCustodian,
)
from passport.market.summary import InspectionDisclosure, ListingSummary

# Inspection results, worst first: a later inspection "contradicts" an earlier one when it ranks lower.
_RESULT_RANK = {"fail": 0, "conditional_pass": 1, "pass": 2}


@dataclass(frozen=True, slots=True)
class FairTradePolicy:
    """How long disclosures stay current."""

    #: A grade older than this is not a "current evaluation": cells keep ageing after the test.
    evaluation_valid_for: timedelta = timedelta(days=365)
    #: The pre-distribution safety inspection certifies the battery for this long.
    inspection_valid_for: timedelta = timedelta(days=180)


DEFAULT_POLICY = FairTradePolicy()


def require_active_business(business: BusinessRecord | None, account: str, role: str) -> None:
    """Only a registered business in good standing may list or buy.

    Why: the used-battery plan registers businesses so that a buyer always has an accountable
    counterparty; a suspended business (e.g. after an unsafe handling finding) must not keep trading.
    """
    if business is None:
        raise BusinessNotActive(f"{role} {account} is not a registered business")
    if not business.active:
        raise BusinessNotActive(f"{role} {account} is a suspended business and may not trade")


def require_custodian(custodian: str, account: str) -> None:
    """Only the battery's current custodian may list or sell it.

    Why: the ledger's custodian is the party that can hand the battery over; a listing by anyone else
    would sell what the seller cannot deliver.
    """
    if custodian.lower() != account.lower():
        raise SellerNotCustodian(f"{account} does not hold custody of this battery ({custodian} does)")


def _inspection_valid(
    inspection: InspectionDisclosure | None, now: datetime, policy: FairTradePolicy
) -> str | None:
    """Why the pre-distribution inspection does not certify the battery now, or None if it does."""
    if inspection is None:
        return "no pre-distribution safety inspection is recorded"
    if inspection.result == "fail":
        return f"the pre-distribution inspection of {inspection.inspected_at:%Y-%m-%d} failed"
    if now - inspection.inspected_at > policy.inspection_valid_for:
        return (
            f"the pre-distribution inspection of {inspection.inspected_at:%Y-%m-%d} expired "
            f"({policy.inspection_valid_for.days} days)"
        )
    return None


def require_disclosures(
    summary: ListingSummary, now: datetime, policy: FairTradePolicy = DEFAULT_POLICY
) -> None:
    """A listing discloses a grade from a current evaluation, a valid pre-distribution inspection and
    every negative event the passport records.

    Why: the guideline's mandatory disclosures. The summary is built from the verified passport, so
    negative events cannot be left out by the seller; this rule refuses listings whose passport lacks
    the evaluation or inspection a buyer is owed.
    """
    if summary.grade is None:
        raise DisclosureMissing(
            "no performance evaluation: a listing must disclose a grade and state of health"
        )
    if now - summary.grade.evaluated_at > policy.evaluation_valid_for:
        raise DisclosureMissing(
            f"the evaluation of {summary.grade.evaluated_at:%Y-%m-%d} is older than "
            f"{policy.evaluation_valid_for.days} days: the grade is not current"
        )
    problem = _inspection_valid(summary.pre_distribution_inspection, now, policy)
    if problem is not None:
        raise DisclosureMissing(problem)


def stale_reason(
    listed: ListingSummary, current: ListingSummary, now: datetime, policy: FairTradePolicy = DEFAULT_POLICY
) -> str | None:
    """Why a listing's disclosures no longer hold (it is then suspended automatically), or None.

    Why: a disclosure is only fair while it is true. A new incident, an expired inspection or a new
    evaluation after listing means the buyer would be shown stale facts.
    """
    new_events = len(current.negative_events) - len(listed.negative_events)
    if new_events > 0:
        return f"{new_events} negative event(s) recorded since the listing"
    problem = _inspection_valid(current.pre_distribution_inspection, now, policy)
    if problem is not None:
        return problem
    if current.grade is None or listed.grade is None:
        return "the performance evaluation is no longer available"
    if now - current.grade.evaluated_at > policy.evaluation_valid_for:
        return "the evaluation behind the listed grade is no longer current"
    if current.grade != listed.grade:
        return "the battery was evaluated again since the listing"
    return None


def require_stale_free(
    listed: ListingSummary, current: ListingSummary, now: datetime, policy: FairTradePolicy = DEFAULT_POLICY
) -> None:
    """Raise ``DisclosureStale`` when ``stale_reason`` finds one."""
    reason = stale_reason(listed, current, now, policy)
    if reason is not None:
        raise DisclosureStale(f"the listing's disclosures are stale: {reason}")


def require_grade_backed(previous: ListingSummary | None, current: ListingSummary) -> None:
    """A battery listed before may be relisted at another grade only with a newer evaluation.

    Why: regrading without a new test is how a battery is "upgraded" between listings; the grade a
    buyer sees must come from an evaluation made after the one behind the earlier listing.
    """
    if previous is None or previous.grade is None or current.grade is None:
        return
    if current.grade.grade == previous.grade.grade:
        return
    if current.grade.evaluated_at <= previous.grade.evaluated_at:
        raise GradeChangedWithoutEvaluation(
            f"listed before at grade {previous.grade.grade}; grade {current.grade.grade} needs an "
            f"evaluation after {previous.grade.evaluated_at:%Y-%m-%d %H:%M}"
        )


def require_contradicting_inspection(
    disclosed: ListingSummary, post: InspectionDisclosure | None, agreed_at: datetime
) -> None:
    """A buyer may reject a delivery only when a post-distribution inspection, made after the sale was
    agreed, contradicts the disclosures (it failed, or ranks below the disclosed inspection).

    Why: the buyer is protected against a battery that is not what was disclosed, and the seller
    against a buyer who walks away from a battery that is.
    """
    if post is None or post.stage != "post_distribution" or post.inspected_at < agreed_at:
        raise DeliveryRejectionUnfounded(
            "no post-distribution inspection made after the sale was agreed: a delivery is rejected on "
            "an inspection's findings"
        )
    before = disclosed.pre_distribution_inspection
    disclosed_rank = _RESULT_RANK[before.result] if before is not None else _RESULT_RANK["pass"]
    if post.result != "fail" and _RESULT_RANK[post.result] >= disclosed_rank:
        raise DeliveryRejectionUnfounded(
            f"the post-distribution inspection ({post.result}) does not contradict the disclosed "
            f"inspection ({before.result if before else 'none'})"
        )
