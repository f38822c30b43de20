"""Grouping keys from Russian text: addresses, crossings, numbered objects, routes, orgs."""

from __future__ import annotations

import pytest

from router.entities import EntityKind, extract_entities, ordinal_value
from router.street_vocabulary import StreetVocabulary


def keys(text: str) -> list[str]:
    return [e.key for e in extract_entities(text)]


@pytest.mark.parametrize(
    "text",
    [
        "ул. Чапаева, д. 5 — не вывозят мусор",
        "Чапаева 5 — контейнеры переполнены",
        "Не вывозят мусор с площадки у дома 5 на улице Чапаева уже неделю",
        "у пятого дома на Чапаева яма",
        "д.5 по Чапаева течёт крыша",
        "в доме 5 по улице Чапаевой",  # a typo in the case ending still stems the same
        "Мусорка на Чапаеваа 5 завалена",
    ],
)
def test_every_way_of_writing_an_address_gives_one_key(text: str) -> None:
    assert keys(text) == ["addr:чапаев:5"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("пр-т Мира 3а нет света", "addr:мир:3а"),
        ("просп. Строителей 10 яма", "addr:строител:10"),
        ("б-р Гагарина 7 мусор", "addr:гагарин:7"),
        ("Октябрьский проспект 15 нет света", "addr:октябрск:15"),
        ("на Ленина 15/2 прорвало", "addr:ленин:15/2"),
        ("Ленина 5 неделю без воды", "addr:ленин:5"),
        ("у 25-го дома на Ленина", "addr:ленин:25"),
        ("возле двадцать пятого дома по Ленина", "addr:ленин:25"),
        ("нет горячей воды, Молодой Гвардии 12", "addr:гвард:12"),
        ("в доме 12 по улице Молодой Гвардии нет горячей воды", "addr:гвард:12"),
        ("Гора мусора у дома 10 на улице Щорсса", "addr:щорс:10"),
    ],
)
def test_abbreviations_ordinals_and_two_word_names(text: str, key: str) -> None:
    assert keys(text) == [key]


@pytest.mark.parametrize(
    "text",
    [
        "Прорвало трубу на перекрёстке Ленина и Дерендяева, вода хлещет",
        "На Ленина / Дерендяева фонтан из-под асфальта 💦",
        "на пересечении Ленина с Дерендяева яма",
        "на углу ул. Ленина и ул. Дерендяева не горит светофор",
        "перекресток улиц Дерендяева и Ленина",
    ],
)
def test_crossings_are_one_key_whatever_the_order(text: str) -> None:
    assert keys(text) == ["cross:дерендяев|ленин"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("В школе 22 в кабинетах холодно", "school:22"),
        ("Родители школы №22 жалуются: в классах +15", "school:22"),
        ("в 22-й школе нет отопления", "school:22"),
        ("в двадцать второй школе холодно", "school:22"),
        ("СОШ № 5 нет света", "school:5"),
        ("гимназия 5 холодно", "school:г5"),
        ("детский сад 120 не убирают снег", "kindergarten:120"),
        ("в д/с №120 холодно", "kindergarten:120"),
        ("садик №120 закрыт на карантин", "kindergarten:120"),
        ("в поликлинике 1 не записаться", "clinic:1"),
        ("первая поликлиника: очередь с шести утра", "clinic:1"),
        ("на остановке «Филармония» нет павильона", "stop:филармон"),
        ("остановка Филармония грязно", "stop:филармон"),
        ("Автобус 44 утром так и не пришёл", "route:bus:44"),
        ("44-й автобус опять сорвал рейс", "route:bus:44"),
        ("маршрут 44 не ходит", "route:bus:44"),
        ("маршрутка 44: водитель хамит", "route:bus:44"),
        ("троллейбус 5 сломался", "route:trolleybus:5"),
        ("УК «Уютный дом» не убирает подъезды", "org:ук:уютн-дом"),
        ("Водоканал не отвечает третий день", "org:водоканал"),
        ("Горэлектросеть отключила свет без предупреждения", "org:горэлектросеть"),
    ],
)
def test_numbered_objects_routes_and_organisations(text: str, key: str) -> None:
    assert keys(text) == [key]


def test_strength_tells_places_from_supporting_evidence() -> None:
    found = {
        e.kind: e for e in extract_entities("Водоканал молчит, на Щорса нет воды, в больнице тоже")
    }
    assert {EntityKind.ORGANISATION, EntityKind.STREET, EntityKind.HOSPITAL} <= set(found)
    assert not any(e.strong for e in found.values())
    assert all(e.strong for e in extract_entities("школа 5, автобус 12, Ленина 3"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Уже 3 дня нет воды!!!",
        "Жду автобус 40 минут",
        "Температура +15, в квартире холодно",
        "Прием в поликлинике 7 числа до 14:00",
        "ВОДИТЕЛЬ ПРОЕХАЛ ОСТАНОВКУ И НЕ ОТКРЫЛ ДВЕРИ",
        "Звоните 8 (912) 345-67-89 или пишите на https://example.ru/ul/5",
        "Детская площадка вся в снегу 😠",
        "<p>Спасибо за ответ</p>",
    ],
)
def test_texts_naming_no_place_give_no_strong_key(text: str) -> None:
    assert [e.key for e in extract_entities(text) if e.strong] == []


def test_a_very_long_text_is_handled() -> None:
    text = "Нет воды на Ленина 5. " + "Очень долго ждём. " * 5000
    assert keys(text) == ["addr:ленин:5"]


def test_ordinal_words() -> None:
    assert [
        ordinal_value(w) for w in ("пятого", "третьего", "двадцатой", "пятнадцатом", "дом")
    ] == [
        5,
        3,
        20,
        15,
        None,
    ]


def test_vocabulary_reconciles_a_typo_with_the_one_known_street() -> None:
    vocabulary = StreetVocabulary()
    (known,) = vocabulary.normalise(extract_entities("Ленина / Дерендяева прорвало трубу"))
    (typo,) = vocabulary.normalise(extract_entities("на перекрёстке Ленина и Дерендеева"))
    assert typo.key == known.key == "cross:дерендяев|ленин"


def test_vocabulary_leaves_a_typo_between_two_streets_alone() -> None:
    vocabulary = StreetVocabulary()
    vocabulary.normalise(extract_entities("на Московской 3 мусор"))
    vocabulary.normalise(extract_entities("на Маяковского 3 мусор"))
    (entity,) = vocabulary.normalise(extract_entities("на Масковской 3 мусор"), learn=False)
    assert entity.key == "addr:масковск:3"
