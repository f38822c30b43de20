"""Text features for the models: TF-IDF over lemmas (words, word pairs) and lemma char n-grams."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = [
    "FeatureSpec",
    "Featurizer",
    "FrozenVectorizer",
    "LemmaDoc",
    "l2_rows",
    "prepare_docs",
    "word_char_ngrams",
]

CHAR_CACHE_SIZE = 300_000

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
        from sklearn.feature_extraction.text import TfidfVectorizer  # fitting needs it; use not

        self.spec = spec or FeatureSpec()
        self.words: TfidfVectorizer | FrozenVectorizer = TfidfVectorizer(
            analyzer="word",
            token_pattern=r"\S+",  # noqa: S106 - a regex, not a password
            lowercase=False,
            ngram_range=self.spec.word_ngrams,
            min_df=self.spec.word_min_df,
            sublinear_tf=True,
            dtype=np.float32,
        )
        self.chars: TfidfVectorizer | FrozenVectorizer | None = None
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
        self._char_cache: dict[str, list[int]] = {}
        self._analyzer: tuple[Callable[[str], list[str]], dict[str, int]] | None = None

    @property
    def n_word_features(self) -> int:
        """Return how many word features come first in each row."""
        return len(self.words.vocabulary_)

    def fit(self, docs: Sequence[LemmaDoc]) -> Featurizer:
        """Learn the vocabularies and IDF weights from ``docs``."""
        words, chars = self.words, self.chars
        if isinstance(words, FrozenVectorizer) or isinstance(chars, FrozenVectorizer):
            raise ValueError("a frozen featurizer cannot be fitted again")
        words.fit(docs)
        if chars is not None:
            chars.fit(docs)
        self._word_names = None
        self._char_cache = {}
        self._analyzer = None
        self.__dict__.pop("_pairs_by_columns", None)
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the per-word caches (rebuilt as words are seen)."""
        state = dict(self.__dict__)
        state["_char_cache"] = {}
        state["_word_names"] = None
        state["_analyzer"] = None
        state.pop("_pairs_by_columns", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`__getstate__` (or from an artefact saved before the caches)."""
        self.__dict__.update(state)
        self._char_cache = {}
        self._analyzer = None
        self._word_names = None

    def compact(self) -> Featurizer:
        """Drop what only fitting needs (the cut-off terms), so the saved artefact is small."""
        for vectorizer in (self.words, self.chars):
            if vectorizer is not None and hasattr(vectorizer, "stop_words_"):
                vectorizer.stop_words_ = None
        return self

    def transform(self, docs: Sequence[LemmaDoc]) -> sp.csr_matrix:
        """Return the feature matrix of ``docs``: word columns first, then char columns."""
        return self.transform_parts(docs)[0]

    def transform_parts(self, docs: Sequence[LemmaDoc]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Return the feature matrix of ``docs`` and, apart, its word columns (for evidence)."""
        words = self._word_tfidf(docs)
        if self.chars is None:
            return words, words
        chars = self._char_tfidf(docs) * self.spec.char_weight
        return sp.csr_matrix(sp.hstack([words, chars], format="csr")), words

    def _word_tfidf(self, docs: Sequence[LemmaDoc]) -> sp.csr_matrix:
        """Word n-gram TF-IDF, equal to ``self.words.transform`` without its per-call overhead.

        The same steps as scikit-learn's: count the n-grams found in the vocabulary, sort
        each row's columns, then sublinear tf, IDF and l2 norm in place on the same dtype.
        """
        vectorizer = self.words
        lookup = vectorizer.vocabulary_.get
        lo, hi = vectorizer.ngram_range
        indptr = [0]
        indices: list[int] = []
        values: list[int] = []
        pairs = self._word_pairs() if (lo, hi) == (1, 2) else None
        for doc in docs:
            tokens = doc.split()
            counts: dict[int, int] = {}
            if pairs is not None:
                # Unigram columns, then each pair of adjacent known words by its columns:
                # no pair string is built for the many pairs the vocabulary lacks.
                columns = list(map(lookup, tokens))
                for found in (columns, map(pairs.get, pairwise(columns))):
                    for column in found:
                        if column is not None:
                            counts[column] = counts.get(column, 0) + 1
            else:
                for n in range(lo, hi + 1):
                    shifted = (tokens[k:] for k in range(n))
                    grams = tokens if n == 1 else map(" ".join, zip(*shifted, strict=False))
                    for gram in grams:
                        column = lookup(gram)
                        if column is not None:
                            counts[column] = counts.get(column, 0) + 1
            indices.extend(counts)
            values.extend(counts.values())
            indptr.append(len(indices))
        matrix = sp.csr_matrix(
            (
                np.asarray(values, dtype=vectorizer.dtype),
                np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int32),
            ),
            shape=(len(docs), len(vectorizer.vocabulary_)),
        )
        matrix.sort_indices()
        if vectorizer.sublinear_tf:
            np.log(matrix.data, matrix.data)
            matrix.data += 1.0
        if vectorizer.use_idf:
            matrix.data *= vectorizer.idf_[matrix.indices]
        if vectorizer.norm is not None:
            matrix = l2_rows(matrix)
        return sp.csr_matrix(matrix)

    def _word_pairs(self) -> dict[tuple[int | None, int | None], int] | None:
        """Return the word-pair columns keyed by their two words' unigram columns (built once).

        None when some pair of the vocabulary has a word that is no unigram column (then pairs
        are looked up by their text). With ``min_df`` alone a pair's words are always columns:
        each is in at least as many documents as the pair.
        """
        cached = self.__dict__.get("_pairs_by_columns", False)
        if cached is not False:
            return cast("dict[tuple[int | None, int | None], int] | None", cached)
        lookup = self.words.vocabulary_.get
        pairs: dict[tuple[int | None, int | None], int] | None = {}
        for term, column in self.words.vocabulary_.items():
            if " " not in term:
                continue
            first, _, second = term.partition(" ")
            key = (lookup(first), lookup(second))
            if pairs is None or None in key or " " in second:
                pairs = None
                break
            pairs[key] = column
        self.__dict__["_pairs_by_columns"] = pairs
        return pairs

    def _fitted_chars(self) -> TfidfVectorizer | FrozenVectorizer:
        if self.chars is None:
            raise ValueError("this featurizer has no char n-grams")
        return self.chars

    def _char_columns(self, word: str) -> list[int]:
        """Return the char n-gram columns of one word, one entry per n-gram (memoised)."""
        cached = self._char_cache.get(word)
        if cached is None:
            if len(self._char_cache) >= CHAR_CACHE_SIZE:
                self._char_cache.clear()
            lo, hi = self._fitted_chars().ngram_range
            lookup = self._fitted_chars().vocabulary_.get
            cached = [c for c in map(lookup, word_char_ngrams(word, lo, hi)) if c is not None]
            self._char_cache[word] = cached
        return cached

    def _char_tfidf(self, docs: Sequence[LemmaDoc]) -> sp.csr_matrix:
        """Char n-gram TF-IDF, equal to ``self.chars.transform`` but computed per distinct word.

        ``char_wb`` n-grams never cross a space, so a document's counts are the sum of its
        words' counts (one product of a documents-by-words matrix and a words-by-n-grams one);
        words repeat across messages, so each word is analysed once. The counts are small whole
        numbers, exact in float32 however they are summed.
        """
        chars = self._fitted_chars()
        split = [doc.split() for doc in docs]
        words = list(chain.from_iterable(split))
        index = {word: k for k, word in enumerate(dict.fromkeys(words))}
        parts = [self._char_columns(w) for w in index]
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        n_features = len(chars.vocabulary_)
        indices = np.fromiter(chain.from_iterable(parts), dtype=np.int32, count=int(indptr[-1]))
        data = np.ones(len(indices), dtype=np.float32)
        per_word = sp.csr_matrix((data, indices, indptr), shape=(len(index), n_features))
        doc_lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        incidence = sp.csr_matrix(
            (
                np.ones(len(words), dtype=np.float32),
                np.fromiter(map(index.__getitem__, words), dtype=np.int32, count=len(words)),
                np.concatenate(([0], np.cumsum(doc_lengths))),
            ),
            shape=(len(docs), len(index)),
        )
        # The product has no duplicate columns in a row, only unsorted ones; the round trip
        # through CSC (two linear passes) sorts them, cheaper than sorting each row.
        counts = sp.csr_matrix(sp.csr_matrix(incidence @ per_word).tocsc().tocsr())
        if chars.sublinear_tf:
            np.log(counts.data, counts.data)
            counts.data += 1.0
        return l2_rows(_descending_rows(counts, chars.idf_.astype(np.float32)))

    def freeze(self) -> Featurizer:
        """Return a copy that needs no scikit-learn: vocabularies and weights as plain arrays.

        It transforms exactly as this one does, and unpickles without importing scikit-learn
        (about 1.5 s of a command's start).
        """
        frozen = object.__new__(Featurizer)
        frozen.__setstate__(dict(self.__getstate__()))
        frozen.words = FrozenVectorizer.of(self.words)
        frozen.chars = FrozenVectorizer.of(self.chars) if self.chars is not None else None
        return frozen

    def word_names(self) -> np.ndarray[Any, Any]:
        """Return the lemma (or lemma pair) of every word column, in column order."""
        if self._word_names is None:
            self._word_names = self.words.get_feature_names_out()
        return self._word_names

    def word_name(self, column: int) -> str:
        """Return the lemma (or lemma pair) of a word column."""
        return str(self.word_names()[column])


def _descending_rows(counts: sp.csr_matrix, idf: np.ndarray[Any, Any]) -> sp.csr_matrix:
    """Return ``counts`` (sorted rows) times ``idf`` per column, each row's columns descending.

    The product with ``sp.diags(idf)`` that this replaces leaves every row in that order; the
    l2 norm and the models' products add a row's values in stored order, so it is kept, and
    their results stay the same to the bit.
    """
    lengths = np.diff(counts.indptr)
    reverse = np.repeat(counts.indptr[:-1] + counts.indptr[1:] - 1, lengths) - np.arange(counts.nnz)
    indices = counts.indices[reverse]
    data = counts.data[reverse] * idf[indices]
    return sp.csr_matrix((data, indices, counts.indptr.copy()), shape=counts.shape)


def l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Scale each row of a CSR matrix to unit l2 norm in place, as scikit-learn's ``normalize``.

    The same arithmetic: squares in the matrix's dtype summed in float64, rows of zeros left
    alone, each value divided by its row's norm.
    """
    matrix = sp.csr_matrix(matrix)
    data = matrix.data
    if data.size:
        squares = np.square(data).astype(np.float64)
        lengths = np.diff(matrix.indptr)
        rows = np.flatnonzero(lengths)
        sums = np.add.reduceat(squares, matrix.indptr[rows])
        norms = np.ones(matrix.shape[0], dtype=np.float64)
        norms[rows] = np.sqrt(sums)
        norms[norms == 0.0] = 1.0
        data /= np.repeat(norms, lengths)
    return matrix


@dataclass(slots=True)
class FrozenVectorizer:
    """A fitted ``TfidfVectorizer``'s state as plain data: what transforming with it reads."""

    vocabulary_: dict[str, int]
    idf_: np.ndarray[Any, Any]
    analyzer: str
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    use_idf: bool
    norm: str | None
    dtype: Any

    @classmethod
    def of(cls, vectorizer: Any) -> FrozenVectorizer:
        """Copy what transforming needs out of a fitted vectorizer (or a frozen one)."""
        if isinstance(vectorizer, FrozenVectorizer):
            return vectorizer
        if vectorizer.analyzer not in ("word", "char_wb") or vectorizer.norm not in ("l2", None):
            raise ValueError(f"cannot freeze a {vectorizer.analyzer!r} vectorizer")
        if vectorizer.lowercase or vectorizer.preprocessor or vectorizer.strip_accents:
            raise ValueError("cannot freeze a vectorizer that preprocesses its documents")
        return cls(
            vocabulary_=dict(vectorizer.vocabulary_),
            idf_=np.asarray(vectorizer.idf_),
            analyzer=vectorizer.analyzer,
            ngram_range=tuple(vectorizer.ngram_range),
            sublinear_tf=bool(vectorizer.sublinear_tf),
            use_idf=bool(vectorizer.use_idf),
            norm=vectorizer.norm,
            dtype=vectorizer.dtype,
        )

    def get_feature_names_out(self) -> np.ndarray[Any, Any]:
        """Return the feature names in column order."""
        names = np.empty(len(self.vocabulary_), dtype=object)
        for name, column in self.vocabulary_.items():
            names[column] = name
        return names

    def build_analyzer(self) -> Callable[[str], list[str]]:
        """Return the char_wb n-gram analyzer (scikit-learn's ``_char_wb_ngrams``)."""
        if self.analyzer != "char_wb":
            raise ValueError("only the char_wb analyzer is needed frozen")
        min_n, max_n = self.ngram_range

        def analyze(text: str) -> list[str]:
            grams: list[str] = []
            append = grams.append
            for word in _WHITE_SPACES.sub(" ", text).split():
                word = f" {word} "
                length = len(word)
                for n in range(min_n, max_n + 1):
                    offset = 0
                    append(word[offset : offset + n])
                    while offset + n < length:
                        offset += 1
                        append(word[offset : offset + n])
                    if offset == 0:  # a short word (shorter than n) counts once
                        break
            return grams

        return analyze


_WHITE_SPACES = re.compile(r"\s\s+")


def word_char_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """Return scikit-learn's ``char_wb`` n-grams of one word (no white space in it), in order.

    The word is padded with a space each side; a padded word no longer than ``n`` gives itself
    once and ends the n-grams (``_char_wb_ngrams``'s rule), so a short word counts once.
    """
    padded = f" {word} "
    length = len(padded)
    grams: list[str] = []
    for n in range(min_n, max_n + 1):
        if length <= n:
            grams.append(padded)
            break
        grams.extend([padded[k : k + n] for k in range(length - n + 1)])
    return grams
