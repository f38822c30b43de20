"""Text features for the models: TF-IDF over lemmas (words, word pairs) and lemma char n-grams."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["FeatureSpec", "Featurizer", "LemmaDoc", "prepare_docs"]

LemmaDoc = str
"""A message as the models read it: its lemmas joined by single spaces."""


def prepare_docs(texts: Sequence[str], lemmatize: Callable[[str], list[str]]) -> list[LemmaDoc]:
    """Turn raw messages into lemma documents with a lemmatiser (``Lemmatizer.lemmatize_text``)."""
    return [" ".join(lemmatize(text)) for text in texts]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Which features to build: word n-grams of lemmas and, optionally, char n-grams of them."""

    word_ngrams: tuple[int, int] = (1, 2)
    word_min_df: int = 2
    char_ngrams: tuple[int, int] | None = (3, 5)
    char_min_df: int = 3
    char_max_features: int | None = 60_000
    char_weight: float = 0.6

    def describe(self) -> str:
        """Return a short description for the artefact's metadata and reports."""
        words = f"lemma {self.word_ngrams[0]}-{self.word_ngrams[1]}-grams"
        if self.char_ngrams is None:
            return words
        lo, hi = self.char_ngrams
        return f"{words} + char {lo}-{hi}-grams x{self.char_weight}"


class Featurizer:
    """Fits the TF-IDF vocabularies on training documents and turns documents into a matrix."""

    def __init__(self, spec: FeatureSpec | None = None) -> None:
        """Prepare unfitted vectorizers for ``spec`` (the default spec when None)."""
        self.spec = spec or FeatureSpec()
        self.words = TfidfVectorizer(
            analyzer="word",
            token_pattern=r"\S+",  # noqa: S106 - a regex, not a password
            lowercase=False,
            ngram_range=self.spec.word_ngrams,
            min_df=self.spec.word_min_df,
            sublinear_tf=True,
            dtype=np.float32,
        )
        self.chars: TfidfVectorizer | None = None
        if self.spec.char_ngrams is not None:
            self.chars = TfidfVectorizer(
                analyzer="char_wb",
                lowercase=False,
                ngram_range=self.spec.char_ngrams,
                min_df=self.spec.char_min_df,
                max_features=self.spec.char_max_features,
                sublinear_tf=True,
                dtype=np.float32,
            )
        self._word_names: np.ndarray[Any, Any] | None = None

    @property
    def n_word_features(self) -> int:
        """Return how many word features come first in each row."""
        return len(self.words.vocabulary_)

    def fit(self, docs: Sequence[LemmaDoc]) -> Featurizer:
        """Learn the vocabularies and IDF weights from ``docs``."""
        self.words.fit(docs)
        if self.chars is not None:
            self.chars.fit(docs)
        self._word_names = None
        return self

    def compact(self) -> Featurizer:
        """Drop what only fitting needs (the cut-off terms), so the saved artefact is small."""
        for vectorizer in (self.words, self.chars):
            if vectorizer is not None and hasattr(vectorizer, "stop_words_"):
                vectorizer.stop_words_ = None
        return self

    def transform(self, docs: Sequence[LemmaDoc]) -> sp.csr_matrix:
        """Return the feature matrix of ``docs``: word columns first, then char columns."""
        words = self.words.transform(docs)
        if self.chars is None:
            return sp.csr_matrix(words)
        chars = self.chars.transform(docs) * self.spec.char_weight
        return sp.csr_matrix(sp.hstack([words, chars], format="csr"))

    def word_name(self, column: int) -> str:
        """Return the lemma (or lemma pair) of a word column."""
        if self._word_names is None:
            self._word_names = self.words.get_feature_names_out()
        return str(self._word_names[column])
