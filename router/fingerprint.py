"""Parameterise complaint text and derive versioned grouping fingerprints from it."""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

__all__ = [
    "BUCKET_SIZE",
    "FINGERPRINTERS",
    "GROUPING_VERSION",
    "MAX_FINGERPRINT_LENGTH",
    "MIN_TEXT_TERMS",
    "NUMBERED_KINDS",
    "STOP_LEMMAS",
    "SYNONYMS",
    "Fingerprint",
    "FingerprintInput",
    "FingerprintKind",
    "Fingerprinter",
    "content_terms",
    "extract_address",
    "fingerprints_for",
    "normalize_lemma",
    "parameterize",
    "stem",
    "term_labels",
    "time_bucket",
]

_V1 = "tfidf-block:2026-11-23"

#: The grouping algorithm now in force: a date-stamped id stored with every link and fingerprint.
#: Changelog:
#: - ``tfidf-block:2026-11-23``: text, address and block fingerprints; IDF-weighted cosine of
#:   lemma sets within a topic group x municipality x time-window block; place-evidence and
#:   generic-word rules (docs/grouping.md).
#: A change to anything a fingerprinter reads (stop words, synonyms, stemming, address rules)
#: changes its output: that is a new version, and the old fingerprinter keeps frozen copies.
GROUPING_VERSION = _V1

#: Storage keeps fingerprints in a String(128) column.
MAX_FINGERPRINT_LENGTH = 128

#: Width of a time bucket: the block fingerprint names one calendar day (UTC).
BUCKET_SIZE = timedelta(days=1)

#: A text fingerprint needs at least this many content terms; shorter texts ("нет света!") are
#: too generic to identify one problem by themselves.
MIN_TEXT_TERMS = 3


def _words(text: str) -> list[str]:
    """Split a block of whitespace-separated words."""
    return text.split()


#: Function words and complaint boilerplate: they carry no information about *which* problem.
STOP_LEMMAS: frozenset[str] = frozenset(
    _words(
        """
    а ах без более бы был быть в вам вас ваш ведь весь во вон вообще вот вроде все всегда всего
    всё вы где да даже для до его ее её ей если есть еще ещё ж же за здесь и из или им их к
    как какой когда кой кто куда ли либо лишь меня мне мной мой мочь мы на над наш не него нее
    нет неё ни никак никто ничто но ну о об один около он она они оно опять от очень по под
    пожалуйста после потом потому почему при про просто раз с сам свой себя сегодня сейчас со
    совсем так такой там тебя то тогда тоже только тот ты тут у уже хотя чего чей чем что чтобы
    чтоб это этот я вчера завтра снова уважаемый добрый день здравствовать подсказать скажите
    сказать помочь можно нужно надо который сколько долго какой-то кто-нибудь кто-то
    ничего хоть очередной ли ладно всё-таки вообще-то наконец вообщем типа блин реально
    администрация глава город район житель люди человек народ проблема вопрос ситуация
    улица ул проспект переулок дом номер
    """
    )
)

#: Words citizens use for one thing, mapped to one lemma before stemming ("электричество" and
#: "свет" both mean the power supply). Kept short and domain-specific: each entry is a judgement.
SYNONYMS: dict[str, str] = {
    "электричество": "свет",
    "электроэнергия": "свет",
    "электроснабжение": "свет",
    "ямища": "яма",
    "выбоина": "яма",
    "колдобина": "яма",
    "провал": "яма",
    "кровля": "крыша",
    "радиатор": "батарея",
    "помойка": "мусор",
    "отходы": "мусор",
    "мусорка": "контейнер",
    "бак": "контейнер",
    "вырубить": "отключить",
    "отрубить": "отключить",
    "трасса": "дорога",
    "бродячий": "бездомный",
    "безнадзорный": "бездомный",
    "макдоналдс": "макдональдс",
    "ук": "управляющий",
    "управляйка": "управляющий",
}

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:ru|рф|com|org|net|su)(?:/\S*)?", re.I)
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_PHONE_RE = re.compile(r"(?:\+7|\b8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}\b")
_DATE_RE = re.compile(r"\b\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?\b")
_TIME_RE = re.compile(r"\b\d{1,2}:\d{2}\b")
_NUM_RE = re.compile(r"\b\d+(?:[.,]\d+)?\b")
_TOKEN_RE = re.compile(
    r"[A-Za-zА-Яа-яЁё]+(?:-[A-Za-zА-Яа-яЁё]+)*|\d+[А-Яа-яЁёA-Za-z]?(?:/\d+)?|[,;:!?()«»\"—]"
)
_HOUSE_RE = re.compile(r"^\d{1,4}[а-яa-z]?(?:/\d{1,3})?$")

# Street markers, matched on the lower-cased token: full words by prefix, abbreviations exactly.
_STREET_PREFIXES = (
    "улиц",
    "проспект",
    "переул",
    "бульвар",
    "шоссе",
    "проезд",
    "площадь",
    "площади",
    "набережн",
    "микрорайон",
    "тракт",
)
_STREET_ABBREVIATIONS = frozenset({"ул", "пр", "просп", "пер", "пл", "наб", "мкр", "б-р", "пр-т"})
_HOUSE_MARKERS = frozenset({"д", "дом", "дома", "доме", "домом", "домах", "домов", "дому"})
# A number after one of these is a quantity, not a house number.
_UNIT_PREFIXES = (
    "час",
    "ч",
    "мин",
    "день",
    "дн",
    "сут",
    "недел",
    "месяц",
    "год",
    "лет",
    "градус",
    "рубл",
    "руб",
    "км",
    "метр",
    "м",
    "см",
    "человек",
    "сем",
)
_COMMA = ","
#: What the first part of an address is for a numbered place (not a street name).
NUMBERED_KINDS: frozenset[str] = frozenset(
    {"маршрут", "школа", "детсад", "поликлиника", "больница"}
)

# Words whose number identifies a place: a route, a school, a kindergarten, a clinic.
_NUMBERED_PLACES = (
    ("автобус", "маршрут"),
    ("маршрут", "маршрут"),
    ("троллейбус", "маршрут"),
    ("трамва", "маршрут"),
    ("школ", "школа"),
    ("гимнази", "школа"),
    ("лице", "школа"),
    ("детсад", "детсад"),
    ("садик", "детсад"),
    ("сад", "детсад"),
    ("поликлиник", "поликлиника"),
    ("больниц", "больница"),
)
_PREPOSITIONS = frozenset({"на", "по", "в", "во", "у", "около", "возле", "с", "со", "до", "за"})
_STOPS = (
    _PREPOSITIONS
    | STOP_LEMMAS
    | frozenset({"вся", "всю", "всей", "наша", "нашу", "нашей", "наше", "эта", "эту", "этой"})
)
# Longest first: the first ending that leaves a stem of at least three letters is cut.
_ENDINGS = tuple(
    sorted(
        _words(
            """ого его ому ему ими ыми ой ей ая яя ое ее ую юю ий ый ие ые их ых ом ем ам ям ах
            ях ию ия ья ье ью а я у ю е ы и о ь"""
        ),
        key=len,
        reverse=True,
    )
)


class FingerprintKind(enum.StrEnum):
    """What a fingerprint identifies, from the most to the least specific."""

    TEXT = "text"  # the same wording (lemma set) at the same address, municipality, topic group
    ADDRESS = "address"  # the same topic at the same street address in the same municipality
    BLOCK = "block"  # the same topic group in the same municipality on the same day


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One grouping fingerprint: a string of at most 128 characters, with its kind and version."""

    kind: FingerprintKind
    value: str
    version: str


@dataclass(frozen=True, slots=True)
class FingerprintInput:
    """The parts of a message that fingerprints are made of."""

    lemmas: tuple[str, ...]
    address: tuple[str, ...]
    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    posted_at: datetime


Fingerprinter = Callable[[FingerprintInput], tuple[Fingerprint, ...]]


def normalize_lemma(lemma: str) -> str:
    """Lower-case a lemma and spell ё as е, so that both spellings compare equal."""
    return lemma.lower().replace("ё", "е")


STEM_CACHE_SIZE = 50_000  # words; 60 000 SPb appeals stem 18 700 distinct ones


@lru_cache(maxsize=STEM_CACHE_SIZE)
def stem(word: str) -> str:
    """Cut a Russian case ending off a word (``Ленина``/``Ленину`` -> ``ленин``)."""
    word = normalize_lemma(word)
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def parameterize(text: str) -> str:
    """Replace what varies between reports of one problem (URLs, phones, dates, numbers).

    House numbers that follow a street name or a house marker are kept: they name the place.
    """
    address_numbers = set(_address_parts(text)[1:])
    text = _EMAIL_RE.sub("<email>", text)
    text = _URL_RE.sub("<url>", text)
    text = _PHONE_RE.sub("<phone>", text)
    text = _DATE_RE.sub("<date>", text)
    text = _TIME_RE.sub("<time>", text)

    def _number(match: re.Match[str]) -> str:
        return match.group(0) if match.group(0).lower() in address_numbers else "<num>"

    return _NUM_RE.sub(_number, text)


def extract_address(text: str) -> tuple[str, ...]:
    """Return the street (stemmed) and house number the text names, or ``()``.

    Recognised: ``ул. Ленина, д. 15``, ``улица Ленина 15``, ``на Ленина 15``,
    ``Московская улица``, ``пр-т Мира 3а``. A text naming several places yields the first.
    """
    return _address_parts(text)


def _is_street_marker(token: str) -> bool:
    return token in _STREET_ABBREVIATIONS or token.startswith(_STREET_PREFIXES)


def _is_unit(token: str) -> bool:
    if token in {"раз", "раза"}:
        return True
    return any(
        token == unit or (len(unit) >= 2 and token.startswith(unit)) for unit in _UNIT_PREFIXES
    )


def _house_after(tokens: Sequence[str], start: int) -> str | None:
    """Return the house number shortly after ``start`` (``д.``, ``у дома``, a comma between)."""
    for offset in range(start, min(start + 4, len(tokens))):
        word = tokens[offset]
        if _HOUSE_RE.match(word):
            # Right after the street name a number is the house ("Ленина 5 неделю без воды");
            # further on, "3 дня" is a quantity.
            following = tokens[offset + 1] if offset + 1 < len(tokens) else ""
            return None if offset > start and _is_unit(following) else word
        if word not in _HOUSE_MARKERS and word not in _PREPOSITIONS and word != _COMMA:
            return None
    return None


def _house_before(tokens: Sequence[str], marker: int) -> str | None:
    """Return the number of a ``дом 15`` that comes shortly before a street marker."""
    for offset in range(max(0, marker - 4), marker - 1):
        if tokens[offset] in _HOUSE_MARKERS and _HOUSE_RE.match(tokens[offset + 1]):
            return tokens[offset + 1]
    return None


def _is_route_word(token: str) -> bool:
    return _numbered_kind(token) is not None


def _numbered_kind(token: str) -> str | None:
    """Return what a numbered place word names ("маршрут", "школа"...), or None."""
    for prefix, kind in _NUMBERED_PLACES:
        if token.startswith(prefix):
            return kind
    return None


def _address_parts(text: str) -> tuple[str, ...]:
    raw = _TOKEN_RE.findall(_URL_RE.sub(" ", _PHONE_RE.sub(" ", text)))
    low = [normalize_lemma(token) for token in raw]
    size = len(low)

    def is_name(index: int) -> bool:
        if not 0 <= index < size or not raw[index][:1].isalpha():
            return False
        token = low[index]
        return not (
            token in _STOPS
            or token in _HOUSE_MARKERS
            or _is_street_marker(token)
            or _is_route_word(token)
        )

    def capital(index: int) -> bool:
        return is_name(index) and raw[index][:1].isupper()

    for index, token in enumerate(low):
        if not _is_street_marker(token):
            continue
        if capital(index + 1):
            street = index + 1
            if capital(index + 2):  # "улица Карла Маркса": the last word names the street
                street = index + 2
        elif capital(index - 1):
            street = index - 1
        elif is_name(index + 1):
            street = index + 1
            if is_name(index + 2) and _house_after(low, index + 3):
                street = index + 2
        else:
            continue
        house = _house_after(low, max(street, index) + 1) or _house_before(low, index)
        return (stem(low[street]), house) if house else (stem(low[street]),)
    # "на Ленина 15", "Ленина, 15": a capitalised name right before a house number.
    for index in range(1, size):
        if not _HOUSE_RE.match(low[index]):
            continue
        word = index - 2 if low[index - 1] == _COMMA else index - 1
        following = low[index + 1] if index + 1 < size else ""
        if capital(word) and len(low[word]) > 2 and not _is_unit(following):
            return (stem(low[word]), low[index])
    # "на Воровского", "по Московской": a capitalised name after "на"/"по" is most often a street.
    for index in range(size - 1):
        if low[index] in {"на", "по"} and capital(index + 1) and not capital(index + 2):
            return (stem(low[index + 1]),)
    # "автобус 44", "44-й автобус", "маршрут № 12", "школа номер 5", "детский сад 12":
    # a transport route or a numbered institution is a place too.
    for index, token in enumerate(low):
        kind = _numbered_kind(token)
        if kind is None:
            continue
        for near in (index + 1, index + 2, index - 1, index - 2):
            if 0 <= near < size and re.fullmatch(r"\d{1,3}[а-яa-z]?", low[near]):
                following = low[near + 1] if near + 1 < size else ""
                if not _is_unit(following):
                    return (kind, low[near])
    return ()


_WEB_WORDS = frozenset({"http", "https", "www", "ru", "com", "org", "net", "рф", "vk", "html"})


def _is_noise(lemma: str) -> bool:
    return (
        len(lemma) < 2
        or lemma in _WEB_WORDS
        or any(ch.isdigit() for ch in lemma)
        or "/" in lemma
        or "." in lemma
        or "@" in lemma
        or lemma.startswith("http")
    )


def content_terms(lemmas: Iterable[str]) -> frozenset[str]:
    """Return the stems of the lemmas that say what the problem is and where.

    Stop words, numbers, URLs and phone numbers go; street names stay (they are evidence of the
    same place). Stemming lets derived forms meet (``Нововятск``/``нововятский``).
    """
    return _content_terms(tuple(lemmas))


@lru_cache(maxsize=8192)
def _content_terms(lemmas: tuple[str, ...]) -> frozenset[str]:
    terms = set()
    for lemma in lemmas:
        norm = normalize_lemma(lemma)
        if norm in STOP_LEMMAS or _is_noise(norm):
            continue
        terms.add(stem(SYNONYMS.get(norm, norm)))
    return frozenset(terms)


def term_labels(lemmas: Iterable[str]) -> dict[str, str]:
    """Map each content term (stem) of a text to the first lemma that produced it, for display."""
    labels: dict[str, str] = {}
    for lemma in lemmas:
        norm = normalize_lemma(lemma)
        if norm not in STOP_LEMMAS and not _is_noise(norm):
            labels.setdefault(stem(SYNONYMS.get(norm, norm)), norm)
    return labels


def time_bucket(at: datetime, size: timedelta = BUCKET_SIZE) -> int:
    """Return the number of the time bucket holding ``at`` (aware; counted from the epoch)."""
    if at.tzinfo is None:
        raise ValueError("time_bucket needs an aware datetime")
    return int((at - datetime(1970, 1, 1, tzinfo=UTC)) // size)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def _fingerprints_v1(source: FingerprintInput) -> tuple[Fingerprint, ...]:
    version = _V1
    group = source.topic_group or "?"
    place = source.municipality_oktmo or "?"
    result: list[Fingerprint] = []
    terms = content_terms(source.lemmas)
    if len(terms) >= MIN_TEXT_TERMS:
        digest = _hash(version, group, place, "|".join(source.address), *sorted(terms))
        result.append(Fingerprint(FingerprintKind.TEXT, f"{version}:text:{digest}", version))
    if source.address and source.municipality_oktmo:
        topic = source.topic or group
        digest = _hash(version, topic, place, *source.address)
        result.append(Fingerprint(FingerprintKind.ADDRESS, f"{version}:addr:{digest}", version))
    bucket = time_bucket(source.posted_at)
    block = f"{version}:block:{group}:{place}:{bucket}"
    if len(block) > MAX_FINGERPRINT_LENGTH:  # a very long topic group name: hash it
        block = f"{version}:block:{_hash(group)}:{place}:{bucket}"
    result.append(Fingerprint(FingerprintKind.BLOCK, block, version))
    return tuple(result)


#: Every fingerprint algorithm still in use, by version. During a change of algorithm the old
#: and the new one are both listed here and both computed (docs/grouping.md, "Versioning").
FINGERPRINTERS: dict[str, Fingerprinter] = {_V1: _fingerprints_v1}


def fingerprints_for(
    source: FingerprintInput, versions: Sequence[str] = (GROUPING_VERSION,)
) -> tuple[Fingerprint, ...]:
    """Return the fingerprints of every listed version, each from most to least specific."""
    result: list[Fingerprint] = []
    for version in versions:
        try:
            fingerprinter = FINGERPRINTERS[version]
        except KeyError:
            raise ValueError(f"unknown grouping version {version!r}") from None
        result.extend(fingerprinter(source))
    return tuple(result)
