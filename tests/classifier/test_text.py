"""Normalisation and tokenisation of realistic Russian social-network messages."""

from __future__ import annotations

import pytest

from classifier.text import Token, clean, fold, normalize, tokenize, word_spans


def test_html_tags_and_entities_are_stripped() -> None:
    text = (
        "<p>Во дворе&nbsp;дома <b>нет света</b>&hellip;</p><br/>Когда&nbsp;&laquo;починят&raquo;?"
    )
    assert normalize(text) == "во дворе дома нет света… когда «починят»?"


def test_script_and_escaped_tags_leave_no_trace() -> None:
    text = "жалоба<script>alert('x')</script> &lt;b&gt;срочно&lt;/b&gt;"
    assert normalize(text) == "жалоба срочно"


def test_vk_mentions_keep_the_visible_name() -> None:
    text = "[id123456|Иван Петров], [club987|Администрация Котельнича] ответьте! @id55 (Ольга)"
    assert normalize(text) == "иван петров , администрация котельнича ответьте! ольга"


def test_vk_link_markup_keeps_its_text() -> None:
    assert normalize("смотрите [https://vk.com/wall-1_2|тут] фото") == "смотрите тут фото"


@pytest.mark.parametrize(
    "text",
    [
        "подробнее https://vk.com/wall-12345_678?reply=9 тут",
        "подробнее www.kirovreg.ru/news/1 тут",
        "подробнее vk.com/club123 тут",
        "подробнее t.me/kirov_news тут",
        "подробнее кировская-область.рф/новости тут",
        "подробнее youtu.be/dQw4w9WgXcQ тут",
        "подробнее https://vk.com/away.php?to=https%3A%2F%2Fkirov.ru тут",
    ],
)
def test_urls_are_removed(text: str) -> None:
    assert normalize(text) == "подробнее тут"


def test_emails_and_phones_are_removed_or_replaced() -> None:
    text = "пишите на ivanov.p@mail.ru или звоните +7 (912) 345-67-89, 8-800-100-20-30"
    assert normalize(text) == "пишите на или звоните ,"
    assert normalize(text, placeholders=True) == "пишите на email или звоните phone , phone"


@pytest.mark.parametrize(
    "phone",
    ["+7 (912) 345-67-89", "8(8332)64-00-00", "8 833 264 00 00", "89123456789", "+79123456789"],
)
def test_phone_formats(phone: str) -> None:
    assert normalize(f"звоните {phone} с 9 до 18") == "звоните с 9 до 18"


def test_house_numbers_are_not_taken_for_phones() -> None:
    assert normalize("ул. Ленина, д. 8, кв. 12") == "ул. ленина, д. 8, кв. 12"


def test_emoji_are_removed() -> None:
    text = "Опять🤬🤬 нет воды 💧💧!!! Спасибо 👍🏻 ❤️ 🇷🇺 1️⃣"
    assert normalize(text) == "опять нет воды !!! спасибо 1"


def test_yo_becomes_ye_and_case_is_folded() -> None:
    assert normalize("ЁЛКИ, Всё ещё Темно") == "елки, все еще темно"
    assert fold("Пермь Ёжики") == "пермь ежики"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ужжжжасно", "ужасно"),
        ("оооочень холодно", "очень холодно"),
        ("дааааа", "да"),
        ("ну сколькоооо можнооо", "ну сколько можно"),
        ("класс", "класс"),  # a real double letter stays
        ("ООО «Ромашка»", "ооо «ромашка»"),  # the company form is a word, not emphasis
        ("1000 рублей", "1000 рублей"),  # digits are never collapsed
    ],
)
def test_repeated_letters_are_collapsed(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("дорoга", "дорога"),  # Latin o
        ("Кирoв", "киров"),
        ("CAMOCBAЛ", "самосвал"),  # upper-case Latin C, A, M, O, B
        ("тpотуар", "тротуар"),  # Latin p
        ("iPhone", "iphone"),  # a Latin word stays Latin
        ("Wi-Fi в школе", "wi-fi в школе"),
    ],
)
def test_latin_lookalikes_inside_cyrillic_words_are_fixed(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_whitespace_and_invisible_characters() -> None:
    text = "  нет\u00a0света\t\n\nв\u200bдоме\u00adнику  "
    assert normalize(text) == "нет света вдоменику"


def test_nonbreaking_hyphen_inside_a_name() -> None:
    assert normalize("Кирово\u2011Чепецк и Кирово–Чепецкий р‑н") == (
        "кирово-чепецк и кирово-чепецкий р-н"
    )


def test_clean_keeps_case_and_yo() -> None:
    assert clean("<i>В Слободском</i> всё 😡 плохо") == "В Слободском всё плохо"


def test_empty_and_blank_texts() -> None:
    assert normalize("") == ""
    assert normalize("   \n\t ") == ""
    assert normalize("😡😡😡") == ""
    assert tokenize("") == []


def test_very_long_text_is_handled() -> None:
    text = ("Во дворе дома №5 по ул. Ленина в г. Кирове опять не вывезли мусор 🤬. " * 5000) + "<"
    result = normalize(text)
    assert result.startswith("во дворе дома №5 по ул. ленина в г. кирове")
    assert len(tokenize(result)) == 5000 * 14


def test_tokenize_keeps_numbers_and_hyphenated_words() -> None:
    text = normalize("В Кирово-Чепецке, на 10-й км, д.5/2 — кое-где Оричевский р-н! 2024 г.")
    assert tokenize(text) == [
        "в",
        "кирово-чепецке",
        "на",
        "10-й",
        "км",
        "д",
        "5",
        "2",
        "кое-где",
        "оричевский",
        "р-н",
        "2024",
        "г",
    ]


def test_tokenize_drops_punctuation_and_dashes() -> None:
    assert tokenize("Ну — и что?! ...  «Пермь» - (Кунгур)") == ["Ну", "и", "что", "Пермь", "Кунгур"]


def test_word_spans_point_into_the_text() -> None:
    text = "пгт Арбаж, д. Балезинщина"
    spans = word_spans(text)
    assert spans[1] == Token("Арбаж", 4, 9)
    assert [text[t.start : t.end] for t in spans] == [t.text for t in spans]


@pytest.mark.parametrize(
    "case_form",
    ["Котельнич", "Котельнича", "Котельничу", "Котельничем", "Котельниче"],
)
def test_every_case_form_survives_normalisation(case_form: str) -> None:
    assert tokenize(normalize(f"про {case_form}!!!")) == ["про", case_form.lower()]


def test_decomposed_letters_are_composed() -> None:
    decomposed = "Е\u0308лки, мои\u0306 дом"  # Ё and й typed as letter + combining mark
    assert normalize(decomposed) == "елки, мой дом"
    assert tokenize(normalize(decomposed)) == ["елки", "мой", "дом"]


def test_numeric_entities_for_emoji_are_removed() -> None:
    assert normalize("нет воды &#128545;&#x1F621; ©") == "нет воды"


def test_short_latin_lookalike_words_in_russian_text() -> None:
    assert normalize("C днем рождения! B Кирове опять K вечеру нет света") == (
        "с днем рождения! в кирове опять к вечеру нет света"
    )
    # Latin text, and Latin words that are not look-alikes, stay as they are.
    assert normalize("C is a language") == "c is a language"
    assert normalize("тариф на VK и ok.ru") == "тариф на vk и"


def test_inline_tags_join_and_block_tags_part() -> None:
    assert normalize("Привет, <b>мир</b>! <a href='x'>Ссылка</a>") == "привет, мир! ссылка"
    assert normalize("строка<br>строка<p>абзац</p><div>блок</div>") == "строка строка абзац блок"


def test_every_white_space_character_parts_words_and_nothing_else_does() -> None:
    # clean() squeezes spaces with str.split(): the characters it splits on are _SPACES's own.
    from classifier.text import _SPACES

    for code in range(0x3001):  # the last white space character is U+3000
        char = chr(code)
        assert bool(_SPACES.fullmatch(char)) == char.isspace(), hex(code)
    assert clean("Нет\u00a0воды\u2009в\u3000Кирове \n") == "Нет воды в Кирове"
