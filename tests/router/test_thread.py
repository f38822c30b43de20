"""Reading a comment in its thread: support, the same problem elsewhere, discussion, its own."""

from __future__ import annotations

import pytest

from classifier.lemmatizer import Lemmatizer
from classifier.types import Classification, Evidence
from router.fingerprint import extract_address
from router.thread import (
    ParentIncident,
    ThreadAction,
    ThreadConfig,
    ThreadMessage,
    addresses_commenter,
    decide_thread,
    same_problem_marker,
)

LEMMATIZER = Lemmatizer()
KOTELNICH = "33710000"
SLOBODSKOY = "33713000"
POST_INCIDENT = ParentIncident(
    id=7,
    topic_group="Дороги",
    topic="Ямы и выбоины на дороге",
    municipality_oktmo=SLOBODSKOY,
    addresses=frozenset({extract_address("яма на ул. Ленина 12")}),
)


def _result(
    complaint: float, kind: str | None = None, oktmo: str | None = None, named: bool = True
) -> Classification:
    where = "Котельниче" if named else "source: Котельнич"
    return Classification(
        is_complaint=complaint >= 0.5,
        complaint_confidence=complaint,
        topic_group="Благоустройство",
        topic="Уборка территорий",
        topic_confidence=0.4,
        municipality="Котельнич" if oktmo == KOTELNICH else None,
        municipality_oktmo=oktmo,
        municipality_confidence=0.8 if oktmo else 0.0,
        model_version="test",
        kind=None if complaint >= 0.5 else kind,
        evidence=(Evidence("municipality", where, 0.8),) if oktmo else (),
    )


def _comment(
    text: str,
    complaint: float,
    kind: str | None = None,
    *,
    parent: ParentIncident | None = POST_INCIDENT,
    oktmo: str | None = None,
    reply: bool | None = None,
    named: bool = True,
) -> ThreadMessage:
    return ThreadMessage(
        classification=_result(complaint, kind, oktmo, named),
        lemmas=tuple(LEMMATIZER.lemmatize_text(text)),
        is_comment=True,
        address=extract_address(text),
        replies_to_commenter=addresses_commenter(text) if reply is None else reply,
        parent_incident=parent,
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("+", "reaction"),
        ("👍👍👍", "reaction"),
        ("Позор, а налоги платим исправно", "reaction"),
        ("Пишите в ЦУР, там быстрее реагируют", "advice"),
        ("Сфотографируйте и отправьте в Госуслуги, там отвечают", "advice"),
        ("Спасибо, что подняли вопрос!", "thanks"),
    ],
)
def test_reactions_and_advice_under_an_incident_support_it(text: str, kind: str) -> None:
    decision = decide_thread(_comment(text, 0.1, kind))
    assert decision.action is ThreadAction.SUPPORT
    assert decision.incident_id == POST_INCIDENT.id
    assert kind in decision.reason


def test_the_same_here_without_another_place_supports_the_incident() -> None:
    decision = decide_thread(_comment("Та же беда", 0.3, "reply"))
    assert decision.action is ThreadAction.SUPPORT
    assert "the same here" in decision.reason


def test_the_same_problem_at_another_address_is_a_new_incident_with_the_posts_topic() -> None:
    decision = decide_thread(_comment("У нас на ул. Щорса то же самое", 0.2, "reaction"))
    assert decision.action is ThreadAction.SAME_ELSEWHERE
    assert decision.incident_id == POST_INCIDENT.id
    assert (decision.topic_group, decision.topic) == ("Дороги", "Ямы и выбоины на дороге")
    assert "щорс" in decision.reason


def test_the_same_problem_in_another_town_is_a_new_incident_even_when_called_a_complaint() -> None:
    message = _comment("В Котельниче тоже такие ямы, колёса бьём", 0.9, oktmo=KOTELNICH)
    decision = decide_thread(message)
    assert decision.action is ThreadAction.SAME_ELSEWHERE
    assert decision.topic == "Ямы и выбоины на дороге"


def test_the_same_address_as_the_post_is_support_not_a_new_incident() -> None:
    decision = decide_thread(_comment("На Ленина 12 то же самое", 0.2, "reaction"))
    assert decision.action is ThreadAction.SUPPORT


def test_a_reply_to_another_commenter_is_discussion() -> None:
    text = "Дарья, так это не их участок, это УК должна"
    assert addresses_commenter(text)
    decision = decide_thread(_comment(text, 0.55))  # the words of the thread: a weak "complaint"
    assert decision.action is ThreadAction.DISCUSSION


def test_a_reply_that_reports_a_problem_itself_is_its_own_message() -> None:
    decision = decide_thread(_comment("Ольга, у нас в подъезде лифт третий день стоит", 0.93))
    assert decision.action is ThreadAction.OWN


def test_a_complaint_comment_is_its_own_message() -> None:
    text = "И на выезде с Филейки под мостом яма, днище оставил"
    assert decide_thread(_comment(text, 0.95)).action is ThreadAction.OWN


def test_under_a_post_that_is_no_incident_a_reaction_is_nothing() -> None:
    decision = decide_thread(_comment("+", 0.01, "reaction", parent=None))
    assert decision.action is ThreadAction.NOT_COMPLAINT
    assert decide_thread(_comment("Цена?", 0.1, "question", parent=None)).action is (
        ThreadAction.NOT_COMPLAINT
    )


def test_a_question_under_an_incident_is_discussion() -> None:
    decision = decide_thread(_comment("А в аварийку звонили?", 0.3, "question"))
    assert decision.action is ThreadAction.DISCUSSION


def test_a_post_is_its_own_message_whatever_it_says() -> None:
    post = ThreadMessage(
        classification=_result(0.1, "reaction"), lemmas=("то", "же", "самый"), is_comment=False
    )
    assert decide_thread(post).action is ThreadAction.OWN


def test_reply_threshold_is_configurable() -> None:
    message = _comment("Олег, а у нас в доме воды нет", 0.65)
    assert decide_thread(message).action is ThreadAction.DISCUSSION
    lenient = ThreadConfig(reply_min_confidence=0.6)
    assert decide_thread(message, lenient).action is ThreadAction.OWN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[id123|Олег], не надо обобщать", True),
        ("Олег, не надо обобщать, у нас в доме всё нормально", True),
        ("Галина Петровна, так они по графику", True),
        ("Люди, на Ленина яма", False),
        ("Админ, опубликуй анонимно", False),
        ("Здравствуйте, нет воды", False),
        ("Киров, ул. Ленина 5 — нет света", False),
        ("Ольга Сергеевна Иванова пишет", False),
    ],
)
def test_addresses_commenter(text: str, expected: bool) -> None:
    assert addresses_commenter(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("У нас то же самое", True),
        ("Та же беда", True),
        ("И у нас тоже нет света", True),
        ("Аналогично, второй день", True),
        ("Такая же яма на Мира", True),
        ("Яма на дороге, колесо пробил", False),
        ("Пишите в ЦУР", False),
    ],
)
def test_same_problem_marker(text: str, expected: bool) -> None:
    assert same_problem_marker(LEMMATIZER.lemmatize_text(text)) is expected


def test_a_short_echo_called_a_complaint_supports_the_incident() -> None:
    decision = decide_thread(_comment("Безобразие, опять без света", 0.97))
    assert decision.action is ThreadAction.SUPPORT
    assert "short echo" in decision.reason
    # the same words under a post that is no incident: a message of its own
    alone = decide_thread(_comment("Безобразие, опять без света", 0.97, parent=None))
    assert alone.action is ThreadAction.OWN
    # with an address of its own it is a problem of its own
    placed = decide_thread(_comment("На Мира 5 опять без света", 0.97))
    assert placed.action is ThreadAction.OWN


def test_the_sources_territory_is_no_other_place() -> None:
    # «Та же беда» in a group of Котельнич under a post about Слободской: the same problem, here
    message = _comment("Та же беда", 0.2, "reaction", oktmo=KOTELNICH, named=False)
    assert decide_thread(message).action is ThreadAction.SUPPORT
