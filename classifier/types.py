"""The classifier's result: plain values other stages (router, storage) may read."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of text that decided an answer: which field, what matched, its weight."""

    field: str  # "complaint" | "topic" | "municipality"
    text: str
    weight: float = 0.0


@dataclass(frozen=True, slots=True)
class MunicipalityCandidate:
    """A municipality the text (or the source, or the geotag) points to."""

    name: str
    oktmo: str
    score: float


@dataclass(frozen=True, slots=True)
class ClassificationInput:
    """What the classifier reads: the text plus the priors it may use."""

    text: str
    source_municipality: str | None = None  # name, short name or OKTMO of the source's territory
    lat: float | None = None
    lon: float | None = None
    is_comment: bool = False  # a comment under a post: it must name a problem of its own


@dataclass(frozen=True, slots=True)
class Classification:
    """Is it a complaint, about what, where; each with a calibrated confidence in [0, 1].

    ``municipality`` is None when unknown or ambiguous; ``municipality_candidates`` then lists
    the competing places (a homonym village in two districts gives two candidates, not a guess).
    """

    is_complaint: bool
    complaint_confidence: float
    topic_group: str | None
    topic: str | None
    topic_confidence: float
    municipality: str | None
    municipality_oktmo: str | None
    municipality_confidence: float
    model_version: str
    evidence: tuple[Evidence, ...] = ()
    municipality_candidates: tuple[MunicipalityCandidate, ...] = field(default=())
    topic_group_confidence: float = 0.0  # the group's own probability (topic_confidence <= it)
    # For a non-complaint, what it most likely is instead (classifier.noise.NOISE_KINDS:
    # "reaction", "advice", "reply", ...); None for a complaint or a model without kinds.
    kind: str | None = None
