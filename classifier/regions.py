"""Region reference data: top-level municipalities, found by name, short name or OKTMO."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

MunicipalityKind = Literal["municipal_district", "municipal_okrug", "urban_okrug"]
MUNICIPALITY_KINDS: tuple[MunicipalityKind, ...] = (
    "municipal_district",
    "municipal_okrug",
    "urban_okrug",
)

_DATA_PACKAGE = "classifier.data.regions"
_REGION_CODE = re.compile(r"^[a-z][a-z0-9_-]*$")
_OKTMO = re.compile(r"^\d{8}(?:\d{3})?$")
# "… Кировской области", "… Пермского края": the region named after a municipality's name.
_REGION_TAIL = re.compile(r"\s+\S+(?:ой|ого)\s+(?:области|края|республики)$")
# Prefixes and suffixes that say which kind of municipality a reference means.
_URBAN_PREFIXES = ("город ", "г ", "зато ")
_DISTRICT_SUFFIXES = (
    " муниципальный район",
    " муниципальный округ",
    " район",
    " р-н",
    " округ",
)
_URBAN_SUFFIXES = (" городской округ", " го")


class RegionError(Exception):
    """Base class of the region reference data errors."""


class UnknownRegionError(RegionError, LookupError):
    """No reference data is shipped for the requested region code."""

    def __init__(self, code: str) -> None:
        """Name the unknown code and the codes that exist."""
        self.code = code
        super().__init__(
            f"unknown region {code!r}; available regions: {', '.join(available_regions())}"
        )


class AmbiguousMunicipalityError(RegionError, LookupError):
    """A municipality reference matches more than one municipality of the region."""

    def __init__(self, ref: str, candidates: tuple[Municipality, ...]) -> None:
        """Name the reference and every municipality it could mean."""
        self.ref = ref
        self.candidates = candidates
        listed = " or ".join(f"{m.name!r} ({m.oktmo})" for m in candidates)
        super().__init__(
            f"municipality {ref!r} is ambiguous: it may mean {listed}; "
            "use the full name or the OKTMO code"
        )


@dataclass(frozen=True, slots=True)
class Municipality:
    """A top-level municipal entity: a municipal district or okrug, or an urban okrug."""

    name: str
    short_name: str
    oktmo: str
    kind: MunicipalityKind
    admin_center: str = ""

    def __str__(self) -> str:
        """Return the official name."""
        return self.name


def _normalise(text: str) -> str:
    """Fold case, ё and punctuation so that references compare loosely."""
    text = text.casefold().replace("ё", "е").replace(".", " ")
    text = re.sub(r"\s*-\s*", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def _stems(municipality: Municipality) -> frozenset[str]:
    """Return the bare stems a municipality answers to once its kind words are stripped."""
    stems = {_normalise(municipality.short_name)}
    if municipality.kind == "urban_okrug":
        name = _normalise(municipality.name)
        for prefix in _URBAN_PREFIXES:
            name = name.removeprefix(prefix)
        stems.add(name)
        center = _normalise(municipality.admin_center)
        if center.startswith("г "):
            stems.add(center.removeprefix("г "))
        stems = {stem.removeprefix("г ") for stem in stems}
    return frozenset(stems)


def _split_kind(ref: str) -> tuple[str, str | None]:
    """Split a normalised reference into its stem and the kind it names, if any."""
    for prefix in _URBAN_PREFIXES:
        if ref.startswith(prefix):
            return ref.removeprefix(prefix).strip(), "urban"
    for suffix in _URBAN_SUFFIXES:
        if ref.endswith(suffix):
            return ref.removesuffix(suffix).strip(), "urban"
    for suffix in _DISTRICT_SUFFIXES:
        if ref.endswith(suffix):
            return ref.removesuffix(suffix).strip(), "district"
    return ref, None


@dataclass(frozen=True, slots=True)
class Region:
    """A region (subject of the Russian Federation) and its top-level municipalities."""

    code: str
    name: str
    timezone: str
    municipalities: tuple[Municipality, ...]

    def find_municipality(self, ref: str) -> Municipality | None:
        """Find a municipality by OKTMO code, official name, short name or a variant of them.

        Matching ignores case, "ё" and dots. "Слободской", "Слободской район",
        "Слободской муниципальный округ" and "33635000" all find "Слободской муниципальный
        район"; "Киров", "г. Киров" and "город Киров" find the urban okrug. An exact official
        or short name wins over looser forms.

        Returns:
            The municipality, or None when nothing matches.

        Raises:
            AmbiguousMunicipalityError: when the reference fits several municipalities.
        """
        compact = re.sub(r"\s+", "", ref)
        if _OKTMO.match(compact):
            code = compact[:8] if compact.endswith("000") or len(compact) == 8 else compact
            return next((m for m in self.municipalities if m.oktmo == code), None)
        norm = _REGION_TAIL.sub("", _normalise(ref))
        if not norm:
            return None
        exact = tuple(
            m for m in self.municipalities if norm in (_normalise(m.name), _normalise(m.short_name))
        )
        if exact:
            return self._one(ref, exact)
        stem, kind = _split_kind(norm)
        loose = tuple(
            m
            for m in self.municipalities
            if stem in _stems(m)
            and (kind is None or (kind == "urban") == (m.kind == "urban_okrug"))
        )
        return self._one(ref, loose) if loose else None

    @staticmethod
    def _one(ref: str, found: tuple[Municipality, ...]) -> Municipality:
        if len(found) > 1:
            raise AmbiguousMunicipalityError(ref, found)
        return found[0]

    def municipality_by_oktmo(self, oktmo: str) -> Municipality | None:
        """Return the municipality with this 8-digit OKTMO code, if any."""
        return next((m for m in self.municipalities if m.oktmo == oktmo), None)


def available_regions() -> tuple[str, ...]:
    """Return the codes of the regions whose reference data is shipped, sorted."""
    files = resources.files(_DATA_PACKAGE).iterdir()
    return tuple(sorted(f.name.removesuffix(".json") for f in files if f.name.endswith(".json")))


def _municipality(item: dict[str, Any]) -> Municipality:
    kind = item["kind"]
    if kind not in MUNICIPALITY_KINDS:
        raise RegionError(f"unknown municipality kind {kind!r} in the region data")
    return Municipality(
        name=item["name"],
        short_name=item["short_name"],
        oktmo=item["oktmo"],
        kind=kind,
        admin_center=item.get("admin_center", ""),
    )


@cache
def load_region(code: str) -> Region:
    """Load a region's shipped reference data by its code ("kirov", "perm").

    Raises:
        UnknownRegionError: when no data is shipped for the code.
    """
    if not _REGION_CODE.match(code) or code not in available_regions():
        raise UnknownRegionError(code)
    text = resources.files(_DATA_PACKAGE).joinpath(f"{code}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return Region(
        code=data["code"],
        name=data["name"],
        timezone=data["timezone"],
        municipalities=tuple(_municipality(item) for item in data["municipalities"]),
    )
