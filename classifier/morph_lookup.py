"""pymorphy3's first parse's normal form, read from its dictionary without building every parse.

``MorphAnalyzer.parse(word)[0].normal_form`` builds every dictionary parse of a word (a tag
object, a normal form and a methods stack each), scores them all by P(tag | word), sorts them
and wraps them in ``Parse`` tuples, then the caller keeps one string. :class:`NormalFormLookup`
does the same steps for the same answer but keeps only what decides it: the paradigm cells the
dictionary finds, their P(tag | word) as the stored integers, and the normal form of the best
cell alone (the first of the most probable, as pymorphy3's stable sort leaves it). Words the
dictionary does not know, and analyzers it does not recognise, go to ``parse`` as before.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NormalFormLookup"]


class NormalFormLookup:
    """``morph.parse(word)[0].normal_form`` of lower-case words, from the dictionary if it can."""

    def __init__(self, morph: Any, *, direct: bool = True) -> None:
        """Read the dictionary parts of ``morph`` (a ``pymorphy3.MorphAnalyzer``) once.

        ``direct=False`` always asks ``parse`` (the reference the direct way is checked by).
        """
        self._morph = morph
        self._fast = _dictionary_parts(morph) if direct else None

    def normal_form(self, word: str) -> str | None:
        """Return the normal form of the first parse of ``word`` (lower case), None if none."""
        fast = self._fast
        if fast is not None and word not in fast.initials:
            items = fast.items(word)
            if items:
                return fast.best_normal_form(word, items)
        parses = self._morph.parse(word)
        return str(parses[0].normal_form) if parses else None


class _DictionaryParts:
    """What the dictionary unit and the probability estimator read, held as plain attributes."""

    def __init__(self, morph: Any, initials: frozenset[str]) -> None:
        dictionary = morph.dictionary
        self.similar_items = dictionary.words.similar_items
        self.exact = dictionary.words.get
        self.substitutes = morph.char_substitutes
        # The letters a substitute may stand for («е» for «ё»), decoded from the compiled form.
        self.substituted = tuple(
            key.decode("utf-8") if isinstance(key, bytes) else str(key)
            for key in (self.substitutes or {})
        )
        self.paradigms = dictionary.paradigms
        self.suffixes: list[str] = list(dictionary.suffixes)
        self.prefixes: list[str] = list(dictionary.paradigm_prefixes)
        self.tags = [str(tag) for tag in dictionary.gramtab]
        estimator = morph.prob_estimator
        self.prob = estimator.p_t_given_w.get if estimator is not None else None
        self.initials = initials

    def items(self, word: str) -> list[tuple[str, Any]]:
        """Return ``similar_items(word, substitutes)``: the keys found and their cells.

        A word with no letter a substitute stands for can only be itself: one exact lookup
        (about half the cost) gives the same answer.
        """
        if any(letter in word for letter in self.substituted):
            found: list[tuple[str, Any]] = self.similar_items(word, self.substitutes)
            return found
        cells = self.exact(word)
        return [(word, cells)] if cells else []

    def best_normal_form(self, word: str, items: list[tuple[str, Any]]) -> str:
        """Pick the cell pymorphy3 would rank first and build its normal form."""
        paradigms, prob = self.paradigms, self.prob
        if prob is None or (len(items) == 1 and len(items[0][1]) == 1):
            # No estimator, or one cell only: the first cell is the first parse.
            fixed, cells = items[0]
            return self._normal_form(fixed, *cells[0])
        best: tuple[str, int, int] | None = None
        best_p = -1
        for fixed, cells in items:
            for para_id, idx in cells:
                paradigm = paradigms[para_id]
                p = prob(f"{word}:{self.tags[paradigm[len(paradigm) // 3 + idx]]}", 0)
                if p > best_p:
                    best, best_p = (fixed, para_id, idx), p
        assert best is not None  # noqa: S101 - items is not empty
        return self._normal_form(*best)

    def _normal_form(self, fixed: str, para_id: int, idx: int) -> str:
        """``Dictionary.build_normal_form``, unrolled."""
        if idx == 0:
            return fixed
        paradigm = self.paradigms[para_id]
        third = len(paradigm) // 3
        prefix = self.prefixes[paradigm[third * 2 + idx]]
        suffix = self.suffixes[paradigm[idx]]
        stem = fixed[len(prefix) : len(fixed) - len(suffix)] if suffix else fixed[len(prefix) :]
        normal: str = self.prefixes[paradigm[third * 2]] + stem + self.suffixes[paradigm[0]]
        return normal


def _dictionary_parts(morph: Any) -> _DictionaryParts | None:
    """Return the parts the fast path reads, or None when ``morph`` is not the analyzer it knows.

    It knows pymorphy3's ``MorphAnalyzer`` whose first group of units is the dictionary followed
    by the initials' analyzers (they parse single capital letters only), with pymorphy3's own
    probability estimator or none.
    """
    try:
        from pymorphy3.analyzer import MorphAnalyzer, ProbabilityEstimator
        from pymorphy3.units.abbreviations import _InitialsAnalyzer
        from pymorphy3.units.by_lookup import DictionaryAnalyzer
    except ImportError:  # another pymorphy3: its own parse it is
        return None
    if type(morph) is not MorphAnalyzer:
        return None
    units = list(getattr(morph, "_units", ()))
    if not units or type(units[0][0]) is not DictionaryAnalyzer:
        return None
    initials: set[str] = set()
    group_ended = bool(units[0][1])
    for unit, terminal in units[1:]:
        if group_ended:
            break
        if not isinstance(unit, _InitialsAnalyzer):
            return None
        initials.update(unit.letters)
        group_ended = bool(terminal)
    if not group_ended:
        return None
    estimator = getattr(morph, "prob_estimator", None)
    if estimator is not None and type(estimator) is not ProbabilityEstimator:
        return None
    return _DictionaryParts(morph, frozenset(initials))
