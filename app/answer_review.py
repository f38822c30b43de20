"""The answer review aid: flags an executor's answer that a region's rules would send back.

Pure functions over dataclasses: the answer (its text, whether files are attached) and the
complaint it answers (the incident's message texts, topic, municipality) go in, a tuple of
``Flag`` (a code, the reason in Russian for the operator, the words that triggered it) comes
out. The flags are advice shown next to the answer under review; they never block approval.
How each rule decides, and how well, is docs/answer-review.md.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from classifier.text import fold, tokenize
from router.fingerprint import content_terms, extract_address, stem

__all__ = [
    "AnswerDraft",
    "ComplaintContext",
    "Flag",
    "FlagCode",
    "review_answer",
]


class FlagCode(enum.StrEnum):
    """Why an answer would be sent back."""

    NO_TERM = "no_term"  # work promised without a date or term
    NO_EVIDENCE = "no_evidence"  # "выполнено" without a photo, an attachment or an act
    ONLY_LAW = "only_law"  # citations of laws and nothing of substance
    BRUSH_OFF = "brush_off"  # "обращение рассмотрено", a redirection without action
    OTHER_TOPIC = "other_topic"  # about another problem than the complaint
    OTHER_ADDRESS = "other_address"  # about another street, house or town
    UNRELATED = "unrelated"  # shares nothing with the complaint: an answer to another message


@dataclass(frozen=True, slots=True)
class Flag:
    """One reason to send the answer back: its code, the reason for the operator, the cues."""

    code: FlagCode
    reason_ru: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnswerDraft:
    """The answer under review."""

    text: str
    has_attachments: bool = False


@dataclass(frozen=True, slots=True)
class ComplaintContext:
    """What the answer should answer: the incident's messages and classification."""

    texts: tuple[str, ...]
    topic_group: str | None = None
    topic: str | None = None
    municipality: str | None = None
    #: The region's municipality names ("Котельнич", "Слободской муниципальный район"):
    #: a town the answer names is compared with the incident's only when it is one of them.
    region_municipalities: tuple[str, ...] = ()


_REASONS: dict[FlagCode, str] = {
    FlagCode.NO_TERM: "Не указан срок работ: обещание без даты («{cue}»).",
    FlagCode.NO_EVIDENCE: (
        "Работы названы выполненными («{cue}»), но нет фото, вложения или акта."
    ),
    FlagCode.ONLY_LAW: (
        "Ответ состоит из ссылок на нормативные акты («{cue}») без сути: что сделано или когда "
        "будет сделано."
    ),
    FlagCode.BRUSH_OFF: "Формальная отписка («{cue}»): не сказано, что сделано по обращению.",
    FlagCode.OTHER_TOPIC: "Ответ о другой проблеме: {cue}.",
    FlagCode.OTHER_ADDRESS: "Ответ о другом адресе: {cue}.",
    FlagCode.UNRELATED: (
        "Ответ не пересекается с обращением ни по одному слову о сути: похоже, он на другое "
        "обращение ({cue})."
    ),
}


def _flag(code: FlagCode, cue: str, evidence: Iterable[str]) -> Flag:
    return Flag(code, _REASONS[code].format(cue=cue), tuple(evidence))


# ------------------------------------------------------------------ text preparation

_MONTHS = (
    r"январ\w*|феврал\w*|март\w*|апрел\w*|ма[йяю]|июн\w*|июл\w*|август\w*|сентябр\w*|"
    r"октябр\w*|ноябр\w*|декабр\w*"
)
#: A document's date and number: "от 13.08.2006 № 491", "от 27 декабря 2018 г. № 498-ФЗ".
_DATED_DOCUMENT = (
    rf"\bот\s+(?:\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}|\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{4}})"
    r"(?:\s*г(?:ода|\.)?)?(?:\s*№\s*[\w./()-]+)?"
)
_DOCUMENT_REF = re.compile(
    rf"{_DATED_DOCUMENT}|№\s*[\w./()-]+"
    # the numbers of a law's parts and of standards: "п. 4.1.1", "ст. 36", "ГОСТ 32144-2013"
    r"|\b(?:п|пп|ч|ст|стать[яиеюй]|пункт\w*)\.?\s*\d[\d.()]*"
    r"|\b(?:санпин|гост(?:\s+р)?|снип|сп)\s+[\d.-]+(?:-\d+)?"
    r"|\b\d+-(?:фз|зо|кз)\b",
    re.IGNORECASE,
)


def _plain(text: str) -> str:
    """Lower-case, "е" for "ё", tags and runs of spaces gone."""
    text = re.sub(r"<[^>]{0,200}>", " ", text)
    return re.sub(r"\s+", " ", fold(text)).strip()


_DOCUMENT_DATE = re.compile(_DATED_DOCUMENT, re.IGNORECASE)


def _without_documents(text: str) -> str:
    """The text with the documents' dates and numbers taken out (they are not terms)."""
    return _DOCUMENT_REF.sub(" ", text)


def _find(patterns: Sequence[re.Pattern[str]], text: str) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        found.extend(m.group(0) for m in pattern.finditer(text))
    return found


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


# ------------------------------------------------------------------ dates and promises

#: A concrete date or term: "до 15 мая", "3 декабря", "в 2027 году", "сегодня до 18:00".
_TERMS = _compile(
    r"\b\d{1,2}\.\d{1,2}(?:\.\d{2,4})?\b",
    rf"\b\d{{1,2}}\s*(?:-|–)?\s*(?:{_MONTHS})\b",
    rf"\b(?:в|во|до|к|с|на)\s+(?:{_MONTHS})\b",
    r"\b20\d\d\s*(?:год\w*|г\.)",
    r"\b(?:сегодня|завтра|послезавтра)\b",
    r"\bв течение\s+(?:\d+\s+)?(?:\w+\s+)?(?:час\w*|дн\w*|дня|суток|недел\w*|месяц\w*)",
    r"\bдо конца\s+(?:недели|месяца|года|текущего|\w+\s+квартала)",
    r"\b(?:[1-4]|i{1,3}|iv)\s*(?:-?м|-?й)?\s+квартал\w*",
    r"\bна (?:этой|следующей|будущей) неделе\b",
    r"\bв (?:понедельник|вторник|среду|четверг|пятницу|субботу|воскресенье)\b",
    r"\b\d{1,2}:\d{2}\b",
    r"\b\d+\s+(?:рабоч\w+\s+)?(?:дн\w*|дня|час\w*|суток)\b",
    r"\bв срок до\b",
)
#: Terms that are no terms: the region sends these back even with a promise.
_VAGUE = _compile(
    r"\bв ближайшее время\b",
    r"\bв кратчайшие сроки\b",
    r"\bпо мере (?:финансирования|поступления|выделения|возможности)\w*",
    r"\bпри (?:наличии|поступлении|выделении) (?:\w+ )?(?:средств|финансирования|лимитов)\w*",
    r"\bпосле (?:поступления|выделения) (?:\w+ )?(?:средств|финансирования|лимитов)\w*",
    r"\bв рамках (?:выделенных|доведенных) (?:лимитов|средств)\w*",
    r"\bв порядке (?:очередности|очереди)\b",
    r"\bв плановом порядке\b",
    r"\bв (?:летний|весенний|осенний|зимний|теплый) период\b",
    r"\bпосле (?:окончания|завершения) (?:отопительного сезона|\w+ работ|ремонта|проверки)\b",
    r"\bпосле (?:схода снега|проверки)\b",
    r"\bпосле (?:\w+ )?(?:поступления|согласования|выделения|утверждения)\b",
    r"\bрассмотр\w* возможност\w*",
)
#: Words of a promise of future work.
_FUTURE = _compile(
    r"\bбуд(?:ет|ут)\s+(?:\w+\s+){0,2}?(?:выполн|произвед|провед|устран|отремонтир|замен|"
    r"установ|вывез|убран|ликвидир|восстановл|возобновл|организ|рассмотр|решен|проработ|"
    r"очищ|сделан|отражен|построен|обустро|проверен)\w*",
    r"\b(?:планиру\w+|запланирован\w*|предусмотрен\w*|намечен\w*|включен\w* в (?:план|программ|"
    r"перечень))",
    r"\b(?:проведет|проведут|выполнит|выполнят|устранит|устранят|заменит|заменят|очистит|"
    r"очистят|уберет|уберут|вывезет|вывезут|установит|установят|отремонтирует|отремонтируют|"
    r"восстановит|восстановят|обработает|обработают|посетит|выйдут|выйдет)\b",
    r"\bпоручено\b",
    # "будет запущен", "будут добавлены", "будет проводиться": any participle or infinitive
    r"\bбуд(?:ет|ут)\s+(?:\w+\s+){0,2}?\w{3,}(?:ен|ан|ян|ит|ыт)(?:а|о|ы)?\b",
    r"\bбуд(?:ет|ут)\s+(?:\w+\s+){0,2}?\w{3,}ть(?:ся)?\b",
)


def _vague_or_promise_without_term(text: str) -> Flag | None:
    body = _without_documents(text)
    vague = _find(_VAGUE, body)
    terms = _find(_TERMS, body)
    if terms:
        return None
    if vague:
        return _flag(FlagCode.NO_TERM, vague[0], vague)
    promises = _find(_FUTURE, body)
    if promises:
        return _flag(FlagCode.NO_TERM, promises[0], promises)
    return None


# ------------------------------------------------------------------ work reported done

_DONE_STEMS = (
    "выполнен|устранен|отремонтирован|восстановлен|произведен|проведен|заменен|установлен|"
    "убран|вывезен|ликвидирован|засыпан|очищен|завершен|подключен|возобновлен|нормализован|"
    "скошен|спилен|демонтирован|прочищен|заасфальтирован|исправлен|отловлен|перечислен|"
    "осушен|откачан|сбит|распилен|срезан|промыт|отсыпан|сделан|налажен|обработан"
)
_DONE = _compile(
    rf"\b(?:{_DONE_STEMS})(?:а|о|ы|и|ное|ная|ные|ный)?\b",
    r"\b(?:выполнил|устранил|отремонтировал|восстановил|произвел|провел|заменил|убрал|вывез|"
    r"засыпал|очистил|завершил|отловил|перечислил|сделал|подключил)(?:а|и|о)?\b",
)
#: Words that turn a done form into a promise or a denial ("будет выполнен", "не устранена").
_NOT_DONE_BEFORE = re.compile(
    r"(?:\bбуд(?:ет|ут)|\bне|\bпланиру\w*|\bдолжн\w*|\bможет|\bмогут|\bобязан\w*|"
    r"\bпосле|\bзапланирован\w*)\s+(?:\w+\s+){0,2}$"
)
_FINDING = re.compile(r"\bустановлено,?\s+что\b")
_EVIDENCE = _compile(
    r"\bфото\w*",
    r"\bфотограф\w*",
    r"\bснимк\w*",
    r"\bвидео\w*",
    r"\bакт(?:а|ом|ы|ов)?\b",
    r"\bпротокол\w*",
    r"\bприлага\w*",
    r"\bприложен\w*",
    r"\bво вложени\w*",
    r"\bкопи[яию] \w+",
)


#: "установлены ГОСТ ...", "определён ст. 1095": a rule laid down, not work done.
_LAID_DOWN_BY = re.compile(
    r"^\s+(?:\w+\s+){0,1}?(?:гост|санпин|снип|постановлени|приказ|закон|федеральн|стать|"
    r"ст\.|п\.|правил|программ|решени|распоряжени|кодекс|жк\b|порядк|требовани|техническ|"
    r"регламент)"
)


def _done_claims(text: str) -> list[str]:
    body = _FINDING.sub(" ", text)
    claims = []
    for pattern in _DONE:
        for match in pattern.finditer(body):
            before = body[max(0, match.start() - 40) : match.start()]
            if _NOT_DONE_BEFORE.search(before) or _LAID_DOWN_BY.match(body[match.end() :]):
                continue
            claims.append(match.group(0))
    return claims


# ------------------------------------------------------------------ laws and brush-offs

_LAW = _compile(
    r"\bст\.\s*\d+",
    r"\bстать[яиеюй]\w*\s+\d+",
    r"\b(?:ч|п|пп)\.\s*\d+",
    r"\b\d+-(?:фз|зо|кз)\b",
    r"\bфедеральн\w+ закон\w*",
    r"\bзакон\w* (?:кировской|российской|рф|области)\w*",
    r"\bпостановлени\w+",
    r"\bраспоряжени\w+",
    r"\bприказ\w* (?:мин\w+|министерств\w+|росстата|госстроя)",
    r"\b(?:жилищн|гражданск|земельн|градостроительн)\w* кодекс\w*",
    r"\bжк рф\b",
    r"\bсанпин\b",
    r"\bгост(?: р)?\s+[\d.-]+",
    r"\bправил\w* (?:благоустройства|предоставления|обращения|и норм|содержания)",
    r"\bпрограмм\w* государственных гарантий",
)
_BRUSH_OFF = _compile(
    r"\bобращение\s+(?:\w+\s+){0,5}?рассмотрено\b",
    r"\bрассмотрено в установленном порядке\b",
    r"\bпринят\w* к сведению\b",
    r"\bдоведен\w* до сведения\b",
    r"\b(?:находится|взят|поставлен)\w* на контрол\w*",
    r"\bрекоменду\w+ (?:вам )?обратиться\b",
    r"\b(?:вам )?(?:необходимо|следует|нужно|надлежит) обратиться\b",
    r"\bнаправлен\w* (?:\w+ ){0,5}?(?:по компетенции|для рассмотрения|для принятия мер)",
    r"\b(?:пере)?адресован\w*|\bперенаправлен\w*",
    r"\bинформация (?:передана|направлена)\b",
    r"\bне входит в (?:\w+ )?компетенци\w*",
    r"\bоснований для \w+ не (?:имеется|выявлено|установлено)",
    r"\bприняты (?:необходимые|все|исчерпывающие) меры\b",
    r"\bрекомендовано усилить контроль\b",
    r"\bблагодарим за (?:активную|вашу) (?:гражданскую )?позицию\b",
)


def _substance(text: str, done: Sequence[str]) -> bool:
    """Tell whether the answer reports work done, promises work, or names a date."""
    body = _without_documents(text)
    return bool(done or _find(_FUTURE, body) or _find(_TERMS, body))


# ------------------------------------------------------------------ subject and place

#: What a text is about, by the words that name the problem (stems or word beginnings).
_SUBJECTS: dict[str, tuple[str, ...]] = {
    "отопление": ("отоплен", "батаре", "радиатор", "теплоснабж", "тепл", "котельн"),
    "горячая вода": ("горяч", "гвс", "теплообменник"),
    "вода": ("вод", "водоснабж", "водопровод", "холодн"),
    "канализация": ("канализац", "засор", "сток", "подвал"),
    "электроснабжение": (
        "электроснабж",
        "электроэнерг",
        "напряжен",
        "трансформатор",
        "подстанц",
        "свет",
        "сет",
        "россет",
    ),
    "газ": ("газ", "газоснабж", "газопровод", "газифик"),
    "дорога": ("ям", "ямочн", "асфальт", "покрыт", "выбоин", "проезж", "дорог", "отсып", "щебн"),
    "снег и наледь": ("снег", "налед", "гололед", "сосульк", "противогололедн", "песко-солян"),
    "мусор": ("мусор", "отход", "тко", "контейнер", "свалк", "крупногабарит"),
    "освещение": ("освещен", "фонар", "светильник", "ламп"),
    "транспорт": ("автобус", "маршрут", "расписан", "перевозчик", "рейс", "троллейбус"),
    "остановка": ("остановк", "павильон", "навес"),
    "деревья и трава": (
        "деревь",
        "дерево",
        "дерева",
        "кустарник",
        "покос",
        "трав",
        "газон",
        "спил",
        "борщевик",
    ),
    "светофор и переход": ("светофор", "переход", "зебр"),
    "детская площадка": ("качел", "горк", "игров"),
    "медицина": (
        "врач",
        "терапевт",
        "поликлиник",
        "больниц",
        "скорая",
        "скорую",
        "скорой",
        "фельдшер",
        "педиатр",
    ),
    "запись к врачу": ("запис", "талон", "колл-центр"),
    "кровля": ("кровл", "крыш", "протечк"),
    "подъезд и лифт": ("подъезд", "лифт", "двер", "доводчик"),
    "питание": ("питан", "меню", "полдник", "фрукт"),
    "плата": ("плат", "перерасчет", "начислен", "квитанц", "тариф"),
    "выплаты": ("пособи", "выплат", "перечислен"),
    "животные": ("собак", "отлов", "животн", "кошк"),
}
#: Long entries match a word's beginning; short ones ("ям", "газ") only with an ending of up
#: to two letters after them ("ямы", "газа", not "газон").
_SUBJECT_PREFIXES = sorted(
    ((w, s) for s, words in _SUBJECTS.items() for w in words if len(w) > 4),
    key=lambda item: -len(item[0]),
)
_SUBJECT_SHORT = [(w, s) for s, words in _SUBJECTS.items() for w in words if len(w) <= 4]


def _subject_of(low: str) -> str | None:
    for prefix, subject in _SUBJECT_PREFIXES:
        if low.startswith(prefix):
            return subject
    for short, subject in _SUBJECT_SHORT:
        if low.startswith(short) and len(low) - len(short) <= 2:
            return subject
    return None


def _subjects(words: Iterable[str]) -> dict[str, str]:
    """Map each subject the words name to the first word that named it."""
    found: dict[str, str] = {}
    for word in words:
        low = fold(word)
        subject = _subject_of(low)
        if subject is not None:
            found.setdefault(subject, low)
    return found


#: Words of any official answer: they say nothing about the problem.
def _word_list(text: str) -> list[str]:
    return text.split()


_GENERIC = frozenset(
    stem(w)
    for w in _word_list(
        """
    сообщать сообщаем сообщить информировать информируем уведомлять ваш обращение обращения
    вопрос рассмотреть рассмотрено рассмотрен администрация администрации город города
    района район область области кировской работа работы работ организация организации
    специалист специалисты служба службы данный данного указанный указанного связи выполнен
    выполнено выполнены проведен проведена проведено произведен произведена проведение
    декабря ноября января февраля марта апреля мая июня июля августа сентября октября
    год года году сегодня завтра время срок сроки также кроме того после до ул улица улицы
    дом дома доме номер прилагается прилагаем прилагаются фото фотоотчет акт вложении
    благодарим жителей житель жители гражданин граждан необходимо сотрудник момент
    """
    )
)
#: How many content words an answer needs before "shares nothing" means anything.
_MIN_TERMS_FOR_UNRELATED = 4


def _terms(text: str, lemma: Callable[[str], str]) -> frozenset[str]:
    words = tokenize(fold(_without_documents(text)))
    return frozenset(t for t in content_terms(lemma(w) for w in words) if t not in _GENERIC)


#: Words before a town's name: "в г. Котельниче", "город Слободской", "в Кирово-Чепецке".
_NUMBERED_KINDS = frozenset({"школа", "детский сад", "поликлиника", "больница", "маршрут"})
_TOWN_MARKER = re.compile(
    r"(?:^|[\s(«\"])(?:г\.|город\w*|пгт\.?|в|во|поселк\w+|посел\w+)\s*$", re.IGNORECASE
)
_CAPITALISED = re.compile(r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?")


def _town_stem(name: str) -> str:
    first = _CAPITALISED.findall(name)
    return stem(first[0]) if first else stem(fold(name))


def _towns(text: str, known: frozenset[str]) -> dict[str, str]:
    """Map the stems of the region's towns the text names (after "в", "г.") to the word."""
    found: dict[str, str] = {}
    for match in _CAPITALISED.finditer(text):
        if not _TOWN_MARKER.search(text[max(0, match.start() - 12) : match.start()]):
            continue
        key = stem(match.group(0))
        if key in known:
            found.setdefault(key, match.group(0))
    return found


_STREET_MARKER = (
    r"(?:ул\.|улиц[аеыу]|пр\.|просп\.|проспект\w*|пр-т\w*|пер\.|переул\w*|бульвар\w*|б-р|"
    r"пл\.|площад\w*|шоссе|тракт\w*|наб\.|набережн\w*)"
)
_NAME = r"([А-ЯЁ][а-яё-]+(?:\s+[А-ЯЁ][а-яё-]+)?)"
_HOUSE = rf"(\d{{1,4}}[а-яА-Я]?)\b(?!\s*(?:{_MONTHS}|°|час|мин|кубо|шт|лет|раз|%))"
_STREET_FORMS = (
    # "дом № 15 по ул. Ленина", "у дома 8 на улице Мира"
    re.compile(rf"(?:дом\w*|д\.)\s*(?:№\s*)?{_HOUSE}\s+(?:по|на)\s+{_STREET_MARKER}\s*{_NAME}"),
    # "ул. Ленина, 15", "улица Мира, д. 8", "проспект Кирова 20", "ул. Мира"
    re.compile(rf"{_STREET_MARKER}\s*{_NAME}(?:,?\s*(?:д\.|дом\w*)?\s*(?:№\s*)?{_HOUSE})?"),
    # "Октябрьский проспект 120", "дом № 120 по Октябрьскому проспекту"
    re.compile(
        rf"(?:дом\w*\s*(?:№\s*)?{_HOUSE}\s+по\s+)?([А-ЯЁ][а-яё]+(?:ому|ий|ый|ой|ая|ом|ом))"
        rf"\s+(?:проспект\w*|бульвар\w*|переул\w*|тракт\w*)(?:\s*,?\s*{_HOUSE})?"
    ),
)
_NUMBERED = re.compile(
    r"\b(школ\w*|гимнази\w*|лице[йяю]\w*|детск\w+ сад\w*|детсад\w*|поликлиник\w*|"
    r"больниц\w*|маршрут\w*|автобус\w*|троллейбус\w*)\s*(?:№\s*)?(\d{1,3})\b",
    re.IGNORECASE,
)
_NUMBERED_KIND = (
    ("школ", "школа"),
    ("гимнази", "школа"),
    ("лице", "школа"),
    ("детск", "детский сад"),
    ("детсад", "детский сад"),
    ("поликлиник", "поликлиника"),
    ("больниц", "больница"),
    ("маршрут", "маршрут"),
    ("автобус", "маршрут"),
    ("троллейбус", "маршрут"),
)


@dataclass(frozen=True, slots=True)
class _Place:
    """A street (its stem) or a numbered place (its kind), with the house or number if named."""

    key: str
    number: str | None
    shown: str


def _places(text: str, *, informal: bool = False) -> list[_Place]:
    """The streets and numbered places (school, clinic, route) a text names.

    ``informal`` (a citizen's message) also reads a bare "Мира 8" the grouping's way.
    """
    text = _DOCUMENT_DATE.sub(" ", text)
    found: list[_Place] = []
    for index, form in enumerate(_STREET_FORMS):
        for match in form.finditer(text):
            if index == 0:
                house, name = match.group(1), match.group(2)
            elif index == 1:
                name, house = match.group(1), match.group(2)
            else:
                name, house = match.group(2), match.group(1) or match.group(3)
            key = stem(name.split()[-1])
            found.append(_Place(key, house, f"{name}{', ' + house if house else ''}"))
    for match in _NUMBERED.finditer(text):
        low = fold(match.group(1))
        kind = next(k for p, k in _NUMBERED_KIND if low.startswith(p))
        found.append(_Place(kind, match.group(2), f"{kind} № {match.group(2)}"))
    if not found and informal:
        # A citizen's "на Мира 8", "Гоголя 12": the grouping's own address reading.
        address = extract_address(text)
        if len(address) == 2:
            found.append(_Place(address[0], address[1], " ".join(address)))
    return found


def _place_flag(answer: str, complaint: ComplaintContext) -> Flag | None:
    said = _places(answer)
    asked = [p for t in complaint.texts for p in _places(t, informal=True)]
    streets_said = [p for p in said if p.key not in _NUMBERED_KINDS]
    streets_asked = [p for p in asked if p.key not in _NUMBERED_KINDS]
    if streets_said and streets_asked:
        keys = {p.key for p in streets_asked}
        other = [p for p in streets_said if p.key not in keys]
        if other and not any(p.key in keys for p in streets_said):
            shown = ", ".join(dict.fromkeys(p.shown for p in streets_asked))
            return _flag(
                FlagCode.OTHER_ADDRESS,
                f"в ответе «{other[0].shown}», в обращении «{shown}»",
                (other[0].shown,),
            )
    for place in said:
        numbers = {p.number for p in asked if p.key == place.key and p.number}
        if place.number and numbers and place.number not in numbers:
            return _flag(
                FlagCode.OTHER_ADDRESS,
                f"в ответе «{place.shown}», в обращении {', '.join(sorted(numbers))}",
                (place.shown,),
            )
    known = frozenset(_town_stem(m) for m in complaint.region_municipalities)
    if not known:
        return None
    named = _towns(answer, known)
    allowed = {_town_stem(complaint.municipality)} if complaint.municipality else set()
    for text in complaint.texts:
        allowed.update(_towns(text, known))
    others = [word for key, word in named.items() if key not in allowed]
    if others and allowed:
        where = complaint.municipality or "другой населённый пункт"
        return _flag(
            FlagCode.OTHER_ADDRESS, f"в ответе «{others[0]}», обращение — «{where}»", others
        )
    return None


def _topic_flag(answer: str, complaint: ComplaintContext) -> Flag | None:
    said = _subjects(tokenize(_without_documents(answer)))
    asked_words = [w for t in complaint.texts for w in tokenize(t)]
    asked_words += tokenize(complaint.topic or "")
    asked = _subjects(asked_words)
    if not said or not asked or set(said) & set(asked):
        return None
    return _flag(
        FlagCode.OTHER_TOPIC,
        f"ответ — о теме «{next(iter(said))}», обращение — о теме «{next(iter(asked))}»",
        tuple(said.values()),
    )


def _unrelated_flag(
    answer: str, complaint: ComplaintContext, lemma: Callable[[str], str]
) -> Flag | None:
    said = _terms(answer, lemma)
    if len(said) < _MIN_TERMS_FOR_UNRELATED:
        return None
    asked: set[str] = set()
    for text in (*complaint.texts, complaint.topic or ""):
        asked |= _terms(text, lemma)
    if not asked or said & asked:
        return None
    said_subjects = _subjects(tokenize(answer))
    asked_subjects = _subjects(
        [w for t in (*complaint.texts, complaint.topic or "") for w in tokenize(t)]
    )
    if set(said_subjects) & set(asked_subjects):
        return None
    sample = ", ".join(sorted(said)[:4])
    return _flag(FlagCode.UNRELATED, f"слова ответа: {sample}…", sorted(said)[:8])


# ------------------------------------------------------------------ the review

#: An answer is read up to here (the answer form takes 8 000 characters): the page stays quick.
_MAX_CHARS = 20_000


def review_answer(
    answer: AnswerDraft,
    complaint: ComplaintContext,
    *,
    lemma: Callable[[str], str] = str,
) -> tuple[Flag, ...]:
    """Return the reasons a region's rules would send ``answer`` back (empty: none found).

    ``lemma`` turns a word into its dictionary form (the classifier's lemmatiser); without
    one, words are compared by their stems only.
    """
    raw = answer.text[:_MAX_CHARS]
    text = _plain(raw)
    if not text:
        return ()
    flags: list[Flag] = []
    done = _done_claims(text)
    evidence = answer.has_attachments or bool(_find(_EVIDENCE, text))
    substance = _substance(text, done)
    term = _vague_or_promise_without_term(text)
    if term is not None:
        flags.append(term)
    if done and not evidence:
        flags.append(_flag(FlagCode.NO_EVIDENCE, done[0], done))
    laws = _find(_LAW, text)
    if laws and not substance:
        flags.append(_flag(FlagCode.ONLY_LAW, laws[0], laws))
    formal = _find(_BRUSH_OFF, text)
    if formal and not done and term is None and not _find(_TERMS, _without_documents(text)):
        flags.append(_flag(FlagCode.BRUSH_OFF, formal[0], formal))
    unrelated = _unrelated_flag(raw, complaint, lemma) if substance else None
    if unrelated is not None:
        flags.append(unrelated)
        return tuple(flags)
    for check in (_topic_flag, _place_flag):
        found = check(raw, complaint)
        if found is not None:
            flags.append(found)
    return tuple(flags)
