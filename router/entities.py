"""Find what a complaint is about, however it is written: grouping keys from Russian text.

An :class:`Entity` is a canonical key for one place or object: an address (``addr:чапаев:5``),
a street named without a house (``street:чапаев``), a crossing (``cross:дерендяев|ленин``), a
numbered object (``school:22``, ``kindergarten:120``, ``clinic:1``, ``hospital:5``), a stop
(``stop:филармон``), a transport route (``route:bus:44``) or an organisation (``org:водоканал``).
Keys are built from stems (:func:`router.fingerprint.stem`), so grammatical cases meet: «на
Чапаева», «улицы Чапаева», «Чапаеву» all give ``чапаев``. Typos in street names are reconciled
against the streets already seen by :class:`router.street_vocabulary.StreetVocabulary`.

The module is pure and knows no gazetteer of streets: none is available offline for the region
(docs/grouping.md, "Entities"). Which keys pair with which kind of problem is the grouping's
business: it indexes each key together with the message's topic group.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache

from router.fingerprint import STOP_LEMMAS, normalize_lemma, stem

__all__ = [
    "STRONG_KINDS",
    "Entity",
    "EntityKind",
    "extract_entities",
    "ordinal_value",
    "street_stem",
]


class EntityKind(enum.StrEnum):
    """What an entity names; the prefix of its key."""

    ADDRESS = "addr"
    STREET = "street"
    CROSSING = "cross"
    SCHOOL = "school"
    KINDERGARTEN = "kindergarten"
    CLINIC = "clinic"
    HOSPITAL = "hospital"
    STOP = "stop"
    ROUTE = "route"
    ORGANISATION = "org"


#: Kinds that identify one place or object by themselves: two complaints about one of them and
#: the same kind of problem are about one thing. A street without a house (a long street has
#: many problems), an organisation (one utility serves a whole town) and a hospital without a
#: number are supporting evidence only.
STRONG_KINDS: frozenset[EntityKind] = frozenset(
    {
        EntityKind.ADDRESS,
        EntityKind.CROSSING,
        EntityKind.SCHOOL,
        EntityKind.KINDERGARTEN,
        EntityKind.CLINIC,
        EntityKind.STOP,
        EntityKind.ROUTE,
    }
)


@dataclass(frozen=True, slots=True, order=True)
class Entity:
    """One grouping key found in a text, with a label operators can read."""

    key: str
    kind: EntityKind
    label: str

    @property
    def strong(self) -> bool:
        """Tell whether the entity names one place or object (see :data:`STRONG_KINDS`)."""
        if self.kind is EntityKind.HOSPITAL:
            return self.key.split(":", 1)[1].isdigit()
        return self.kind in STRONG_KINDS

    @property
    def street(self) -> str | None:
        """Return the street stem of an address or a street, else None."""
        if self.kind in (EntityKind.ADDRESS, EntityKind.STREET):
            return self.key.split(":")[1]
        return None

    @property
    def house(self) -> str | None:
        """Return the house number of an address, else None."""
        return self.key.split(":")[2] if self.kind is EntityKind.ADDRESS else None


# --------------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"\d+(?:-?[а-яёa-z]{1,3})?(?:/\d+)?(?![\d])"
    r"|[A-Za-zА-Яа-яЁё]+(?:-[A-Za-zА-Яа-яЁё]+)*"
    r"|[«»\"“”„/№.,;:!?()+-]",
    re.IGNORECASE,
)
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.I)
_PHONE_RE = re.compile(r"(?:\+7|\b8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}\b")
_DATE_TIME_RE = re.compile(r"\b\d{1,2}[.:]\d{2}(?:[.]\d{2,4})?\b")
_NUMBER_RE = re.compile(r"^(\d{1,4})(?:-?([а-яёa-z]{1,3}))?(?:/(\d{1,3}))?$", re.I)
_QUOTES = frozenset({"«", "»", '"', "“", "”", "„"})
_HOUSE_LETTERS = frozenset("абвгдежк")
_ORDINAL_SUFFIXES = frozenset(
    {"й", "я", "ой", "ий", "ый", "го", "ого", "му", "ому", "ая", "ую", "ей", "м", "ом", "е", "ю"}
)

# Street markers (lower case): abbreviations exactly, full words by prefix.
_STREET_ABBREVIATIONS = frozenset(
    {"ул", "пр", "просп", "пр-т", "пр-кт", "пер", "б-р", "бул", "ш", "наб", "пл", "пр-д", "мкр"}
)
_STREET_PREFIXES = (
    "улиц",
    "проспект",
    "переул",
    "бульвар",
    "шоссе",
    "набережн",
    "площадь",
    "площади",
    "проезд",
    "тракт",
    "микрорайон",
)
_HOUSE_WORDS = frozenset({"д", "дом", "дома", "доме", "домом", "дому", "домах", "домов", "здание"})
_CROSSING_CUES = ("перекрест", "пересечени", "угол", "углу", "перекресток")
_UNIT_PREFIXES = (
    "час",
    "ч",
    "мин",
    "дн",
    "день",
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
    "раз",
    "штук",
    "шт",
    "процент",
    "этаж",
    "подъезд",
    "квартир",
    "кв",
    "утра",
    "вечера",
    "числ",
)
_LOWER_NAME_STOPS = frozenset(
    {"на", "по", "в", "во", "у", "около", "возле", "с", "со", "до", "за", "и", "или", "от"}
)
# Words that are capitalised at the start of a sentence but never name a street.
_NOT_NAMES = STOP_LEMMAS | frozenset(
    {
        "нет",
        "уже",
        "опять",
        "снова",
        "когда",
        "где",
        "почему",
        "сколько",
        "вода",
        "воды",
        "свет",
        "света",
        "мусор",
        "отопление",
        "отопления",
        "жители",
        "жильцы",
        "родители",
        "подписчики",
        "срочно",
        "прорвало",
        "прорыв",
        "авария",
        "третий",
        "второй",
        "неделю",
        "который",
        "весь",
        "всё",
        "все",
        "квартира",
        "квартире",
        "подъезд",
        "подъезде",
        "этаж",
        "корпус",
        "кабинет",
        "палата",
        "группа",
        "класс",
        "рейс",
        "температура",
        "уровень",
        "около",
        "примерно",
        "более",
        "менее",
        "почти",
        "целых",
        "всего",
        "только",
    }
)

_NAME_ENDINGS = (
    "а",
    "я",
    "ой",
    "ый",
    "ий",
    "ая",
    "ого",
    "его",
    "ей",
    "ов",
    "ев",
    "ин",
    "ых",
    "их",
    "ую",
    "ом",
    "ым",
    "ской",
    "ская",
)

_ORDINAL_STEMS: tuple[tuple[str, int], ...] = (
    ("перв", 1),
    ("втор", 2),
    ("трет", 3),
    ("четверт", 4),
    ("пят", 5),
    ("шест", 6),
    ("седьм", 7),
    ("восьм", 8),
    ("девят", 9),
    ("десят", 10),
    ("одиннадцат", 11),
    ("двенадцат", 12),
    ("тринадцат", 13),
    ("четырнадцат", 14),
    ("пятнадцат", 15),
    ("шестнадцат", 16),
    ("семнадцат", 17),
    ("восемнадцат", 18),
    ("девятнадцат", 19),
    ("двадцат", 20),
    ("тридцат", 30),
    ("сороков", 40),
    ("пятидесят", 50),
)
_ORDINAL_STEMS_LONGEST_FIRST = tuple(sorted(_ORDINAL_STEMS, key=lambda item: -len(item[0])))
_TENS = {"двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50}
_ORDINAL_ENDINGS = (
    "ого",
    "его",
    "ему",
    "ьей",
    "ьем",
    "ья",
    "ье",
    "ий",
    "ому",
    "ыми",
    "ими",
    "ой",
    "ый",
    "ий",
    "ая",
    "яя",
    "ую",
    "юю",
    "ое",
    "ее",
    "ом",
    "ем",
    "ых",
    "их",
    "ым",
    "им",
    "ые",
    "ие",
    "ей",
)


@lru_cache(maxsize=65_536)
def ordinal_value(word: str) -> int | None:
    """Return the number an ordinal word names («пятого» -> 5, «двадцатой» -> 20), or None."""
    low = normalize_lemma(word)
    if not low.endswith(_ORDINAL_ENDINGS):
        return None
    # Longest stems first so "пятнадцат" is not read as "пят".
    for prefix, value in _ORDINAL_STEMS_LONGEST_FIRST:
        if low.startswith(prefix) and len(low) - len(prefix) <= 4:
            return value
    return None


@dataclass(frozen=True, slots=True)
class _Tok:
    raw: str
    low: str

    @property
    def capital(self) -> bool:
        # An all-capitals word («НА ДЗЕРЖИНСКОГО», «ЦРБ») tells nothing about names.
        return self.raw[:1].isupper() and not (len(self.raw) > 1 and self.raw.isupper())

    @property
    def alpha(self) -> bool:
        return self.raw[:1].isalpha()


def _tokens(text: str) -> list[_Tok]:
    text = _DATE_TIME_RE.sub(" ", _PHONE_RE.sub(" ", _URL_RE.sub(" ", text)))
    return [_Tok(raw, normalize_lemma(raw)) for raw in _TOKEN_RE.findall(text)]


@lru_cache(maxsize=65_536)
def _is_street_marker(low: str) -> bool:
    return low in _STREET_ABBREVIATIONS or low.startswith(_STREET_PREFIXES)


def _is_unit(tok: _Tok | None) -> bool:
    if tok is None or not tok.alpha:
        return False
    return _is_unit_word(tok.low)


@lru_cache(maxsize=65_536)
def _is_unit_word(low: str) -> bool:
    return any(low == unit or (len(unit) >= 2 and low.startswith(unit)) for unit in _UNIT_PREFIXES)


def _number(tok: _Tok | None) -> tuple[str, bool] | None:
    """Return a number token as (canonical number, is-ordinal), or None.

    «5» -> ("5", False); «5а», «5-а» -> ("5а", False) (a house letter); «44-й», «22-я», «5й» ->
    ("44", True); «15/2» -> ("15/2", False).
    """
    if tok is None:
        return None
    match = _NUMBER_RE.match(tok.low)
    if match is None:
        return None
    digits, suffix, part = match.group(1), match.group(2), match.group(3)
    if int(digits) == 0:
        return None
    if suffix is None:
        return (f"{digits}/{part}" if part else digits), False
    if suffix in _ORDINAL_SUFFIXES:
        return digits, True
    if len(suffix) == 1 and suffix in _HOUSE_LETTERS:
        return digits + suffix, False
    return None


class _Scanner:
    """The extraction over one text's tokens (an object only to share the token list)."""

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.size = len(self.toks)
        self.found: dict[str, Entity] = {}
        self.used: set[int] = set()  # token positions already part of an entity

    def at(self, index: int) -> _Tok | None:
        return self.toks[index] if 0 <= index < self.size else None

    def add(self, entity: Entity, *positions: int) -> None:
        self.found.setdefault(entity.key, entity)
        self.used.update(positions)

    # ----------------------------------------------------------------- names

    def name_at(self, index: int, *, lower_ok: bool = False) -> bool:
        tok = self.at(index)
        if tok is None or not tok.alpha or len(tok.low) < 3:
            return False
        if tok.low in _NOT_NAMES or tok.low in _HOUSE_WORDS or _is_street_marker(tok.low):
            return False
        if _numbered_kind(tok.low) is not None or tok.low.startswith(_CROSSING_CUES):
            return False
        if ordinal_value(tok.low) is not None and not tok.capital:
            return False
        if tok.capital:
            return True
        # After a street marker a name may be written in lower case («ул. чапаева»), but it
        # still looks like a street's name: a genitive or an adjective, not «живёте».
        return (
            lower_ok
            and tok.low not in _LOWER_NAME_STOPS
            and tok.low.endswith(_NAME_ENDINGS)
            and not tok.raw.isupper()
        )

    def street_name(self, index: int, *, lower_ok: bool) -> tuple[int, int] | None:
        """Return (first, last) positions of a street name starting at ``index``.

        A name is one word or two («Молодой Гвардии», «Карла Маркса»); the last word keys it.
        """
        if not self.name_at(index, lower_ok=lower_ok):
            return None
        last = index
        following = self.at(index + 1)
        if (
            following is not None
            and self.name_at(index + 1, lower_ok=lower_ok)
            and _number(self.at(index + 2)) is not None
        ):
            last = index + 1
        elif self.name_at(index + 1, lower_ok=False) and self.at(index + 1) is not None:
            tok = self.at(index + 1)
            if tok is not None and tok.capital:
                last = index + 1
        return index, last

    def street_key(self, first: int, last: int) -> tuple[str, str]:
        words = [t.raw for t in self.toks[first : last + 1]]
        return street_stem(self.toks[last].low), " ".join(words)

    # ----------------------------------------------------------------- houses

    def house_after(self, start: int) -> tuple[str, int] | None:
        """Return the house number shortly after ``start`` («, д. 5», « 5», « дом №5»)."""
        for offset in range(start, min(start + 4, self.size)):
            tok = self.toks[offset]
            number = _number(tok)
            if number is not None:
                value, ordinal = number
                # Right after the name a number is the house («Ленина 5 неделю без воды»);
                # further on, «3 дня» is a quantity.
                if ordinal or (offset > start and _is_unit(self.at(offset + 1))):
                    return None
                if offset > start and tok.low.isdigit() and self._ordinal_context(offset):
                    return None
                return value, offset
            if tok.low not in _HOUSE_WORDS and tok.low not in {",", ".", "№", "-"}:
                return None
        return None

    def _ordinal_context(self, offset: int) -> bool:
        following = self.at(offset + 1)
        return following is not None and _numbered_kind(following.low) is not None

    def house_before(self, index: int) -> tuple[str, int] | None:
        """Return a house named right before a street: «д.5 по Чапаева», «у пятого дома на
        Чапаева», «у дома 5 на улице Чапаева» (``index`` is the «по»/«на» or the marker)."""
        end = index - 1
        tok = self.at(end)
        if tok is not None and tok.low in {"на", "по", "в", "во"}:
            end -= 1
        tok = self.at(end)
        if tok is None:
            return None
        number = _number(tok)
        if number is not None and not number[1]:
            cursor = end - 1
            while cursor >= 0 and self.toks[cursor].low in {".", "№"}:
                cursor -= 1
            house = self.at(cursor)
            if house is not None and house.low in _HOUSE_WORDS:
                return number[0], cursor
            return None
        if tok.low in _HOUSE_WORDS:
            before = self.at(end - 1)
            numeric = _number(before)
            if numeric is not None and numeric[1]:
                return numeric[0], end  # «у 25-го дома на Ленина»
            value = None if before is None else ordinal_value(before.low)
            if value is not None:
                tens = self.at(end - 2)
                if tens is not None and tens.low in _TENS and value < 10:
                    value += _TENS[tens.low]
                return str(value), end
        return None

    # ----------------------------------------------------------------- finders

    def crossings(self) -> None:
        for index, tok in enumerate(self.toks):
            if tok.low.startswith(_CROSSING_CUES):
                self._crossing_from(index + 1, cue=True)
            elif (
                tok.low == "/" and index > 0 and self.name_at(index - 1) and self.name_at(index + 1)
            ):
                self._crossing_pair(index - 1, index - 1, index + 1)

    def _crossing_from(self, start: int, *, cue: bool) -> None:
        index = start
        while index < self.size and (
            self.toks[index].low in {"на", "с", "ул", "."}
            or _is_street_marker(self.toks[index].low)
        ):
            index += 1
        name = self.street_name(index, lower_ok=False)
        if name is None:
            return
        first, last = name
        joint = last + 1
        tok = self.at(joint)
        if tok is None or tok.low not in {"и", "с", "со", "/", "-"}:
            return
        other = joint + 1
        while other < self.size and (
            _is_street_marker(self.toks[other].low) or self.toks[other].low == "."
        ):
            other += 1
        self._crossing_pair(first, last, other)

    def _crossing_pair(self, first: int, last: int, other: int) -> None:
        name = self.street_name(other, lower_ok=False)
        if name is None:
            return
        a_key, a_label = self.street_key(first, last)
        b_key, b_label = self.street_key(*name)
        if a_key == b_key:
            return
        keys = sorted((a_key, b_key))
        self.add(
            Entity(
                f"cross:{keys[0]}|{keys[1]}",
                EntityKind.CROSSING,
                f"{a_label} / {b_label}",
            ),
            *range(first, name[1] + 1),
        )

    def streets(self) -> None:
        for index, tok in enumerate(self.toks):
            if index in self.used:
                continue
            if _is_street_marker(tok.low):
                self._street_after_marker(index)
        # «на Чапаева 5», «Чапаева, 5», «Чапаева д. 5»: a capitalised name before a house.
        for index in range(self.size):
            if index in self.used or not self.name_at(index):
                continue
            name = self.street_name(index, lower_ok=False)
            if name is None:
                continue
            first, last = name
            house = self.house_after(last + 1)
            if house is None and last != first:
                last = first
                house = self.house_after(first + 1)
            if house is not None and self._plausible_street(first):
                self._address(first, last, house[0], house[1])
        # «д.5 по Чапаева», «у пятого дома на Чапаева», «на Чапаева» (street only).
        for index in range(self.size - 1):
            tok = self.toks[index]
            if tok.low not in {"на", "по"} or index + 1 in self.used:
                continue
            name = self.street_name(index + 1, lower_ok=False)
            if name is None:
                continue
            first, last = name
            house = self.house_before(index)
            if house is not None:
                self._address(first, last, house[0], house[1])
            else:
                key, label = self.street_key(first, last)
                self.add(Entity(f"street:{key}", EntityKind.STREET, label), first, last)

    def _plausible_street(self, first: int) -> bool:
        """A bare capitalised word before a number is a street unless it opens a sentence."""
        before = self.at(first - 1)
        if before is None or before.low in {".", "!", "?", "\n"}:
            tok = self.toks[first]
            # At the start of a sentence: «Чапаева 5 — ...» is still a street if the word is
            # not an ordinary word (lower-case spelling elsewhere would tell, we have none):
            # accept genitive-looking surnames and adjectives of streets.
            return tok.low.endswith(("а", "я", "ого", "ой", "ая", "ий", "ый", "ов", "ев", "ин"))
        return True

    def _street_after_marker(self, index: int) -> None:
        start = index + 1
        if self.at(start) is not None and self.toks[start].low == ".":
            start += 1
        name = self.street_name(start, lower_ok=True)
        if name is None:
            # «Московская улица», «Октябрьский проспект»: the name before the marker.
            if self.name_at(index - 1):
                name = (index - 1, index - 1)
                start = index + 1
            else:
                return
        first, last = name
        house = self.house_after(max(last, index) + 1) or self.house_before(index)
        if house is not None:
            self._address(first, last, house[0], index, house[1])
        else:
            key, label = self.street_key(first, last)
            self.add(Entity(f"street:{key}", EntityKind.STREET, label), index, first, last)

    def _address(self, first: int, last: int, house: str, *positions: int) -> None:
        key, label = self.street_key(first, last)
        self.add(
            Entity(f"addr:{key}:{house}", EntityKind.ADDRESS, f"{label}, {house}"),
            first,
            last,
            *positions,
        )

    def numbered(self) -> None:
        for index, tok in enumerate(self.toks):
            kind = _numbered_kind(tok.low)
            if kind is None:
                continue
            entity_kind, label = kind
            if entity_kind is EntityKind.ROUTE:
                self._route(index, label)
                continue
            if entity_kind is EntityKind.STOP:
                self._stop(index)
                continue
            number = self._number_near(index)
            if number is None:
                if entity_kind is EntityKind.HOSPITAL:
                    qualifier = self.at(index - 1)
                    name = "больница"
                    if qualifier is not None and qualifier.low.endswith(("ская", "ской", "ную")):
                        name = stem(qualifier.low)
                    self.add(Entity(f"hospital:{name}", EntityKind.HOSPITAL, tok.raw), index)
                elif tok.low == "црб":
                    self.add(Entity("hospital:црб", EntityKind.HOSPITAL, "ЦРБ"), index)
                continue
            prefix = ""
            if tok.low.startswith("гимнази"):
                prefix = "г"
            elif tok.low.startswith("лице"):
                prefix = "л"
            self.add(
                Entity(
                    f"{entity_kind.value}:{prefix}{number}",
                    entity_kind,
                    f"{label} № {number}",
                ),
                index,
            )

    def _number_near(self, index: int) -> str | None:
        """Return the number of a numbered object: «школа №22», «22-я школа», «пятая школа»."""
        after = index + 1
        while after < self.size and self.toks[after].low in {"№", "номер", "n", "."}:
            after += 1
        number = _number(self.at(after))
        if number is not None and not _is_unit(self.at(after + 1)):
            return number[0].split("/")[0]
        before = self.at(index - 1)
        number = _number(before)
        if number is not None and number[1]:
            return number[0]  # «22-я школа»
        if before is not None:
            value = ordinal_value(before.low)
            if value is not None:
                tens = self.at(index - 2)
                if tens is not None and tens.low in _TENS and value < 10:
                    value += _TENS[tens.low]
                return str(value)
        return None

    def _route(self, index: int, vehicle: str) -> None:
        number = None
        after = index + 1
        while after < self.size and self.toks[after].low in {"№", "номер", "n", "маршрут", "."}:
            after += 1
        found = _number(self.at(after))
        if found is not None and not _is_unit(self.at(after + 1)):
            number = found[0]
        else:
            before = _number(self.at(index - 1))
            if before is not None:
                number = before[0]
            else:
                # «маршрут 44» after the vehicle word: «автобус, маршрут №44».
                return
        number = number.split("/")[0]
        self.add(
            Entity(
                f"route:{vehicle}:{number}", EntityKind.ROUTE, f"{_VEHICLE_LABEL[vehicle]} {number}"
            ),
            index,
        )

    def _stop(self, index: int) -> None:
        after = index + 1
        if self.at(after) is not None and self.toks[after].low == ".":
            after += 1
        tok = self.at(after)
        if tok is None:
            return
        words: list[_Tok] = []
        if tok.raw in _QUOTES:
            cursor = after + 1
            while cursor < self.size and self.toks[cursor].raw not in _QUOTES and len(words) < 4:
                if self.toks[cursor].alpha or self.toks[cursor].low.isdigit():
                    words.append(self.toks[cursor])
                cursor += 1
        elif self.name_at(after):
            words.append(tok)
            nxt = self.at(after + 1)
            if nxt is not None and nxt.capital and nxt.alpha:
                words.append(nxt)
        if not words:
            return
        # The first word keys the stop: «Дворец спорта» is also written «Дворец Спорта».
        key = stem(words[0].low)
        label = " ".join(w.raw for w in words)
        self.add(Entity(f"stop:{key}", EntityKind.STOP, f"остановка «{label}»"), index)

    def organisations(self) -> None:
        for index, tok in enumerate(self.toks):
            low = tok.low
            named = None
            if low in {"ук", "тсж", "жск", "ооо", "мп", "муп"} or (
                low.startswith("управляющ") and self.at(index + 1) is not None
            ):
                cursor = index + 1
                if low.startswith("управляющ"):
                    following = self.at(cursor)
                    if following is None or not following.low.startswith("компан"):
                        continue
                    cursor += 1
                if self.at(cursor) is not None and self.toks[cursor].raw in _QUOTES:
                    words = []
                    cursor += 1
                    while cursor < self.size and self.toks[cursor].raw not in _QUOTES:
                        if self.toks[cursor].alpha:
                            words.append(self.toks[cursor])
                        cursor += 1
                        if len(words) > 4:
                            break
                    if words:
                        named = words
                elif self.name_at(cursor):
                    named = [self.toks[cursor]]
                if named:
                    kind = "ук" if low.startswith("управляющ") else low
                    key = "-".join(stem(w.low) for w in named)
                    label = f"{kind.upper()} «{' '.join(w.raw for w in named)}»"
                    self.add(Entity(f"org:{kind}:{key}", EntityKind.ORGANISATION, label), index)
                continue
            utility = _utility(low)
            if utility is not None:
                canonical, label = utility
                self.add(Entity(f"org:{canonical}", EntityKind.ORGANISATION, label), index)


_VEHICLE_LABEL = {"bus": "автобус", "trolleybus": "троллейбус", "tram": "трамвай"}

# Word prefix -> (kind, label or vehicle).
_NUMBERED_WORDS: tuple[tuple[str, EntityKind, str], ...] = (
    ("автобус", EntityKind.ROUTE, "bus"),
    ("маршрутк", EntityKind.ROUTE, "bus"),
    ("маршрутн", EntityKind.ROUTE, "bus"),
    ("маршрут", EntityKind.ROUTE, "bus"),
    ("троллейбус", EntityKind.ROUTE, "trolleybus"),
    ("трамва", EntityKind.ROUTE, "tram"),
    ("школ", EntityKind.SCHOOL, "школа"),
    ("сош", EntityKind.SCHOOL, "школа"),
    ("гимнази", EntityKind.SCHOOL, "гимназия"),
    ("лице", EntityKind.SCHOOL, "лицей"),
    ("детсад", EntityKind.KINDERGARTEN, "детский сад"),
    ("садик", EntityKind.KINDERGARTEN, "детский сад"),
    ("доу", EntityKind.KINDERGARTEN, "детский сад"),
    ("мадоу", EntityKind.KINDERGARTEN, "детский сад"),
    ("мбдоу", EntityKind.KINDERGARTEN, "детский сад"),
    ("поликлиник", EntityKind.CLINIC, "поликлиника"),
    ("больниц", EntityKind.HOSPITAL, "больница"),
    ("црб", EntityKind.HOSPITAL, "ЦРБ"),
    ("остановк", EntityKind.STOP, "остановка"),
    ("ост", EntityKind.STOP, "остановка"),
)

_UTILITIES: tuple[tuple[str, str, str], ...] = (
    ("водоканал", "водоканал", "Водоканал"),
    ("горэлектросет", "горэлектросеть", "Горэлектросеть"),
    ("электросет", "горэлектросеть", "Горэлектросеть"),
    ("россет", "россети", "Россети"),
    ("теплосет", "теплосеть", "Теплосеть"),
    ("тгк", "тгк", "ТГК"),
    ("газпром", "газпром", "Газпром"),
    ("еирц", "еирц", "ЕИРЦ"),
    ("регоператор", "регоператор", "региональный оператор"),
)


@lru_cache(maxsize=65_536)
def _utility(low: str) -> tuple[str, str] | None:
    for prefix, canonical, label in _UTILITIES:
        if low.startswith(prefix):
            return canonical, label
    return None


@lru_cache(maxsize=65_536)
def _numbered_kind(low: str) -> tuple[EntityKind, str] | None:
    if low == "ост":
        return EntityKind.STOP, "остановка"
    if low in {"сад", "саду", "сада", "саде"}:
        return EntityKind.KINDERGARTEN, "детский сад"
    for prefix, kind, label in _NUMBERED_WORDS:
        if prefix == "ост":
            continue
        if low.startswith(prefix):
            if low.startswith(("лицен", "школьн", "автобусн", "трамвайн", "троллейбусн")):
                return None  # «лицензия», «Школьная улица», «автобусная остановка»
            return kind, label
    return None


_DOUBLED = re.compile(r"(.)\1+")


def street_stem(word: str) -> str:
    """Return the key of a street name: stemmed, doubled letters single, no soft signs.

    Typed fast, «Щорсса», «Ленинаа», «Воровскогго», «Горкого» are common; spelling every name
    the same reduced way makes them meet the right spelling without a dictionary.
    """
    reduced = _DOUBLED.sub(r"\1", normalize_lemma(word)).replace("ь", "").replace("ъ", "")
    return stem(reduced)


def _kindergarten_abbreviation(text: str) -> str:
    """Spell «д/с» and «д / с» as «детсад» so the numbered-object rule sees one word."""
    return re.sub(r"\bд\s*/\s*с\b", "детсад", text, flags=re.I)


def extract_entities(text: str) -> tuple[Entity, ...]:
    """Return the grouping keys a text names, sorted by key (empty when it names none)."""
    return _extract(text)


@lru_cache(maxsize=16_384)
def _extract(text: str) -> tuple[Entity, ...]:
    scanner = _Scanner(_kindergarten_abbreviation(text))
    scanner.crossings()
    scanner.numbered()
    scanner.streets()
    scanner.organisations()
    found = scanner.found
    # A street named with a house somewhere in the text is not also a street of its own.
    housed = {e.street for e in found.values() if e.kind is EntityKind.ADDRESS}
    crossed = {
        part
        for e in found.values()
        if e.kind is EntityKind.CROSSING
        for part in e.key.split(":", 1)[1].split("|")
    }
    kept = [
        e
        for e in found.values()
        if not (e.kind is EntityKind.STREET and (e.street in housed or e.street in crossed))
    ]
    return tuple(sorted(kept))
