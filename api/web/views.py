"""What the buyer/owner page (``GET /p/{passport_id}``) shows, and where it gets it from.

The page is the QR code's landing page: a buyer scans a battery's label and sees whether its passport
verifies, who holds it, how it changed hands and, when allowed, its state-of-health history. The page
renders one ``PassportPageView``; a ``PassportPageSource`` builds it from the ledger, the store and the
oracle. Keeping the view a plain document means the template never reaches into services, and the page
can be tested against fixed views.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Protocol

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.auth import Caller
from api.web.health_views import AlertView, DeviceHealthView
from api.web.i18n import N_
from api.web.safety import SafetyView
from api.web.service_views import ServicesView
from passport.ids import parse_passport_id
from passport.model import AccessTier

API_PREFIX = "/api/v1"
# What an identity field holds when the stored documents could not be read (the page translates it).
UNAVAILABLE = N_("unavailable")


def page_path(passport_id: str) -> str:
    """The page's path: what the QR code encodes after the public base URL."""
    return f"/p/{parse_passport_id(passport_id)}"


def qr_png_path(passport_id: str) -> str:
    return f"{API_PREFIX}/passports/{parse_passport_id(passport_id)}/qr.png"


def qr_svg_path(passport_id: str) -> str:
    return f"{API_PREFIX}/passports/{parse_passport_id(passport_id)}/qr.svg"


def bundle_path(passport_id: str) -> str:
    """The verification bundle download (served by the passports routes)."""
    return f"{API_PREFIX}/passports/{parse_passport_id(passport_id)}/bundle"


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Times are shown in UTC (the chain's and the oracle's clock); naive times are refused, not guessed.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class _View(BaseModel):
    # Views are built once per request and only read by the template.
    model_config = ConfigDict(frozen=True, extra="forbid")


class CustodyKind(StrEnum):
    """What happened in a custody step (the registry's two-step offer/accept handover)."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class CustodyEntryView(_View):
    """One step of the custody timeline."""

    at: UtcDatetime
    from_party: str
    to_party: str
    kind: CustodyKind
    from_name: str | None = None  # the business directory's name for the party, when it has one
    to_name: str | None = None
    tx_hash: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{64}$")


class CheckOutcome(StrEnum):
    """A check's outcome; the same values as ``passport.verify.CheckStatus``."""

    PASS = "pass"  # noqa: S105  # a check outcome, not a password
    FAIL = "fail"
    SKIPPED = "skipped"


class ReportCheck(Protocol):
    """One check of a verification report (``passport.verify.Check`` has this shape)."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str: ...


class Report(Protocol):
    """A verification report (``passport.verify.VerificationReport`` has this shape).

    Typed structurally so the page does not pull in the whole verifier just to read its result.
    """

    @property
    def ok(self) -> bool: ...
    @property
    def checks(self) -> Sequence[ReportCheck]: ...


class VerificationCheckView(_View):
    """One named verification check, as ``passport.verify`` reports it."""

    name: str
    outcome: CheckOutcome
    reason: str


class VerificationView(_View):
    """The verification result: overall ``ok`` and every check in the order it ran."""

    ok: bool
    checks: tuple[VerificationCheckView, ...] = ()

    @model_validator(mode="after")
    def _ok_agrees_with_checks(self) -> VerificationView:
        # A page saying "verified" above a failed check would be the worst possible bug here.
        if self.ok and self.failed:
            raise ValueError("verification cannot be ok while a check failed")
        return self

    def _with(self, outcome: CheckOutcome) -> tuple[VerificationCheckView, ...]:
        return tuple(c for c in self.checks if c.outcome is outcome)

    @property
    def failed(self) -> tuple[VerificationCheckView, ...]:
        return self._with(CheckOutcome.FAIL)

    @property
    def passed(self) -> tuple[VerificationCheckView, ...]:
        return self._with(CheckOutcome.PASS)

    @property
    def skipped(self) -> tuple[VerificationCheckView, ...]:
        return self._with(CheckOutcome.SKIPPED)

    @classmethod
    def from_report(cls, report: Report) -> VerificationView:
        return cls(
            ok=report.ok,
            checks=tuple(
                VerificationCheckView(name=c.name, outcome=CheckOutcome(c.status), reason=c.reason)
                for c in report.checks
            ),
        )

    @classmethod
    def unverifiable(cls, reason: str) -> VerificationView:
        """For a bundle that cannot even be read (``VerificationError``): not ok, one failed check."""
        return cls(
            ok=False,
            checks=(VerificationCheckView(name="bundle.readable", outcome=CheckOutcome.FAIL, reason=reason),),
        )


class Verdict(StrEnum):
    """The page's headline: verified (current, or a valid historical state) or failed.

    Superseded and recycled passports are closed but intact: the page says so beside "Verified" and
    never mixes them up with tampering, which alone is "Verification failed".
    """

    VERIFIED = "verified"
    SUPERSEDED = "superseded"
    RECYCLED = "recycled"
    FAILED = "failed"


class HealthPointView(_View):
    """One state-of-health reading: SoH in percent of rated capacity, and the measured capacity."""

    at: UtcDatetime
    soh_percent: float = Field(ge=0, le=150)  # >100 happens on fresh cells measured above rating
    capacity_ah: float = Field(ge=0)


class FactKind(StrEnum):
    """How the page shows a fact's value."""

    TEXT = "text"  # the issuer's own words, shown as written
    CODE = "code"  # a value from a fixed vocabulary: ``text`` is a catalogue message, translated
    DATE = "date"
    QUANTITY = "quantity"  # ``value`` in ``unit`` (a model unit suffix: kg, kwh, ohm, percent, …)
    LINKS = "links"  # referenced documents
    PARTY = "party"  # an organisation or a facility
    ITEMS = "items"  # a list of things, each with a title and facts of its own


_VALUE_FIELDS = {
    FactKind.TEXT: ("text",),
    FactKind.CODE: ("text",),
    FactKind.DATE: ("day",),
    FactKind.QUANTITY: ("value", "unit"),
    FactKind.PARTY: ("party",),
}


class DocumentLink(_View):
    """A referenced document; only web addresses become links (``urn:``/``ipfs:`` stay text)."""

    title: str
    target: str
    href: str | None = Field(default=None, pattern=r"^https?://")


class PartyView(_View):
    """A manufacturer, operator or plant as the passport names it."""

    name: str | None = None
    identifier: str | None = None
    address: str | None = None
    email: str | None = None
    website: str | None = Field(default=None, pattern=r"^https?://")


class Fact(_View):
    """One labelled value of a passport group. ``label`` is a catalogue message (translated on show)."""

    label: str
    kind: FactKind
    text: str | None = None
    value: float | None = None
    unit: str | None = None
    day: date | None = None
    links: tuple[DocumentLink, ...] = ()
    party: PartyView | None = None
    items: tuple[FactItem, ...] = ()
    mono: bool = False

    @model_validator(mode="after")
    def _has_its_value(self) -> Fact:
        missing = [name for name in _VALUE_FIELDS.get(self.kind, ()) if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind.value} fact needs {', '.join(missing)}")
        return self


class FactItem(_View):
    """One entry of a list fact (a substance, a recycled element, a label): its title and details."""

    title: str
    # True when ``title`` is a catalogue message (a vocabulary value such as a label symbol).
    coded: bool = False
    facts: tuple[Fact, ...] = ()


Fact.model_rebuild()  # a fact's items hold facts: resolve the forward reference


class FactGroup(_View):
    """A DIN DKE SPEC 99100 group of the passport as this caller may see it.

    ``restricted`` names the tiers that hold more of this group's attributes than the caller was given;
    the page says who may read them and how to get access. ``not_shown`` names tiers the caller holds
    whose attributes this page does not list (it lists the public tier); the page points to the API.
    """

    key: str = Field(pattern=r"^[a-z_]+$")
    title: str
    facts: tuple[Fact, ...] = ()
    restricted: tuple[AccessTier, ...] = ()
    not_shown: tuple[AccessTier, ...] = ()


class PassportPageView(_View):
    """Everything the passport page shows, already filtered for the caller."""

    passport_id: str
    battery_id: str
    category: str
    chemistry: str
    manufacturer: str
    status: str
    version: int = Field(ge=1)
    predecessor_id: str | None = None
    successor_id: str | None = None
    # When the ledger closed the passport (superseded or recycled); a closed record never changes again.
    closed_at: UtcDatetime | None = None
    custodian: str
    custody: tuple[CustodyEntryView, ...] = ()
    verification: VerificationView
    # None means the caller may not see the history (the page says so); an empty tuple means no readings.
    health: tuple[HealthPointView, ...] | None = None
    qr_url: str
    bundle_url: str
    # The passport's own data, group by group; empty when the stored documents could not be read.
    groups: tuple[FactGroup, ...] = ()
    # Device-driven health and early warnings: legitimate-interest readers only (None / empty else).
    device_health: DeviceHealthView | None = None
    alerts: tuple[AlertView, ...] = ()

    # Inspections, incidents and the incident flag (``api.web.safety``); None when not built.
    safety: SafetyView | None = None
    # Legal owner, vehicle / station binding, storage installation (``api.web.service_views``); None when
    # no battery-services contract is deployed or it holds nothing about this battery.
    services: ServicesView | None = None

    @model_validator(mode="after")
    def _canonical_ids(self) -> PassportPageView:
        for pid in (self.passport_id, self.predecessor_id, self.successor_id):
            if pid is not None and str(parse_passport_id(pid)) != pid:
                raise ValueError(f"passport id {pid!r} is not in canonical UUID form")
        return self

    @property
    def predecessor_url(self) -> str | None:
        return page_path(self.predecessor_id) if self.predecessor_id else None

    @property
    def successor_url(self) -> str | None:
        return page_path(self.successor_id) if self.successor_id else None

    @property
    def verdict(self) -> Verdict:
        if not self.verification.ok:
            return Verdict.FAILED
        if self.successor_id is not None:
            return Verdict.SUPERSEDED
        if self.status == "RECYCLED":
            return Verdict.RECYCLED
        return Verdict.VERIFIED

    @property
    def historical(self) -> bool:
        """Verified, and closed: a valid record of the battery's past, not its current passport."""
        return self.verdict in (Verdict.SUPERSEDED, Verdict.RECYCLED)

    @property
    def health_restricted(self) -> bool:
        return self.health is None

    def custody_newest_first(self) -> list[CustodyEntryView]:
        return sorted(self.custody, key=lambda e: e.at, reverse=True)


def sorted_health(points: Iterable[HealthPointView]) -> list[HealthPointView]:
    return sorted(points, key=lambda p: p.at)


class PassportPageSource(Protocol):
    """Builds the page's view of one passport for one caller (``None``: an anonymous QR scan).

    Implementations decide what the caller may see: ``health`` is ``None`` unless the caller may read
    the battery's restricted data. Raises ``api.errors.NotFound`` for an unknown passport. Called from a
    worker thread, so it may block on the chain or the store.
    """

    def page_view(self, passport_id: str, caller: Caller | None) -> PassportPageView: ...


def latest_health(view: PassportPageView) -> HealthPointView | None:
    """The newest reading, for the headline figure above the chart."""
    ordered = sorted_health(view.health or ())
    return ordered[-1] if ordered else None
