"""Russian lemmatisation with pymorphy3, a bounded lemma cache and optional stop-word removal."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import pymorphy3
import pymorphy3.dawg

from classifier.morph_lookup import NormalFormLookup
from classifier.text import normalize, tokenize

__all__ = ["DEFAULT_CACHE_SIZE", "RUSSIAN_STOP_WORDS", "Lemmatizer"]

#: About 16 MB when full. 60 000 real SPb appeals use 41 800 distinct words (94.6 % hits at
#: 50 000 as at 200 000); a 500 000-message backfill would fill a 200 000 cache to ~63 MB.
DEFAULT_CACHE_SIZE = 50_000

# Function words that carry neither topic nor place. Negations ("не", "нет", "ни") and words of
# time and quantity that matter to complaints ("опять", "снова", "уже", "всё") are NOT here.
_STOP_WORDS_TEXT = """
    а без более бы был быть в вам вас во вот вы где да даже для до его ее если есть еще же
    за здесь и из или им их к как ко когда кто ли либо мне мной мы на над наш о об один около
    он она они оно от по под при про с со так также такой там то тогда того тоже той только
    том ту тут у уж чем что чтобы чей чья чье эта это этот я который которая которое которые
    свой себя ваш мой твой наш их ну вот ведь вон типа вообще кстати пожалуйста ок
"""
RUSSIAN_STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())


class Lemmatizer:
    """Turns words into their dictionary forms (lemmas) with one shared pymorphy3 analyzer.

    The analyzer is injected (``morph=``) or created once; lemmas are memoised in a bounded
    LRU cache, since a region's messages reuse a small vocabulary. ``lemma`` may be called
    from several threads: the cache (``functools.lru_cache``) is thread-safe.
    """

    def __init__(
        self,
        morph: Any | None = None,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        stop_words: Iterable[str] | None = None,
        drop_stop_words: bool = False,
    ) -> None:
        """Wrap ``morph`` (or a new ``pymorphy3.MorphAnalyzer``) with a cache of ``cache_size``.

        ``cache_size=0`` disables the cache. ``drop_stop_words`` makes ``lemmas`` and
        ``lemmatize_text`` leave out the lemmas in ``stop_words`` (default
        ``RUSSIAN_STOP_WORDS``).
        """
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size}")
        self._morph: Any = morph if morph is not None else pymorphy3.MorphAnalyzer()
        self._normal_form = NormalFormLookup(self._morph).normal_form
        self._cache_size = cache_size
        self.stop_words: frozenset[str] = (
            RUSSIAN_STOP_WORDS if stop_words is None else frozenset(stop_words)
        )
        self.drop_stop_words = drop_stop_words
        self._lookup: Callable[[str], str] = (
            lru_cache(maxsize=cache_size)(self._analyse) if cache_size else self._analyse
        )

    @property
    def morph(self) -> Any:
        """Return the wrapped pymorphy3 analyzer."""
        return self._morph

    @property
    def uses_c_extension(self) -> bool:
        """Tell whether pymorphy3 reads its dictionaries with the C DAWG extension."""
        if not pymorphy3.dawg.EXTENSION_AVAILABLE:
            return False
        words = getattr(getattr(self._morph, "dictionary", None), "words", None)
        modules = {cls.__module__.split(".")[0] for cls in type(words).__mro__}
        return "dawg_python" not in modules

    @property
    def cache_size(self) -> int:
        """Return the cache's bound (0 when caching is off)."""
        return self._cache_size

    def cache_info(self) -> tuple[int, int, int]:
        """Return the cache's hits, misses and current size."""
        info = getattr(self._lookup, "cache_info", None)
        if info is None:
            return (0, 0, 0)
        hits, misses, _maxsize, size = info()
        return (hits, misses, size)

    def clear_cache(self) -> None:
        """Forget every cached lemma."""
        clear = getattr(self._lookup, "cache_clear", None)
        if clear is not None:
            clear()

    def _analyse(self, word: str) -> str:
        normal_form = self._normal_form(word)  # the first parse's, without building them all
        if normal_form is None:
            return word
        return normal_form.replace("ё", "е")

    def lemma(self, word: str) -> str:
        """Return the lemma of one word (lower-case, "е" for "ё"); numbers come back as they are."""
        if not word:
            return word
        if word.isdigit():
            return word
        return self._lookup(word.lower().replace("ё", "е"))

    def is_stop_word(self, lemma: str) -> bool:
        """Tell whether a lemma is a stop word."""
        return lemma in self.stop_words

    def lemmas(self, tokens: Iterable[str]) -> list[str]:
        """Return the lemmas of word tokens, without stop words if the lemmatizer drops them."""
        lookup = self._lookup  # ``lemma`` inlined: this is the hot loop
        result = [
            token if not token or token.isdigit() else lookup(token.lower().replace("ё", "е"))
            for token in tokens
        ]
        if self.drop_stop_words:
            stop = self.stop_words
            return [lemma for lemma in result if lemma not in stop]
        return result

    def lemmas_of_folded(self, words: Iterable[str]) -> list[str]:
        """``lemmas`` of words already folded (lower case, "е" for "ё": ``PreparedText.words``).

        Folding is idempotent (checked for every code point by the tests), so the answer is
        ``lemmas(words)``'s, without folding each word again.
        """
        lookup = self._lookup
        result = [word if not word or word.isdigit() else lookup(word) for word in words]
        if self.drop_stop_words:
            stop = self.stop_words
            return [lemma for lemma in result if lemma not in stop]
        return result

    def lemmatize_text(self, text: str) -> list[str]:
        """Normalise a raw message, tokenise it and return its lemmas."""
        return self.lemmas(tokenize(normalize(text)))
