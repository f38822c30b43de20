"""An outage announced (a notice) is told from a complaint about an outage."""

from __future__ import annotations

import pytest

from classifier.lemmatizer import Lemmatizer
from router.notices import announces_outage

LEMMATIZER = Lemmatizer()


# Written for this test.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Администрация сообщает: завтра плановое отключение электроэнергии на ул. Луговая", True),
        ("Уважаемые жители! 12 марта с 10:00 до 16:00 будет отключено электроснабжение", True),
        ("МУП «Водоканал» информирует: 5 мая отключение холодной воды по ул. Мира", True),
        ("Обещали плановое отключение до 17, а света до сих пор нет!", False),
        ("Уже 18:00, а света на Садовой так и нет, обещали до 16", False),
        ("Уважаемая администрация, отключили газ на Мира, помогите", False),
        ("Жители Садовой просят разобраться: отключение воды каждый день", False),
        ("Администрация сообщает: в субботу субботник", False),  # no outage
        ("", False),
    ],
)
def test_announces_outage(text: str, expected: bool) -> None:
    assert announces_outage(LEMMATIZER.lemmatize_text(text)) is expected
