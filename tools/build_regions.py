"""Build the shipped region reference data (classifier/data/regions/*.json) from OKTMO lists."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "oktmo-pfo-2016"
DEFAULT_OUTPUT = ROOT / "classifier" / "data" / "regions"

SOURCE_NOTE = (
    "Rosstat OKTMO, volume 5 (Privolzhsky federal district), edition 2014-2016, via "
    "GitHub teamf7/oktmo@dcf961e80208d156c66f76fc466545281f78b471; top-level municipal "
    "entities only. Names are the official 2016 names (whitespace normalised); later reforms "
    "(районы turned into муниципальные округа) are matched by short name."
)


@dataclass(frozen=True, slots=True)
class RegionSpec:
    """What the OKTMO lists do not say about a region: its code, name and IANA zone."""

    code: str
    name: str
    timezone: str
    csv_name: str


REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("kirov", "Кировская область", "Europe/Kirov", "kirov_municipalities.csv"),
    RegionSpec("perm", "Пермский край", "Asia/Yekaterinburg", "perm_municipalities.csv"),
)

DISTRICT_SUFFIX = " муниципальный район"


def _clean(text: str) -> str:
    """Collapse runs of whitespace (the source has "муниципальный  район")."""
    return re.sub(r"\s+", " ", text).strip()


def _kind_and_short_name(name: str, admin_center: str) -> tuple[str, str]:
    """Return the kind and the short name of one top-level municipal entity."""
    if name.endswith(DISTRICT_SUFFIX):
        return "municipal_district", name.removesuffix(DISTRICT_SUFFIX)
    if name.startswith("город "):
        return "urban_okrug", "г. " + name.removeprefix("город ")
    if name.startswith("ЗАТО "):
        return "urban_okrug", name
    # An urban okrug named by an adjective ("Пермский"): name it by its city.
    if admin_center.startswith("г "):
        return "urban_okrug", "г. " + admin_center.removeprefix("г ")
    return "urban_okrug", name


def read_municipalities(csv_path: Path) -> list[dict[str, str]]:
    """Read the top-level municipalities (districts and urban okrugs) of one region."""
    rows: list[dict[str, str]] = []
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["level"] != "district_or_okrug":
                continue
            name = _clean(row["name"])
            admin_center = _clean(row["admin_center"])
            kind, short_name = _kind_and_short_name(name, admin_center)
            rows.append(
                {
                    "oktmo": row["oktmo8"].strip(),
                    "name": name,
                    "short_name": short_name,
                    "kind": kind,
                    "admin_center": admin_center,
                }
            )
    rows.sort(key=lambda item: item["oktmo"])
    shorts = [item["short_name"].casefold() for item in rows]
    duplicates = sorted({short for short in shorts if shorts.count(short) > 1})
    if duplicates:
        raise SystemExit(f"{csv_path}: short names are not unique: {', '.join(duplicates)}")
    return rows


def build_region(spec: RegionSpec, source_dir: Path) -> str:
    """Return the JSON text for one region."""
    document = {
        "code": spec.code,
        "name": spec.name,
        "timezone": spec.timezone,
        "source": SOURCE_NOTE,
        "municipalities": read_municipalities(source_dir / spec.csv_name),
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)
# The genitive of each urban okrug's city, as used in "Администрация города …".
_CITY_GENITIVE = {
    "Киров": "Кирова",
    "Вятские Поляны": "Вятские Поляны",
    "Кирово-Чепецк": "Кирово-Чепецка",
    "Котельнич": "Котельнича",
    "Слободской": "Слободского",
}


def _latin(text: str) -> str:
    """Transliterate a Russian name into a lower-case code fragment."""
    letters = "".join(_TRANSLIT.get(ch, ch) for ch in text.casefold())
    return re.sub(r"[^a-z0-9]+", "-", letters).strip("-")


def _genitive_adjective(word: str) -> str:
    """Decline a district adjective ("Слободской", "Кирово-Чепецкий") into the genitive."""
    for ending, genitive in (("ский", "ского"), ("ской", "ского"), ("цкий", "цкого")):
        if word.endswith(ending):
            return word.removesuffix(ending) + genitive
    return word


def executors_yaml(region_json: Path) -> str:
    """Return config.yaml entries for the municipal administrations of a region's municipalities."""
    data = json.loads(region_json.read_text(encoding="utf-8"))
    lines: list[str] = []
    for item in data["municipalities"]:
        short = item["short_name"]
        if item["kind"] == "municipal_district":
            code = f"adm-{_latin(short)}"
            name = f"Администрация {_genitive_adjective(short)} района"
        elif short.startswith("ЗАТО "):
            code = f"adm-zato-{_latin(short.removeprefix('ЗАТО '))}"
            name = f"Администрация {short}"
        else:
            city = short.removeprefix("г. ")
            code = f"adm-city-{_latin(city)}"
            name = f"Администрация города {_CITY_GENITIVE.get(city, city)}"
        lines += [
            f"  - code: {code}",
            f"    name: {name}",
            "    kind: municipal",
            f'    municipality: "{item["oktmo"]}"  # {item["name"]}',
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Regenerate the region files; with --check, fail if a committed file is out of date."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="oktmo-pfo-2016 dir")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="output directory")
    parser.add_argument(
        "--check", action="store_true", help="compare with the files instead of writing them"
    )
    parser.add_argument(
        "--executors",
        metavar="REGION",
        help="print config.yaml executor entries for REGION's municipal administrations",
    )
    args = parser.parse_args(argv)
    if args.executors:
        sys.stdout.write(executors_yaml(args.output / f"{args.executors}.json"))
        return 0
    stale: list[str] = []
    for spec in REGIONS:
        text = build_region(spec, args.source)
        target = args.output / f"{spec.code}.json"
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(str(target))
            continue
        args.output.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    if stale:
        print(f"out of date: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
