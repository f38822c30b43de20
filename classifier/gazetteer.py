"""The municipality gazetteer: find a region's places in a message, in any grammatical case."""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, overload

import pymorphy3

from classifier.regions import (
    MUNICIPALITY_KINDS,
    AmbiguousMunicipalityError,
    Municipality,
    Region,
    RegionError,
)
from classifier.text import PreparedText, clean, fold, tokenize, within_one_edit, word_matches
from classifier.types import Evidence, MunicipalityCandidate

__all__ = [
    "CorruptGazetteerError",
    "Gazetteer",
    "GazetteerError",
    "MunicipalityResult",
    "PlaceMention",
    "Settlement",
    "UnknownGazetteerError",
    "available_gazetteers",
    "load_gazetteer",
]

_DATA_PACKAGE = "classifier.data.gazetteer"
_FORMAT_VERSION = 1
_CASE_NAMES = {"n": "nomn", "g": "gent", "d": "datv", "a": "accs", "i": "ablt", "l": "loct"}

# Weights of the kinds of evidence (the confidence a single mention of that kind earns).
W_DISTRICT = 0.95  # "Оричевский р-н", "в Оричевском районе"
W_MARKED = 0.95  # "пгт Арбаж", "д. Балезинщина"
W_MARKED_OTHER_TYPE = 0.7  # "д. Арбаж" when Арбаж is a пгт: people mix the types up
W_DISTINCT = 0.85  # a town's name that is no ordinary word: "Котельнича", "Кирово-Чепецке"
W_DISTINCT_VILLAGE = 0.7  # a village's name that is no ordinary word, without a marker
W_COMMON_PREP = 0.8  # an ordinary word, capitalised, after a preposition: "в Заречье"
W_TOWN_CAPITAL = 0.6  # a town named like an ordinary word, capitalised: "Слободской"
W_TOWN_PREP = 0.55  # a town named like an ordinary word, lower-case after a preposition
W_ADJECTIVE = 0.5  # a bare district adjective: "Оричевская ЦРБ", "Котельничские дороги"
W_SOURCE = 0.5  # the source group's territory, no place in the text
W_GEO_NEAR = 0.5  # a geotag inside a town
W_GEO_FAR = 0.3  # a geotag near a town: the district around it
HOMONYM_TOWN_FACTOR = 0.9  # a homonym resolved to its only town
DISTRICT_OVER_PLACE_FACTOR = 0.7  # a place outside the district the text names outright
DIRECTION_FACTOR = 0.6  # a destination ("автобус на Киров", "до Котельнича"), not the place
GEO_AROUND_KM = 20.0  # beyond a town's radius, how far its district still counts
TIE_RATIO = 0.75  # a second municipality this close to the first makes the answer ambiguous
MIN_ANSWER = 0.4  # less support than this answers "unknown" (with the candidates)
CORRECTION_CACHE_SIZE = 100_000  # words whose typo check (``_correct``) is remembered

# Settlement markers (folded tokens) and the OKTMO settlement types they allow.
_TOWN = frozenset({"г"})
_URBAN_SETTLEMENT = frozenset({"пгт", "рп"})
_VILLAGE_POSELOK = frozenset({"п", "пгт", "рп"})
_MARKERS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("г", "гор", "город", "города", "городе", "городу", "городом"), _TOWN),
    **dict.fromkeys(("пгт", "рп"), _URBAN_SETTLEMENT),
    **dict.fromkeys(("село", "села", "селе", "селу", "селом", "сел"), frozenset({"с"})),
    **dict.fromkeys(
        ("д", "дер", "деревня", "деревни", "деревне", "деревню", "деревней"), frozenset({"д"})
    ),
    **dict.fromkeys(
        ("п", "пос", "поселок", "поселка", "поселке", "поселку", "поселком"), _VILLAGE_POSELOK
    ),
    **dict.fromkeys(("починок", "починка", "починке", "поч"), frozenset({"починок"})),
    **dict.fromkeys(("х", "хутор", "хутора", "хуторе"), frozenset({"х"})),
    **dict.fromkeys(
        ("ст", "станция", "станции", "станцию", "станцией"),
        frozenset({"ст", "ж/д ст", "рзд"}),
    ),
    **dict.fromkeys(("кордон", "кордоне"), frozenset({"кордон"})),
    **dict.fromkeys(("выселок", "выселке"), frozenset({"выселок"})),
}
# Markers that are also prepositions count only when written with a dot ("с. Кстинино").
_DOTTED_MARKERS = frozenset({"с"})
_MARKERS_WITH_DOT: dict[str, frozenset[str]] = {"с": frozenset({"с"})}

# Prepositions and the cases of the noun after them.
_LOCT_ACCS = frozenset({"loct", "accs"})
_GENT = frozenset({"gent"})
_PREPOSITIONS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("в", "во", "на"), _LOCT_ACCS),
    **dict.fromkeys(
        (
            "из",
            "изо",
            "из-под",
            "из-за",
            "до",
            "от",
            "ото",
            "у",
            "около",
            "возле",
            "близ",
            "вокруг",
            "мимо",
            "напротив",
            "после",
            "вдоль",
            "для",
            "без",
        ),
        _GENT,
    ),
    **dict.fromkeys(("с", "со"), frozenset({"gent", "ablt"})),
    **dict.fromkeys(("к", "ко"), frozenset({"datv"})),
    "по": frozenset({"datv", "loct", "accs"}),
    **dict.fromkeys(("под", "подо", "за"), frozenset({"ablt", "accs"})),
    **dict.fromkeys(("над", "перед", "между"), frozenset({"ablt"})),
    **dict.fromkeys(("о", "об", "при"), frozenset({"loct"})),
    **dict.fromkeys(("через", "про"), frozenset({"accs"})),
}
# Prepositions that put a place where something happens (a strong signal for a common word).
_PLACE_PREPOSITIONS = frozenset(
    (
        "в",
        "во",
        "на",
        "из",
        "под",
        "около",
        "возле",
        "у",
        "до",
        "от",
        "за",
        "через",
        "по",
        "к",
        "близ",
        "с",
        "со",
    )
)

_DIRECTION_PREPOSITIONS = frozenset({"в", "во", "на"})
_WHERE_CASES = frozenset({"loct", "gent"})
_ADJECTIVE_ENDINGS = ("ий", "ый", "ой", "ая", "яя", "ое", "ее", "ые", "ие")
# Words before a surname: "глава Орлов" is a man, not the town.
_PERSON_TITLES = frozenset(
    {
        "глава",
        "главе",
        "главы",
        "мэр",
        "мэра",
        "мэру",
        "губернатор",
        "губернатора",
        "губернатору",
        "депутат",
        "депутата",
        "директор",
        "директора",
        "господин",
        "господина",
        "товарищ",
        "врач",
        "министр",
        "министра",
        "председатель",
        "председателя",
    }
)
_NOMN_ACCS = frozenset({"nomn", "accs"})
_VILLAGE_PREPOSITIONS = _PLACE_PREPOSITIONS - {"на", "по", "через", "с", "со", "за"}

# Words before or after a name that make it a street, a shop or a firm, not a place.
_STREET_PREFIXES = (
    "улиц",
    "проспект",
    "переул",
    "бульвар",
    "площад",
    "набережн",
    "проезд",
    "тупик",
    "шоссе",
    "тракт",
    "аллея",
    "аллее",
    "аллеи",
    "микрорайон",
    "остановк",
    "кафе",
    "магазин",
    "гостиниц",
    "ресторан",
    "санатори",
    "лагер",
    "фирм",
    "завод",
    "клуб",
    "газет",
    "им",  # "им. Кирова", "имени Чайковского": named after a man
    "имени",
)
_STREET_EXACT = frozenset(
    {
        "ул",
        "пр",
        "пл",
        "ш",
        "ост",
        "б-р",
        "пр-д",
        "пр-т",
        "пр-кт",
        "просп",
        "пер",
        "наб",
        "мкр",
        "мкрн",
        "снт",
        "днт",
        "жк",
        "тц",
        "трц",
        "ооо",
        "оао",
        "зао",
        "пао",
        "ип",
        "ао",
        # water: "мост через реку Сылву", "на речке Вахрушевке"
        "река",
        "реки",
        "реке",
        "реку",
        "рекой",
        "речка",
        "речки",
        "речке",
        "речку",
        "озеро",
        "озера",
        "озере",
        "пруд",
        "пруда",
        "пруду",
    }
)
# Words right after a name that make it a street's or a region's name ("Советская улица",
# "Пермский край").
_AFTER_PREFIXES = (
    "улиц",
    "проспект",
    "переул",
    "бульвар",
    "площад",
    "набережн",
    "проезд",
    "шоссе",
    "тракт",
)
_AFTER_EXACT = frozenset(
    {
        "ул",
        "пр",
        "пр-т",
        "пер",
        "край",
        "края",
        "краю",
        "крае",
        "краем",
        "область",
        "области",
        "областью",
        "обл",
    }
)
_DISTRICT_HEADS = frozenset(
    {
        "район",
        "района",
        "району",
        "районом",
        "районе",
        "районы",
        "районов",
        "районах",
        "р-н",
        "р-на",
        "р-не",
        "р-ну",
        "р-ном",
        "р-он",
        "р-оне",
        "р-она",
        "рн",
        "округ",
        "округа",
        "округу",
        "округом",
        "округе",
        "мо",
        "го",
        "мр",
        "рйон",
        "раен",
        "районна",
    }
)
_DISTRICT_SIGNS = frozenset(
    {
        "црб",
        "администрация",
        "администрации",
        "администрацию",
        "администрацией",
        "рдк",
        "цгб",
        "больница",
        "больницу",
        "больнице",
    }
)
_URBAN_HEADS = frozenset({"го"})
_SENTENCE_END = frozenset(".!?…\n")
_ROUTE_DASHES = frozenset({"-", "–", "—", "->", "-->", "—>", "→"})
_OPEN_QUOTES = frozenset("«\"“„'")


class GazetteerError(RegionError):
    """The gazetteer data is missing, corrupt or of an unknown format."""


class UnknownGazetteerError(GazetteerError, LookupError):
    """No gazetteer data is shipped for the requested region."""


class CorruptGazetteerError(GazetteerError, ValueError):
    """The gazetteer data cannot be read, or is not what tools/build_gazetteer.py writes."""


@dataclass(frozen=True, slots=True)
class Settlement:
    """A populated place of the region and the top-level municipality it belongs to."""

    name: str
    type: str  # OKTMO abbreviation: г, пгт, рп, с, д, п, починок, …
    oktmo: str
    municipality_oktmo: str
    lat: float | None = None
    lon: float | None = None
    population: int | None = None
    alias_of: str | None = None

    @property
    def is_town(self) -> bool:
        """Tell whether the place is a town or an urban-type settlement."""
        return self.type in ("г", "пгт", "рп")


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """A place the text names: the words, what kind of mention, where it points, how sure."""

    text: str
    kind: str  # "settlement" | "district" | "adjective"
    municipalities: tuple[str, ...]  # OKTMO codes of the municipalities it may mean
    weight: float
    settlements: tuple[Settlement, ...] = ()


@dataclass(frozen=True, slots=True)
class MunicipalityResult:
    """The municipality a message is about (None when unknown or ambiguous), with its reasons."""

    municipality: Municipality | None
    confidence: float
    candidates: tuple[MunicipalityCandidate, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    mentions: tuple[PlaceMention, ...] = field(default=(), compare=False)

    @property
    def oktmo(self) -> str | None:
        """Return the municipality's OKTMO code, or None."""
        return self.municipality.oktmo if self.municipality else None

    @property
    def ambiguous(self) -> bool:
        """Tell whether several municipalities competed and none was chosen."""
        return self.municipality is None and len(self.candidates) > 1


class _Form(NamedTuple):
    """A name form of the index (a tuple: a gazetteer's cache unpickles ~20 000 of them)."""

    tokens: tuple[str, ...]
    # (settlement index, cases of this form for that settlement)
    places: tuple[tuple[int, frozenset[str]], ...]
    common: bool  # also an ordinary word or a person's name
    function: bool  # also a pronoun, preposition, conjunction or particle ("нему")


@dataclass(frozen=True, slots=True)
class _Adjective:
    municipalities: tuple[str, ...]
    common: bool


@dataclass(slots=True)
class _Tok:
    low: str
    raw: str
    initial: bool  # at a sentence start
    capital: bool  # capitalised (not all upper-case)
    dot_after: bool
    quote_before: bool
    punct_before: bool  # punctuation (or a line start) between this word and the one before
    dash_before: bool  # a dash between this word and the one before ("Киров — Котлас")
    shout: bool  # written in capitals ("КИРОВ")


_FUZZY_TYPES = frozenset({"г", "пгт", "рп"})
_FUZZY_MIN_LENGTH = 6
_FUZZY_MAX_LENGTH = 30
W_FUZZY_FACTOR = 0.85  # a town's name with one typo


def _spellings(form: str) -> tuple[str, ...]:
    """Return a form and the ways people write its hyphen: "кирово чепецк", "кировочепецк"."""
    if "-" not in form:
        return (form,)
    parts = form.split("-")
    if not all(len(p) >= 3 and p.isalpha() for p in parts):
        return (form,)
    return (form, " ".join(parts), "".join(parts))


def _fuzzy_ok(form: str) -> bool:
    return len(form) >= _FUZZY_MIN_LENGTH and " " not in form


def _deletions(word: str) -> set[str]:
    return {word[:k] + word[k + 1 :] for k in range(len(word))}


@cache
def _cases(code: str) -> frozenset[str]:
    return frozenset(_CASE_NAMES[c] for c in code if c in _CASE_NAMES)


def _is_street_word(low: str) -> bool:
    return low in _STREET_EXACT or low.startswith(_STREET_PREFIXES)


def _is_after_word(tok: _Tok) -> bool:
    """Tell whether a word right after a name (no punctuation between) makes it no place."""
    if tok.punct_before:
        return False
    return tok.low in _AFTER_EXACT or tok.low.startswith(_AFTER_PREFIXES)


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _tokens(text: str) -> _Tokens:
    """Clean each line of a message and split it into tokens with their case and context."""
    return _Tokens(clean(line) for line in text.splitlines())


# A name form as the builder writes most of them: lower-case Cyrillic words, single spaces,
# inner hyphens. Cleaning leaves such a form as it is unless a letter repeats thrice.
_PLAIN_FORM = re.compile(r"[а-яё]+(?:-[а-яё]+)*(?: [а-яё]+(?:-[а-яё]+)*)*")
_TRIPLE_LETTER = re.compile(r"(.)\1\1")


def _form_tokens(form: str) -> tuple[str, ...]:
    """Return a name form's folded tokens, as ``_tokens`` would, skipping cleaning when plain."""
    if _PLAIN_FORM.fullmatch(form) and _TRIPLE_LETTER.search(form) is None:
        return tuple(fold(form).split(" "))
    return tuple(_tokens(form).lows)


class _Tokens(Sequence[_Tok]):
    """The tokens of cleaned lines, each built with its context on first use.

    ``lows`` holds every token's folded form at once: most words of a message start no place
    name, and only the few that may are looked at closely (their ``_Tok`` built).
    """

    __slots__ = ("_built", "_firsts", "_lines", "_matches", "_size", "lows")

    def __init__(self, lines: Iterable[str], prepared: PreparedText | None = None) -> None:
        """Split each cleaned line into words (their spans are found when a token is built).

        ``prepared``: the lines' words already split and folded by ``prepare`` (the same as
        splitting its ``lines`` here), taken as they are.
        """
        self._lines: list[str] = []
        self._firsts: list[int] = []  # the index of each line's first token
        self._matches: dict[int, list[re.Match[str]]] = {}  # a line's words, once needed
        self._built: dict[int, _Tok] = {}
        if prepared is not None and prepared.line_words is not None and prepared.lows is not None:
            first = 0
            for line, split in zip(prepared.lines, prepared.line_words, strict=True):
                if not split:
                    continue
                self._lines.append(line)
                self._firsts.append(first)
                first += len(split)
            self._size = first
            self.lows: list[str] = list(prepared.lows)
            return
        raws: list[str] = []
        for cleaned in lines:
            words = tokenize(cleaned) if cleaned else ()
            if not words:
                continue
            self._lines.append(cleaned)
            self._firsts.append(len(raws))
            raws.extend(words)
        self._size = len(raws)
        # Folded all at once: lower-casing never makes or takes a space, so the split gives
        # back each word's own folded form.
        self.lows = fold(" ".join(raws)).split(" ") if raws else []

    def __len__(self) -> int:
        """Return the number of tokens."""
        return self._size

    def __iter__(self) -> Iterator[_Tok]:
        """Yield the tokens in order."""
        for k in range(self._size):
            yield self[k]

    @overload
    def __getitem__(self, index: int) -> _Tok: ...

    @overload
    def __getitem__(self, index: slice) -> list[_Tok]: ...

    def __getitem__(self, index: int | slice) -> _Tok | list[_Tok]:
        """Return one token (built once) or a list of them."""
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(self._size))]
        if index < 0:
            index += self._size
        tok = self._built.get(index)
        if tok is None:
            tok = self._build(index)
            self._built[index] = tok
        return tok

    def _build(self, index: int) -> _Tok:
        if not 0 <= index < self._size:
            raise IndexError(index)
        line = bisect_right(self._firsts, index) - 1
        cleaned, k = self._lines[line], index - self._firsts[line]
        matches = self._matches.get(line)
        if matches is None:
            matches = self._matches[line] = list(word_matches(cleaned))
        span = matches[k]
        raw, start, end = span.group(0), span.start(), span.end()
        # punctuation, or a line start, between this word and the one before
        previous_end = None if k == 0 else matches[k - 1].end()
        gap = "." if previous_end is None else cleaned[previous_end:start].strip()
        k = start - 1
        while k >= 0 and cleaned[k] == " ":
            k -= 1
        before_char = cleaned[k] if k >= 0 else ""
        shout = len(raw) > 1 and raw.isupper()
        return _Tok(
            low=self.lows[index],
            raw=raw,
            initial=not before_char or before_char in _SENTENCE_END,
            capital=raw[0].isupper() and not shout,
            dot_after=cleaned[end : end + 1] == ".",
            quote_before=before_char in _OPEN_QUOTES if before_char else False,
            punct_before=bool(gap),
            dash_before=gap in _ROUTE_DASHES,
            shout=shout,
        )


class Gazetteer:
    """A region's municipalities and settlements with every inflected form of their names."""

    def __init__(self, data: Mapping[str, Any], *, morph: Any | None = None) -> None:
        """Index a gazetteer from its data (the JSON written by tools/build_gazetteer.py).

        ``morph`` (a pymorphy3 analyzer, shared with the lemmatizer) tells a typo from a real
        word before a town's name is corrected; one is created on first need if not given.
        """
        self._morph = morph
        self._corrections: dict[str, str | None] = {}
        if data.get("format") != _FORMAT_VERSION:
            raise CorruptGazetteerError(f"unsupported gazetteer format {data.get('format')!r}")
        try:
            municipalities = tuple(
                Municipality(
                    name=m["name"],
                    short_name=m["short_name"],
                    oktmo=m["oktmo"],
                    kind=m["kind"],
                    admin_center=m.get("admin_center", ""),
                )
                for m in data["municipalities"]
            )
            for m in municipalities:
                if m.kind not in MUNICIPALITY_KINDS:
                    raise CorruptGazetteerError(f"unknown municipality kind {m.kind!r}")
            self.region = Region(
                code=data["code"],
                name=data["name"],
                timezone=data.get("timezone", ""),
                municipalities=municipalities,
            )
            self._by_oktmo = {m.oktmo: m for m in municipalities}
            common = frozenset(data.get("common_forms", ()))
            function = frozenset(data.get("function_forms", ()))
            self.settlements = tuple(self._settlement(s) for s in data["settlements"])
            needs_marker = frozenset(
                i for i, s in enumerate(data["settlements"]) if s.get("needs_marker")
            )
            self._needs_marker = needs_marker
            # names that count only after certain prepositions ("в Вятке", not "на Вятке")
            self._only_after = {
                i: frozenset(s["only_after"])
                for i, s in enumerate(data["settlements"])
                if s.get("only_after")
            }
            forms: dict[str, dict[int, frozenset[str]]] = defaultdict(dict)
            fuzzy_sources: set[str] = set()
            flags: dict[str, tuple[bool, bool]] = {}
            for i, s in enumerate(data["settlements"]):
                town = s["type"] in _FUZZY_TYPES
                for form, code in s["forms"].items():
                    for variant in _spellings(form):
                        forms[variant][i] = _cases(code)
                        flags[variant] = (form in common, form in function)
                        if town and variant not in common and _fuzzy_ok(variant):
                            fuzzy_sources.add(variant)
            self._index: dict[str, list[_Form]] = defaultdict(list)
            for form, places in forms.items():
                tokens = _form_tokens(form)
                if not tokens:
                    continue
                entry = _Form(tokens, tuple(sorted(places.items())), *flags[form])
                self._index[tokens[0]].append(entry)
            for entries in self._index.values():
                entries.sort(key=lambda e: -len(e.tokens))
            adjectives: dict[str, list[str]] = defaultdict(list)
            for m in data["municipalities"]:
                for form in m.get("adjective_forms", {}):
                    adjectives[form].append(m["oktmo"])
                for alias_forms in m.get("district_aliases", {}).values():
                    for form in alias_forms:
                        adjectives[form].append(m["oktmo"])
            self._adjectives = {
                form: _Adjective(tuple(oktmos), form in common)
                for form, oktmos in adjectives.items()
            }
            fuzzy_sources.update(f for f in adjectives if _fuzzy_ok(f))
            self._fuzzy: dict[str, set[str]] = defaultdict(set)
            for form in sorted(fuzzy_sources):
                self._fuzzy[form].add(form)
                for variant in _deletions(form):
                    self._fuzzy[variant].add(form)
        except (KeyError, TypeError, ValueError) as err:
            raise CorruptGazetteerError(f"corrupt gazetteer data: {err!r}") from err
        self._towns = tuple(
            s
            for s in self.settlements
            if s.lat is not None and s.lon is not None and not s.alias_of
        )
        # Towns and the administrative centres of municipalities ("п Куеда", "с Барда",
        # "п Звездный"): the places people name without a marker.
        centres_by_municipality = {
            m.oktmo: fold(m.admin_center.split(" ", 1)[-1])
            for m in municipalities
            if m.admin_center
        }
        self._major = frozenset(
            s
            for s in self.settlements
            if s.is_town or centres_by_municipality.get(s.municipality_oktmo) == fold(s.name)
        )
        self._centres: dict[str, list[Municipality]] = defaultdict(list)
        for m in municipalities:
            centre = m.admin_center.split(" ", 1)[-1] if m.admin_center else ""
            if centre and m.kind != "urban_okrug":
                self._centres[fold(centre)].append(m)
        # A district named after a town that is its own urban okrug ("Котельничский" and
        # Котельнич): a bare adjective may mean either.
        urban_by_centre = {
            fold(m.admin_center.split(" ", 1)[-1]): m.oktmo
            for m in municipalities
            if m.kind == "urban_okrug" and m.admin_center
        }
        self._twin_town: dict[str, str] = {}
        for centre, districts in self._centres.items():
            if centre in urban_by_centre:
                for district in districts:
                    self._twin_town[district.oktmo] = urban_by_centre[centre]

    @staticmethod
    def _settlement(s: Mapping[str, Any]) -> Settlement:
        return Settlement(
            name=s["name"],
            type=s["type"],
            oktmo=s["oktmo"],
            municipality_oktmo=s["municipality"],
            lat=s.get("lat"),
            lon=s.get("lon"),
            population=s.get("population"),
            alias_of=s.get("alias_of"),
        )

    # --- construction ---

    @classmethod
    def from_file(cls, path: str | Path, *, morph: Any | None = None) -> Gazetteer:
        """Load a gazetteer from a JSON file written by tools/build_gazetteer.py."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise CorruptGazetteerError(f"cannot read gazetteer {str(path)!r}: {err}") from err
        return cls(data, morph=morph)

    @classmethod
    def load(cls, region: str, *, morph: Any | None = None) -> Gazetteer:
        """Load the gazetteer shipped for a region code ("kirov", "perm")."""
        if region not in available_gazetteers():
            raise UnknownGazetteerError(
                f"no gazetteer for region {region!r}; available: "
                f"{', '.join(available_gazetteers())}"
            )
        text = resources.files(_DATA_PACKAGE).joinpath(f"{region}.json").read_text("utf-8")
        try:
            data = json.loads(text)
        except ValueError as err:
            raise CorruptGazetteerError(f"corrupt gazetteer for region {region!r}: {err}") from err
        return cls(data, morph=morph)

    def share_morph(self, morph: Any | None) -> None:
        """Use ``morph`` (the lemmatiser's pymorphy3 analyzer) to tell typos from words."""
        self._morph = morph

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the index without the analyzer and the typo checks (for the cache file)."""
        state = dict(self.__dict__)
        state["_morph"] = None
        state["_corrections"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`__getstate__`."""
        self.__dict__.update(state)

    @property
    def municipalities(self) -> tuple[Municipality, ...]:
        """Return the region's top-level municipalities."""
        return self.region.municipalities

    def municipality(self, oktmo: str) -> Municipality | None:
        """Return the municipality with this 8-digit OKTMO code."""
        return self._by_oktmo.get(oktmo)

    def settlements_named(self, name: str) -> tuple[Settlement, ...]:
        """Return the settlements whose name (in any case form) is ``name``."""
        tokens = tuple(_tokens(name).lows)
        if not tokens:
            return ()
        found: dict[int, None] = {}
        for entry in self._index.get(tokens[0], ()):
            if entry.tokens == tokens:
                found.update(dict.fromkeys(i for i, _ in entry.places))
        return tuple(self.settlements[i] for i in sorted(found))

    # --- finding places ---

    def find_places(self, text: str | PreparedText) -> tuple[PlaceMention, ...]:
        """Return the places named in a text, each with the municipalities it may mean.

        ``text`` may come prepared (``classifier.text.prepare``), so that a message is cleaned
        once for every stage that reads it.
        """
        toks = _Tokens(text.lines, text) if isinstance(text, PreparedText) else _tokens(text)
        spans: list[tuple[PlaceMention, int, int]] = []
        adjectives, index, corrections = self._adjectives, self._index, self._corrections
        lows = toks.lows
        # The words a name (or a typo of one) may start at, in one pass: most words of a
        # message are none. A word checked before has its answer in ``corrections``; those
        # not yet checked are checked below, in order, as a word-by-word scan would.
        starts = [
            k
            for k, low in enumerate(lows)
            if low in adjectives
            or low in index
            or (len(low) >= _FUZZY_MIN_LENGTH and corrections.get(low, low) is not None)
        ]
        i = 0  # the first word not inside a name found
        for k in starts:
            if k < i:
                continue
            low = lows[k]
            if low not in adjectives and low not in index and self._correct(low) is None:
                continue  # no name starts here, nor a typo of one
            found = self._district_at(toks, k) or self._settlement_at(toks, k)
            if found is None:
                found = self._adjective_at(toks, k)
            if found is None:
                continue
            mention, length = found
            spans.append((mention, k, k + length))
            i = k + length
        return tuple(self._routes(spans, toks))

    @staticmethod
    def _routes(spans: list[tuple[PlaceMention, int, int]], toks: _Tokens) -> list[PlaceMention]:
        """Join "Киров — Малмыж" into one route; a route to an unknown place counts less."""
        result: list[PlaceMention] = []
        k = 0
        while k < len(spans):
            mention, _start, end = spans[k]
            nxt = spans[k + 1] if k + 1 < len(spans) else None
            settlement_like = mention.kind == "settlement"
            if (
                nxt is not None
                and settlement_like
                and nxt[0].kind == "settlement"
                and nxt[1] == end
                and toks[end].dash_before
            ):
                other = nxt[0]
                result.append(
                    PlaceMention(
                        f"{mention.text} — {other.text}",
                        "route",
                        tuple(dict.fromkeys(mention.municipalities + other.municipalities)),
                        min(mention.weight, other.weight),
                        tuple(dict.fromkeys(mention.settlements + other.settlements)),
                    )
                )
                k += 2
                continue
            if (
                settlement_like
                and end < len(toks)
                and toks[end].dash_before
                and toks[end].capital
                and (nxt is None or nxt[1] != end)
            ):
                # "Поезд Киров — Котлас": a road or a line to somewhere we do not know
                mention = replace(mention, weight=round(mention.weight * DIRECTION_FACTOR, 3))
            result.append(mention)
            k += 1
        return result

    def _district_at(self, toks: _Tokens, i: int) -> tuple[PlaceMention, int] | None:
        # Folded forms are read from ``lows``: a token is built only once a name is in sight.
        lows = toks.lows
        adjective = self._adjectives.get(lows[i])
        if adjective is None and lows[i] not in self._index:
            corrected = self._correct(lows[i])
            adjective = self._adjectives.get(corrected) if corrected else None
        if adjective is None:
            return None
        j, urban_hint = i + 1, False
        while j < len(lows) and j <= i + 2 and lows[j].startswith(("муниципальн", "городск")):
            urban_hint = urban_hint or lows[j].startswith("городск")
            j += 1
        if j >= len(lows):
            return None
        head = lows[j]
        if head in _DISTRICT_HEADS:
            weight = W_DISTRICT
        elif head in _DISTRICT_SIGNS and toks[i].capital:
            weight = W_DISTRICT - 0.1
        else:
            return None
        urban_hint = urban_hint or head in _URBAN_HEADS
        district_hint = head.startswith(("район", "р-", "рн", "мр"))
        oktmos = adjective.municipalities
        if urban_hint or district_hint:
            wanted = [o for o in oktmos if (self._by_oktmo[o].kind == "urban_okrug") == urban_hint]
            oktmos = tuple(wanted) or oktmos
        elif len(oktmos) > 1:
            # "округ" alone: today's municipal okrugs are yesterday's districts.
            districts = tuple(o for o in oktmos if self._by_oktmo[o].kind != "urban_okrug")
            oktmos = districts or oktmos
        text = " ".join(t.raw for t in toks[i : j + 1])
        return PlaceMention(text, "district", oktmos, weight), j + 1 - i

    def _adjective_at(self, toks: _Tokens, i: int) -> tuple[PlaceMention, int] | None:
        tok = toks[i]
        adjective = self._adjectives.get(tok.low)
        if adjective is None or adjective.common or not tok.capital or tok.quote_before:
            return None
        if i > 0 and _is_street_word(toks[i - 1].low):
            return None
        if i + 1 < len(toks) and _is_after_word(toks[i + 1]):
            return None
        oktmos = list(adjective.municipalities)
        oktmos += [self._twin_town[o] for o in adjective.municipalities if o in self._twin_town]
        return PlaceMention(tok.raw, "adjective", tuple(dict.fromkeys(oktmos)), W_ADJECTIVE), 1

    def _settlement_at(self, toks: _Tokens, i: int) -> tuple[PlaceMention, int] | None:
        lows = toks.lows
        low = lows[i]
        entries = self._index.get(low)
        factor = 1.0
        if not entries:
            corrected = self._correct(low)
            if corrected is None or corrected not in self._index:
                return None
            entries, factor = self._index[corrected], W_FUZZY_FACTOR
        for entry in entries:  # longest first
            length = len(entry.tokens)
            if tuple(lows[i + 1 : i + length]) != entry.tokens[1:]:
                continue
            mention = self._judge(toks, i, length, entry)
            if mention is not None:
                if factor != 1.0:
                    mention = replace(mention, weight=round(mention.weight * factor, 3))
                return mention, length
        return None

    def _correct(self, low: str) -> str | None:
        """Return the one town or district name a token is a typo of (one edit away), if any."""
        if not _FUZZY_MIN_LENGTH <= len(low) <= _FUZZY_MAX_LENGTH or low in self._adjectives:
            return None
        try:
            return self._corrections[low]
        except KeyError:
            pass
        if len(self._corrections) >= CORRECTION_CACHE_SIZE:
            self._corrections.clear()  # bounded: a region's vocabulary fits many times over
        corrected = self._correct_uncached(low)
        self._corrections[low] = corrected
        return corrected

    def _correct_uncached(self, low: str) -> str | None:
        if self._morph is None:
            self._morph = _shared_morph()
        if self._morph.word_is_known(low):
            return None  # "Невского" is a word, not a typo of "Немского"
        found: set[str] = set(self._fuzzy.get(low, ()))
        for variant in _deletions(low):
            found.update(self._fuzzy.get(variant, ()))
        close = {f for f in found if f[0] == low[0] and within_one_edit(f, low)}
        return close.pop() if len(close) == 1 else None

    def _judge(self, toks: _Tokens, i: int, length: int, entry: _Form) -> PlaceMention | None:
        """Decide whether a matched name is a place here, and how sure that is."""
        first = toks[i]
        prev = toks[i - 1] if i > 0 else None
        marker_types: frozenset[str] | None = None
        before = prev
        if prev is not None:
            if prev.low in _DOTTED_MARKERS:
                if prev.dot_after:
                    marker_types = _MARKERS_WITH_DOT[prev.low]
            elif prev.low in _MARKERS:
                marker_types = _MARKERS[prev.low]
            if marker_types is not None:
                before = toks[i - 2] if i > 1 else None
        nxt = toks[i + length] if i + length < len(toks) else None
        if marker_types is None:
            if first.quote_before:
                return None
            if prev is not None and _is_street_word(prev.low):
                return None
            if nxt is not None and (
                _is_after_word(nxt) or (nxt.low in _DISTRICT_HEADS and not nxt.punct_before)
            ):
                return None  # "Советская улица", "Центрального района" (a district elsewhere)
        elif before is not None and _is_street_word(before.low):
            return None
        titled = prev is not None and prev.low in _PERSON_TITLES
        if marker_types is None and entry.common and titled:
            return None  # "глава Орлов": a man
        prep = before.low if before is not None and before.low in _PREPOSITIONS else None
        # Candidates: the places with this form, filtered by the marker's types if any.
        places = [(self.settlements[k], k, cases) for k, cases in entry.places]
        marker_matches = False
        if marker_types is not None:
            typed = [p for p in places if p[0].type in marker_types]
            marker_matches = bool(typed)
            places = typed or places
        else:
            places = [
                p
                for p in places
                if p[1] not in self._needs_marker
                and (p[1] not in self._only_after or (prep or "") in self._only_after[p[1]])
            ]
        kept: list[tuple[Settlement, float]] = []
        for settlement, _k, cases in places:
            weight = self._weight(
                first,
                entry,
                cases,
                settlement,
                settlement in self._major,
                prep,
                nxt,
                marker_types,
                marker_matches,
            )
            if weight > 0:
                kept.append((settlement, weight))
        if not kept:
            return None
        weight = max(w for _, w in kept)
        settlements = tuple(s for s, w in kept if w == weight)
        oktmos = tuple(dict.fromkeys(s.municipality_oktmo for s in settlements))
        text = " ".join(t.raw for t in toks[i : i + length])
        if marker_types is not None and prev is not None:
            text = f"{prev.raw}{'.' if prev.dot_after else ''} {text}"
        return PlaceMention(text, "settlement", oktmos, weight, settlements)

    @staticmethod
    def _weight(
        first: _Tok,
        entry: _Form,
        cases: frozenset[str],
        settlement: Settlement,
        major: bool,
        prep: str | None,
        nxt: _Tok | None,
        marker_types: frozenset[str] | None,
        marker_matches: bool,
    ) -> float:
        if marker_types is not None:
            if marker_matches:
                return W_MARKED
            # "д." for a "с." is a common slip; "г. Пушкин" for a village is another town.
            village_like = not marker_types & {"г", "ст", "ж/д ст", "рзд"}
            return W_MARKED_OTHER_TYPE if village_like and not settlement.is_town else 0.0
        # The case must fit the preposition ("на Кирова" is a street, "в Кирове" the town);
        # the nominative may stand anywhere, as people leave names undeclined.
        if prep is not None and "nomn" not in cases and not cases & _PREPOSITIONS[prep]:
            return 0.0
        # "Кирова 15": a street named after the man, not the town.
        if (
            nxt is not None
            and nxt.low[:1].isdigit()
            and (prep is None or prep == "на")
            and cases & {"nomn", "gent"}
        ):
            return 0.0
        if prep == "через":
            return 0.0  # "мост через Сылву": a river far more often than a village
        factor = 1.0
        if prep == "до" or (prep in _DIRECTION_PREPOSITIONS and cases <= _NOMN_ACCS):
            factor = DIRECTION_FACTOR
        adjectival = fold(settlement.name).endswith(_ADJECTIVE_ENDINGS)
        return factor * Gazetteer._plain_weight(first, entry, cases, major, prep, adjectival)

    @staticmethod
    def _plain_weight(
        first: _Tok,
        entry: _Form,
        cases: frozenset[str],
        major: bool,
        prep: str | None,
        adjectival: bool,
    ) -> float:
        if not entry.common:
            return W_DISTINCT if major else W_DISTINCT_VILLAGE
        # A name that is also an ordinary word needs a settlement marker, or a capital letter
        # after a preposition of place; a town's name may also stand capitalised alone.
        # "на Московской", "по Советской" are streets: not places for a village.
        if major:
            if first.capital or first.shout:
                return W_COMMON_PREP if prep in _PLACE_PREPOSITIONS else W_TOWN_CAPITAL
            # lower case: "в кирове", "из кирова", but not "в лузу" (a billiard pocket) nor
            # an adjective ("в восточном направлении" is not пгт Восточный)
            where = cases & _WHERE_CASES
            if prep in _PLACE_PREPOSITIONS and not entry.function and where and not adjectival:
                return W_TOWN_PREP
            return 0.0
        if first.capital and prep in _VILLAGE_PREPOSITIONS:
            return W_COMMON_PREP
        return 0.0

    # --- priors ---

    def _source_prior(self, source: str | None) -> Municipality | None:
        """Resolve a source's territory: a name, short name or OKTMO code, old or new."""
        if not source:
            return None
        try:
            found = self.region.find_municipality(source)
        except AmbiguousMunicipalityError as err:
            # "Кунгурский": the district and the town's okrug; a district wins a bare adjective.
            districts = [m for m in err.candidates if m.kind != "urban_okrug"]
            return districts[0] if len(districts) == 1 else None
        if found is not None:
            return found
        # Today's name of a 2016 district ("Чайковский городской округ"): find it by its stem.
        words = _tokens(source).lows
        if not words:
            return None
        adjective = self._adjectives.get(words[0])
        if adjective is None or len(adjective.municipalities) != 1:
            return None
        return self._by_oktmo[adjective.municipalities[0]]

    def geo_prior(self, lat: float, lon: float) -> tuple[Municipality, float, str] | None:
        """Return the municipality a geotag points to, a weight and a reason, if any."""
        if not self._towns or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        best = min(self._towns, key=lambda t: _haversine_km(lat, lon, t.lat or 0, t.lon or 0))
        distance = _haversine_km(lat, lon, best.lat or 0, best.lon or 0)
        radius = 5 + 5 * math.sqrt((best.population or 10_000) / 100_000)
        town_municipality = self._by_oktmo.get(best.municipality_oktmo)
        if town_municipality is None:
            return None
        if distance <= radius:
            reason = f"geotag {distance:.0f} km from {best.name}"
            return town_municipality, W_GEO_NEAR, reason
        if distance <= radius + GEO_AROUND_KM:
            around = town_municipality
            if town_municipality.kind == "urban_okrug":
                districts = self._centres.get(fold(best.name), [])
                if len(districts) != 1:
                    return None
                around = districts[0]
            return around, W_GEO_FAR, f"geotag {distance:.0f} km from {best.name}"
        return None

    # --- the answer ---

    def match(
        self,
        text: str | PreparedText,
        *,
        source_municipality: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> MunicipalityResult:
        """Find the municipality a message is about, using the source and geotag as priors.

        ``text`` may come prepared (``classifier.text.prepare``).
        """
        mentions = self.find_places(text or "")
        evidence: list[Evidence] = []
        priors: dict[str, float] = {}
        source = self._source_prior(source_municipality)
        if source is not None:
            priors[source.oktmo] = W_SOURCE
        geo = self.geo_prior(lat, lon) if lat is not None and lon is not None else None
        if geo is not None:
            priors[geo[0].oktmo] = max(priors.get(geo[0].oktmo, 0.0), geo[1])

        resolved: list[tuple[PlaceMention, str, float]] = []
        ambiguous: list[PlaceMention] = []
        # "Орловский район, с. Адышево": a district named outright outweighs a settlement the
        # lists put elsewhere (the lists are from 2016, and names repeat).
        districts = {
            m.municipalities[0]
            for m in mentions
            if m.kind == "district" and len(m.municipalities) == 1
        }
        for mention in mentions:
            if len(mention.municipalities) == 1:
                weight = mention.weight
                outside = mention.municipalities[0] not in districts
                if districts and mention.kind != "district" and outside:
                    weight *= DISTRICT_OVER_PLACE_FACTOR
                resolved.append((mention, mention.municipalities[0], weight))
            else:
                ambiguous.append(mention)
        settled = {oktmo for _, oktmo, _ in resolved}
        still_ambiguous: list[PlaceMention] = []
        for mention in ambiguous:
            choice = self._disambiguate(mention, settled, priors)
            if choice is None:
                still_ambiguous.append(mention)
            else:
                resolved.append((mention, choice[0], choice[1]))

        scores: dict[str, float] = {}
        support: dict[str, float] = {}
        for mention, oktmo, weight in resolved:
            previous = scores.get(oktmo, 0.0)
            scores[oktmo] = 1 - (1 - previous) * (1 - weight)  # noisy-OR of the mentions
            support[oktmo] = support.get(oktmo, 0.0) + weight  # how much of the text says so
            evidence.append(Evidence("municipality", mention.text, round(weight, 3)))
        if source is not None:
            evidence.append(Evidence("municipality", f"source: {source.name}", W_SOURCE))
        if geo is not None:
            evidence.append(Evidence("municipality", geo[2], geo[1]))

        if scores:
            result = self._decide(scores, support, priors, evidence, mentions)
            # An unresolved homonym as strong as the winner leaves the question open.
            strongest_open = max((m.weight for m in still_ambiguous), default=0.0)
            if result.municipality is not None and strongest_open >= TIE_RATIO * max(
                support.values()
            ):
                open_scores = dict(scores)
                for mention in still_ambiguous:
                    share = mention.weight / len(mention.municipalities)
                    for code in mention.municipalities:
                        open_scores[code] = open_scores.get(code, 0.0) + share
                    evidence.append(Evidence("municipality", mention.text, mention.weight))
                return MunicipalityResult(
                    None, 0.0, self._candidates(open_scores), tuple(evidence), mentions
                )
            return result
        if still_ambiguous:
            candidate_scores: dict[str, float] = defaultdict(float)
            for mention in still_ambiguous:
                share = mention.weight / len(mention.municipalities)
                for oktmo in mention.municipalities:
                    candidate_scores[oktmo] += share
                evidence.append(Evidence("municipality", mention.text, round(mention.weight, 3)))
            return MunicipalityResult(
                None, 0.0, self._candidates(candidate_scores), tuple(evidence), mentions
            )
        return self._from_priors(priors, evidence, mentions)

    def match_prepared(
        self,
        text: PreparedText,
        *,
        source_municipality: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> MunicipalityResult:
        """Find the municipality of a prepared message (see :meth:`match`)."""
        return self.match(text, source_municipality=source_municipality, lat=lat, lon=lon)

    def _disambiguate(
        self, mention: PlaceMention, settled: set[str], priors: Mapping[str, float]
    ) -> tuple[str, float] | None:
        options = set(mention.municipalities)
        for known in (settled, set(priors)):
            common = options & known
            if len(common) == 1:
                return next(iter(common)), mention.weight
        for town_types in (("г",), ("пгт", "рп")):
            towns = {s.municipality_oktmo for s in mention.settlements if s.type in town_types}
            if len(towns) == 1:
                return next(iter(towns)), mention.weight * HOMONYM_TOWN_FACTOR
            if towns:
                return None
        centres = {s.municipality_oktmo for s in mention.settlements if s in self._major}
        if len(centres) == 1:
            return next(iter(centres)), mention.weight * HOMONYM_TOWN_FACTOR
        return None

    def _decide(
        self,
        scores: Mapping[str, float],
        support: Mapping[str, float],
        priors: Mapping[str, float],
        evidence: list[Evidence],
        mentions: tuple[PlaceMention, ...],
    ) -> MunicipalityResult:
        """Pick the municipality the text supports most, unless another is close behind."""
        ranked = sorted(support.items(), key=lambda kv: (-kv[1], kv[0]))
        best, top = ranked[0]
        candidates = self._candidates(scores)
        if top < MIN_ANSWER and best not in priors:
            return MunicipalityResult(None, 0.0, candidates, tuple(evidence), mentions)
        if len(ranked) > 1 and ranked[1][1] >= TIE_RATIO * top:
            tied = [o for o, s in ranked if s >= TIE_RATIO * top]
            preferred = [o for o in tied if o in priors]
            if len(preferred) != 1:
                return MunicipalityResult(None, 0.0, candidates, tuple(evidence), mentions)
            best, top = preferred[0], support[preferred[0]]
        rest = sum(s for o, s in ranked if o != best)
        confidence = scores[best] * top / (top + rest)
        if priors:
            confidence = confidence + 0.05 if best in priors else confidence * 0.9
        return MunicipalityResult(
            self._by_oktmo[best],
            round(min(confidence, 0.99), 3),
            candidates,
            tuple(evidence),
            mentions,
        )

    def _from_priors(
        self,
        priors: Mapping[str, float],
        evidence: list[Evidence],
        mentions: tuple[PlaceMention, ...],
    ) -> MunicipalityResult:
        if not priors:
            return MunicipalityResult(None, 0.0, (), tuple(evidence), mentions)
        ranked = sorted(priors.items(), key=lambda kv: (-kv[1], kv[0]))
        best, weight = ranked[0]
        if len(ranked) > 1:
            weight = weight * 0.9
        elif len(evidence) > 1:  # the source and the geotag agree
            weight = min(weight + 0.1, 0.99)
        return MunicipalityResult(
            self._by_oktmo[best],
            round(weight, 3),
            self._candidates(priors),
            tuple(evidence),
            mentions,
        )

    def _candidates(self, scores: Mapping[str, float]) -> tuple[MunicipalityCandidate, ...]:
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return tuple(
            MunicipalityCandidate(self._by_oktmo[o].name, o, round(s, 3))
            for o, s in ranked
            if o in self._by_oktmo
        )


@cache
def _shared_morph() -> Any:
    """Return one pymorphy3 analyzer for the gazetteers that were given none."""
    return pymorphy3.MorphAnalyzer()


def available_gazetteers() -> tuple[str, ...]:
    """Return the region codes whose gazetteer data is shipped, sorted."""
    files = resources.files(_DATA_PACKAGE).iterdir()
    return tuple(sorted(f.name.removesuffix(".json") for f in files if f.name.endswith(".json")))


@cache
def load_gazetteer(region: str) -> Gazetteer:
    """Load (once per process) the gazetteer shipped for a region code."""
    return Gazetteer.load(region)
