"""Score how close a message's lemmas are to an incident's lemma profile (IDF-weighted cosine)."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

__all__ = ["Similarity", "TermStats", "profile_similarity", "set_similarity"]


@dataclass(frozen=True, slots=True)
class TermStats:
    """Document frequencies of lemmas over the messages in the index (a snapshot for one decision).

    ``document_frequency`` needs to hold only the terms being compared; a term it lacks counts as
    seen in no document (the rarest, heaviest weight).
    """

    document_count: int
    document_frequency: Mapping[str, int]

    def weight(self, term: str) -> float:
        """Return the smoothed inverse document frequency of a term (at least 1.0)."""
        df = self.document_frequency.get(term, 0)
        return math.log((1 + self.document_count) / (1 + df)) + 1.0


@dataclass(frozen=True, slots=True)
class Similarity:
    """A similarity in [0, 1] with the shared lemmas that produced it, heaviest first."""

    score: float
    shared: tuple[str, ...]


def profile_similarity(
    terms: Collection[str],
    profile: Mapping[str, int],
    profile_messages: int,
    stats: TermStats,
) -> Similarity:
    """Return the cosine between a message's terms and an incident's centroid.

    The message is a set of terms weighted by IDF. The incident is the mean of its messages' such
    vectors: term ``t`` weighs ``profile[t] / profile_messages * idf(t)``, so the lemmas most of
    its messages share dominate and a one-off word of one message counts little.
    """
    if not terms or not profile or profile_messages <= 0:
        return Similarity(0.0, ())
    weights = {term: stats.weight(term) for term in terms}
    message_norm = math.sqrt(sum(w * w for w in weights.values()))
    dot = 0.0
    incident_norm_sq = 0.0
    contributions: list[tuple[float, str]] = []
    for term, count in profile.items():
        share = count / profile_messages
        weight = weights[term] if term in weights else stats.weight(term)
        value = share * weight
        incident_norm_sq += value * value
        if term in weights:
            contribution = value * weights[term]
            dot += contribution
            contributions.append((contribution, term))
    if dot == 0.0:
        return Similarity(0.0, ())
    score = dot / (message_norm * math.sqrt(incident_norm_sq))
    contributions.sort(key=lambda item: (-item[0], item[1]))
    return Similarity(min(1.0, score), tuple(term for _, term in contributions))


def set_similarity(left: Collection[str], right: Collection[str], stats: TermStats) -> Similarity:
    """Return the IDF-weighted cosine between two term sets (two single messages)."""
    return profile_similarity(left, dict.fromkeys(right, 1), 1, stats)
