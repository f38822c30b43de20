"""Build the seed corpus (classifier/corpus/data/seed.jsonl) from the hand-written templates.

The templates (classifier/corpus/templates/*.txt) hold several problem statements per
rubricator topic and many kinds of non-complaints. This script wraps them in the ways people
write in regional VK groups — greetings or none, an address, how long it has lasted, whom they
already called, a demand, emoji, caps, no punctuation, typos — with one seeded random generator,
so the output is the same on every run. The wrappers are shared by every group (and partly by
the non-complaints), so that only the content words tell the groups apart.

    python tools/build_seed_corpus.py [--check]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.corpus import parse_example  # noqa: E402
from classifier.noise import NOISE_KINDS  # noqa: E402
from classifier.rubricator import Rubricator, load_rubricator  # noqa: E402

TEMPLATES = ROOT / "classifier" / "corpus" / "templates"
OUTPUT = ROOT / "classifier" / "corpus" / "data" / "seed.jsonl"
SEED = 20261123
MIN_PER_TOPIC = 14
MIN_PER_GROUP = 110
MAX_PER_STATEMENT = 12
NOISE_PER_STATEMENT = 9
# The share of complaints written as the first clause alone, with no greeting, place or demand.
# Three in four real appeals have under 15 lemmas; on the SPb appeals 0.3 against 0.1 was +0.7
# points of macro-F1 (10 groups) and +0.5 of complaint recall at the same accuracy (mean of five
# generator seeds, docs/classifier.md).
TERSE_SHARE = 0.3

# The kind of non-complaint each "## noise:<heading>" holds (classifier.noise.NOISE_KINDS).
NOISE_KIND_OF: dict[str, str] = {
    "noise:ads": "ad",
    "noise:spam": "spam",
    "noise:news": "news",
    "noise:announcements": "news",
    "noise:notice": "notice",
    "noise:congratulations": "greeting",
    "noise:greeting": "greeting",
    "noise:gratitude": "thanks",
    "noise:thanks": "thanks",
    "noise:questions": "question",
    "noise:question": "question",
    "noise:chat": "reply",
    "noise:reply": "reply",
    "noise:reaction": "reaction",
    "noise:advice": "advice",
}
# Kinds written as comments under a post: no greeting first, often an emoji, sometimes aimed
# at another commenter by name.
COMMENT_KINDS = frozenset({"reaction", "advice", "reply"})

# --- Slot vocabularies -----------------------------------------------------------------------

STREETS = (
    "Ленина",
    "Мира",
    "Гагарина",
    "Кирова",
    "Пушкина",
    "Советской",
    "Комсомольской",
    "Молодежной",
    "Строителей",
    "Профсоюзной",
    "Чапаева",
    "Горького",
    "Октябрьской",
    "Труда",
    "Маяковского",
    "Лермонтова",
    "Садовой",
    "Школьной",
    "Заводской",
    "Юбилейной",
    "Свердлова",
    "Карла Маркса",
    "Победы",
    "Ленинградской",
    "Северной",
    "Луговой",
    "Лесной",
    "Набережной",
    "Дзержинского",
    "Калинина",
    "Первомайской",
    "Володарского",
    "Энгельса",
    "Попова",
    "Красноармейской",
    "Северо-Садовой",
    "Щорса",
    "Космонавтов",
    "Уральской",
    "Вокзальной",
)
HOUSES = ("5", "12", "3а", "47", "18/2", "д.9", "д 14", "101", "7 корп 2", "33", "2б", "68")
TOWNS_PREP = (
    "Кирове",
    "Слободском",
    "Котельниче",
    "Кирово-Чепецке",
    "Вятских Полянах",
    "Омутнинске",
    "Советске",
    "Яранске",
    "Уржуме",
    "Перми",
    "Березниках",
    "Соликамске",
    "Чайковском",
    "Кунгуре",
    "Лысьве",
    "Краснокамске",
    "Чусовом",
    "Кудымкаре",
    "Нововятске",
    "Лянгасово",
    "Белой Холунице",
    "Зуевке",
    "Оханске",
    "Осе",
    "Верещагино",
    "Добрянке",
)
TOWNS_NOM = ("Киров", "Слободской", "Котельнич", "Пермь", "Березники", "Кунгур", "Уржум")
VILLAGES = (
    "д. Бахта",
    "с. Филиппово",
    "пгт Юрья",
    "пос. Ленинское",
    "д.Малая Субботиха",
    "с Бобино",
    "пгт Арбаж",
    "деревня Шихово",
    "поселок Вахруши",
    "с. Сива",
    "пос Ильинский",
    "д. Осиновка",
    "с.Карагай",
    "п. Полазна",
)
# First names, as a reply addresses another commenter ("Оля, ...").
_NAMES = """Ира Сергей Наталья Витя Оля Александр Лена Григорий Костя Люба Женя Марат Анастасия
        Фёдор Зоя Саша Лёша Андрей Антон Артём Борис Вадим Валентин Валерий Вася Виктор
        Виталий Вова Влад Глеб Гриша Денис Дима Дмитрий Егор Иван Ваня Игорь Илья Кирилл
        Максим Миша Никита Коля Олег Павел Паша Пётр Роман Руслан Серёжа Стас Степан Тимур
        Юрий Юра Ярослав Анна Аня Алёна Алла Алина Настя Валентина Валя Вера Вероника Вика
        Галина Галя Дарья Даша Диана Ева Евгения Екатерина Катя Елена Лиза Жанна Инна Ирина
        Карина Кира Кристина Ксения Лариса Лидия Людмила Люда Марина Мария Маша Надежда Надя
        Наташа Нина Оксана Ольга Полина Роза Светлана Света Тамара Татьяна Таня Эльвира Юлия
        Юля Яна"""
SLOTS: dict[str, tuple[str, ...]] = {
    "street": STREETS,
    "house": HOUSES,
    "n": tuple(str(i) for i in range(2, 10)),
    "route": ("12", "№ 5", "112", "33а", "№21", "7", "44", "101", "маршрут 9", "номер 3"),
    "num": tuple(str(y) for y in range(2012, 2024)),
    "days": ("3", "4", "5", "6", "7", "10", "десять", "пять", "несколько"),
    "school": ("№5", "№ 12", "5", "37", "№1", "номер 8", "гимназии", "лицея"),
    "kg": ("5", "10", "15", "20", "30"),
    "town_prep": TOWNS_PREP,
    "town_nom": TOWNS_NOM,
    "name": (*_NAMES.split(), "Наталья Ивановна", "Татьяна Петровна", "Галина Сергеевна"),
}

# --- Wrappers shared by every group ------------------------------------------------------------

OPENERS = (
    "Здравствуйте!",
    "Здравствуйте.",
    "Добрый день.",
    "Добрый день!",
    "Доброго времени суток.",
    "Добрый вечер",
    "Уважаемая администрация!",
    "Администрация,",
    "Админ, опубликуй анонимно.",
    "Опубликуйте пожалуйста.",
    "Люди добрые,",
    "Помогите!",
    "Вопрос к администрации:",
    "Хочу пожаловаться.",
    "Сколько можно!!!",
    "Глава, ответьте!",
    "ЦУР,",
    "Обращение.",
    "Доброе утро.",
    "Здрасте",
    "Граждане,",
    "Анонимно.",
    "Жители {street} просят помощи.",
)
PLACES = (
    "в {town_prep}",
    "у нас в {town_prep}",
    "на {street} {house}",
    "по ул. {street} д.{house}",
    "ул {street} {house}",
    "{village}",
    "в {village}",
    "у нас в поселке",
    "в нашем микрорайоне",
    "г. {town_nom}, ул. {street}",
    "на ул.{street}",
    "около дома {house} на {street}",
    "в районе {street}",
    "{town_nom}, {street} {house}",
)
DURATIONS = (
    "уже неделю",
    "третий день",
    "второй месяц",
    "с весны",
    "с прошлого года",
    "каждый год одно и то же",
    "с {n} числа",
    "уже {n} дня",
    "всю зиму",
    "полгода",
    "который год",
    "с понедельника",
    "давно",
)
ACTIONS = (
    "звонили в администрацию — без толку",
    "писали уже {n} раза, ответа нет",
    "обращались, обещают и ничего",
    "заявку приняли и забыли",
    "звонили в 112, отфутболили",
    "все кивают друг на друга",
    "писали в приемную, тишина",
    "ответ один: нет денег",
    "никто не реагирует",
    "жалобы игнорируют",
    "говорят не наша зона ответственности",
    "приезжали посмотрели и уехали",
    "отписки одни",
)
DEMANDS = (
    "Примите меры!",
    "Когда это закончится?",
    "Куда смотрит администрация?",
    "Разберитесь пожалуйста.",
    "Сколько можно терпеть?",
    "Позор!",
    "Это нормально вообще?",
    "Надеемся на помощь.",
    "Прошу принять меры.",
    "Дайте ответ.",
    "Терпение кончилось.",
    "Ау, власти!",
    "Помогите решить вопрос.",
    "Кто за это отвечает?",
    "Когда сделают?",
    "Спасибо заранее.",
    "Прошу разобраться.",
    "Будем писать в прокуратуру.",
    "Это безобразие.",
    "Кому жаловаться?",
    "Очень просим!",
    "Сделайте уже что-нибудь",
    "Доколе?",
    "Невозможно так жить.",
    "Опять двадцать пять.",
    "Просим помочь",
)
QUESTION_FRAMES = (
    "Подскажите, кто отвечает: {core}?",
    "{core}, куда обращаться?",
    "Почему {core}?",
    "{core}. Кому жаловаться?",
    "Кто-нибудь знает когда решат: {core}?",
    "{core} — это вообще законно?",
)
NOISE_OPENERS = (
    "Здравствуйте!",
    "Добрый день.",
    "Всем привет!",
    "Люди добрые,",
    "Опубликуйте пожалуйста.",
    "Админ, опубликуй.",
    "Доброе утро.",
    "Внимание!",
    "Друзья,",
    "Уважаемые жители!",
)
NOISE_TAILS: dict[str, tuple[str, ...]] = {
    "noise:ads": ("Звоните!", "Пишите в лс.", "Подробности по телефону.", "Недорого.", "Торг."),
    "noise:spam": ("Пишите в лс.", "Подписывайтесь!", "Переходи!", "Успей!"),
    "noise:questions": ("Заранее спасибо.", "Кто знает?", "Ответьте пожалуйста.", "Спасибо!"),
    "noise:chat": ("Кто знает?", "Всем добра.", "Всем хорошего дня!", ")))", "Спасибо!"),
    "noise:announcements": ("Ждем вас!", "Репост приветствуется.", "Приходите!"),
}
GENERIC_NOISE_TAILS = ("Всем добра.", "Всем хорошего дня!", "Репост приветствуется.", "Спасибо!")
EMOJI = ("😡", "🤬", "😠", "🙏", "😢", "🤦‍♀️", "💩", "👎", "😤", "‼️", "😭", "🤷‍♂️")
REACTION_EMOJI = ("👍", "😡", "🤦", "😂", "🤬", "👏", "😢", "💯", "🙄", "😱", "👎", "🤷")
NOISE_EMOJI = ("😊", "👍", "🎉", "❤️", "🌸", "🔥", "✅", "📞", "💐", "😂", "🙂", "☀️")

# Spelling as people type it.
MISSPELLINGS: dict[str, tuple[str, ...]] = {
    "что": ("што", "чо", "что"),
    "сейчас": ("щас", "счас"),
    "вообще": ("ваще", "вобще"),
    "пожалуйста": ("пожалуйсто", "пожалуста", "плиз"),
    "здравствуйте": ("здраствуйте", "здрасьте"),
    "еще": ("ещо", "исчо"),
    "конечно": ("канешно", "конешно"),
    "сегодня": ("седня", "сёдня"),
    "администрация": ("администрацыя", "адменистрация", "админисрация"),
    "администрации": ("администраций", "адменистрации"),
    "когда": ("кагда", "када"),
    "никто": ("ни кто",),
    "ничего": ("ни чего", "ничо"),
    "сколько": ("скока", "скалько"),
    "почему": ("почиму", "пачему"),
    "невозможно": ("не возможно",),
    "уже": ("уж", "ужэ"),
    "будет": ("бкдет", "будит"),
    "тоже": ("то же",),
    "подъезд": ("подьезд", "подезд"),
    "подъезде": ("подьезде",),
    "делать": ("делоть",),
    "опять": ("апять",),
    "снег": ("снек",),
}
_TSYA = re.compile(r"(\w+)(ться|тся)\b")
_WORD = re.compile(r"[А-Яа-яЁё]+")


def _fill(template: str, rng: random.Random) -> str:
    """Put a random value into each {slot} of a template."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "village":
            return rng.choice(VILLAGES)
        return rng.choice(SLOTS[name])

    return re.sub(r"\{(\w+)\}", one, template)


def _typo(word: str, rng: random.Random) -> str:
    """Misspell one word the way fast thumbs do: a swapped, dropped or doubled letter."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _roughen(text: str, rng: random.Random, *, rate: float) -> str:
    """Apply the habits of quick social-network writing with probability ``rate`` each."""

    def word(match: re.Match[str]) -> str:
        w = match.group(0)
        low = w.lower()
        if low in MISSPELLINGS and rng.random() < rate * 3:
            return rng.choice(MISSPELLINGS[low])
        if rng.random() < rate * 0.2:
            return _typo(w, rng)
        return w

    text = _WORD.sub(word, text)
    if rng.random() < rate:
        text = _TSYA.sub(lambda m: m.group(1) + ("тся" if m.group(2) == "ться" else "ться"), text)
    if rng.random() < 0.7:
        text = text.replace("ё", "е")
    roll = rng.random()
    if roll < 0.35:
        text = text.lower()
    elif roll < 0.40:
        text = text.upper()
    elif roll < 0.47:
        first, _, rest = text.partition(" ")
        text = f"{first.upper()} {rest}".strip()
    if rng.random() < 0.3:
        text = re.sub(r"[.,;:]", "", text)
    if rng.random() < 0.15:
        text = re.sub(r"[!?]+$", lambda m: m.group(0)[0] * rng.randint(2, 5), text)
    return re.sub(r"\s+", " ", text).strip()


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def _end(text: str, rng: random.Random) -> str:
    if text and text[-1] in ".!?,":
        return text
    return text + rng.choice((".", "!", "", "", "!!!", "..."))


def complaint_text(statement: str, other: str | None, rng: random.Random) -> str:
    """Wrap one problem statement in a randomly chosen way people write a complaint."""
    core = _fill(statement, rng)
    if other is not None and rng.random() < 0.18:
        core = f"{core}, {rng.choice(('а еще', 'и еще', 'плюс', 'кроме того'))} {_fill(other, rng)}"
    parts: list[str] = []
    style = rng.random()
    if style < TERSE_SHARE:
        # Terse, as most messages are: the first clause only ("ямы во дворе", "нет воды").
        first = core.split(",")[0].strip()
        return _roughen(first if len(first.split()) >= 2 else core, rng, rate=0.12)
    if style < TERSE_SHARE + 0.1:
        frame = rng.choice(QUESTION_FRAMES)
        body = frame.format(core=core)
        parts.append(_sentence(body))
    elif style < TERSE_SHARE + 0.2:
        parts.append(_sentence(core))
    else:
        if rng.random() < 0.45:
            parts.append(_fill(rng.choice(OPENERS), rng))
        body = core
        if rng.random() < 0.4:
            place = _fill(rng.choice(PLACES), rng)
            body = f"{place} {body}" if rng.random() < 0.6 else f"{body} {place}"
        if rng.random() < 0.3:
            body = f"{body}, {_fill(rng.choice(DURATIONS), rng)}"
        parts.append(_end(_sentence(body), rng))
        if rng.random() < 0.3:
            parts.append(_end(_sentence(_fill(rng.choice(ACTIONS), rng)), rng))
        if rng.random() < 0.55:
            parts.append(rng.choice(DEMANDS))
    text = " ".join(p for p in parts if p)
    if rng.random() < 0.25:
        text = f"{text} {rng.choice(EMOJI) * rng.randint(1, 3)}"
    return _roughen(text, rng, rate=0.12)


def noise_text(statement: str, kind: str, rng: random.Random) -> str:
    """Wrap one non-complaint in a randomly chosen way people post it."""
    body = _sentence(_fill(statement, rng))
    parts: list[str] = []
    if rng.random() < 0.25:
        parts.append(rng.choice(NOISE_OPENERS))
    parts.append(_end(body, rng))
    if rng.random() < 0.3:
        parts.append(rng.choice(NOISE_TAILS.get(kind, GENERIC_NOISE_TAILS)))
    text = " ".join(parts)
    if rng.random() < 0.3:
        text = f"{text} {rng.choice(NOISE_EMOJI) * rng.randint(1, 3)}"
    return _roughen(text, rng, rate=0.1)


def comment_noise_text(statement: str, kind: str, rng: random.Random) -> str:
    """Wrap a reaction, a piece of advice or a reply the way comments are written."""
    body = _fill(statement, rng)
    if kind != "reply" and rng.random() < 0.15:
        body = f"{rng.choice(SLOTS['name'])}, {body}"
    text = _end(_sentence(body), rng)
    if rng.random() < 0.4:
        emoji = rng.choice(REACTION_EMOJI)
        text = f"{text} {emoji * rng.randint(1, 3)}"
    return _roughen(text, rng, rate=0.12)


# --- Templates ---------------------------------------------------------------------------------


def read_templates(directory: Path) -> dict[str, list[str]]:
    """Read every "## heading" block of the template files: heading -> statements."""
    blocks: dict[str, list[str]] = {}
    for path in sorted(directory.glob("*.txt")):
        current: list[str] | None = None
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line.startswith("## "):
                heading = line[3:].strip()
                current = blocks.setdefault(heading, [])  # a later file may add phrasings
            elif line and not line.startswith("#"):
                if current is None:
                    raise SystemExit(f"{path.name}: a statement before any heading: {line!r}")
                current.append(line)
    return blocks


def resolve_topics(blocks: dict[str, list[str]], rubricator: Rubricator) -> dict[str, list[str]]:
    """Map each topic heading (a unique prefix of a topic name) to its rubricator topic."""
    names = [t.name for t in rubricator.topics]
    resolved: dict[str, list[str]] = {}
    for heading, statements in blocks.items():
        if heading.startswith("noise:"):
            continue
        exact = [n for n in names if n == heading]
        found = exact or [n for n in names if n.startswith(heading)]
        if len(found) != 1:
            raise SystemExit(f"heading {heading!r} matches {len(found)} topics: {found}")
        resolved[found[0]] = resolved.get(found[0], []) + statements
    missing = [n for n in names if n not in resolved]
    if missing:
        raise SystemExit(f"topics without statements: {missing}")
    return resolved


def _unique(make: Callable[[], str], count: int, seen: set[str], *, tries: int = 6) -> list[str]:
    out: list[str] = []
    for _ in range(count):
        for _attempt in range(tries):
            text = make()
            key = text.lower()
            if key not in seen:
                seen.add(key)
                out.append(text)
                break
    return out


def build(rubricator: Rubricator, blocks: dict[str, list[str]]) -> list[dict[str, object]]:
    """Generate every example, deterministically."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible text generation, not security
    topics = resolve_topics(blocks, rubricator)
    seen: set[str] = set()
    rows: list[dict[str, object]] = []
    for group in rubricator.groups:
        members = rubricator.topics_of(group)
        per_topic = max(MIN_PER_TOPIC, math.ceil(MIN_PER_GROUP / len(members)))
        for topic in members:
            statements = topics[topic.name]
            count = min(max(per_topic, 3 * len(statements)), MAX_PER_STATEMENT * len(statements))
            for i in range(count):
                statement = statements[i % len(statements)]
                others = [s for s in statements if s != statement]
                other = rng.choice(others) if others else None
                make = partial(complaint_text, statement, other, rng)
                for text in _unique(make, 1, seen):
                    rows.append(
                        {
                            "text": text,
                            "is_complaint": True,
                            "group": group,
                            "topic": topic.name,
                            "kind": None,
                        }
                    )
    for heading, statements in blocks.items():
        if not heading.startswith("noise:"):
            continue
        kind = NOISE_KIND_OF.get(heading)
        if kind not in NOISE_KINDS:
            raise SystemExit(f"heading {heading!r} names no kind of non-complaint")
        wrap = comment_noise_text if kind in COMMENT_KINDS else noise_text
        for statement in statements:
            make = partial(wrap, statement, kind if kind in COMMENT_KINDS else heading, rng)
            for text in _unique(make, NOISE_PER_STATEMENT, seen):
                rows.append(_noise_row(text, kind))
    rng.shuffle(rows)
    for number, row in enumerate(rows, start=1):
        parse_example(row, where=f"generated example {number}")
    return rows


def _noise_row(text: str, kind: str) -> dict[str, object]:
    return {"text": text, "is_complaint": False, "group": None, "topic": None, "kind": kind}


def render(rows: list[dict[str, object]]) -> str:
    """Serialise rows as JSON Lines, one object per line, keys in a fixed order."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    """Write the corpus, or with --check compare the committed file with a fresh build."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    rows = build(load_rubricator(), read_templates(TEMPLATES))
    text = render(rows)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run tools/build_seed_corpus.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date ({len(rows)} examples)")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    complaints = sum(1 for r in rows if r["is_complaint"])
    print(f"wrote {len(rows)} examples ({complaints} complaints) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
