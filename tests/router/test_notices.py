"""Official notices as context: a planned outage, and the complaints it explains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from classifier.lemmatizer import Lemmatizer
from router.notices import OVERRUN, OutageNotice, explain, notice_streets, parse_notice

KIROV = ZoneInfo("Europe/Kirov")
LEMMATIZER = Lemmatizer()
POSTED = datetime(2027, 4, 13, 9, 0, tzinfo=UTC)
WATER = (
    "Уважаемые жители! В связи с ремонтом водопровода 15 апреля с 9:00 до 18:00 будет отключено "
    "холодное водоснабжение по адресам: ул. Гагарина 1–15, ул. Мира 2–20. МУП «Водоканал»"
)


def _notice(text: str, posted: datetime = POSTED) -> OutageNotice | None:
    return parse_notice(
        key="vk:-1_1",
        text=text,
        lemmas=LEMMATIZER.lemmatize_text(text),
        posted_at=posted,
        zone=KIROV,
    )


def test_a_water_notice_gives_service_streets_and_window_in_utc() -> None:
    notice = _notice(WATER)
    assert notice is not None
    assert (notice.service, notice.topic_group) == ("вода", "ЖКХ")
    assert notice.streets == {"гагарин", "мир"}
    # 9:00-18:00 in Kirov (UTC+3) is 6:00-15:00 UTC
    assert notice.starts_at == datetime(2027, 4, 15, 6, 0, tzinfo=UTC)
    assert notice.ends_at == datetime(2027, 4, 15, 15, 0, tzinfo=UTC)
    assert notice.label == "плановое отключение: вода"


@pytest.mark.parametrize(
    ("text", "service", "group", "first_day", "last_day"),
    [
        (
            "⚠️ Внимание водителям! С 10 по 25 июня перекрыт проезд по ул. Горького от Ленина "
            "до Свободы в связи с ремонтом теплотрассы.",
            "движение",
            "Дороги",
            (6, 10),
            (6, 25),
        ),
        (
            "С 1 по 14 июля плановая опрессовка тепловых сетей: горячая вода будет отсутствовать "
            "в микрорайонах Лепсе и Чистые пруды.",
            "горячая вода",
            "ЖКХ",
            (7, 1),
            (7, 14),
        ),
        (
            "Плановое отключение электроэнергии: 12 марта с 10:00 до 16:00 ул. Свободы 40–80, "
            "ул. Труда 1–25 в связи с заменой трансформатора.",
            "свет",
            "Электроснабжение",
            (3, 12),
            (3, 12),
        ),
        (
            "20 октября с 8:00 до 20:00 будет прекращена подача газа в дома по ул. Советской.",
            "газ",
            "Газ и топливо",
            (10, 20),
            (10, 20),
        ),
    ],
)
def test_kinds_of_notice(
    text: str,
    service: str,
    group: str,
    first_day: tuple[int, int],
    last_day: tuple[int, int],
) -> None:
    notice = _notice(text, datetime(2027, 2, 1, tzinfo=UTC))
    assert notice is not None
    assert (notice.service, notice.topic_group) == (service, group)
    start, end = notice.starts_at.astimezone(KIROV), notice.ends_at.astimezone(KIROV)
    assert ((start.month, start.day), (end.month, end.day)) == (first_day, last_day)


def test_texts_that_announce_no_outage_give_none() -> None:
    assert _notice("Ура, воду дали! Спасибо водоканалу") is None
    assert _notice("В субботу ярмарка на площади, приходите") is None
    assert _notice("Третий день нет воды на Мира 12, где обещанное?") is None


def test_a_complaint_in_the_window_on_a_street_of_the_notice_is_explained() -> None:
    notice = _notice(WATER)
    assert notice is not None
    during = datetime(2027, 4, 15, 10, 0, tzinfo=UTC)
    hit = explain([notice], topic_group="ЖКХ", text="На Мира 12 нет воды!", posted_at=during)
    assert hit is notice
    # an overrun is what people complain about: still the notice, until OVERRUN after its end
    late = notice.ends_at + OVERRUN - timedelta(minutes=1)
    text = "Уже 20:00, а воды на Мира 12 так и нет. Где обещанные 18:00?"
    assert explain([notice], topic_group="ЖКХ", text=text, posted_at=late) is notice


@pytest.mark.parametrize(
    ("group", "text", "at"),
    [
        ("ЖКХ", "На Ленина 3 нет воды", datetime(2027, 4, 15, 10, 0, tzinfo=UTC)),  # other street
        ("Дороги", "На Мира яма", datetime(2027, 4, 15, 10, 0, tzinfo=UTC)),  # other problem
        ("ЖКХ", "На Мира нет воды", datetime(2027, 4, 14, 10, 0, tzinfo=UTC)),  # before it
        ("ЖКХ", "На Мира нет воды", datetime(2027, 4, 20, 10, 0, tzinfo=UTC)),  # long after
    ],
)
def test_other_complaints_are_not_explained(group: str, text: str, at: datetime) -> None:
    notice = _notice(WATER)
    assert notice is not None
    assert explain([notice], topic_group=group, text=text, posted_at=at) is None


def test_streets_are_read_in_any_case() -> None:
    assert notice_streets("по ул. Советской и улице Ленина, проспект Строителей 5") == {
        "советск",
        "ленин",
        "строител",
    }


def test_tomorrow_with_hours_is_the_next_local_day() -> None:
    posted = datetime(2027, 4, 13, 19, 0, tzinfo=UTC)  # 22:00 in Kirov
    notice = _notice("Завтра с 9 до 17 плановое отключение света по ул. Школьной", posted)
    assert notice is not None
    assert notice.starts_at == datetime(2027, 4, 14, 6, 0, tzinfo=UTC)
    assert notice.ends_at == datetime(2027, 4, 14, 14, 0, tzinfo=UTC)
