"""The follow-up classifier on real-looking Russian replies under an official answer."""

from __future__ import annotations

import pytest

from classifier.followup import FOLLOWUP_VERSION, FollowupClassifier, FollowupKind
from classifier.lemmatizer import Lemmatizer


@pytest.fixture(scope="module")
def classifier() -> FollowupClassifier:
    return FollowupClassifier(Lemmatizer().lemma)


NOT_RESOLVED = [
    "не решено",
    "Не решено!",
    "Ничего не сделали!!!",
    "ничего не сделано, как было так и осталось",
    "опять то же самое",
    "ОПЯТЬ ОТКЛЮЧИЛИ ВОДУ!!!",
    "снова яма на том же месте",
    "до сих пор нет",
    "До сих пор ничего не починили 😡",
    "вода так и не появилась",
    "Света так и нет",
    "По-прежнему темно во дворе",
    "никто не приходил",
    "Не смешите, ничего не сделано",
    "не спасибо",
    "спасибо, но так и не сделали",
    "Спасибо конечно, но мусор так и лежит",
    "Спасибо за ничего 🤡",
    "Спасибо за очередную отписку",
    "Это отписка, ничего не изменилось",
    "Ага, конечно, всё «сделали» 🤡",
    "Ну да, отремонтировали, как же 😂",
    "Когда уже сделаете?",
    "Подскажите, а горячую когда дадут",
    "Да ничего не изменилось, всё так же течёт",
    "Не починили, а только обещают 👎",
    "<b>Не решено!</b> Вода так и не появилась",
    "Отопление не включили, в квартире +14, дети мёрзнут",
    "Дорогу не отремонтировали, ямы как были, так и есть",
]

RESOLVED = [
    "спасибо, починили",
    "всё сделали, благодарю",
    "Всё сделали, благодарю!",
    "Спасибо большое! 👍",
    "Ямы засыпали, спасибо администрации 🙏",
    "Вчера приехали и всё починили, огромное спасибо!",
    "Воду дали, наконец-то!",
    "Благодарю, отопление заработало",
    "Всё работает, спасибо",
    "Мусор вывезли, двор чистый. Спасибо!",
    "Свет появился, благодарим за оперативность",
    "Фонари починили, молодцы 👏",
]

NEUTRAL = [
    "",
    "   ",
    "Спасибо за ответ",
    "Спасибо за информацию, будем ждать",
    "А у нас в соседнем доме тоже так",
    "Подскажите, кому звонить",
    "👀",
    "https://vk.com/wall-1_2",
]


@pytest.mark.parametrize("text", NOT_RESOLVED)
def test_not_resolved(classifier: FollowupClassifier, text: str) -> None:
    verdict = classifier.classify(text)
    assert verdict.kind is FollowupKind.NOT_RESOLVED, verdict
    assert verdict.score > 0


@pytest.mark.parametrize("text", RESOLVED)
def test_resolved(classifier: FollowupClassifier, text: str) -> None:
    verdict = classifier.classify(text)
    assert verdict.kind is FollowupKind.RESOLVED, verdict
    assert verdict.unresolved_weight == 0


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral(classifier: FollowupClassifier, text: str) -> None:
    assert classifier.classify(text).kind is FollowupKind.NEUTRAL


def test_negation_turns_a_repair_into_a_complaint(classifier: FollowupClassifier) -> None:
    assert classifier.classify("починили").kind is not FollowupKind.NOT_RESOLVED
    verdict = classifier.classify("не починили")
    assert verdict.kind is FollowupKind.NOT_RESOLVED
    assert "-не починить" in verdict.cues


def test_the_clause_after_but_decides(classifier: FollowupClassifier) -> None:
    thanks = classifier.classify("спасибо, сделали")
    but = classifier.classify("спасибо, сделали, но через день опять потекло")
    assert thanks.kind is FollowupKind.RESOLVED
    assert but.kind is FollowupKind.NOT_RESOLVED


def test_a_long_text_is_judged_and_versioned(classifier: FollowupClassifier) -> None:
    text = "Вода есть. " * 300 + "Но напор так и не восстановили."
    verdict = classifier.classify(text)
    assert verdict.kind is FollowupKind.NOT_RESOLVED
    assert verdict.version == FOLLOWUP_VERSION


def test_a_partial_fix_is_not_a_fix(classifier: FollowupClassifier) -> None:
    for text in (
        "Мусор вывезли только с одной стороны, остальное так и лежит",
        "Дорогу отремонтировали частично",
        "Убрали не до конца",
    ):
        assert classifier.classify(text).kind is FollowupKind.NOT_RESOLVED, text
