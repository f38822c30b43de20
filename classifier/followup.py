"""The citizen's follow-up: does a reply under a published answer say "fixed" or "not fixed"?

A stage: text in, :class:`FollowupVerdict` out. Words are reduced to lemmas (pymorphy3 through an
injected ``lemma`` function), so "починили", "починено" and "починят" are one cue, and scored per
clause:

- *unresolved* cues ("опять", "до сих пор", "так и не", "ничего", "отписка", 👎) and *resolved*
  cues (verbs of repair such as "починить", "сделать", "появиться"; thanks; 👍) add weights;
- a negation ("не", "ни", "нет") in front of a repair verb or of thanks turns it into an
  unresolved cue ("не починили", "не спасибо");
- thanks next to an unresolved cue in the same clause are sarcasm ("спасибо за ничего",
  "спасибо за очередную отписку"), and so is a repair verb next to "ага", "ну да", "как же"
  or 🤡, or in quotation marks («сделали»);
- the clause after "но", "однако", "а", "зато" weighs more ("спасибо, но так и не сделали");
- thanks for the answer itself ("спасибо за ответ") are no news about the problem.

Closing as fixed needs resolved cues and no unresolved one; any doubt stays ``neutral``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from classifier.text import normalize, tokenize

__all__ = [
    "FOLLOWUP_VERSION",
    "FollowupClassifier",
    "FollowupKind",
    "FollowupVerdict",
]

#: Recorded with every verdict; change it with the lexicon or the scoring.
FOLLOWUP_VERSION = "followup-lemmas:2026-12-03"


class FollowupKind(enum.StrEnum):
    """What a follow-up comment says about the problem."""

    RESOLVED = "resolved"
    NOT_RESOLVED = "not_resolved"
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True)
class FollowupVerdict:
    """The verdict, its score (unresolved weight minus resolved weight) and the cues found."""

    kind: FollowupKind
    score: float
    resolved_weight: float
    unresolved_weight: float
    cues: tuple[str, ...]
    version: str = FOLLOWUP_VERSION


# Lexicon (lemmas, "е" for "ё") ----------------------------------------------------------------

#: The problem is still there (weights).
_UNRESOLVED: dict[str, float] = {
    "опять": 2.0,
    "снова": 2.0,
    "вновь": 2.0,
    "ничто": 1.5,
    "ничего": 1.5,
    "никто": 1.0,
    "никакой": 1.0,
    "отписка": 2.0,
    "вранье": 2.0,
    "врать": 2.0,
    "ложь": 2.0,
    "обман": 2.0,
    "обмануть": 2.0,
    "обманывать": 2.0,
    "халтура": 1.5,
    "безобразие": 1.5,
    "издевательство": 1.5,
    "издеваться": 1.5,
    "бардак": 1.5,
    "позор": 1.5,
    "хуже": 1.0,
    "плохо": 1.0,
    "продолжаться": 1.0,
    "продолжать": 1.0,
    "прежнему": 1.5,  # "по прежнему" when the hyphen is lost
    "по-прежнему": 2.0,
    "бесполезно": 1.5,
    "бесполезный": 1.5,
    "толк": 0.5,
    "сломаться": 1.0,
    "частично": 1.5,
    "наполовину": 1.5,
    "нет": 1.0,
}
#: Multi-word cues of the unresolved kind, as lemma sequences.
_UNRESOLVED_PHRASES: dict[tuple[str, ...], float] = {
    ("до", "сей", "пора"): 2.5,
    ("до", "сих", "пор"): 2.5,
    ("так", "и", "не"): 2.0,
    ("все", "еще"): 1.5,
    ("все", "так", "же"): 1.5,
    ("как", "был"): 1.0,
    ("как", "быть"): 1.0,
    ("без", "изменение"): 2.0,
    ("воз", "и", "ныне"): 2.0,
    # "так и лежит", "так и стоит": still as it was ("так и не" above is tried first).
    ("так", "и"): 1.5,
    ("не", "до", "конец"): 2.0,
}
#: Phrases longest first, so that "так и не" wins over "так и".
_PHRASES_LONGEST_FIRST = sorted(_UNRESOLVED_PHRASES, key=len, reverse=True)
#: Words of repair, delivery or action: the problem is (said to be) solved.
_REPAIRED_TEXT = """
    починить отремонтировать ремонтировать сделать решить устранить исправить убрать вывезти
    появиться заработать работать дать включить восстановить заменить почистить очистить
    расчистить засыпать залатать наладить вернуть подключить выполнить откликнуться
    отреагировать приехать прийти прислать помочь поменять установить поставить покрасить
    отсыпать подсыпать вывозить убирать чистить решен решено сделано починено
    приходить приезжать ходить
"""
_REPAIRED: frozenset[str] = frozenset(_REPAIRED_TEXT.split())
#: Thanks and praise.
_THANKS: dict[str, float] = {
    "спасибо": 1.5,
    "благодарить": 1.5,
    "благодарность": 1.5,
    "благодарный": 1.5,
    "благодарствовать": 1.5,
    "спс": 1.0,
    "молодец": 1.5,
    "наконец": 1.0,
    "наконец-то": 1.0,
    "ура": 1.0,
    "отлично": 1.0,
    "отличный": 0.5,
    "супер": 1.0,
    "замечательно": 1.0,
    "оперативно": 1.0,
    "оперативный": 0.5,
    "быстро": 0.5,
}
#: Thanks for the answer itself, not for a fix: "спасибо за ответ".
_ANSWER_WORDS = frozenset({"ответ", "информация", "разъяснение", "внимание", "отклик", "обратный"})
_NEGATORS = frozenset({"не", "ни", "нет"})
#: Words a negation reaches across ("не очень-то и сделали", "не до конца убрали").
_SKIPPABLE = frozenset({"так", "и", "уже", "еще", "до", "конец", "совсем", "очень", "то", "же"})
_CONTRAST = frozenset({"но", "однако", "а", "зато", "только"})
_SARCASM = frozenset({"ага", "щас", "ну-ну", "ахах", "ахаха", "хаха", "типа"})
_SARCASM_PHRASES: tuple[tuple[str, ...], ...] = (("ну", "да"), ("как", "же"), ("да", "да"))
_EMOJI_RESOLVED = ("👍", "🙏", "❤", "😊", "👏", "💪", "🥰", "😍", "☺")
_EMOJI_UNRESOLVED = ("👎", "😡", "🤬", "😠", "💩", "😤", "😢", "😭")
_EMOJI_SARCASM = ("🤡", "🙄", "🤣", "😂", "🤦")
#: A clause and the punctuation that ends it (a "?" makes it a question).
_CLAUSE = re.compile(r"[^.!?;:\n,]+(?:[.!?;:\n,]+|$)")
_QUESTION_WORDS = frozenset({"когда", "почему"})
#: "снова работает", "опять ходит": back again, not broken again.
_AGAIN = frozenset({"опять", "снова", "вновь"})
_QUOTED = re.compile(r"[«\"“„]([^«»\"“”„]{1,60})[»\"”“]")
#: The clause after a contrast ("но", "однако") weighs this much more than the ones before it.
_AFTER_CONTRAST = 1.5
#: Least resolved weight that closes an incident as fixed (thanks alone are 1.5).
RESOLVED_THRESHOLD = 1.5
#: Least unresolved weight that reopens one.
UNRESOLVED_THRESHOLD = 1.0


@dataclass
class _Score:
    resolved: float = 0.0
    unresolved: float = 0.0
    cues: list[str] | None = None

    def add(self, kind: str, weight: float, cue: str) -> None:
        if kind == "resolved":
            self.resolved += weight
        else:
            self.unresolved += weight
        if self.cues is None:
            self.cues = []
        self.cues.append(f"{'+' if kind == 'resolved' else '-'}{cue}")


def _starts(lemmas: Sequence[str], i: int, phrase: tuple[str, ...]) -> bool:
    return tuple(lemmas[i : i + len(phrase)]) == phrase


class FollowupClassifier:
    """Scores follow-up comments; ``lemma`` maps one word to its lemma (``Lemmatizer.lemma``)."""

    version = FOLLOWUP_VERSION

    def __init__(self, lemma: Callable[[str], str]) -> None:
        """Use ``lemma`` for single words (lower-case in, lemma with "е" for "ё" out)."""
        self._lemma = lemma

    def _lemmas(self, words: Sequence[str]) -> list[str]:
        return [self._lemma(w) for w in words]

    def classify(self, text: str) -> FollowupVerdict:
        """Return what ``text`` says about the problem: resolved, not resolved, or neutral."""
        score = _Score()
        raw = text or ""
        for emoji in _EMOJI_RESOLVED:
            if emoji in raw:
                score.add("resolved", 1.0, emoji)
        for emoji in _EMOJI_UNRESOLVED:
            if emoji in raw:
                score.add("unresolved", 1.5, emoji)
        sarcastic_text = any(e in raw for e in _EMOJI_SARCASM)
        quoted = {
            self._lemma(w) for m in _QUOTED.finditer(raw.lower()) for w in tokenize(m.group(1))
        }
        weight = 1.0
        for clause in _CLAUSE.findall(normalize(raw)):
            words = tokenize(clause)
            if not words:
                continue
            lemmas = self._lemmas(words)
            # "когда дадут" asks when, with or without the question mark: not done yet.
            question = "?" in clause or "когда" in lemmas
            if lemmas[0] in _CONTRAST and len(lemmas) > 1:
                weight = _AFTER_CONTRAST
            elif any(lemma in _CONTRAST for lemma in lemmas[1:]):
                # "спасибо но так и не сделали" without a comma: split at the contrast word.
                at = next(i for i, lemma in enumerate(lemmas) if i and lemma in _CONTRAST)
                self._clause(lemmas[:at], weight, score, quoted, sarcastic_text, question)
                lemmas, weight = lemmas[at:], _AFTER_CONTRAST
            self._clause(lemmas, weight, score, quoted, sarcastic_text, question)
        return self._verdict(score)

    def _clause(
        self,
        lemmas: list[str],
        weight: float,
        score: _Score,
        quoted: set[str],
        sarcastic_text: bool,
        question: bool,
    ) -> None:
        """Score one clause: cues, negations, sarcasm, thanks for the answer only."""
        local = _Score()
        negated: set[int] = set()
        for i, lemma in enumerate(lemmas):
            if lemma in _NEGATORS:
                j = i + 1
                while j < len(lemmas) and lemmas[j] in _SKIPPABLE:
                    j += 1
                if j < len(lemmas):
                    negated.add(j)
        sarcasm = sarcastic_text or any(lemma in _SARCASM for lemma in lemmas)
        sarcasm = sarcasm or any(
            _starts(lemmas, i, p) for i in range(len(lemmas)) for p in _SARCASM_PHRASES
        )
        thanks_for_answer = any(lemma in _ANSWER_WORDS for lemma in lemmas)
        i = 0
        while i < len(lemmas):
            lemma = lemmas[i]
            phrase = next((p for p in _PHRASES_LONGEST_FIRST if _starts(lemmas, i, p)), None)
            if phrase is not None:
                local.add("unresolved", _UNRESOLVED_PHRASES[phrase], " ".join(phrase))
                i += len(phrase)
                continue
            if i in negated and (lemma in _REPAIRED or lemma in _THANKS):
                local.add("unresolved", 2.0, f"не {lemma}")
            elif lemma in _REPAIRED:
                if sarcasm or lemma in quoted or question:
                    local.add("unresolved", 1.5, f"«{lemma}»")
                else:
                    local.add("resolved", 1.0, lemma)
            elif lemma in _THANKS:
                thanks = _THANKS[lemma]
                if thanks_for_answer:
                    thanks = min(thanks, 0.5)
                local.add("resolved", thanks, lemma)
            elif lemma == "нет":
                # A clause-final "нет" is an absence ("воды нет", "до сих пор нет"); before a
                # word it is a negation, counted through the negated word.
                if i == len(lemmas) - 1:
                    local.add("unresolved", _UNRESOLVED[lemma], lemma)
            elif lemma in _AGAIN and i + 1 < len(lemmas) and lemmas[i + 1] in _REPAIRED:
                pass  # "снова ходит": the repair verb that follows is counted on its own
            elif lemma in _UNRESOLVED:
                local.add("unresolved", _UNRESOLVED[lemma], lemma)
            elif question and lemma in _QUESTION_WORDS:
                local.add("unresolved", 1.0, f"{lemma}?")
            i += 1
        if local.unresolved and local.resolved:
            # Thanks or "сделали" beside "ничего", "отписка", "опять": sarcasm or a complaint.
            local.unresolved += min(local.resolved, 1.0)
            local.resolved = 0.0
        score.resolved += local.resolved * weight
        score.unresolved += local.unresolved * weight
        if local.cues:
            score.cues = [*(score.cues or []), *local.cues]

    @staticmethod
    def _verdict(score: _Score) -> FollowupVerdict:
        resolved, unresolved = round(score.resolved, 3), round(score.unresolved, 3)
        if unresolved >= UNRESOLVED_THRESHOLD and unresolved >= resolved:
            kind = FollowupKind.NOT_RESOLVED
        elif resolved >= RESOLVED_THRESHOLD and unresolved == 0:
            kind = FollowupKind.RESOLVED
        else:
            kind = FollowupKind.NEUTRAL
        return FollowupVerdict(
            kind=kind,
            score=round(unresolved - resolved, 3),
            resolved_weight=resolved,
            unresolved_weight=unresolved,
            cues=tuple(score.cues or ()),
        )
