"""Region reference data: the shipped 2016 municipalities and lookups by their many names."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.regions import (
    AmbiguousMunicipalityError,
    Municipality,
    Region,
    UnknownRegionError,
    available_regions,
    load_region,
)

ROOT = Path(__file__).resolve().parent.parent.parent
OKTMO_SOURCE = ROOT.parent / "shared" / "data" / "oktmo-pfo-2016"


@pytest.fixture(scope="module")
def kirov() -> Region:
    return load_region("kirov")


@pytest.fixture(scope="module")
def perm() -> Region:
    return load_region("perm")


def test_available_regions() -> None:
    assert available_regions() == ("kirov", "perm")


def test_kirov_has_its_2016_municipal_entities(kirov: Region) -> None:
    assert kirov.code == "kirov"
    assert kirov.name == "Кировская область"
    assert kirov.timezone == "Europe/Kirov"
    kinds = [m.kind for m in kirov.municipalities]
    assert len(kirov.municipalities) == 45
    assert kinds.count("municipal_district") == 39
    assert kinds.count("urban_okrug") == 6
    slobodskoy = kirov.municipality_by_oktmo("33635000")
    assert slobodskoy == Municipality(
        name="Слободской муниципальный район",
        short_name="Слободской",
        oktmo="33635000",
        kind="municipal_district",
        admin_center="г Слободской",
    )
    assert all(m.oktmo.startswith("33") and len(m.oktmo) == 8 for m in kirov.municipalities)
    assert len({m.short_name for m in kirov.municipalities}) == 45


def test_perm_loads(perm: Region) -> None:
    assert perm.name == "Пермский край"
    assert perm.timezone == "Asia/Yekaterinburg"
    assert len(perm.municipalities) == 48
    karagay = perm.find_municipality("57622000")
    assert karagay is not None
    assert karagay.name == "Карагайский муниципальный район"  # double space normalised


@pytest.mark.parametrize(
    "ref",
    [
        "Слободской муниципальный район",
        "Слободской",
        "слободской",
        "СЛОБОДСКОЙ РАЙОН",
        "Слободской р-н",
        "Слободской муниципальный округ",
        "Слободской округ",
        "Слободской муниципальный округ Кировской области",
        "33635000",
        "33 635 000",
        "33635000000",
    ],
)
def test_find_district_in_various_forms(kirov: Region, ref: str) -> None:
    found = kirov.find_municipality(ref)
    assert found is not None
    assert found.oktmo == "33635000"


@pytest.mark.parametrize(
    ("ref", "oktmo"),
    [
        ("город Киров", "33701000"),
        ("Киров", "33701000"),
        ("г. Киров", "33701000"),
        ("г Киров", "33701000"),
        ("г.Слободской", "33713000"),
        ("город Слободской", "33713000"),
        ("Слободской городской округ", "33713000"),
        ("Кирово-Чепецк", "33707000"),
        ("Кирово-Чепецкий район", "33618000"),
        ("Вятские Поляны", "33704000"),
        ("Вятскополянский", "33610000"),
        ("ЗАТО Первомайский", "33787000"),
        ("Первомайский", "33787000"),
        ("Котельнич", "33710000"),
        ("Котельничский", "33619000"),
        ("Даровской район", "33612000"),
        ("Опаринский муниципальный округ", "33629000"),
    ],
)
def test_find_cities_and_districts(kirov: Region, ref: str, oktmo: str) -> None:
    found = kirov.find_municipality(ref)
    assert found is not None
    assert found.oktmo == oktmo


@pytest.mark.parametrize("ref", ["", "   ", "Москва", "Нарнийский район", "33999000", "город"])
def test_unknown_municipality_is_none(kirov: Region, ref: str) -> None:
    assert kirov.find_municipality(ref) is None


@pytest.mark.parametrize("ref", ["Пермский", "Кунгурский", "Соликамский", "Кудымкарский"])
def test_ambiguous_reference_is_an_error(perm: Region, ref: str) -> None:
    with pytest.raises(AmbiguousMunicipalityError) as caught:
        perm.find_municipality(ref)
    assert len(caught.value.candidates) == 2
    assert "use the full name or the OKTMO code" in str(caught.value)


def test_kind_words_disambiguate(perm: Region) -> None:
    district = perm.find_municipality("Пермский район")
    city = perm.find_municipality("Пермь")
    okrug = perm.find_municipality("Пермский городской округ")
    assert district is not None
    assert district.kind == "municipal_district"
    assert city is not None
    assert city.oktmo == "57701000"
    assert okrug == city


@pytest.mark.parametrize("code", ["moscow", "Kirov", "../kirov", ""])
def test_unknown_region_is_a_clear_error(code: str) -> None:
    with pytest.raises(UnknownRegionError, match="available regions: kirov, perm"):
        load_region(code)


def test_region_data_is_frozen(kirov: Region) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        kirov.municipalities[0].name = "x"  # type: ignore[misc]


@pytest.mark.skipif(not OKTMO_SOURCE.is_dir(), reason="shared OKTMO lists are not available")
def test_committed_json_matches_the_build_script() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_regions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
