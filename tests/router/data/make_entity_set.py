"""Write ``entity_duplicates.json``: complaints about named places and objects, with known truth.

Every text is written for the project (templates and place phrases below, no real complaint).
A *problem* is one kind of failure (topic) at one entity (an address, a crossing, a school...)
in one town; it is reported 2-4 times in different words, with the place written in different
ways (abbreviations, cases, ordinals, typos), from different networks, mostly from region-wide
communities that name no town (municipality unknown). Hard negatives come by construction: the
same entity with another problem, the same problem at the neighbouring house, the same problem
at the same-named address in another town. Never used for training.

Run ``python tests/router/data/make_entity_set.py`` to regenerate (deterministic).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).with_name("entity_duplicates.json")
TOWNS = {"K": "33701000", "C": "33707000", "S": "33713000", "T": "33710000"}
NETWORKS = ("vk", "ok", "telegram", "file")


@dataclass(frozen=True)
class Street:
    """A street as people write it: the name after «улица» and after «на»/«по», and a typo."""

    gen: str  # «улица Чапаева», «на Чапаева»
    prep: str  # «на Московской» (= gen for surnames)
    typo: str


STREETS = (
    Street("Чапаева", "Чапаева", "Чапаеав"),
    Street("Ленина", "Ленина", "Ленинаа"),
    Street("Дерендяева", "Дерендяева", "Дерендеева"),
    Street("Молодой Гвардии", "Молодой Гвардии", "Молодой Гвардиии"),
    Street("Воровского", "Воровского", "Воровскогго"),
    Street("Свердлова", "Свердлова", "Свердолва"),
    Street("Комсомольская", "Комсомольской", "Комсомольской"),
    Street("Профсоюзная", "Профсоюзной", "Профсоюзнй"),
    Street("Щорса", "Щорса", "Щорсса"),
    Street("Горького", "Горького", "Горкого"),
    Street("Московская", "Московской", "Масковской"),
    Street("Маяковского", "Маяковского", "Маяковскго"),
)

ORDINAL_GEN = {
    1: "первого",
    2: "второго",
    3: "третьего",
    4: "четвёртого",
    5: "пятого",
    6: "шестого",
    7: "седьмого",
    8: "восьмого",
    9: "девятого",
    10: "десятого",
    12: "двенадцатого",
    15: "пятнадцатого",
    20: "двадцатого",
}


def address_phrases(street: Street, house: int) -> list[str]:
    """Every way the templates write «street + house», as a phrase that follows a verb."""
    name, prep = street.gen, street.prep
    phrases = [
        f"на ул. {prep}, д. {house}",
        f"на {prep} {house}",
        f"у дома {house} на улице {prep}",
        f"в доме {house} по улице {prep}",
        f"по ул. {prep} д.{house}",
        f"на {street.typo} {house}",
        f"по адресу {name}, {house}",
    ]
    if house in ORDINAL_GEN:
        phrases.append(f"у {ORDINAL_GEN[house]} дома на {prep}")
    return phrases


def crossing_phrases(a: Street, b: Street) -> list[str]:
    return [
        f"на перекрёстке {a.gen} и {b.gen}",
        f"на {a.prep} / {b.prep}",
        f"на пересечении {a.gen} с {b.gen}",
        f"на углу ул. {a.gen} и ул. {b.typo}",
        f"на перекрестке улиц {b.gen} и {a.gen}",
    ]


def school_phrases(n: int) -> list[str]:
    return [f"в школе {n}", f"в школе №{n}", f"в {n}-й школе", f"в школе номер {n}", f"в СОШ № {n}"]


def kindergarten_phrases(n: int) -> list[str]:
    return [f"в детском саду {n}", f"в д/с №{n}", f"в садике №{n}", f"в детсаду № {n}"]


def clinic_phrases(n: int) -> list[str]:
    return [f"в поликлинике {n}", f"в поликлинике №{n}", f"в поликлинике номер {n}"]


def route_phrases(n: int) -> list[str]:
    return [f"автобус {n}", f"{n}-й автобус", f"автобус №{n}", f"маршрут {n}", f"маршрутка {n}"]


def stop_phrases(name: str) -> list[str]:
    return [f"на остановке «{name}»", f"на остановке {name}", f"на ост. «{name}»"]


@dataclass(frozen=True)
class Kind:
    """One kind of problem: its topic group and topic, and ways to say it around a place."""

    name: str
    group: str
    topic: str
    templates: tuple[str, ...]


ADDRESS_KINDS = (
    Kind(
        "hot_water",
        "ЖКХ",
        "Отсутствие горячей воды",
        (
            "Нет горячей воды {at} с самого утра, управляйка трубку не берёт",
            "Третий день без горячей воды {at}. Детей купать нечем!",
            "Когда дадут горячую воду? Жильцы {at} сидят с холодной",
            "Горячую воду отключили {at} и ни объявления, ни сроков",
        ),
    ),
    Kind(
        "cold_water",
        "ЖКХ",
        "Отсутствие холодной воды",
        (
            "{at} нет холодной воды, из крана ни капли",
            "Отключили холодную воду {at}, никто не предупредил",
            "Сидим без воды {at} уже несколько часов, когда включат?",
            "Холодной воды нет {at} со вчерашнего вечера",
        ),
    ),
    Kind(
        "heating",
        "ЖКХ",
        "Ненадлежащее качество или отсутствие отопления",
        (
            "Батареи ледяные {at}, в квартирах +16",
            "Отопление так и не дали {at}, мёрзнем в куртках",
            "Холодно в квартирах {at}, радиаторы еле тёплые",
            "{at} не греют батареи, дети болеют",
        ),
    ),
    Kind(
        "garbage",
        "Мусор/Свалки/ТКО",
        "★ Уборка/Вывоз мусора",
        (
            "Не вывозят мусор с площадки {at} уже неделю",
            "Контейнеры переполнены {at}, мусор не забирают с прошлого четверга",
            "Гора мусора возле баков {at}, регоператор не реагирует",
            "Мусорка {at} завалена, вонь на весь двор",
        ),
    ),
    Kind(
        "pothole",
        "Дороги",
        "Ямы и выбоины на дороге",
        (
            "Огромная яма {at}, вчера пробил колесо",
            "Выбоина на дороге {at} стала ещё больше, машины объезжают по встречке",
            "Когда заделают яму {at}? Уже два диска погнули",
            "Дорогу разбило {at}, колдобина на всю полосу",
        ),
    ),
    Kind(
        "streetlight",
        "Благоустройство",
        "★ Неисправные фонари освещения",
        (
            "Не горят фонари {at}, вечером идти страшно",
            "Уличное освещение {at} не работает вторую неделю",
            "Темнота {at}: все фонари погасли",
            "Фонарь {at} мигает и гаснет, дети ходят в темноте",
        ),
    ),
    Kind(
        "power",
        "Электроснабжение",
        "Качество электроснабжения",
        (
            "Нет света {at} с шести утра",
            "Отключили электричество {at}, холодильники текут",
            "Опять вырубили свет {at}, уже третий раз за неделю",
            "Электроснабжения нет {at}, когда дадут?",
        ),
    ),
    Kind(
        "flood",
        "ЖКХ",
        "★ Затопление подъездов, подвальных помещений",
        (
            "Затопило подвал {at}, воды по колено",
            "Подвал {at} полон воды, в подъезде сырость и запах",
            "Течёт в подвале {at}, вода стоит уже неделю",
        ),
    ),
)

CROSSING_KINDS = (
    Kind(
        "water_main",
        "Дороги",
        "Подтопление автомобильных дорог",
        (
            "Прорвало трубу {at}, вода хлещет на дорогу",
            "{at} фонтан из-под асфальта, авария водопровода",
            "Вода заливает проезжую часть {at}, труба лопнула",
        ),
    ),
    Kind(
        "traffic_light",
        "Дороги",
        "Необходима установка и замена дорожных ограждений",
        (
            "Не работает светофор {at}, пешеходы перебегают как могут",
            "Светофор {at} мигает жёлтым с утра, чуть не сбили ребёнка",
            "{at} сломался светофор, пробка до моста",
        ),
    ),
)

SCHOOL_KINDS = (
    Kind(
        "school_cold",
        "Образование",
        "Содержание гос. образовательных организаций",
        (
            "{at} в кабинетах холодно, дети сидят в куртках",
            "Родители жалуются: {at} в классах +15",
            "Дети мёрзнут на уроках {at}, отопление еле работает",
        ),
    ),
    Kind(
        "school_food",
        "Образование",
        "Питание",
        (
            "{at} кормят холодной кашей, дети голодные",
            "Отвратительное питание в столовой {at}, порции крошечные",
            "Жалоба на столовую {at}: просроченные продукты",
        ),
    ),
)

KINDERGARTEN_KINDS = (
    Kind(
        "kindergarten_snow",
        "Образование",
        "Содержание гос. образовательных организаций",
        (
            "{at} не чистят территорию, родители по сугробам идут",
            "Дорожки {at} завалены снегом, коляску не провезти",
            "Снег у входа {at} никто не убирает",
        ),
    ),
)

CLINIC_KINDS = (
    Kind(
        "clinic_booking",
        "Здравоохранение/Медицина",
        "Технические проблемы с записью на прием к врачу",
        (
            "Невозможно записаться к терапевту {at}, телефон не отвечает",
            "Запись к врачу {at} через госуслуги не работает",
            "{at} талонов нет, по телефону записи нет",
        ),
    ),
)

ROUTE_KINDS = (
    Kind(
        "bus_missing",
        "Общественный транспорт",
        "График движения общественного транспорта",
        (
            "{at} утром так и не пришёл, опоздали на работу",
            "{at} опять сорвал рейс, ждали на морозе час",
            "Где {at}? По расписанию должен быть в 7:10, уже 8",
        ),
    ),
    Kind(
        "bus_driver",
        "Общественный транспорт",
        "Некорректное поведение водительского состава",
        (
            "Водитель, {at}, нахамил пенсионерке и высадил её",
            "{at}: водитель курит в салоне и грубит пассажирам",
            "Хамство водителя, {at}, кричал на детей",
        ),
    ),
)

STOP_KINDS = (
    Kind(
        "stop_shelter",
        "Общественный транспорт",
        "Содержание остановок",
        (
            "{at} разбит павильон, стекла по всей остановке",
            "Остановочный павильон {at} сломан, люди мокнут под дождём",
            "{at} нет скамейки и крыши, всё снесли",
        ),
    ),
)

STOPS = ("Филармония", "Драмтеатр", "Центральный рынок", "Вокзал", "Дворец спорта")


@dataclass
class Problem:
    truth: str
    kind: Kind
    phrases: list[str]
    town: str
    always_known: bool


def problems(rng: random.Random) -> list[Problem]:
    found: list[Problem] = []
    # Addresses: each street gets several houses; some houses get two kinds of problem (the
    # same place, another problem); some the neighbouring house the same problem; a few the
    # same address in another town.
    for s_index, street in enumerate(STREETS):
        houses = rng.sample([1, 2, 3, 5, 7, 9, 10, 12, 15, 20, 23, 31, 44], 3)
        for h_index, house in enumerate(houses):
            kinds = rng.sample(ADDRESS_KINDS, 2 if h_index == 0 else 1)
            town = "K" if (s_index + h_index) % 3 else rng.choice("CST")
            for kind in kinds:
                found.append(
                    Problem(
                        f"{kind.name}:{street.typo}:{house}:{town}",
                        kind,
                        address_phrases(street, house),
                        town,
                        False,
                    )
                )
            if h_index == 1:  # the neighbouring house, the same failure: another incident
                kind = kinds[0]
                found.append(
                    Problem(
                        f"{kind.name}:{street.typo}:{house + 2}:{town}",
                        kind,
                        address_phrases(street, house + 2),
                        town,
                        True,
                    )
                )
        if s_index % 3 == 0:  # the same address and problem in another town
            kind = ADDRESS_KINDS[s_index % len(ADDRESS_KINDS)]
            for town in ("S", "C"):
                found.append(
                    Problem(
                        f"{kind.name}:{street.typo}:{houses[2]}:{town}:other-town",
                        kind,
                        address_phrases(street, houses[2]),
                        town,
                        True,
                    )
                )
    pairs = [(STREETS[i], STREETS[j]) for i, j in ((1, 2), (0, 4), (5, 9), (3, 10), (6, 11))]
    for a, b in pairs:
        for kind in CROSSING_KINDS:
            found.append(
                Problem(f"{kind.name}:{a.typo}|{b.typo}", kind, crossing_phrases(a, b), "K", False)
            )
    for n in (22, 5, 14, 37, 51, 9):
        for kind in SCHOOL_KINDS:
            found.append(Problem(f"{kind.name}:{n}", kind, school_phrases(n), "K", False))
    for n in (120, 45, 7, 200):
        for kind in KINDERGARTEN_KINDS:
            found.append(Problem(f"{kind.name}:{n}", kind, kindergarten_phrases(n), "K", False))
    for n in (1, 3, 6):
        for kind in CLINIC_KINDS:
            found.append(Problem(f"{kind.name}:{n}", kind, clinic_phrases(n), "C", False))
    for n in (44, 12, 3, 88, 51):
        for kind in ROUTE_KINDS:
            found.append(Problem(f"{kind.name}:{n}", kind, route_phrases(n), "K", False))
    for name in STOPS:
        for kind in STOP_KINDS:
            found.append(Problem(f"{kind.name}:{name}", kind, stop_phrases(name), "K", False))
    return found


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def messages(rng: random.Random) -> list[dict[str, object]]:
    result: list[dict[str, object]] = []
    serial = 0
    for problem in problems(rng):
        count = rng.choice((2, 3, 3, 3, 4))
        templates = rng.sample(problem.kind.templates, min(count, len(problem.kind.templates)))
        while len(templates) < count:
            templates.append(rng.choice(problem.kind.templates))
        phrases = rng.sample(problem.phrases, min(count, len(problem.phrases)))
        while len(phrases) < count:
            phrases.append(rng.choice(problem.phrases))
        start = rng.randrange(0, 4 * 24 * 60)
        for template, phrase in zip(templates, phrases, strict=True):
            serial += 1
            known = problem.always_known or rng.random() < 0.4
            result.append(
                {
                    "key": f"{NETWORKS[serial % 4]}:e{serial}",
                    "truth": problem.truth,
                    "network": NETWORKS[serial % 4],
                    "place": problem.town if known else None,
                    "group": problem.kind.group,
                    "topic": problem.kind.topic if rng.random() > 0.1 else None,
                    "minutes": start + rng.randrange(0, 18 * 60),
                    "author": f"a{serial}",
                    "text": capitalise(template.format(at=phrase)),
                }
            )
    result.sort(key=lambda m: (int(str(m["minutes"])), str(m["key"])))
    return result


def main() -> None:
    rng = random.Random(20261203)
    messages_ = messages(rng)
    data: dict[str, object] = {
        "description": (
            "Complaints about named places and objects with known truth, written for the "
            "project by make_entity_set.py (templates, no real text). 'truth' names the "
            "problem; 'place' is null when the community names no town; 'minutes' counts from "
            "base_time. Never used for training."
        ),
        "base_time": "2026-11-30T04:00:00+00:00",
        "municipalities": TOWNS,
        "messages": messages_,
    }
    OUT.write_text(
        json.dumps(data, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    truths = {m["truth"] for m in messages_}
    print(f"{OUT.name}: {len(messages_)} messages, {len(truths)} problems")


if __name__ == "__main__":
    main()
