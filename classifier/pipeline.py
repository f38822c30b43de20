"""The classifier: text models plus the municipality matcher, one message or a batch at a time."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from classifier.regions import AmbiguousMunicipalityError, Municipality, Region
from classifier.text import PreparedText, prepare
from classifier.types import Classification, ClassificationInput, Evidence, MunicipalityCandidate

if TYPE_CHECKING:
    from classifier.artifact import ModelArtifact
    from classifier.model import TextModels, TextPrediction

__all__ = [
    "Classifier",
    "FoldedWordLemmatizer",
    "LemmatizerLike",
    "MunicipalityMatch",
    "MunicipalityMatcher",
    "NullMatcher",
    "PreparedMatcher",
    "RegionMatch",
    "RegionMatcher",
    "WordLemmatizer",
    "load_classifier",
]


@runtime_checkable
class LemmatizerLike(Protocol):
    """What the classifier needs of a lemmatiser (``classifier.lemmatizer.Lemmatizer``)."""

    def lemmatize_text(self, text: str) -> list[str]:
        """Normalise a raw message, tokenise it and return its lemmas."""


class MunicipalityMatch(Protocol):
    """A matcher's answer (``classifier.gazetteer.MunicipalityResult`` has this shape)."""

    @property
    def municipality(self) -> Municipality | None:
        """The municipality decided, or None when unknown or ambiguous."""

    @property
    def confidence(self) -> float:
        """The confidence of that decision, in [0, 1]."""

    @property
    def candidates(self) -> tuple[MunicipalityCandidate, ...]:
        """The competing municipalities, best first."""

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        """The place names that decided."""


@runtime_checkable
class MunicipalityMatcher(Protocol):
    """Finds the municipality of a message (``classifier.gazetteer.Gazetteer`` is one)."""

    def match(
        self,
        text: str,
        *,
        source_municipality: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> MunicipalityMatch:
        """Return the municipality a message is about, with candidates and evidence."""


@runtime_checkable
class PreparedMatcher(Protocol):
    """A matcher that reads a prepared text, cleaned once (``Gazetteer`` is one)."""

    def match_prepared(
        self,
        text: PreparedText,
        *,
        source_municipality: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> MunicipalityMatch:
        """Return the municipality a prepared message is about."""


@runtime_checkable
class WordLemmatizer(Protocol):
    """A lemmatiser that takes word tokens already split (``Lemmatizer`` is one)."""

    def lemmas(self, tokens: Iterable[str]) -> list[str]:
        """Return the lemmas of word tokens."""


@runtime_checkable
class FoldedWordLemmatizer(Protocol):
    """A lemmatiser that takes folded word tokens (``PreparedText.words``; ``Lemmatizer``)."""

    def lemmas_of_folded(self, words: Iterable[str]) -> list[str]:
        """Return the lemmas of word tokens already lower-cased with "е" for "ё"."""


@dataclass(frozen=True, slots=True)
class RegionMatch:
    """A :class:`MunicipalityMatch` built by the fallback and null matchers."""

    municipality: Municipality | None = None
    confidence: float = 0.0
    candidates: tuple[MunicipalityCandidate, ...] = ()
    evidence: tuple[Evidence, ...] = ()


class NullMatcher:
    """A matcher that never knows the place: for callers that only need the text models."""

    def match(
        self,
        text: str,
        *,
        source_municipality: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> RegionMatch:
        """Answer "unknown"."""
        return RegionMatch()


_STREET_WORDS = frozenset(
    [
        "ул",
        "улица",
        "улице",
        "улицы",
        "улицу",
        "пр",
        "проспект",
        "проспекте",
        "пер",
        "переулок",
        "переулке",
        "пл",
        "площадь",
        "площади",
        "бульвар",
        "бульваре",
        "наб",
        "набережная",
        "набережной",
        "шоссе",
        "тракт",
        "тракте",
    ]
)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


class RegionMatcher:
    """A fallback matcher over the region's top-level municipalities only.

    It looks every lemma (and pair of lemmas) of the text up with
    :meth:`Region.find_municipality`, skipping words right after a street word ("ул. Кирова"
    decides nothing); then falls back to the source group's territory. It knows no villages:
    the gazetteer (``classifier.gazetteer``) is the real matcher.
    """

    TEXT_CONFIDENCE = 0.8
    SOURCE_CONFIDENCE = 0.6

    def __init__(self, region: Region, lemmatizer: LemmatizerLike) -> None:
        """Match against ``region``'s municipalities, reading words through ``lemmatizer``."""
        self.region = region
        self.lemmatizer = lemmatizer

    def _lookup(self, ref: str) -> tuple[Municipality, ...]:
        try:
            found = self.region.find_municipality(ref)
        except AmbiguousMunicipalityError as err:
            return err.candidates
        return (found,) if found is not None else ()

    def match(
        self,
        text: str,
        *,
        source_municipality: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> RegionMatch:
        """Return the municipality named in the text, else the source's, else unknown."""
        words = _WORD.findall(text)
        found: dict[str, tuple[Municipality, str]] = {}
        ambiguous: dict[str, Municipality] = {}
        for i, word in enumerate(words):
            if len(word) < 3 or (i and words[i - 1].casefold().rstrip(".") in _STREET_WORDS):
                continue
            if word[:1].islower() and "-" not in word:
                continue  # place names are written with a capital letter
            lemmas = self.lemmatizer.lemmatize_text(word)
            refs = [word, " ".join(lemmas)]
            if i + 1 < len(words):
                refs.insert(0, f"{word} {words[i + 1]}")
            for ref in refs:
                hits = self._lookup(ref)
                if len(hits) == 1:
                    found.setdefault(hits[0].oktmo, (hits[0], word))
                    break
                if len(hits) > 1:
                    for m in hits:
                        ambiguous.setdefault(m.oktmo, m)
                    break
        if len(found) == 1:
            ((municipality, word),) = found.values()
            return RegionMatch(
                municipality,
                self.TEXT_CONFIDENCE,
                (MunicipalityCandidate(municipality.name, municipality.oktmo, 1.0),),
                (Evidence("municipality", word, self.TEXT_CONFIDENCE),),
            )
        if len(found) > 1 or ambiguous:
            pool = {**ambiguous, **{k: v for k, (v, _w) in found.items()}}
            share = round(1.0 / len(pool), 4)
            return RegionMatch(
                None,
                0.0,
                tuple(MunicipalityCandidate(m.name, m.oktmo, share) for m in pool.values()),
                tuple(Evidence("municipality", w, share) for _m, w in found.values()),
            )
        if source_municipality:
            hits = self._lookup(source_municipality)
            if len(hits) == 1:
                m = hits[0]
                return RegionMatch(
                    m,
                    self.SOURCE_CONFIDENCE,
                    (MunicipalityCandidate(m.name, m.oktmo, self.SOURCE_CONFIDENCE),),
                    (Evidence("municipality", f"source: {source_municipality}", 0.0),),
                )
        return RegionMatch()


class Classifier:
    """Text models plus a municipality matcher: ``ClassificationInput`` -> ``Classification``.

    ``classify_many`` is the throughput path: it lemmatises every text (through the
    lemmatiser's cache) and runs the models once over the whole batch.
    """

    def __init__(
        self,
        *,
        models: TextModels,
        version: str,
        lemmatizer: LemmatizerLike,
        matcher: MunicipalityMatcher | None = None,
        complaint_threshold: float = 0.5,
        evidence: bool = True,
    ) -> None:
        """Combine fitted ``models`` (recorded as ``version``) with a lemmatiser and a matcher."""
        self.models = models
        self.version = version
        self.lemmatizer = lemmatizer
        self.matcher: MunicipalityMatcher = matcher if matcher is not None else NullMatcher()
        self.complaint_threshold = complaint_threshold
        self.evidence = evidence

    @classmethod
    def from_artifact(
        cls,
        artifact: ModelArtifact,
        *,
        lemmatizer: LemmatizerLike,
        matcher: MunicipalityMatcher | None = None,
    ) -> Classifier:
        """Build a classifier from a loaded artefact (its version goes with every result)."""
        return cls(
            models=artifact.models,
            version=artifact.version,
            lemmatizer=lemmatizer,
            matcher=matcher,
        )

    def classify(self, item: ClassificationInput) -> Classification:
        """Classify one message."""
        return self.classify_many([item])[0]

    def classify_many(self, items: Sequence[ClassificationInput]) -> list[Classification]:
        """Classify a batch of messages, in order."""
        return [result for result, _lemmas in self.classify_with_lemmas(items)]

    def classify_with_lemmas(
        self, items: Sequence[ClassificationInput]
    ) -> list[tuple[Classification, tuple[str, ...]]]:
        """Classify a batch of messages, in order, each with the lemmas the models read.

        Each text is cleaned and tokenised once (``classifier.text.prepare``); the lemmatiser,
        the models (one call for the batch) and the gazetteer all read that one form.
        """
        if not items:
            return []
        prepared = [prepare(item.text) for item in items]
        lemmatizer = self.lemmatizer
        if isinstance(lemmatizer, FoldedWordLemmatizer):
            lemmas = [tuple(lemmatizer.lemmas_of_folded(p.words)) for p in prepared]
        elif isinstance(lemmatizer, WordLemmatizer):
            lemmas = [tuple(lemmatizer.lemmas(p.words)) for p in prepared]
        else:
            lemmas = [tuple(lemmatizer.lemmatize_text(item.text)) for item in items]
        docs = [" ".join(words) for words in lemmas]
        predictions = self.models.predict(
            docs,
            evidence=self.evidence,
            comments=[item.is_comment for item in items],
            texts=[item.text for item in items],
        )
        by_prepared = isinstance(self.matcher, PreparedMatcher)
        return [
            (self._combine(item, pred, p if by_prepared else None), words)
            for item, pred, p, words in zip(items, predictions, prepared, lemmas, strict=True)
        ]

    def _combine(
        self, item: ClassificationInput, pred: TextPrediction, prepared: PreparedText | None
    ) -> Classification:
        if prepared is not None:
            place = cast("PreparedMatcher", self.matcher).match_prepared(
                prepared,
                source_municipality=item.source_municipality,
                lat=item.lat,
                lon=item.lon,
            )
        else:
            place = self.matcher.match(
                item.text, source_municipality=item.source_municipality, lat=item.lat, lon=item.lon
            )
        municipality = place.municipality
        return Classification(
            is_complaint=pred.complaint_confidence >= self.complaint_threshold,
            complaint_confidence=round(pred.complaint_confidence, 4),
            topic_group=pred.group,
            topic=pred.topic,
            topic_confidence=round(pred.topic_confidence, 4),
            municipality=municipality.name if municipality is not None else None,
            municipality_oktmo=municipality.oktmo if municipality is not None else None,
            municipality_confidence=round(float(place.confidence), 4)
            if municipality is not None
            else 0.0,
            model_version=self.version,
            evidence=pred.evidence + tuple(place.evidence),
            municipality_candidates=tuple(place.candidates),
            topic_group_confidence=round(pred.group_confidence, 4),
            kind=None if pred.complaint_confidence >= self.complaint_threshold else pred.kind,
        )


def load_classifier(model_dir: Path | None = None, *, region: str | None = None) -> Classifier:
    """Build a ready classifier: the artefact in ``model_dir`` (default: the shipped one),
    the pymorphy3 lemmatiser, and the region's gazetteer when ``region`` ("kirov", "perm")
    is given (no place matching otherwise).

    Raises:
        ModelArtifactError: when the artefact is missing or cannot be loaded.
    """
    from classifier.artifact import load_artifact
    from classifier.gazetteer import Gazetteer
    from classifier.lemmatizer import Lemmatizer

    lemmatizer = Lemmatizer()
    matcher = Gazetteer.load(region, morph=lemmatizer.morph) if region is not None else None
    return Classifier.from_artifact(
        load_artifact(model_dir), lemmatizer=lemmatizer, matcher=matcher
    )
