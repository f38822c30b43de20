"""Street names seen so far, to reconcile a typo with the one known street it is meant for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace

from classifier.text import within_one_edit
from router.entities import Entity, EntityKind

__all__ = ["StreetVocabulary"]


class StreetVocabulary:
    """The street stems seen so far; a new stem one edit from a known one is taken as it.

    «Дерендеева» meets «Дерендяева», «Чапаеав» meets «Чапаева». Only stems of at least
    ``min_length`` letters are corrected (short names are too close to each other: «Мира» and
    «Мора» are two streets), and only when exactly one known stem is one edit away.
    """

    def __init__(self, min_length: int = 5) -> None:
        """Start empty; stems shorter than ``min_length`` are never corrected."""
        self.min_length = min_length
        self._counts: Counter[str] = Counter()
        self._by_length: dict[int, set[str]] = {}

    def __contains__(self, street: object) -> bool:
        """Tell whether a stem was seen."""
        return street in self._counts

    def canonical(self, street: str) -> str:
        """Return the known stem this one is a typo of, or the stem itself."""
        if street in self._counts or len(street) < self.min_length:
            return street
        near = [
            known
            for length in (len(street) - 1, len(street), len(street) + 1)
            for known in self._by_length.get(length, ())
            if known[0] == street[0] and within_one_edit(known, street)
        ]
        # «Масковской» is one edit from both «Московской» and «Маяковского»: leave it alone.
        return near[0] if len(near) == 1 else street

    def add(self, street: str) -> None:
        """Record a stem (a canonical one: call :meth:`canonical` first)."""
        self._counts[street] += 1
        self._by_length.setdefault(len(street), set()).add(street)

    def normalise(self, entities: Iterable[Entity], *, learn: bool = True) -> tuple[Entity, ...]:
        """Return the entities with their street stems made canonical (and learn new stems)."""
        result = []
        for entity in entities:
            fixed = self._fix(entity)
            if learn:
                for street in _streets_of(fixed):
                    self.add(street)
            result.append(fixed)
        return tuple(sorted(set(result)))

    def _fix(self, entity: Entity) -> Entity:
        if entity.kind in (EntityKind.ADDRESS, EntityKind.STREET):
            parts = entity.key.split(":")
            parts[1] = self.canonical(parts[1])
            return replace(entity, key=":".join(parts))
        if entity.kind is EntityKind.CROSSING:
            streets = sorted(self.canonical(s) for s in entity.key.split(":", 1)[1].split("|"))
            return replace(entity, key=f"cross:{streets[0]}|{streets[1]}")
        return entity


def _streets_of(entity: Entity) -> Sequence[str]:
    if entity.kind in (EntityKind.ADDRESS, EntityKind.STREET):
        return (entity.key.split(":")[1],)
    if entity.kind is EntityKind.CROSSING:
        return tuple(entity.key.split(":", 1)[1].split("|"))
    return ()
