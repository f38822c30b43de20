"""Tests for text parameterisation, address extraction and versioned fingerprints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from router.fingerprint import (
    GROUPING_VERSION,
    Fingerprint,
    FingerprintInput,
    FingerprintKind,
    content_terms,
    extract_address,
    fingerprints_for,
    parameterize,
    stem,
    term_labels,
    time_bucket,
)
from tests.router.test_grouping_support import lemmatize

AT = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("На улице Ленина 15 прорвало трубу", ("ленин", "15")),
        ("ул. Ленина, д. 15 — вода хлещет", ("ленин", "15")),
        ("Ленина 15, с утра нет холодной воды!", ("ленин", "15")),
        ("Ул. Ленина, 15: жильцы мёрзнут", ("ленин", "15")),
        ("в доме 15 по ул Ленина течёт крыша", ("ленин", "15")),
        ("пр-т Мира 3а яма", ("мир", "3а")),
        ("Во дворе дома по улице Карла Маркса 5 неделю не вывозят", ("маркс", "5")),
        ("Московская улица вся в ямах", ("московск",)),
        ("По Московской улице разбитый асфальт", ("московск",)),
        ("Профсоюзная улица, тротуары не чищены", ("профсоюзн",)),
        ("Возле школы на Воровского стая собак", ("воровск",)),
        ("44 автобус опять не пришёл, стою 40 минут", ("маршрут", "44")),
        ("Где 44-й автобус?", ("маршрут", "44")),
        ("В школе номер 5 в классах холодно", ("школа", "5")),
        ("12-я школа без отопления", ("школа", "12")),
        ("детский сад 7 закрыли", ("детсад", "7")),
        ("В школе 3 дня нет отопления", ()),
        ("Уже 3 дня нет воды", ()),
        ("Детская площадка в парке вся в стекле", ()),
        ("https://vk.com/wall-1_2 Второй день нет воды, звоните 8 912 345-67-89", ()),
    ],
)
def test_extract_address(text: str, address: tuple[str, ...]) -> None:
    assert extract_address(text) == address


def test_parameterize_strips_what_varies_and_keeps_the_house_number() -> None:
    text = (
        "Ленина 15: нет воды с 16.11 в 06:30, уже 3 часа! Звоните +7 (912) 345-67-89, "
        "фото https://vk.com/photo1_2 или pishite@mail.ru"
    )
    assert parameterize(text) == (
        "Ленина 15: нет воды с <date> в <time>, уже <num> часа! Звоните <phone>, "
        "фото <url> или <email>"
    )


def test_stem_meets_case_forms() -> None:
    assert stem("Ленина") == stem("Ленину") == "ленин"
    assert stem("Московская") == stem("Московской") == stem("московский")
    assert stem("Нововятск") == stem("нововятский")


def test_content_terms_drop_stop_words_numbers_and_urls_and_merge_synonyms() -> None:
    terms = content_terms(lemmatize("Уже 3 часа нет электричества в Нововятске, http://x.ru"))
    assert terms == {"час", "свет", "нововятск"}
    assert term_labels(lemmatize("Нет электричества"))["свет"] == "электричество"


def _input(text: str, **changes: object) -> FingerprintInput:
    base: dict[str, object] = {
        "lemmas": tuple(lemmatize(text)),
        "address": extract_address(text),
        "topic_group": "ЖКХ",
        "topic": "Отсутствие холодной воды",
        "municipality_oktmo": "33701000",
        "posted_at": AT,
    }
    base.update(changes)
    return FingerprintInput(**base)  # type: ignore[arg-type]


def test_fingerprints_are_ordered_versioned_and_short() -> None:
    fps = fingerprints_for(_input("Ленина 15: нет холодной воды, краны сухие"))
    assert [fp.kind for fp in fps] == [
        FingerprintKind.TEXT,
        FingerprintKind.ADDRESS,
        FingerprintKind.BLOCK,
    ]
    assert all(fp.version == GROUPING_VERSION for fp in fps)
    assert all(fp.value.startswith(GROUPING_VERSION + ":") for fp in fps)
    assert all(len(fp.value) <= 128 for fp in fps)
    block = fps[-1].value
    assert block.endswith(f":ЖКХ:33701000:{time_bucket(AT)}")


def _value(fps: tuple[Fingerprint, ...], kind: FingerprintKind) -> str:
    return next(fp.value for fp in fps if fp.kind is kind)


def test_text_fingerprint_ignores_word_order_inflection_and_phones() -> None:
    one = fingerprints_for(_input("Нет холодной воды, краны сухие! Звоните 8 912 111-22-33"))
    two = fingerprints_for(_input("краны сухие, холодная вода нет. звоните +7 999 444-55-66"))
    assert _value(one, FingerprintKind.TEXT) == _value(two, FingerprintKind.TEXT)


def test_fingerprints_depend_on_place_topic_and_house() -> None:
    text = "Ленина 15: нет холодной воды, краны сухие"
    base = fingerprints_for(_input(text))
    elsewhere = fingerprints_for(_input(text, municipality_oktmo="33707000"))
    other_topic = fingerprints_for(_input(text, topic="Отсутствие горячей воды"))
    other_house = fingerprints_for(_input(text.replace("15", "40")))
    for kind in (FingerprintKind.TEXT, FingerprintKind.ADDRESS, FingerprintKind.BLOCK):
        assert _value(base, kind) != _value(elsewhere, kind)
    assert _value(base, FingerprintKind.ADDRESS) != _value(other_topic, FingerprintKind.ADDRESS)
    assert _value(base, FingerprintKind.ADDRESS) != _value(other_house, FingerprintKind.ADDRESS)


def test_short_texts_and_texts_without_place_get_fewer_fingerprints() -> None:
    fps = fingerprints_for(_input("Нет света!", municipality_oktmo=None))
    assert [fp.kind for fp in fps] == [FingerprintKind.BLOCK]
    assert ":?:" in fps[0].value


def test_block_fingerprint_changes_with_the_day() -> None:
    today = fingerprints_for(_input("Нет света"))[-1]
    tomorrow = fingerprints_for(_input("Нет света", posted_at=AT + timedelta(days=1)))[-1]
    assert today != tomorrow


def test_unknown_version_and_naive_time_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown grouping version"):
        fingerprints_for(_input("Нет света"), versions=("nope:2020-01-01",))
    with pytest.raises(ValueError, match="aware"):
        time_bucket(datetime(2026, 11, 16, 9, 30))


def test_a_long_topic_group_name_still_fits_storage() -> None:
    fps = fingerprints_for(_input("Нет света", topic_group="Очень длинное название " * 10))
    assert all(len(fp.value) <= 128 for fp in fps)
    assert fps[-1].kind is FingerprintKind.BLOCK
