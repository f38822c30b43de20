"""The answer review aid: each rule on real-looking answers, and the labelled example set."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from app.answer_review import AnswerDraft, ComplaintContext, FlagCode, review_answer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = Path(__file__).parent / "data" / "answer_review" / "examples.json"

HEATING = ComplaintContext(
    texts=(
        "В доме на ул. Ленина, 15 уже неделю нет отопления, батареи холодные 🥶 "
        "Управляющая компания трубку не берёт!!!",
    ),
    topic_group="ЖКХ",
    topic="Ненадлежащее качество или отсутствие отопления",
    municipality="город Киров",
    region_municipalities=("город Киров", "город Котельнич", "Слободской муниципальный район"),
)


def codes(
    text: str, *, attachments: bool = False, complaint: ComplaintContext = HEATING
) -> set[str]:
    return {f.code.value for f in review_answer(AnswerDraft(text, attachments), complaint)}


def test_a_good_answer_raises_nothing() -> None:
    text = (
        "Сообщаем, что 3 декабря в доме № 15 по ул. Ленина заменён участок стояка отопления, "
        "подача тепла восстановлена. Акт выполненных работ прилагается."
    )
    assert codes(text, attachments=True) == set()


def test_a_promise_without_a_date_is_flagged_and_a_date_clears_it() -> None:
    assert codes(
        "Неисправность отопления в доме по ул. Ленина, 15 устранят в ближайшее время."
    ) == {"no_term"}
    assert codes("Ремонт отопления будет выполнен по мере финансирования.") == {"no_term"}
    assert codes("Ремонт отопления в доме по ул. Ленина, 15 будет выполнен до 5 декабря.") == set()
    assert codes("Стояк отопления на ул. Ленина, 15 заменят сегодня до 18:00.") == set()


def test_a_documents_date_is_not_a_term_of_the_work() -> None:
    # "от 13.08.2006 № 491" dates the regulation, not the repair.
    text = "Ремонт отопления будет выполнен согласно постановлению от 13.08.2006 № 491."
    assert "no_term" in codes(text)


def test_done_without_evidence_unless_a_photo_an_act_or_a_file() -> None:
    done = "Подача отопления в доме № 15 по ул. Ленина восстановлена, неисправность устранена."
    assert codes(done) == {"no_evidence"}
    assert codes(done, attachments=True) == set()
    assert codes(done + " Фото прилагаем.") == set()
    # Promised or denied work is not work reported done.
    assert "no_evidence" not in codes("Неисправность будет устранена до 5 декабря.")
    assert "no_evidence" not in codes("Требования установлены ГОСТ Р 51617-2014.")


def test_only_citations_of_laws() -> None:
    law = (
        "В соответствии со ст. 161 Жилищного кодекса РФ и постановлением Правительства РФ "
        "от 13.08.2006 № 491 содержание общего имущества возлагается на управляющую организацию."
    )
    found = review_answer(AnswerDraft(law), HEATING)
    assert [f.code for f in found] == [FlagCode.ONLY_LAW]
    assert found[0].reason_ru.startswith("Ответ состоит из ссылок на нормативные акты")
    assert "ст. 161" in found[0].evidence
    # A citation beside the work done is fine.
    assert "only_law" not in codes(law + " Стояк отопления заменён 3 декабря, акт прилагается.")


def test_formal_brush_offs_and_redirections() -> None:
    assert codes("Ваше обращение рассмотрено. Информация принята к сведению.") == {"brush_off"}
    assert codes("По данному вопросу рекомендуем обратиться в управляющую компанию.") == {
        "brush_off"
    }
    assert (
        codes(
            "Ваше обращение рассмотрено: 3 декабря в доме № 15 по ул. Ленина заменён стояк "
            "отопления, акт прилагается."
        )
        == set()
    )


def test_another_address_street_house_or_town() -> None:
    assert codes("Отопление в доме № 27 по ул. Карла Маркса восстановлено, акт прилагается.") == {
        "other_address"
    }
    assert codes("Отопление в доме № 17 по ул. Ленина восстановлено, акт прилагается.") == {
        "other_address"
    }
    found = review_answer(
        AnswerDraft("Отопление в г. Котельниче восстановлено 3 декабря, акт прилагается."), HEATING
    )
    assert [f.code for f in found] == [FlagCode.OTHER_ADDRESS]
    assert "Котельниче" in found[0].reason_ru


def test_another_topic_at_the_same_address() -> None:
    text = "В доме № 15 по ул. Ленина проведена уборка подъездов и лифта, фотоотчёт прилагается."
    found = review_answer(AnswerDraft(text, True), HEATING)
    assert [f.code for f in found] == [FlagCode.OTHER_TOPIC]
    assert "подъезд" in found[0].reason_ru
    assert "отопление" in found[0].reason_ru


def test_an_answer_to_another_message() -> None:
    text = "Сообщаем, что автобусный маршрут № 44 с 1 декабря ходит по новому расписанию."
    assert codes(text) == {"unrelated"}


@pytest.mark.parametrize(
    "text",
    ["", "   ", "<p></p>", "👍👍👍", "<b>Ваше обращение рассмотрено.</b> " * 2000],
)
def test_empty_html_emoji_and_very_long_answers(text: str) -> None:
    found = review_answer(AnswerDraft(text), HEATING)
    assert all(f.reason_ru for f in found)
    if "рассмотрено" in text:
        assert [f.code for f in found] == [FlagCode.BRUSH_OFF]
    else:
        assert found == ()


def test_a_complaint_without_any_text_compares_nothing() -> None:
    empty = ComplaintContext(texts=())
    text = "Отопление в доме № 27 по ул. Карла Маркса восстановлено, акт прилагается."
    assert codes(text, complaint=empty) == set()


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "answer_review_bench", ROOT / "bench" / "answer_review.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_example_set_is_labelled_with_known_flags() -> None:
    data = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    answers = [a for s in data["scenarios"] for a in s["answers"]]
    assert len(answers) >= 150
    known = {c.value for c in FlagCode}
    for answer in answers:
        assert set(answer["flags"]) <= known, answer
    for code in known:
        assert sum(code in a["flags"] for a in answers) >= 8, code
    assert sum(not a["flags"] for a in answers) >= 30  # good answers too


def test_precision_on_the_example_set_is_at_least_0_9_per_flag() -> None:
    bench = _bench()
    scores, _ = bench.evaluate(bench.load_examples())
    for code, score in scores.items():
        assert score.precision >= 0.9, (code, score)
        assert score.recall >= 0.75, (code, score)
