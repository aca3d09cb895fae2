"""The passport's data as the page's groups (DIN DKE SPEC 99100): what a QR scan may read, labelled.

``passport_groups`` turns a ``PassportView`` (the merged JSON of the sections the caller holds) into
``FactGroup``s: general and identification, carbon footprint, supply-chain due diligence, materials and
composition, circularity, performance and durability, labels and conformity. The page lists the
public tier (Annex XIII 1); the other tiers' attributes are named per group, as restricted to whom, or,
for a caller who holds them, as available through the API. Labels and vocabulary
values are catalogue messages marked with ``N_``; the template translates them and formats dates,
numbers and units for the reader's locale. Absent optional values are left out, not shown empty.

Which attributes exist in which tier comes from the passport model itself (``iter_leaf_fields``), so a
group says "more for the owner and authorised parties" exactly when the model keeps some of it back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from api.web.i18n import N_
from api.web.views import DocumentLink, Fact, FactGroup, FactItem, FactKind, PartyView
from passport.model import AccessTier, BatteryPassport, PassportView
from passport.model.access import iter_leaf_fields

Data = Mapping[str, Any]

# Group keys (the page's and the tests' handle), titles, and which top-level model groups feed them.
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("general", N_("General and identification"), ("metadata", "general")),
    ("carbon_footprint", N_("Carbon footprint"), ("carbon_footprint",)),
    ("due_diligence", N_("Supply chain due diligence"), ("due_diligence",)),
    ("materials", N_("Materials and composition"), ("materials",)),
    ("circularity", N_("Circularity and resource efficiency"), ("circularity", "korea")),
    ("performance", N_("Performance and durability"), ("performance",)),
    ("conformity", N_("Labels and conformity"), ("conformity",)),
)

CODES: dict[str, str] = {
    # Battery categories (Art. 2)
    "EV": N_("Electric vehicle battery"),
    "LMT": N_("Light means of transport battery"),
    "industrial": N_("Industrial battery"),
    "SLI": N_("Starting, lighting and ignition battery"),
    "portable": N_("Portable battery"),
    # Lifecycle statuses
    "original": N_("Original"),
    "repurposed": N_("Repurposed"),
    "reused": N_("Reused"),
    "remanufactured": N_("Remanufactured"),
    "waste": N_("Waste"),
    "recycled": N_("Recycled"),
    # Publication statuses of the passport document
    "draft": N_("Draft"),
    "approved": N_("Approved"),
    "invalid": N_("Invalid"),
    "expired": N_("Expired"),
    # Elements with a declared recycled share (Art. 8)
    "cobalt": N_("Cobalt"),
    "lithium": N_("Lithium"),
    "nickel": N_("Nickel"),
    "lead": N_("Lead"),
    # Label symbols
    "separate_collection": N_("Separate collection symbol (crossed-out wheeled bin)"),
    "Cd": N_("Cadmium symbol (Cd)"),
    "Pb": N_("Lead symbol (Pb)"),
    "Hg": N_("Mercury symbol (Hg)"),
    "CE": N_("CE marking"),
    "capacity": N_("Capacity label"),
    "qr_code": N_("QR code"),
    "other": N_("Other"),
}
# Warranty units the CLDR does not count in (cycles); the others are formatted as durations.
_WARRANTY_UNITS = {"day": "day", "month": "month", "year": "year", "operating_hour": "hour"}


def _get(data: Data, path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _link(doc: Any) -> DocumentLink | None:
    if not isinstance(doc, Mapping) or not doc.get("content"):
        return None
    target = str(doc["content"])
    # Only web addresses become links: a passport is written by others, and "javascript:" is a URI too.
    href = target if target.startswith(("https://", "http://")) else None
    return DocumentLink(title=str(doc.get("title") or target), target=target, href=href)


def _links(docs: Any) -> tuple[DocumentLink, ...]:
    items = docs if isinstance(docs, list) else [docs]
    return tuple(link for link in (_link(d) for d in items) if link is not None)


def _address(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    city = " ".join(str(p) for p in (value.get("postal_code"), value.get("city")) if p)
    parts = [value.get("street"), city, value.get("country")]
    return ", ".join(str(p) for p in parts if p) or None


def _party(value: Any) -> PartyView | None:
    if not isinstance(value, Mapping):
        return None
    website = value.get("website")
    return PartyView(
        name=value.get("name"),
        identifier=value.get("identifier"),
        address=_address(value.get("address")),
        email=value.get("email"),
        website=website if isinstance(website, str) and website.startswith(("https://", "http://")) else None,
    )


class _Facts:
    """Collects the facts of one group, skipping absent values."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.facts: list[Fact] = []

    def text(self, label: str, path: str, *, mono: bool = False) -> None:
        value = _get(self.data, path)
        if _present(value):
            self.facts.append(Fact(label=label, kind=FactKind.TEXT, text=str(value), mono=mono))

    def texts(self, label: str, path: str) -> None:
        value = _get(self.data, path)
        if isinstance(value, list) and value:
            self.facts.append(Fact(label=label, kind=FactKind.TEXT, text=", ".join(str(v) for v in value)))

    def code(self, label: str, path: str) -> None:
        value = _get(self.data, path)
        if _present(value):
            self.facts.append(_code_fact(label, str(value)))

    def date(self, label: str, path: str) -> None:
        value = _get(self.data, path)
        if _present(value):
            self.facts.append(Fact(label=label, kind=FactKind.DATE, day=value))

    def quantity(self, label: str, path: str, unit: str) -> None:
        value = _get(self.data, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.facts.append(Fact(label=label, kind=FactKind.QUANTITY, value=value, unit=unit))

    def links(self, label: str, path: str) -> None:
        links = _links(_get(self.data, path))
        if links:
            self.facts.append(Fact(label=label, kind=FactKind.LINKS, links=links))

    def party(self, label: str, path: str) -> None:
        party = _party(_get(self.data, path))
        if party is not None:
            self.facts.append(Fact(label=label, kind=FactKind.PARTY, party=party))

    def items(self, label: str, path: str, item: Callable[[Data], FactItem]) -> None:
        value = _get(self.data, path)
        if isinstance(value, list):
            built = tuple(item(v) for v in value if isinstance(v, Mapping))
            if built:
                self.facts.append(Fact(label=label, kind=FactKind.ITEMS, items=built))


def _code_fact(label: str, value: str) -> Fact:
    # A value outside the vocabulary is shown as written rather than dropped.
    message = CODES.get(value)
    if message is None:
        return Fact(label=label, kind=FactKind.TEXT, text=value)
    return Fact(label=label, kind=FactKind.CODE, text=message)


def _coded_item(value: str, facts: tuple[Fact, ...]) -> FactItem:
    message = CODES.get(value)
    return FactItem(title=message or value, coded=message is not None, facts=facts)


def _item_facts(data: Data, build: Callable[[_Facts], None]) -> tuple[Fact, ...]:
    facts = _Facts(data)
    build(facts)
    return tuple(facts.facts)


def _substance(data: Data) -> FactItem:
    def build(f: _Facts) -> None:
        ids = [
            f"{i.get('scheme')} {i.get('identifier')}"
            for i in data.get("identifiers") or []
            if isinstance(i, Mapping)
        ]
        if ids:
            f.facts.append(Fact(label=N_("Identifier"), kind=FactKind.TEXT, text=", ".join(ids), mono=True))
        concentration = data.get("concentration")
        if isinstance(concentration, Mapping):
            f.quantity(N_("Concentration"), "concentration.value", str(concentration.get("unit")))
        f.text(N_("Location"), "location")
        f.quantity(N_("Recycled share"), "recycled_share_percent", "percent")
        if data.get("critical"):
            f.facts.append(Fact(label=N_("Critical raw material"), kind=FactKind.CODE, text=N_("Yes")))
        f.links(N_("Documentation"), "documentation")
        f.links(N_("Impact on health and environment"), "impact_documents")

    return FactItem(title=str(data.get("name")), facts=_item_facts(data, build))


def _recycled_share(data: Data) -> FactItem:
    def build(f: _Facts) -> None:
        f.quantity(N_("Pre-consumer recycled share"), "pre_consumer_percent", "percent")
        f.quantity(N_("Post-consumer recycled share"), "post_consumer_percent", "percent")
        f.quantity(N_("Total recycled share"), "total_percent", "percent")

    return _coded_item(str(data.get("element")), _item_facts(data, build))


def _agent(data: Data) -> FactItem:
    def build(f: _Facts) -> None:
        f.text(N_("Fire classes"), "fire_class")
        f.links(N_("Documents"), "documents")

    return FactItem(title=str(data.get("media")), facts=_item_facts(data, build))


def _certificate(data: Data) -> FactItem:
    def build(f: _Facts) -> None:
        f.text(N_("Material"), "material")
        f.quantity(N_("Recycled share"), "recycled_share_percent", "percent")
        f.party(N_("Issued by"), "issuer")
        f.date(N_("Issued on"), "issued_on")
        f.date(N_("Valid until"), "valid_until")
        f.links(N_("Certificate"), "document")

    return FactItem(title=str(data.get("certificate_id")), facts=_item_facts(data, build))


def _label(data: Data) -> FactItem:
    def build(f: _Facts) -> None:
        f.text(N_("Meaning"), "meaning")
        f.links(N_("Document"), "document")

    return _coded_item(str(data.get("symbol")), _item_facts(data, build))


def _product_code(data: Data) -> FactItem:
    code = Fact(label=N_("Code"), kind=FactKind.TEXT, text=str(data.get("value")), mono=True)
    return FactItem(title=str(data.get("key")), facts=(code,))


def _general(f: _Facts) -> None:
    f.text(N_("Battery identifier"), "general.battery_id", mono=True)
    f.text(N_("Passport identifier"), "general.passport_id", mono=True)
    f.text(N_("Product name"), "general.product_name")
    f.code(N_("Battery category"), "general.category")
    f.text(N_("Model"), "general.model_identifier", mono=True)
    f.text(N_("Batch"), "general.batch_id", mono=True)
    f.code(N_("Battery status"), "general.status")
    f.party(N_("Manufacturer"), "general.manufacturer")
    f.party(N_("Economic operator"), "general.economic_operator")
    f.party(N_("Place of manufacture"), "general.manufacturing_place")
    f.date(N_("Date of manufacture"), "general.manufacturing_date")
    f.date(N_("Placed on the market"), "general.placed_on_market")
    f.quantity(N_("Weight"), "general.mass_kg", "kg")
    f.quantity(N_("Length"), "general.dimensions.length_mm", "mm")
    f.quantity(N_("Width"), "general.dimensions.width_mm", "mm")
    f.quantity(N_("Height"), "general.dimensions.height_mm", "mm")
    warranty = _get(f.data, "general.warranty")
    if isinstance(warranty, Mapping):
        unit = str(warranty.get("unit"))
        if unit in _WARRANTY_UNITS:
            f.quantity(N_("Warranty"), "general.warranty.value", _WARRANTY_UNITS[unit])
        else:
            f.quantity(N_("Warranty"), "general.warranty.value", "cycles")
    f.texts(N_("Intended use"), "general.intended_use")
    f.items(N_("Product codes"), "general.product_codes", _product_code)
    f.text(N_("Data carrier"), "general.data_carrier.carrier_type")
    f.text(N_("Data carrier position"), "general.data_carrier.layout")
    f.date(N_("Passport issued on"), "metadata.issued_on")
    f.date(N_("Passport last modified on"), "metadata.last_modified_on")
    f.date(N_("Passport valid until"), "metadata.expires_on")
    f.text(N_("Passport document version"), "metadata.document_version", mono=True)
    f.code(N_("Passport publication status"), "metadata.publication_status")
    f.text(N_("Predecessor passport"), "metadata.predecessor", mono=True)
    f.links(N_("Backup copy"), "metadata.backup_reference")
    f.text(N_("Registration identifier"), "metadata.registration_identifier", mono=True)


def _backup_link(data: Data) -> Data:
    # The backup reference is a bare address; shape it as a document reference for the links fact.
    ref = _get(data, "metadata.backup_reference")
    if not isinstance(ref, str):
        return data
    metadata = dict(_get(data, "metadata") or {})
    metadata["backup_reference"] = {"title": ref, "content": ref}
    return {**data, "metadata": metadata}


def _carbon(f: _Facts) -> None:
    unit, cf = "kg_co2e_per_kwh", "carbon_footprint"
    f.quantity(N_("Carbon footprint per kWh (total)"), f"{cf}.total_kg_co2e_per_kwh", unit)
    f.text(N_("Carbon footprint performance class"), f"{cf}.performance_class")
    raw = f"{cf}.raw_material_acquisition_kg_co2e_per_kwh"
    f.quantity(N_("Raw material acquisition and pre-processing"), raw, unit)
    f.quantity(N_("Main product production"), f"{cf}.main_production_kg_co2e_per_kwh", unit)
    f.quantity(N_("Distribution"), f"{cf}.distribution_kg_co2e_per_kwh", unit)
    f.quantity(N_("End of life and recycling"), f"{cf}.end_of_life_kg_co2e_per_kwh", unit)
    f.links(N_("Carbon footprint study"), "carbon_footprint.study")
    f.links(N_("Carbon footprint declarations"), "carbon_footprint.declarations")
    f.links(N_("Calculation rules"), "carbon_footprint.rulebooks")


def _due_diligence(f: _Facts) -> None:
    f.links(N_("Due diligence report"), "due_diligence.report")
    f.links(N_("Due diligence policies"), "due_diligence.policies")
    f.links(N_("Third-party verifications"), "due_diligence.third_party_assurances")
    f.links(N_("Sustainability reports"), "due_diligence.sustainability_reports")
    f.links(N_("EU taxonomy disclosures"), "due_diligence.eu_taxonomy_disclosures")


def _materials(f: _Facts) -> None:
    f.text(N_("Chemistry"), "materials.chemistry")
    f.text(N_("Chemistry in detail"), "materials.chemistry_designation")
    f.texts(N_("Critical raw materials"), "materials.critical_raw_materials")
    f.items(N_("Active materials"), "materials.active_materials", _substance)
    f.items(N_("Hazardous substances"), "materials.hazardous_substances", _substance)


def _circularity(f: _Facts) -> None:
    f.items(N_("Recycled content"), "circularity.recycled_content", _recycled_share)
    f.quantity(N_("Renewable content"), "circularity.renewable_content_percent", "percent")
    f.links(N_("Preventing and managing waste"), "circularity.end_of_life.waste_prevention")
    f.links(N_("Separate collection and take-back"), "circularity.end_of_life.separate_collection")
    f.links(N_("Collection and recycling"), "circularity.end_of_life.collection_and_recycling")
    f.items(N_("Extinguishing agents"), "circularity.extinguishing_agents", _agent)
    f.items(N_("Recycled material certificates"), "korea.recycled_material_certificates", _certificate)


def _performance(f: _Facts) -> None:
    rated = "performance.rated"
    f.quantity(N_("Rated capacity"), f"{rated}.capacity.rated_ah", "ah")
    f.quantity(
        N_("Capacity threshold for exhaustion"), f"{rated}.capacity.exhaustion_threshold_percent", "percent"
    )
    f.quantity(N_("Rated energy"), f"{rated}.energy.rated_kwh", "kwh")
    f.quantity(N_("Minimum voltage"), f"{rated}.voltage.min_v", "v")
    f.quantity(N_("Nominal voltage"), f"{rated}.voltage.nominal_v", "v")
    f.quantity(N_("Maximum voltage"), f"{rated}.voltage.max_v", "v")
    f.quantity(N_("Original power capability"), f"{rated}.power.original_w", "w")
    f.quantity(N_("Power capability at 80 %% state of charge"), f"{rated}.power.at_80_percent_soc_w", "w")
    f.quantity(N_("Power capability at 20 %% state of charge"), f"{rated}.power.at_20_percent_soc_w", "w")
    f.quantity(N_("Initial internal resistance (cell)"), f"{rated}.resistance.cell_ohm", "ohm")
    f.quantity(N_("Initial internal resistance (module)"), f"{rated}.resistance.module_ohm", "ohm")
    f.quantity(N_("Initial internal resistance (pack)"), f"{rated}.resistance.pack_ohm", "ohm")
    efficiency = f"{rated}.round_trip_efficiency"
    f.quantity(N_("Initial round-trip efficiency"), f"{efficiency}.initial_percent", "percent")
    f.quantity(
        N_("Round-trip efficiency at 50 %% of cycle life"),
        f"{efficiency}.at_50_percent_cycle_life_percent",
        "percent",
    )
    f.quantity(N_("Lowest temperature when not in use"), f"{rated}.temperature_range.lower_c", "c")
    f.quantity(N_("Highest temperature when not in use"), f"{rated}.temperature_range.upper_c", "c")
    f.quantity(N_("Expected lifetime in cycles"), f"{rated}.lifetime.cycles", "cycles")
    f.quantity(N_("Expected lifetime in years"), f"{rated}.lifetime.years", "year")
    test = f"{rated}.lifetime.cycle_life_test"
    f.quantity(N_("Cycle-life test charge rate"), f"{test}.charge_c_rate", "c_rate")
    f.quantity(N_("Cycle-life test discharge rate"), f"{test}.discharge_c_rate", "c_rate")
    f.quantity(N_("Self-discharge per month"), f"{rated}.self_discharge_rate_percent", "percent")
    f.links(N_("Cycle-life test reports"), f"{rated}.lifetime.reports")
    f.links(N_("Performance documents"), f"{rated}.documents")


def _conformity(f: _Facts) -> None:
    f.items(N_("Label symbols"), "conformity.labels", _label)
    f.links(N_("Meaning of the label symbols"), "conformity.label_meaning_documents")
    f.text(N_("EU declaration of conformity number"), "conformity.declaration_of_conformity_id", mono=True)
    f.links(N_("EU declarations of conformity"), "conformity.declarations_of_conformity")


_BUILDERS: dict[str, Callable[[_Facts], None]] = {
    "general": _general,
    "carbon_footprint": _carbon,
    "due_diligence": _due_diligence,
    "materials": _materials,
    "circularity": _circularity,
    "performance": _performance,
    "conformity": _conformity,
}


def _tiers_by_group() -> dict[str, set[AccessTier]]:
    """For each top-level model group, the non-public tiers some of its attributes belong to."""
    out: dict[str, set[AccessTier]] = {}
    for path, tier, _ in iter_leaf_fields(BatteryPassport):
        if tier is not AccessTier.PUBLIC:
            out.setdefault(path.split(".")[0], set()).add(tier)
    return out


def _ordered(tiers: Iterable[AccessTier]) -> tuple[AccessTier, ...]:
    order = list(AccessTier)
    return tuple(sorted(set(tiers), key=order.index))


def passport_groups(view: PassportView) -> tuple[FactGroup, ...]:
    """The page's groups for ``view``: its public attributes, each group naming what else exists."""
    data = _backup_link(view.data)
    kept_back = _tiers_by_group()
    groups = []
    for key, title, sources in GROUPS:
        facts = _Facts(data)
        _BUILDERS[key](facts)
        tiers = {tier for source in sources for tier in kept_back.get(source, ())}
        groups.append(
            FactGroup(
                key=key,
                title=title,
                facts=tuple(facts.facts),
                restricted=_ordered(t for t in tiers if t not in view.tiers),
                not_shown=_ordered(t for t in tiers if t in view.tiers),
            )
        )
    return tuple(groups)
