"""Access tiers (EU 2023/1542 Annex XIII) and the split of a passport into one section per tier.

Every attribute of the passport model is tagged, in its type, with the tier that may read it::

    mass_kg: Public[Kilograms]
    state_of_charge_percent: LegitimateInterest[Reading[Percent] | None] = None

A tagged field is a *leaf* for access purposes: its whole value (even a nested object or a list) goes
into that tier's section. A field without a tag must hold a nested ``PassportModel``, which is split
recursively, so sections keep the group nesting and merge back by plain deep union. Lists are always
leaves: splitting list items across tiers would make merging depend on positions.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar, cast

from pydantic import BaseModel, GetJsonSchemaHandler, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from passport.errors import DocumentValidationError

T = TypeVar("T")

SectionData = dict[str, Any]
# Accept both spellings of the tier keys: ``AccessTier`` members and their plain string values (what
# ``passport.sections`` hands back after loading). Two arms because ``Mapping`` keys are invariant.
SectionsInput = Mapping["AccessTier", Mapping[str, Any]] | Mapping[str, Mapping[str, Any]]


class AccessTier(StrEnum):
    """Who may read an attribute (Annex XIII 1, 2-4 and Art. 77(2))."""

    PUBLIC = "public"  # Annex XIII 1: anyone who scans the data carrier
    LEGITIMATE_INTEREST = "legitimate_interest"  # Annex XIII 2 and 4: repairers, recyclers, buyers' agents
    AUTHORITY = "authority"  # Annex XIII 3: notified bodies, market surveillance, the Commission


@dataclass(frozen=True, slots=True)
class Tier:
    """``Annotated`` metadata naming a field's access tier; also shown in the JSON schema."""

    tier: AccessTier

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["x-access-tier"] = self.tier.value
        return schema


Public = Annotated[T, Tier(AccessTier.PUBLIC)]
LegitimateInterest = Annotated[T, Tier(AccessTier.LEGITIMATE_INTEREST)]
Authority = Annotated[T, Tier(AccessTier.AUTHORITY)]


def field_tier(info: FieldInfo) -> AccessTier | None:
    """The tier a field is tagged with, or None for an untagged (nested group) field."""
    tiers = {m.tier for m in info.metadata if isinstance(m, Tier)}
    if len(tiers) > 1:
        raise TypeError(f"field tagged with several access tiers: {sorted(tiers)}")
    return tiers.pop() if tiers else None


def group_model(info: FieldInfo) -> type[BaseModel] | None:
    """The nested model class of an untagged field (``X`` or ``X | None``), else None."""
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == 1:
            return models[0]
    return None


def _group_of(cls: type[BaseModel], name: str, info: FieldInfo) -> type[BaseModel]:
    model = group_model(info)
    if model is None:
        raise TypeError(f"{cls.__name__}.{name} has no access tier and is not a nested passport group")
    return model


def iter_leaf_fields(cls: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, AccessTier, FieldInfo]]:
    """Every access leaf of ``cls`` as (dotted path, tier, field info), depth first in field order.

    Raises ``TypeError`` for a field that has no tier and is not a nested group: the model itself is
    wrong then, and that must never reach a section silently.
    """
    for name, info in cls.model_fields.items():
        path = f"{prefix}{name}"
        tier = field_tier(info)
        if tier is not None:
            yield path, tier, info
        else:
            yield from iter_leaf_fields(_group_of(cls, name, info), f"{path}.")


def tier_of(cls: type[BaseModel], path: str) -> AccessTier:
    """The access tier of the attribute at dotted ``path`` (a leaf or anything inside one)."""
    current: type[BaseModel] = cls
    parts = path.split(".")
    for index, part in enumerate(parts):
        info = current.model_fields.get(part)
        if info is None:
            raise KeyError(f"{cls.__name__} has no attribute {'.'.join(parts[: index + 1])!r}")
        tier = field_tier(info)
        if tier is not None:
            return tier
        current = _group_of(current, part, info)
    raise KeyError(f"{path!r} is a group, not an attribute: its parts may belong to different tiers")


# -- splitting -----------------------------------------------------------------------------------


def split_sections(model: BaseModel) -> dict[AccessTier, SectionData]:
    """One JSON-able dict per tier, each holding exactly that tier's attributes, nested by group.

    Every tagged field is present in its tier's section, ``None`` and empty lists included, so the
    sections of a passport always carry the same keys and merge back into the same model.
    """
    dumped = model.model_dump(mode="json")
    out: dict[AccessTier, SectionData] = {tier: {} for tier in AccessTier}
    _split_into(type(model), dumped, out)
    return out


def _split_into(cls: type[BaseModel], data: Mapping[str, Any], out: dict[AccessTier, SectionData]) -> None:
    for name, info in cls.model_fields.items():
        tier = field_tier(info)
        value = data.get(name)
        if tier is not None:
            out[tier][name] = value
            continue
        if value is None:  # an absent optional group contributes nothing to any tier
            continue
        nested: dict[AccessTier, SectionData] = {t: {} for t in AccessTier}
        _split_into(_group_of(cls, name, info), value, nested)
        for t, section in nested.items():
            if section:
                out[t][name] = section


# -- checking and merging ------------------------------------------------------------------------


def normalise_tiers(sections: SectionsInput) -> dict[AccessTier, Mapping[str, Any]]:
    """Key ``sections`` by ``AccessTier``; unknown tier names are a ``DocumentValidationError``."""
    out: dict[AccessTier, Mapping[str, Any]] = {}
    problems: list[tuple[str, str]] = []
    for key, data in sections.items():
        try:
            tier = AccessTier(key)
        except ValueError:
            problems.append((str(key), "unknown access tier"))
            continue
        if not isinstance(data, Mapping):
            problems.append((tier.value, "a section must be a JSON object"))
            continue
        out[tier] = data
    if problems:
        raise DocumentValidationError("invalid passport sections", problems)
    return out


@functools.cache
def _leaf_adapter(cls: type[BaseModel], name: str) -> TypeAdapter[Any]:
    # Built once per field: a TypeAdapter compiles a validator, which is far dearer than using it.
    info = cls.model_fields[name]
    # The type is assembled at run time, which no static checker can follow; hence the cast.
    return TypeAdapter(cast("Any", Annotated[info.annotation, *info.metadata]))


def check_section(
    cls: type[BaseModel], tier: AccessTier, data: Mapping[str, Any], *, validate_values: bool
) -> list[tuple[str, str]]:
    """Problems with one tier's section: unknown keys, attributes of another tier, bad values.

    ``validate_values`` also validates each leaf value on its own (for partial views, where the
    model as a whole cannot be built); cross-field rules need the whole model and are not checked.
    """
    problems: list[tuple[str, str]] = []
    _check_into(cls, tier, data, "", problems, validate_values)
    return problems


def _check_into(
    cls: type[BaseModel],
    tier: AccessTier,
    data: Mapping[str, Any],
    prefix: str,
    problems: list[tuple[str, str]],
    validate_values: bool,
) -> None:
    for name, value in data.items():
        path = f"{prefix}{name}"
        info = cls.model_fields.get(name)
        if info is None:
            problems.append((path, f"unknown attribute in the {tier.value} section"))
            continue
        field = field_tier(info)
        if field is None:
            if not isinstance(value, Mapping):
                problems.append((path, "a group must be a JSON object"))
                continue
            _check_into(_group_of(cls, name, info), tier, value, f"{path}.", problems, validate_values)
        elif field is not tier:
            problems.append((path, f"belongs to the {field.value} section, not the {tier.value} section"))
        elif validate_values:
            try:
                _leaf_adapter(cls, name).validate_python(value)
            except ValidationError as exc:
                problems.extend(validation_problems(exc, prefix=path))


def merge_section_data(sections: Mapping[AccessTier, Mapping[str, Any]]) -> SectionData:
    """Deep union of already-checked sections (their leaves are disjoint by construction)."""
    merged: SectionData = {}
    for tier in AccessTier:  # fixed order, so the merged dict is the same however sections arrive
        if tier in sections:
            _deep_merge(merged, sections[tier])
    return merged


def _deep_merge(into: dict[str, Any], data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = {}
            _deep_merge(into[key], value)
        else:
            into[key] = value


def validation_problems(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """A pydantic error as (JSON path, reason) pairs: ``a.b[2].c``."""
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        path = prefix
        for part in error["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path = f"{path}.{part}" if path else str(part)
        problems.append((path or "$", error["msg"]))
    return problems
