"""Build the gazetteer data (classifier/data/gazetteer/<region>.json) from the official lists.

Usage::

    .venv/bin/python tools/build_gazetteer.py kirov perm
    .venv/bin/python tools/build_gazetteer.py kirov --source-dir ../shared/data/oktmo-pfo-2016 \
        --cities ../shared/data/russia-cities-hflabs/city.csv --out classifier/data/gazetteer

Inputs (see docs/classifier-text.md):

* ``<source-dir>/<region>_settlements.csv``: every settlement of the region (OKTMO, 2016) with
  its type and its top-level municipality;
* the region's top-level municipalities: ``classifier/data/regions/<region>.json`` when the
  project ships it, else ``<source-dir>/<region>_municipalities.csv``;
* ``--cities`` (optional): HFLabs' list of Russian towns with coordinates (CC BY-SA 4.0), used
  for the towns' coordinates and populations and to flag villages named like a big town of
  another region ("Казань").

The output is deterministic: the same inputs and pymorphy3 dictionaries give the same bytes.
Every place name is stored with its inflected forms (all six cases, with the grammatical case
of each form), generated with pymorphy3 where the dictionary knows the word and by declension
rules for the unknown ones, so that matching needs no morphology at run time.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pymorphy3

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "oktmo-pfo-2016"
DEFAULT_CITIES = ROOT.parent / "shared" / "data" / "russia-cities-hflabs" / "city.csv"
DEFAULT_OUT = ROOT / "classifier" / "data" / "gazetteer"
REGIONS_DIR = ROOT / "classifier" / "data" / "regions"
FORMAT_VERSION = 1

# Settlement types kept (OKTMO abbreviations) and their full names.
SETTLEMENT_TYPES = {
    "г": "город",
    "пгт": "посёлок городского типа",
    "рп": "рабочий посёлок",
    "с": "село",
    "д": "деревня",
    "п": "посёлок",
    "починок": "починок",
    "х": "хутор",
    "выселок": "выселок",
    "м": "местечко",
    "кордон": "кордон",
    "ст": "станция",
    "ж/д ст": "железнодорожная станция",
    "рзд": "разъезд",
}
# Types that people name without a marker far more often than villages: a homonym resolves to
# the town unless something says otherwise.
TOWN_TYPES = ("г", "пгт", "рп")

# A few names people use that are not in the OKTMO lists: former towns merged into a city
# and short forms. Region code -> (alias, type, the official settlement name it stands for).
# Names that are also something else are listed in ONLY_AFTER with the prepositions after
# which they count (or a settlement marker): "в Вятке" is Kirov, "на Вятке" the river.
ALIASES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "kirov": (
        ("Нововятск", "г", "Киров"),  # a town merged into Kirov in 1989; a city district now
        ("Филейка", "г", "Киров"),  # a part of Kirov (also a village in Фаленский district)
        ("Чепецк", "г", "Кирово-Чепецк"),
        ("К-Чепецк", "г", "Кирово-Чепецк"),
        ("Вятка", "г", "Киров"),  # the town's name until 1934, still in use
    ),
    "perm": (
        ("Мотовилиха", "г", "Пермь"),
        ("Закамск", "г", "Пермь"),
    ),
}

# City districts named by an adjective that no other place in Russia uses for a district:
# "в Нововятском районе" is Kirov. (Ленинский, Октябрьский … are everywhere and left out.)
# Region code -> (adjective, OKTMO of the municipality).
DISTRICT_ALIASES: dict[str, tuple[tuple[str, str], ...]] = {
    "kirov": (("Нововятский", "33701000"),),
    "perm": (("Мотовилихинский", "57701000"),),
}

ONLY_AFTER: dict[str, tuple[str, ...]] = {"Вятка": ("в", "во", "из")}

CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct")
CASE_CODE = {"nomn": "n", "gent": "g", "datv": "d", "accs": "a", "ablt": "i", "loct": "l"}
_NAME_CLEAN = re.compile(r"\s*\([^)]*\)\s*")
_SKIP_NAME = re.compile(r"\d\s*-?(?:й\s+)?км\b|№|[«»\"]|^\d|казарма|будка|площадка", re.I)
_PREFIX_TYPE = re.compile(r"^(?:п|д|с)\s+(?=[А-ЯЁ])")
_VOWELS = set("аеёиоуыэюя")
_SIBILANT = set("жшчщц")
_VELAR = set("гкх")


def fold(text: str) -> str:
    """Lower-case and write "е" for "ё"."""
    return text.lower().replace("ё", "е")


# Inflection ------------------------------------------------------------------------------------


class Inflector:
    """Generate the case forms of Russian place names (pymorphy3 plus declension rules)."""

    def __init__(self, morph: Any) -> None:
        """Use ``morph`` (a pymorphy3 analyzer) for the words its dictionary knows."""
        self.morph = morph

    # --- single words ---

    def _dictionary_parse(self, word: str, *, plural: bool, adjective: bool) -> Any | None:
        best = None
        for p in self.morph.parse(word):
            if p.word != word or "nomn" not in p.tag:
                continue
            if not _from_dictionary(p):
                continue
            pos = p.tag.POS
            if adjective and pos != "ADJF":
                continue
            if not adjective and pos != "NOUN":
                continue
            if ("plur" in p.tag) != plural:
                continue
            score = 2 if "Geox" in p.tag else 1
            if best is None or score > best[0]:
                best = (score, p)
        return None if best is None else best[1]

    def adjective_forms(self, word: str) -> dict[str, set[str]]:
        """Return an adjective's forms in every case for its own gender and number."""
        return adjective_paradigm(fold(word))

    def adjective_lexeme(self, word: str) -> dict[str, set[str]]:
        """Return every form of an adjective given in the masculine (all genders and numbers)."""
        forms: dict[str, set[str]] = defaultdict(set)
        for nominative in adjective_nominatives(fold(word)):
            for form, cases in adjective_paradigm(nominative).items():
                forms[form].update(cases)
        return forms

    def noun_forms(self, word: str) -> dict[str, set[str]]:
        """Return a noun-like name's forms in every case (dictionary first, then rules)."""
        w = fold(word)
        forms: dict[str, set[str]] = defaultdict(set)
        forms[w].update(("nomn", "accs"))
        if "-" in w:
            head, _, last = w.rpartition("-")
            known = self._dictionary_parse(w, plural=w.endswith(("ы", "и")), adjective=False)
            if known is None and last and not last.isdigit() and not _is_roman(last):
                for form, cases in self.noun_forms(last).items():
                    forms[f"{head}-{form}"].update(cases)
                return forms
            if known is None:
                first_forms = self.noun_forms(head) if "-" not in head else {}
                for form, cases in first_forms.items():
                    forms[f"{form}-{last}"].update(cases)
                return forms
        plural = w.endswith(("ы", "и")) and not w.endswith(("ий", "ый"))
        parse = self._dictionary_parse(w, plural=plural, adjective=False)
        if parse is None and plural:
            parse = self._dictionary_parse(w, plural=False, adjective=False)
        if parse is not None:
            for case in CASES:
                inflected = parse.inflect({case})
                if inflected is not None:
                    forms[fold(inflected.word)].add(case)
            return forms
        for form, case in _rule_forms(w):
            forms[form].add(case)
        return forms


def _from_dictionary(parse: Any) -> bool:
    """Tell whether a parse comes straight from the dictionary (not guessed by a suffix)."""
    stack = parse.methods_stack
    return len(stack) == 1 and type(stack[0][0]).__name__ == "DictionaryAnalyzer"


_HARD_AFTER = _VELAR | _SIBILANT


def adjective_nominatives(masculine: str) -> list[str]:
    """Return the nominatives of an adjective in the four genders/numbers, from the masculine."""
    w = masculine
    if not w.endswith(("ий", "ый", "ой")):
        return [w]
    base = w[:-2]
    soft = w.endswith("ий") and base[-1:] not in _HARD_AFTER
    if soft:
        return [w, base + "яя", base + "ее", base + "ие"]
    plural = base + ("ие" if base[-1:] in _HARD_AFTER else "ые")
    return [w, base + "ая", base + "ое", plural]


def adjective_paradigm(w: str) -> dict[str, set[str]]:
    """Decline an adjective (any gender or number, given in the nominative) by its ending."""
    forms: dict[str, set[str]] = defaultdict(set)
    forms[w].update(("nomn", "accs"))
    base, ending = w[:-2], w[-2:]
    after = base[-1:]
    i_vowel = "и" if after in _HARD_AFTER or ending in ("ий", "ие", "ее", "яя") else "ы"
    table: dict[str, tuple[str, ...]]
    if ending in ("ий", "ый", "ой"):
        soft = ending == "ий" and after not in _HARD_AFTER
        o = "е" if soft or (after in _SIBILANT and ending != "ой") else "о"
        table = {
            "gent": (o + "го",),
            "datv": (o + "му",),
            "ablt": (i_vowel + "м",),
            "loct": (o + "м",),
        }
        if after in _SIBILANT and ending != "ой":  # unstressed or stressed: generate both
            table = {k: (*v, v[0].replace("е", "о", 1)) for k, v in table.items()}
    elif ending in ("ая", "яя"):
        e = "е" if ending == "яя" else "о"
        table = {
            "gent": (e + "й",),
            "datv": (e + "й",),
            "accs": ("юю" if ending == "яя" else "ую",),
            "ablt": (e + "й", e + "ю"),
            "loct": (e + "й",),
        }
    elif ending in ("ое", "ее"):
        e = "е" if ending == "ее" else "о"
        table = {
            "gent": (e + "го",),
            "datv": (e + "му",),
            "ablt": (i_vowel + "м",),
            "loct": (e + "м",),
        }
    elif ending in ("ые", "ие"):
        v = ending[0]
        table = {
            "gent": (v + "х",),
            "datv": (v + "м",),
            "ablt": (v + "ми",),
            "loct": (v + "х",),
        }
    else:
        return forms
    for case, endings in table.items():
        for e in endings:
            forms[base + e].add(case)
    return forms


def _is_roman(part: str) -> bool:
    return bool(re.fullmatch(r"[ivx]+", part))


def _rule_forms(w: str) -> Iterable[tuple[str, str]]:
    """Decline an unknown toponym by its ending (both variants where stress decides)."""
    if len(w) < 3:
        return
    last, stem = w[-1], w[:-1]
    if w.endswith(("ово", "ево", "ино", "ыно", "ёво")):
        # Colloquially indeclinable ("в Афанасьево"); the literary forms are generated too.
        yield from ((stem + "а", "gent"), (stem + "у", "datv"), (stem + "ом", "ablt"))
        yield stem + "е", "loct"
    elif last == "о":
        yield from ((stem + "а", "gent"), (stem + "у", "datv"), (stem + "ом", "ablt"))
        yield stem + "е", "loct"
    elif last == "е":
        soft_i = w.endswith("ие")
        yield from ((stem + "я", "gent"), (stem + "ю", "datv"), (stem + "ем", "ablt"))
        yield stem + ("и" if soft_i else "е"), "loct"
    elif last == "а":
        gen = "и" if stem[-1] in _VELAR or stem[-1] in _SIBILANT - {"ц"} else "ы"
        yield stem + gen, "gent"
        yield stem + "е", "datv"
        yield stem + "у", "accs"
        yield stem + ("ей" if stem[-1] in _SIBILANT else "ой"), "ablt"
        yield stem + "ой", "ablt"
        yield stem + "е", "loct"
    elif last == "я":
        ia = w.endswith("ия")
        yield stem + "и", "gent"
        yield stem + ("и" if ia else "е"), "datv"
        yield stem + "ю", "accs"
        yield stem + "ей", "ablt"
        yield stem + ("и" if ia else "е"), "loct"
    elif last == "ь":
        # Feminine (Пермь, Кильмезь) and masculine (Ревдь-like) declensions.
        yield from ((stem + "и", "gent"), (stem + "и", "datv"), (stem + "ью", "ablt"))
        yield stem + "и", "loct"
        yield from ((stem + "я", "gent"), (stem + "ю", "datv"), (stem + "ем", "ablt"))
        yield stem + "е", "loct"
    elif last == "й" and stem[-1:] in _VOWELS:
        yield from ((stem + "я", "gent"), (stem + "ю", "datv"), (stem + "ем", "ablt"))
        yield stem + "е", "loct"
    elif last in "ыи":
        # Plural names (Вахруши, Левинцы): genitive -ов/-ей, then -ам, -ами, -ах.
        soft = stem[-1:] in _SIBILANT or last == "и"
        yield stem + "ов", "gent"
        yield stem + "ей", "gent"
        yield stem + "ев", "gent"
        yield stem, "gent"
        yield stem + ("ам" if not soft or stem[-1] in _SIBILANT else "ям"), "datv"
        yield stem + ("ами" if not soft or stem[-1] in _SIBILANT else "ями"), "ablt"
        yield stem + ("ах" if not soft or stem[-1] in _SIBILANT else "ях"), "loct"
        yield stem + "ам", "datv"
        yield stem + "ами", "ablt"
        yield stem + "ах", "loct"
    elif last not in _VOWELS and last not in "ьъй":
        stems = [w]
        # A fleeting vowel: Подосиновец -> Подосиновца, Городок -> Городка.
        if w.endswith("ец") and len(w) > 4:
            stems.append(w[:-2] + "ц")
        if w.endswith("ок") and len(w) > 4:
            stems.append(w[:-2] + "к")
        for s in stems:
            yield s + "а", "gent"
            yield s + "у", "datv"
            if last in _SIBILANT:
                yield s + "ем", "ablt"
            yield s + "ом", "ablt"
            yield s + "е", "loct"


def _is_adjective_word(word: str) -> bool:
    return fold(word).endswith(("ий", "ый", "ой", "ая", "яя", "ое", "ее", "ые", "ие"))


def name_forms(inflector: Inflector, name: str) -> dict[str, set[str]]:
    """Return a (possibly multi-word) place name's forms in every case, keyed by folded form."""
    words = name.split()
    if len(words) == 1:
        word = words[0]
        if _is_adjective_word(word) and "-" not in word:
            return inflector.adjective_forms(word)
        return inflector.noun_forms(word)
    per_word: list[dict[str, set[str]]] = []
    for word in words:
        if _is_adjective_word(word) and "-" not in word:
            per_word.append(inflector.adjective_forms(word))
        elif re.fullmatch(r"[\dIVXivx-]+(?:-?[яйе])?", word) or fold(word) in {"у", "реки"}:
            per_word.append({fold(word): set(CASES)})
        else:
            per_word.append(inflector.noun_forms(word))
    forms: dict[str, set[str]] = defaultdict(set)
    forms[fold(name)].update(("nomn", "accs"))
    for case in CASES:
        parts = []
        for word_forms in per_word:
            found = sorted(f for f, cases in word_forms.items() if case in cases)
            if not found:
                break
            parts.append(found[0])
        else:
            forms[" ".join(parts)].add(case)
    return forms


# Commonness ------------------------------------------------------------------------------------

_NAME_GRAMMEMES = {"Name", "Surn", "Patr"}
_FUNCTION_POS = {"PREP", "CONJ", "PRCL", "INTJ", "NPRO", "PRED", "NUMR"}


def is_common_word(morph: Any, token: str) -> bool:
    """Tell whether a word form is also an ordinary word (or a person's name) in the dictionary."""
    if len(token) <= 3:
        return True
    for p in morph.parse(token):
        if not _from_dictionary(p):
            continue
        grammemes = set(p.tag.grammemes)
        if p.tag.POS in _FUNCTION_POS:
            return True
        if "Geox" in grammemes:
            continue
        if grammemes & _NAME_GRAMMEMES:
            return True
        if p.tag.POS is not None:
            return True
    return False


def is_function_word(morph: Any, token: str) -> bool:
    """Tell whether a word form is a preposition, pronoun, conjunction or particle."""
    return any(_from_dictionary(p) and p.tag.POS in _FUNCTION_POS for p in morph.parse(token))


def is_common_form(morph: Any, form: str) -> bool:
    """Tell whether every word of a (multi-word) form is a common word."""
    return all(is_common_word(morph, token) for token in form.split())


# Inputs ----------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV file with a header into dictionaries."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load_municipalities(
    region: str, source_dir: Path
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Return the region's header (code, name, zone) and its top-level municipalities."""
    shipped = REGIONS_DIR / f"{region}.json"
    if shipped.exists():
        data = json.loads(shipped.read_text(encoding="utf-8"))
        header = {"code": data["code"], "name": data["name"], "timezone": data["timezone"]}
        return header, list(data["municipalities"])
    rows = read_csv(source_dir / f"{region}_municipalities.csv")
    municipalities = []
    for row in rows:
        if row["level"] != "district_or_okrug":
            continue
        name = re.sub(r"\s+", " ", row["name"]).strip()
        urban = not re.search(r"муниципальный (?:район|округ)", name)
        if not urban:
            short = name.split()[0]
        elif name.startswith("город "):
            short = "г. " + name.removeprefix("город ")
        else:
            short = name
        municipalities.append(
            {
                "oktmo": row["oktmo8"],
                "name": name,
                "short_name": short,
                "kind": "urban_okrug" if urban else "municipal_district",
                "admin_center": row.get("admin_center", ""),
            }
        )
    header = {"code": region, "name": region, "timezone": ""}
    return header, municipalities


def municipality_adjective(m: dict[str, str]) -> str | None:
    """Return the adjective a municipality is named by ("Оричевский"), if its name has one."""
    for candidate in (m.get("short_name", ""), m.get("name", "")):
        first = candidate.split()[0] if candidate.split() else ""
        if _is_adjective_word(first) and first[:1].isupper():
            return first
    return None


def _stem(adjective: str) -> str:
    return fold(adjective)[:-2]


def read_cities(path: Path | None, region_prefix: str) -> tuple[list[dict[str, str]], set[str]]:
    """Return the region's towns with coordinates, and the names of big towns elsewhere."""
    if path is None or not path.exists():
        return [], set()
    own, foreign = [], set()
    for row in read_csv(path):
        name = row["city"] or row["settlement"]
        if not name and row["region_type"] == "г":  # Москва, Санкт-Петербург, Севастополь
            name = row["region"]
        if not name:
            continue
        if row["oktmo"].startswith(region_prefix) or row["okato"].startswith(region_prefix):
            own.append(row)
        elif int(row["population"] or 0) >= 50_000 or row["capital_marker"] in {"1", "2"}:
            foreign.add(fold(name))
    return own, foreign


# Build -----------------------------------------------------------------------------------------


# The original OKTMO volume 5 files, for regions without derived CSVs --------------------------

TOM5_MUNICIPALITIES = "tom5_oktmo_1_cp1251.csv"
TOM5_SETTLEMENTS = "tom5_oktmo_2_utf8.csv"
_TOM5_TYPES = sorted(
    (*SETTLEMENT_TYPES, "ж/д казарма", "ж/д будка", "ж/д рзд", "ж/д платформа"),
    key=len,
    reverse=True,
)


def _tom5_rows(path: Path, encoding: str, prefix: str) -> list[tuple[str, str, str]]:
    """Return (digits of the code, name, admin centre) of a tom5 file's rows for a region."""
    rows = []
    with path.open(encoding=encoding, newline="") as f:
        for fields in csv.reader(f, delimiter=";"):
            if len(fields) < 3:
                continue
            digits = re.sub(r"\D", "", fields[0])
            if digits.startswith(prefix):
                centre = fields[3].strip() if len(fields) > 3 else ""
                name = re.sub(r"\s+", " ", fields[2]).strip().lstrip("- ").rstrip("/ ")
                rows.append((digits, name, centre))
    return rows


def tom5_region(
    source_dir: Path, prefix: str
) -> tuple[dict[str, Any], list[dict[str, str]], list[dict[str, str]]]:
    """Read a region's municipalities and settlements straight from the OKTMO volume 5 files."""
    header: dict[str, Any] = {"name": prefix, "timezone": ""}
    municipalities = []
    for digits, name, centre in _tom5_rows(source_dir / TOM5_MUNICIPALITIES, "cp1251", prefix):
        if digits == prefix + "000000" and name.startswith("Муниципальные образования "):
            header["name"] = name.removeprefix("Муниципальные образования ")
        if len(digits) != 8 or not digits.endswith("000") or digits[4] == "0" == digits[3]:
            continue
        if digits[2] not in "678" or digits[2:5].endswith("00"):
            continue
        urban = not re.search(r"муниципальный (?:район|округ)", name)
        first = name.split()[0]
        if urban:
            town = name.removeprefix("город ").removeprefix("городской округ ")
            short = f"г. {town}" if name.startswith("город ") else name
        else:
            short = first
        municipalities.append(
            {
                "oktmo": digits,
                "name": name,
                "short_name": short,
                "kind": "urban_okrug" if urban else "municipal_district",
                "admin_center": centre,
            }
        )
    by_code = {m["oktmo"]: m for m in municipalities}
    settlements = []
    for digits, name, _centre in _tom5_rows(source_dir / TOM5_SETTLEMENTS, "utf-8", prefix):
        if len(digits) != 11 or digits.endswith("000"):
            continue
        kind = next((t for t in _TOM5_TYPES if name.startswith(t + " ")), "")
        district = by_code.get(digits[:5] + "000")
        settlements.append(
            {
                "oktmo11": digits,
                "settlement_type": kind,
                "settlement_name": name[len(kind) :].strip() if kind else name,
                "district_oktmo8": digits[:5] + "000",
                "district_name": district["name"] if district else "",
            }
        )
    return header, municipalities, settlements


def build(
    region: str,
    source_dir: Path,
    cities_path: Path | None,
    morph: Any,
    *,
    tom5_prefix: str | None = None,
) -> dict[str, Any]:
    """Build one region's gazetteer as a JSON-ready dictionary.

    With ``tom5_prefix`` (the region's two OKTMO digits, e.g. "94" for Udmurtia) the lists
    are read from the original OKTMO volume 5 files in ``source_dir`` instead of the derived
    ``<region>_*.csv`` files.
    """
    if tom5_prefix is not None:
        header, municipalities, settlement_rows = tom5_region(source_dir, tom5_prefix)
        header["code"] = region
    else:
        header, municipalities = load_municipalities(region, source_dir)
        settlement_rows = read_csv(source_dir / f"{region}_settlements.csv")
    by_oktmo = {m["oktmo"]: m for m in municipalities}
    by_stem: dict[str, list[str]] = defaultdict(list)
    for m in municipalities:
        adjective = municipality_adjective(m)
        if adjective:
            by_stem[_stem(adjective)].append(m["oktmo"])
    region_prefix = municipalities[0]["oktmo"][:2]
    inflector = Inflector(morph)

    settlements: list[dict[str, Any]] = []
    skipped = 0
    for row in settlement_rows:
        kind = row["settlement_type"].strip()
        raw_name = re.sub(r"\s+", " ", row["settlement_name"]).strip()
        if kind not in SETTLEMENT_TYPES or not raw_name or _SKIP_NAME.search(raw_name):
            skipped += 1
            continue
        name = _PREFIX_TYPE.sub("", _NAME_CLEAN.sub(" ", raw_name).strip())
        municipality = row["district_oktmo8"]
        if municipality not in by_oktmo:
            # A renamed or re-formed municipality: find today's one by the name's stem.
            first = row["district_name"].split()[0] if row["district_name"] else ""
            matches = by_stem.get(_stem(first), []) if _is_adjective_word(first) else []
            if len(matches) != 1:
                skipped += 1
                continue
            municipality = matches[0]
        settlements.append(
            {"oktmo": row["oktmo11"], "type": kind, "name": name, "municipality": municipality}
        )
    for alias, kind, target in ALIASES.get(region, ()):
        real = next((s for s in settlements if s["name"] == target and s["type"] == kind), None)
        if real is not None:
            settlements.append(
                {
                    "oktmo": real["oktmo"],
                    "type": kind,
                    "name": alias,
                    "municipality": real["municipality"],
                    "alias_of": target,
                    **({"only_after": list(ONLY_AFTER[alias])} if alias in ONLY_AFTER else {}),
                }
            )

    cities, foreign = read_cities(cities_path, region_prefix)
    towns_by_name = {fold(s["name"]): s for s in settlements if s["type"] == "г"}
    for row in cities:
        town = towns_by_name.get(fold(row["city"] or row["settlement"]))
        if town is None or "alias_of" in town:
            continue
        town["lat"] = round(float(row["geo_lat"]), 5)
        town["lon"] = round(float(row["geo_lon"]), 5)
        town["population"] = int(row["population"] or 0)

    common_forms: set[str] = set()
    function_forms: set[str] = set()
    for s in settlements:
        forms = name_forms(inflector, s["name"])
        s["forms"] = {
            form: "".join(CASE_CODE[c] for c in CASES if c in cases)
            for form, cases in sorted(forms.items())
        }
        for form in forms:
            if is_common_form(morph, form):
                common_forms.add(form)
            if " " not in form and is_function_word(morph, form):
                function_forms.add(form)
        if s["type"] not in TOWN_TYPES and fold(s["name"]) in foreign:
            s["needs_marker"] = True

    out_municipalities = []
    for m in municipalities:
        entry = {
            "oktmo": m["oktmo"],
            "name": m["name"],
            "short_name": m["short_name"],
            "kind": m["kind"],
            "admin_center": m.get("admin_center", ""),
        }
        adjective = municipality_adjective(m)
        if adjective:
            lexeme = inflector.adjective_lexeme(adjective)
            entry["adjective"] = adjective
            entry["adjective_forms"] = {
                form: "".join(CASE_CODE[c] for c in CASES if c in cases)
                for form, cases in sorted(lexeme.items())
            }
            for form in lexeme:
                if is_common_form(morph, form):
                    common_forms.add(form)
        out_municipalities.append(entry)

    for adjective, oktmo in DISTRICT_ALIASES.get(region, ()):
        target = next((m for m in out_municipalities if m["oktmo"] == oktmo), None)
        if target is None:
            continue
        lexeme = inflector.adjective_lexeme(adjective)
        target.setdefault("district_aliases", {})[adjective] = {
            form: "".join(CASE_CODE[c] for c in CASES if c in cases)
            for form, cases in sorted(lexeme.items())
        }

    print(
        f"{region}: {len(out_municipalities)} municipalities, {len(settlements)} settlements "
        f"({skipped} rows skipped), {len(common_forms)} forms that are also common words",
        file=sys.stderr,
    )
    return {
        "format": FORMAT_VERSION,
        **header,
        "sources": [
            "Rosstat OKTMO, volume 5 (Privolzhsky federal district), edition 2014-2016, via "
            "GitHub teamf7/oktmo@dcf961e80208d156c66f76fc466545281f78b471 (an official state "
            "classifier, not an object of copyright, art. 1259 of the Civil Code of Russia)",
            "Town coordinates and populations: HFLabs city.csv, GitHub hflabs/city@ae661bff, "
            "CC BY-SA 4.0",
            "Case forms: pymorphy3 with the OpenCorpora dictionaries (pymorphy3-dicts-ru), "
            "and declension rules for the names the dictionary does not know",
        ],
        "municipalities": out_municipalities,
        "settlements": settlements,
        "common_forms": sorted(common_forms),
        "function_forms": sorted(function_forms),
    }


def main(argv: list[str] | None = None) -> int:
    """Build the requested regions' gazetteers and write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("regions", nargs="+", help="region codes, e.g. kirov perm")
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--cities", type=Path, default=DEFAULT_CITIES)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--tom5-prefix",
        help="read the original OKTMO volume 5 files for this OKTMO region code (e.g. 94)",
    )
    args = parser.parse_args(argv)
    morph = pymorphy3.MorphAnalyzer()
    args.out.mkdir(parents=True, exist_ok=True)
    for region in args.regions:
        data = build(region, args.source_dir, args.cities, morph, tom5_prefix=args.tom5_prefix)
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
        (args.out / f"{region}.json").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
