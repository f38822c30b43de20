"""Official notices as context: a planned outage or closure, and the complaints it explains.

A notice from an official community («15 апреля с 9:00 до 18:00 будет отключено холодное
водоснабжение по адресам: ул. Гагарина, ул. Мира») is not a complaint, but complaints about that
service on those streets during that window (and a little after it: an overrun is what people
complain about) are about it. :func:`parse_notice` reads what, where and when from the notice's
text; :func:`explain` finds the notice a complaint falls under, so the operator sees
«плановое отключение» next to it. Pure: text, lemmas and times in, plain values out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

__all__ = [
    "OutageNotice",
    "announces_outage",
    "explain",
    "notice_streets",
    "parse_notice",
]

# What is switched off or closed, by lemma: (service, the rubricator group its complaints go to).
_SERVICES: tuple[tuple[frozenset[str], str, str], ...] = (
    (frozenset({"горячий"}), "горячая вода", "ЖКХ"),
    (frozenset({"холодный", "водоснабжение", "вода", "водопровод"}), "вода", "ЖКХ"),
    (
        frozenset({"электроэнергия", "электроснабжение", "свет", "электричество"}),
        "свет",
        "Электроснабжение",
    ),
    (frozenset({"газ", "газоснабжение"}), "газ", "Газ и топливо"),
    (frozenset({"отопление", "теплоснабжение", "опрессовка"}), "отопление", "ЖКХ"),
    (frozenset({"движение", "проезд", "перекрытие", "перекрыть"}), "движение", "Дороги"),
)
_OUTAGE = frozenset(
    {
        "отключение",
        "отключить",
        "отключать",
        "прекращение",
        "прекратить",
        "перекрытие",
        "перекрыть",
        "ограничение",
        "ограничить",
        "опрессовка",
        "плановый",
        "перебой",
    }
)
_MONTHS = {
    "январ": 1,
    "феврал": 2,
    "март": 3,
    "апрел": 4,
    "ма": 5,
    "июн": 6,
    "июл": 7,
    "август": 8,
    "сентябр": 9,
    "октябр": 10,
    "ноябр": 11,
    "декабр": 12,
}
_MONTH = (
    r"(январ[яе]|феврал[яе]|марта?|апрел[яе]|ма[яе]|июн[яе]|июл[яе]|августа?|сентябр[яе]"
    r"|октябр[яе]|ноябр[яе]|декабр[яе])"
)
_DATE_RANGE = re.compile(
    rf"\bс\s+(\d{{1,2}})\s*(?:{_MONTH}\s*)?(?:по|до|-|—|–)\s*(\d{{1,2}})\s+{_MONTH}", re.I
)
_DATE = re.compile(rf"\b(\d{{1,2}})\s+{_MONTH}", re.I)
_TIME_RANGE = re.compile(
    r"\bс\s+(\d{1,2})(?:[:.](\d{2}))?\s*(?:ч\.?|часов)?\s+до\s+(\d{1,2})(?:[:.](\d{2}))?"
)
_STREET = re.compile(
    r"\b(?:ул\.?|улиц[аеыу]|пр\.?|проспект[аеу]?|пер\.?|переул(?:ок|ке|ка))\s*"
    r"([А-ЯЁ][а-яё]+(?:[\s-][А-ЯЁ][а-яё]+)?)"
)
#: How long after a notice's window complaints are still read as about it (overruns).
OVERRUN = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class OutageNotice:
    """A planned outage or closure: what, which streets (stems), when (aware UTC)."""

    key: str  # the notice message's key
    service: str  # "вода", "горячая вода", "свет", "газ", "отопление", "движение"
    topic_group: str
    streets: frozenset[str]
    starts_at: datetime
    ends_at: datetime
    text: str = ""

    @property
    def label(self) -> str:
        """Return what the operator sees next to a complaint it explains."""
        return f"плановое отключение: {self.service}"


def _stem(street: str) -> str:
    """Reduce a street name to a stem that survives its grammatical cases."""
    word = street.split()[0].casefold().replace("ё", "е")
    return re.sub(r"(ая|ой|ую|ей|ий|ого|ому|ым|ом|ы|а|у|е|и|я)$", "", word) or word


def notice_streets(text: str) -> frozenset[str]:
    """Return the stems of the streets a text names after a street word (ул., проспект, ...)."""
    found = set()
    for match in _STREET.finditer(text):
        found.add(_stem(match.group(1)))
    # "ул. Гагарина 1–15, Мира 2–20": names listed after the first street word
    tail = re.findall(r"[,;]\s*([А-ЯЁ][а-яё]+)\s+\d", text)
    found.update(_stem(t) for t in tail)
    return frozenset(found)


def _month(word: str) -> int:
    low = word.casefold()
    for stem, number in _MONTHS.items():
        if low.startswith(stem):
            return number
    raise ValueError(word)


def _window(text: str, posted_at: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return the notice's window in UTC: dates and hours if given, else the next day."""
    local = posted_at.astimezone(zone)
    year = local.year
    first = last = None
    ranged = _DATE_RANGE.search(text)
    if ranged:
        d1, m1, d2, m2 = ranged.groups()
        month2 = _month(m2)
        first = (int(d1), _month(m1) if m1 else month2)
        last = (int(d2), month2)
    else:
        single = _DATE.search(text)
        if single:
            first = last = (int(single.group(1)), _month(single.group(2)))
    hours = _TIME_RANGE.search(text)
    start_t, end_t = time(0, 0), time(23, 59)
    if hours:
        h1, m1_, h2, m2_ = hours.groups()
        start_t = time(min(int(h1), 23), int(m1_ or 0))
        end_t = time(min(int(h2), 23), int(m2_ or 0))
    if first is None or last is None:  # no date: today, or tomorrow when it says so
        base = local.date() + timedelta(days=1 if "завтра" in text.casefold() else 0)
        start = datetime.combine(base, start_t, zone)
        end = datetime.combine(base if hours else base + timedelta(days=1), end_t, zone)
    else:
        start = datetime.combine(datetime(year, first[1], first[0]).date(), start_t, zone)
        end = datetime.combine(datetime(year, last[1], last[0]).date(), end_t, zone)
        if end < start:  # "с 25 декабря по 10 января"
            end = end.replace(year=year + 1)
        if end < local - timedelta(days=180):  # a date early next year
            start, end = start.replace(year=year + 1), end.replace(year=year + 1)
    return start.astimezone(UTC), end.astimezone(UTC)


# How an announcement speaks («Уважаемые жители!», «Администрация сообщает», «будет отключено»),
# and what only a complaint says («до сих пор нет», «опять», «обещали»), by lemma.
_ANNOUNCING = frozenset(
    {"житель", "сообщать", "информировать", "извинение", "уведомлять", "плановый"}
)
_COMPLAINING = frozenset(
    {"нет", "опять", "снова", "обещать", "почему", "когда", "сколько", "сих", "пор", "уже"}
    | {"помочь", "помогите", "просить", "разобраться", "мера", "жаловаться", "безобразие"}
)


def announces_outage(lemmas: Sequence[str]) -> bool:
    """Tell whether a text reads as an announcement of an outage, not a complaint about one.

    An outage word, a service, an announcement's words («уважаемые жители», «сообщает»,
    «плановое») and none of a complaint's («нет», «опять», «обещали», «когда», «уже»): the
    classifier may call such a post a complaint (it names a service and a failure), the pipeline
    reads it as a notice.
    """
    words = set(lemmas)
    if not words & _OUTAGE or not words & _ANNOUNCING or words & _COMPLAINING:
        return False
    return any(words & keys for keys, _name, _group in _SERVICES)


def parse_notice(
    *,
    key: str,
    text: str,
    lemmas: Sequence[str],
    posted_at: datetime,
    zone: tzinfo = UTC,
) -> OutageNotice | None:
    """Read a planned outage or closure from a notice; None when the text announces none.

    ``zone`` is the region's time zone (the notice's dates and hours are local).
    """
    words = set(lemmas)
    if not words & _OUTAGE:
        return None
    service = next(((name, group) for keys, name, group in _SERVICES if words & keys), None)
    if service is None:
        return None
    start, end = _window(text, posted_at, zone)
    return OutageNotice(
        key=key,
        service=service[0],
        topic_group=service[1],
        streets=notice_streets(text),
        starts_at=start,
        ends_at=end,
        text=text,
    )


def explain(
    notices: Iterable[OutageNotice],
    *,
    topic_group: str | None,
    text: str,
    posted_at: datetime,
) -> OutageNotice | None:
    """Return the notice a complaint falls under: same group, a street of it, in its window.

    A notice naming no street explains complaints of its group anywhere (in the source's
    territory, which the caller chooses the notices by). The window runs to ``OVERRUN`` after
    the notice's end.
    """
    streets = {_stem(w) for w in re.findall(r"[А-ЯЁ][а-яё]+", text)}
    best: OutageNotice | None = None
    for notice in notices:
        if notice.topic_group != topic_group:
            continue
        if not notice.starts_at <= posted_at <= notice.ends_at + OVERRUN:
            continue
        if notice.streets and not notice.streets & streets:
            continue
        if best is None or notice.starts_at > best.starts_at:
            best = notice
    return best
