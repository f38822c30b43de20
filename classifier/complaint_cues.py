"""What a text has of a problem, counted from its lemmas: the complaint detector's own features.

A complaint names an object and a failure, a need or a danger («яма на дороге», «нет света»,
«когда починят лифт», «опасно ходить»); a reaction, a piece of advice or a reply to another
commenter mostly does not, whatever its mood («Позор», «Пишите в ЦУР», «Олег, не обобщайте»).
:func:`problem_vocabulary` gathers the words that speak of a problem (hand lexicons of
failures, needs, dangers and objects, and the seed corpus's own complaint words);
:func:`no_problem_reason` says why a text reports none (the text models then keep it out of
the complaints, naming the reason in the evidence); :func:`cue_matrix` gives the same cues as
dense columns for experiments. Given the raw message too, it reads what the lemmas lose: the
tense of done work, a notice's register, an imperative, a phone number, a link, a question
mark. Pure: strings in, values out.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from classifier.lemmatizer import RUSSIAN_STOP_WORDS
from classifier.noise import FIRST_NAMES

__all__ = [
    "ACCIDENT_NEWS_REASON",
    "ADVICE_REASON",
    "AD_REASON",
    "COMMENT_REASON",
    "CONTACT_REASON",
    "CUE_NAMES",
    "GREETING_REASON",
    "INVITATION_REASON",
    "NEWS_REASON",
    "NOTICE_REASON",
    "NO_PROBLEM_REASON",
    "PET_REASON",
    "QUESTION_REASON",
    "REACTION_REASON",
    "REPLY_REASON",
    "RULES_REASON",
    "SPAM_REASON",
    "THANKS_REASON",
    "cue_matrix",
    "no_problem_reason",
    "problem_vocabulary",
]

#: Why a text reports no problem, as the evidence says it.
ADVICE_REASON = "совет, куда обращаться"
REPLY_REASON = "обращение к другому комментатору"
NO_PROBLEM_REASON = "нет ни объекта, ни неисправности"
AD_REASON = "объявление: продажа, аренда, покупка"
PET_REASON = "потерялось или нашлось животное"
RULES_REASON = "правила сообщества"
INVITATION_REASON = "приглашение или опрос"
COMMENT_REASON = "комментарий без неисправности и её объекта"
SPAM_REASON = "спам: заработок, ссылки, розыгрыши"
THANKS_REASON = "благодарность без жалобы"
GREETING_REASON = "поздравление или приветствие"
NEWS_REASON = "новость о сделанной работе, без неисправности"
NOTICE_REASON = "официальное объявление: отключение, перекрытие, расписание"
CONTACT_REASON = "объявление с телефоном, ссылкой или ценой"
QUESTION_REASON = "вопрос без неисправности"
ACCIDENT_NEWS_REASON = "новость об аварии: службы уже работают"
REACTION_REASON = "реакция: настроение без нового факта"
#: How much more a complaint's word a lemma must be to join the problem vocabulary.
VOCABULARY_SHARE = 0.9

# A failure, a lack, a need or a danger (lemmas).
_PROBLEM_TEXT = """
    нет не нельзя отсутствовать отсутствие сломать сломаться сломанный разбить разбитый
    разрушить разрушиться разрушенный развалиться течь протекать протечка прорыв прорвать
    авария аварийный затопить затоплять подтопление подтопить лужа яма выбоина дыра трещина
    провалиться обрушиться обвал упасть падать рухнуть повредить повреждение порвать оборвать
    обрыв отключить отключение отключать перебой вонь вонять запах грязь грязный мусор свалка
    завалить захламить засор засорить забить переполнить переполненный гнить гнилой ржавый
    опасно опасный опасность угроза угрожать травма травмировать пострадать холодно холод
    ледяной мёрзнуть замёрзнуть жарко шум шуметь громко задержка задерживать опаздывать
    невозможно невыносимо неделя месяц сутки день второй третий никто ничто никак игнорировать
    бездействие ждать требовать просить прошу просьба надо нужно необходимо срочно помочь
    помогать починить отремонтировать убрать вывезти устранить восстановить заменить очистить
    почистить покрасить закрасить вырезать спилить покосить скосить засыпать залатать
    демонтировать убирать вывозить чистить ремонтировать принять обязать проверить
    почему когда сколько доколе беспорядок нарушение нарушать незаконный самовольный
    бродячий стая укусить искрить оголённый провод гололёд скользко сосулька снег сугроб
    неубранный нечищеный тёмный темно освещение гореть пожар дым горелый отравиться
    очередь дозвониться талон отказать отказ плесень сырость грибок крыса таракан
    грязно мокро сыро душно воняет надпись граффити объявление реклама листва пень
    осыпаться отваливаться облупиться покосить покоситься наклониться торчать
    неудовлетворительный ненадлежащий неуд разрушение замена восстановление просадка
    отслоение провис провиснуть завал выломать требоваться ямина ям беда проблема
    бросаться кидаться кусаться кусать напасть нападать отменить отмена перегорать перегореть
    скакать мигать вырубать вырубить выключить сорвать ломаться протечь залить заливать
    затапливать плохо плохой ужасный ужасно хуже мучиться страдать задыхаться жаловаться
    жалоба бесполезно отписка неудовлетворительно некачественно некачественный самовольно
    незаконно неправильно неисправный неисправно неисправность разрушаться трясти капать
    потечь сгореть выбивать затекать промокать нечего негде некуда навести хлестать опоздать
    обещать сбить сбивать задавить проседать просесть деформировать деформированный лопаться
    задувать накрениться валяться нарушить нарушенный выбитый неподходящий неочищенный
    вмятина царапина поломка выбить темень темнота хамить хамство грубить еле размыть размывать
    заставить загородить перегородить закрыть
"""
# Things a complaint is about: places, networks, services, vehicles (lemmas).
_OBJECT_TEXT = """
    дорога улица асфальт тротуар дорожный переход светофор остановка перекрёсток мост трасса
    обочина знак разметка двор подъезд дом крыша подвал квартира лифт лестница труба батарея
    отопление вода водоснабжение канализация кран колодец водопровод свет электричество
    электроснабжение фонарь столб провод газ котельная контейнер площадка бак урна мусоропровод
    автобус маршрутка маршрут рейс трамвай троллейбус электричка транспорт водитель
    школа садик сад детсад поликлиника больница врач терапевт педиатр скорая аптека лекарство
    парк сквер дерево газон детский горка качеля скамейка забор ограждение стройка здание
    фасад окно дверь замок домофон парковка стоянка машина автомобиль гараж пляж река пруд
    берег лес завод предприятие выброс воздух собака кошка животное управляющий ук тсж
    магазин рынок киоск связь интернет сеть вышка мфц кладбище баня стадион библиотека
    лампочка напряжение окулист талон объезд набережная тротуар колесо стена потолок пол
    этаж счётчик счёт квитанция платёжка тариф мост перрон вокзал поезд рейс дворник
"""
# How advice opens: an imperative of "write, call, complain, photograph, go".
_ADVICE_TEXT = """
    писать написать пишите напишите звонить позвонить звоните позвоните обращаться
    обратиться обращайтесь обратитесь жаловаться пожаловаться жалуйтесь пожалуйтесь
    сфотографировать фотографировать отправить отправлять подать подавать оставить
    вызывать вызвать сообщить сообщать сходить направить
"""


def _lexicon(text: str) -> frozenset[str]:
    return frozenset(text.replace("ё", "е").split())  # the lemmatiser writes «е»


_PROBLEM = _lexicon(_PROBLEM_TEXT)
_OBJECT = _lexicon(_OBJECT_TEXT)
_ADVICE = _lexicon(_ADVICE_TEXT)
_QUESTION = frozenset({"подсказать", "кто", "где", "какой", "куда", "во", "ли"})
# An ad's opening: sell, let, buy, give away, swap (lemmas of «продам», «сдаётся», «куплю»).
_SALE_OPENING = _lexicon(
    "продать продавать продаваться сдать сдавать сдаваться купить покупать отдать обменять обмен"
)
# A lost or found pet: the animal, and a word of losing, finding or placing it.
_PET = _lexicon("""
    кошка кот котик кошечка котенок собака собачка пес щенок кобель хаск попугай хомяк кролик
""")
_PET_LOST = _lexicon("""
    пропасть потеряться потерять убежать сбежать найти найтись нашедший пристроить
    передержка кличка откликаться вознаграждение хозяин
""")
# What makes an animal a problem rather than a lost pet.
_PET_DANGER = _lexicon("""
    бродячий стая укусить кусаться кусать напасть нападать бросаться кидаться опасно опасный
    опасность лаять выть гадить агрессивный мертвый труп отлов отловить поводок намордник
    выгуливать убрать вывезти
""")
# How long something has lasted is a problem word only beside a failure («второй день нет»).
_DURATION = _lexicon("неделя месяц сутки день второй третий")
_FAILURE = _PROBLEM - _DURATION
_SPAM = _lexicon("""
    заработок заработать доход подписка подписываться подписаться розыгрыш ссылка переходить
    бонус криптовалюта казино ставка прогноз кредит займ удаленка раскрутка промокод
""")
# Fortune-telling and magic offered in comments: spam even with «помогу» or «проблема» in it
# («Гадаю на таро, помогу решить любую проблему»).
_OCCULT = _lexicon("""
    таро гадать гадание гадалка приворот отворот порча сглаз экстрасенс ясновидящий
    нумеролог астролог натальный потомственный
""")
_OCCULT_BLOCKERS = _FAILURE - _lexicon("помочь помогать проблема беда")
# A congratulation or a greeting opens with its verb, or «с» and the occasion («С Днём матери»).
_GREETING = _lexicon("поздравлять поздравить поздравление")
_OCCASION = _lexicon("день праздник новый рождество юбилей рождение масленица пасха победа")
_THANKS = _lexicon("""
    спасибо благодарить поблагодарить благодарность благодарный поклон молодец признательный
""")
# Sarcasm turns on a contrast («спасибо дорожникам, теперь катаемся как по стиральной доске»).
_CONTRAST = _lexicon("а но теперь опять снова зато только хоть уж")
# Advice in a comment may open with "you should" before its verb («Надо сразу в ЦУР писать»).
_SHOULD = _lexicon("надо нужно лучше советовать попробовать стоить сразу")
# Failure words that say nothing alone («Вообще беда», «нет, на площади удобнее»): a comment
# with only these must also name what has failed.
_WEAK_FAILURE = _lexicon("""
    не нет беда проблема плохо плохой ужасный ужасно хуже запах мучиться страдать жалоба
    жаловаться бесполезно невыносимо никто ничто никак обещать
""")
_GROUP = _lexicon("группа сообщество паблик чат канал")
# An invitation or a poll opens with its verb or its name («Приглашаем…», «Опрос: …»).
_INVITATION_OPENING = _lexicon("приглашать пригласить опрос голосование голосовать анонс афиша")
# «не» before these asks or checks, it reports nothing («не подскажете», «никто не знает», «а дом
# 17 не попадает?»).
_POLITE = _lexicon("""
    подсказать знать сказать мочь попадать попасть входить касаться относиться забыть
""")
# What a news post says was done, and what it was done to: repairs, clean-ups and their objects
# are not failures there («установили светильники», «ликвидировали свалку», «из аварийного
# жилья»). Everything else of the failure lexicon still is («провалился», «течёт», «опасно»).
_FIX_VERBS = _lexicon("""
    починить отремонтировать убрать вывезти устранить восстановить заменить очистить почистить
    покрасить закрасить вырезать спилить покосить скосить засыпать залатать демонтировать
    убирать вывозить чистить ремонтировать принять проверить помочь помогать
""")
_FIXED_THINGS = _lexicon("""
    замена восстановление освещение мусор свалка яма выбоина граффити надпись снег сугроб
    сосулька листва пень аварийный провод объявление реклама день второй третий неделя месяц
    сутки
""")
_DONE_TO = _FIX_VERBS | _FIXED_THINGS
# Damage a notice does not announce («после планового ремонта просел асфальт, образовалась яма»).
_DAMAGE = _lexicon("""
    яма выбоина трещина провалиться просесть проседать поломка сломать сломаться сломанный
    течь протекать протечка разрушиться обрушиться деформировать деформированный
""")
_NEGATION = _lexicon("не нет без ни")
# A need said alone: in a reply to another commenter it is an opinion («не надо собрания»).
_NEED = _lexicon("надо нужно необходимо срочно")
# A citizen's demand: not in an official notice («Требуется очистить…», «Прошу принять меры»).
_DEMAND = _lexicon("требоваться требовать прошу просьба жалоба неудовлетворительный неисправный")
# What a notice asks the public not to do («просим не оставлять автомобили»).
_NOTICE_ASKS = _lexicon("оставлять парковать ставить занимать")
# How a question for information opens («Подскажите…», «Не знаете…», «Кто-нибудь в курсе…»).
_ASKING = _lexicon("подсказать знать кто-нибудь кто-то кто где какой куда можно ли курс")
# Where to complain: advice names the authority even without a verb («Надо в минтранс»).
_AUTHORITY = _lexicon("""
    цур прокуратура жилинспекция роспотребнадзор госуслуга еддс депутат мэрия губернатор
    участковый администрация приемная минтранс министерство инспекция суд полиция омбудсмен
    прокурор надзор фонд управление россеть водоканал гибдд гаи страховой уполномоченный
    заксобрание дума горячий диспетчерская
""")
# What turns a report of done work into a complaint about it («отремонтировали, а через месяц
# яма», «открыли в мае, но фонари не горят», «обещали к сентябрю, до сих пор…»).
_COMPLAINT_TURN = _lexicon("""
    а но однако зато опять снова уже теперь обещать обещанный почему когда сколько зачем
    я мы мой наш нас нам
""")
# A question about a planned outage or closure: whether it will reach me («А дом 22 тоже
# отключат?», «Перекроют полностью?»), read from the raw text (the lemmas lose the tense).
_PLANNED = _lexicon("отключить отключение отключать перекрыть перекрывать закрыть ограничить")
_PLANNED_FUTURE = re.compile(r"\b(?:отключ|перекро|перекрыва|закро|огранич)[а-я]*(?:ат|ят|ют|ут)\b")
# A news post on an accident the services are already at («прорыв водопровода, на месте работают
# аварийные службы», «бригады водоканала устраняют повреждение»): it names a failure, but it is
# the service's report, not a citizen's appeal. A citizen's voice or a turn keeps it a complaint
# («…аварийные службы работают, а толку никакого», «у нас третий день…»).
_SERVICES_AT_WORK = re.compile(
    r"\b(?:работают|трудятся|выехали|прибыли|задействованы) (?:[а-я]+ ){0,2}"
    r"(?:аварийн|ремонтн|коммунальн|спасател|бригад|специалист|сотрудник|экипаж|пожарн)"
    r"|\b(?:аварийн|ремонтн|коммунальн|спасател|пожарн)[а-я]* (?:[а-я]+ ){0,2}"
    r"(?:работают|устраняют|ликвидируют|выехали|прибыли)"
    r"|\b(?:бригады?|специалисты|сотрудники|спасатели) (?:[а-я]+ ){0,2}"
    r"(?:устраняют|ликвидируют|выехали|прибыли|работают)"
    r"|\bведутся (?:аварийн|ремонтн|восстановительн)"
)
# A weather forecast or warning («Синоптики обещают метель», «МЧС предупреждает о гололёде»,
# «ожидается сильный ветер»): news, unless a citizen's voice or a turn makes it a complaint.
_FORECAST = re.compile(
    r"\b(?:синоптик|гидрометцентр|росгидромет|метеоролог|прогноз погоды|штормов[а-я]* предупрежд"
    r"|мчс (?:предупреждает|напоминает|сообщает))"
    r"|\bожида(?:ется|ются) (?:[а-я]+ ){0,2}(?:снег|дожд|метел|мороз|гололед|гололедиц|ветер|ветра"
    r"|ливн|гроз|похолодан|потеплен|заморозк|туман|жар)"
)
# Words one of which every forecast has: the regex runs only on texts with one.
_FORECAST_HINTS = ("синоптик", "гидромет", "метеоролог", "прогноз", "штормов", "мчс", "ожида")
# What a weather warning asks the public not to do («без необходимости не выезжать»).
_WARNING_ASKS = _NOTICE_ASKS | _lexicon("выезжать выходить подходить стоять")
_ACCIDENT_NEWS_BLOCKERS = (_COMPLAINT_TURN - {"уже", "когда", "обещать"}) | _lexicon("""
    толк толку безрезультатно никто ничто ждать требовать прошу просьба доколе
""")
# A reply that corrects another commenter on the cause («Игорь, это не завод, это свалку жгут»):
# an argument about whose fault it is, not a report. How long it lasts, «опять» or «у нас» make
# it a complaint again («…это свалку жгут, и уже третью неделю»).
_CAUSE_CORRECTION = re.compile(r"\bэто (?:же )?не\b[^.!?]{1,60}?\bэто\b")
_CORRECTION_BLOCKERS = _DURATION | _lexicon("опять снова мы нас нам наш мой я давно")
# A comment that opens with a verb in the past tells what was done, it does not advise
# («Звонила в УК, сказали ждите», «Писали в ЦУР, отписка»).
_REPORTED = re.compile(
    r"^\W*(?:(?:а|и|мы|я|уже|сами|сто раз)\W+)*[а-я]{2,}(?:л|ла|ли|ло)(?:сь|ся)?\b"
)
# A post this short that asks is a reproach («Где уборка?», «Где замок, пломба?»).
_MIN_QUESTION_WORDS = 5
# A text whose last sentence asks (emoji and brackets after the mark left aside).
_ENDS_ASKING = re.compile(r"\?[^\w.!?]*$")
# A question that is a reproach («Разве можно…?», «Давно стоит, где хозяин?», «Опять где уборка?»).
# An imperative that opens a comment, addressed to a fellow citizen («Записывайтесь…»,
# «Требуйте…», «Соберите подписи…»), read from the raw text: the lemmas lose the mood. Leading
# particles are skipped («А вы идите…», «Лучше сразу звоните…»).
_IMPERATIVE_OPENING = re.compile(
    r"^\W*(?:(?:а|и|ну|так|вы|лучше|просто|сразу|только|тогда|сначала)\W+)*"
    r"[а-я]{2,}(?:йте|ите)(?:сь)?\b"
)
# What an imperative demands of those responsible: a complaint's, not advice («Почините…»,
# «Уберите…», «Наведите порядок», «Посмотрите, что творится»).
_DEMANDED = _DONE_TO | _lexicon("""
    сделать разобраться навести посмотреть смотреть глянуть обратить вернуть дать включить
    спасти наказать остановить прекратить запретить решить помочь ответить приехать прислать
""")
# Failure words that advice names as what it avoids («без очереди», «книгу жалоб»).
_ADVICE_AVOIDS = _lexicon("очередь талон жалоба жаловаться дозвониться отказ отказать")
_INDIGNANT = _COMPLAINT_TURN - {"сколько", "а"} | _lexicon("давно разве законно законный правильно")
# Completed or announced work, as news writes it: past tense and short participles of opening,
# finishing, repairing, building, starting («открылся», «завершён», «отремонтированы», «сданы»),
# and the announced future of opening, starting and repairing («откроется», «стартует»,
# «отремонтируют»; a question or «когда» makes it a complaint's, see the caller). Not
# the states a complaint reports: «открыт люк», «установлены барьеры» (an appeal's register).
# Read from the raw text: the lemmas lose the tense («отремонтировали» and «отремонтируйте»).
_DONE_WORK = re.compile(
    r"\b(?:"
    r"откры(?:ла|ли|лся|лась|лось|лись)|откро(?:ется|ются|ют)"
    r"|заверш(?:ил|ила|или|ился|илась|ились|ен|ена|ено|ены|ат|ится|атся)"
    r"|(?:от|за)ремонтирова(?:л|ла|ли|н|на|но|ны)|реконструирова(?:л|ли|н|на|но|ны)"
    r"|(?:отремонтир|реконструир|заасфальтир|модернизир)уют|благоустроят|заменят|уложат"
    r"|восстановят|высадят"
    r"|модернизирова(?:л|ли|н|на|но|ны)|заасфальтирова(?:л|ли|н|на|но|ны)"
    r"|постро(?:ил|или|ен|ена|ено|ены|ят)|сдан|сдана|сдано|сданы|сдали|введ[её]н|введена|введены"
    r"|установ(?:ил|или|ят)|благоустро(?:ил|или|ен|ена|ено|ены)"
    r"|обнов(?:ил|или|ил[аи]сь|л[её]н|лена|лено|лены|ят)|высади(?:л|ли)|высажен[аоы]?"
    r"|обустро(?:ил|или|ен|ена|ено|ены)|оборудова(?:ли|н|на|но|ны)"
    r"|восстанов(?:ил|или|лен|лена|лено|лены)|замен(?:ил|или|ены|ена|ено)|уложи(?:л|ли)|уложен[аоы]?"
    r"|запу(?:стил|стили|щен|щена|щено|щены)|провели|проведен[аоы]?|проведена|подвед[её]ны"
    r"|нача(?:ли|лся|лась|лись|т|та|то|ты)|начн(?:[её]тся|утся)"
    r"|стартова(?:л|ла|ло|ли)|стартует|прош(?:[её]л|ла|ли)|пройд(?:[её]т|ут)"
    r"|состоя(?:лся|лась|лись)|состоится|вручен[аоы]?|вручили|получили"
    r"|назнач(?:ен|ена|или)|выделено (?:более |около |свыше )?\d+|выдел(?:или|ят)"
    r"|опубликова(?:н|на|но|ны|ли)"
    r"|выраст(?:ет|ут)|планиру(?:ется|ются)|обсуд(?:ят|или)"
    r")\b"
)
# An official notice: addressed to the public, or a planned outage, closure or timetable in the
# passive future («будет отключено», «будет перекрыто движение», «плановое отключение»).
_NOTICE = re.compile(
    r"\bуважаемы[ей] (?:жител|абонент|потребител|пассажир|водител|автомобилист|горожан"
    r"|собственник|родител|пациент|покупател|клиент)"
    r"|^\W*(?:внимание|информируем|сообщаем|напоминаем|извещаем)\b"
    r"|\b(?:сообщает|информирует|уведомляет|напоминает)\s*:"
    r"|\bбуд(?:ет|ут) (?:отключ|перекрыт|ограничен|прекращ|приостановл|закрыт|изменен"
    r"|отсутствовать|проводит|производит|осуществлят|ходить по)"
    r"|\bпланов(?:ое|ые|ых|ого) (?:отключени|работ|ремонт|замен)"
    r"|\bприносим (?:свои )?извинения|\bпросим (?:отнестись|не оставлять|с пониманием)"
    r"|\bпо измененному расписанию"
)
# Words one of which every notice has: the regex runs only on texts with one.
_NOTICE_HINTS = (
    "уважаем",
    "внимани",
    "информир",
    "сообща",
    "напомина",
    "извеща",
    "уведомл",
    "буд",
    "планов",
    "извинени",
    "просим",
    "расписани",
)
# What an ad or spam leaves that the lemmas lose: a phone number, a link, a handle, a price.
_CONTACT = re.compile(
    r"(?:\+7|(?<![\d\w])8)[\s\-()]*\d(?:[\s\-()]*\d){9}(?!\d)"
    r"|https?://|\bwww\.|\b(?:t\.me|vk\.com|vk\.cc|bit\.ly|ok\.ru)/"
    r"|(?<![\w.])@[a-z0-9_]{3,}"
    r"|\d\s*(?:руб\b|руб\.|р\.|₽|тыс\.? ?руб)"
    r"|\b(?:в лс|в личку|в личные|в директ|whatsapp|ватсап|вотсап|вайбер|viber)\b"
)
_CONTACT_HINT = re.compile(r"[\d@/]|лс|личк|личн|директ|whatsapp|ватсап|вотсап|вайбер|viber")

# What makes a comment tell its own case rather than an opinion: how long it has lasted, whose
# it is, where exactly («у нас на Профсоюзной 7», «уже месяц», «с весны», «так и не»).
_OWN_CASE = _DURATION | _lexicon("мы нас нам наш мой я уже давно")
_OWN_CASE_TEXT = re.compile(
    r"\d|\bтак и не\b|\bдо сих пор\b|\bс(?:о)? (?:утра|вечера|ночи|вчера|вчерашн|позавчера"
    r"|весны|лета|осени|зимы|понедельник|вторник|сред|четверг|пятниц|суббот|воскресень"
    r"|январ|феврал|марта|апрел|мая|июн|июл|август|сентябр|октябр|ноябр|декабр|прошл)"
)
# A reply that argues or explains («…значит им и ремонтировать», «…именно завод», «…поэтому и
# талонов нет, это временно», «это УК должна»): an opinion about a failure, not a report of one.
_ARGUMENT = re.compile(
    r"\b(?:именно|значит|поэтому|потому что|ведь|вообще-то|ни при ч[её]м|при ч[её]м тут"
    r"|винова(?:т|та|ты)|отвеча(?:ет|ют) за|должн(?:а|о|ы)|должен|обязан(?:а|о|ы)?|пусть"
    r"|на баланс[еу]|временно|какая разница|не их)\b"
)
# A lament about what the thread is about, in the infinitive («Опять без света куковать»,
# «Снова при свечах ужинать»): a mood, it reports no new fact. «Второй день без света сидим»
# (a duration, the present) reports one.
_LAMENT_OPENING = re.compile(r"^\W*(?:(?:ну|и|вот|а)\W+)*(?:опять|снова|вечно|в который раз)\b")
_INFINITIVE = re.compile(r"\b[а-я]{2,}(?:ть|ться|тись|ти|чь)\b")
_LAMENT_WORDS = 8
_PAST_TENSE = re.compile(r"\b[а-я]{3,}(?:ли|ла|ло)(?:сь)?\b")
# Relief that a fix came («Наконец-то, а то ветки на провода ложились», «Ну наконец, дождались»):
# a reaction, unless a turn after it names a failure («Наконец-то починили, а подъезд так и не
# убирают») or it asks («Наконец-то? А Лесная когда?»).
_RELIEF_OPENING = re.compile(
    r"^\W*(?:(?:ну|и|вот|ура)\W+)*(?:наконец(?:-то)?|дождались|свершилось)\b"
)
_RELIEF_TURN = _lexicon("но однако опять снова только почему когда")
# A joke: the comment ends laughing («Наш двор точно не победит 😂», «Зато красиво)))»).
_LAUGHTER = re.compile(r"(?:😂|🤣|😆|😄|😁|😹|😅|\){2,}|\b(?:ах|ха|хе|лол){2,}[ах]*)[^\w]*$")
_LAUGHTER_WORDS = 10
# The first clause of a comment, where its advice is (the rest may give the reason: «…район тут
# ничего не решает», «…по-другому не шевелятся»).
_CLAUSE_END = re.compile(r"[,.!?;:—–(]")
_RAW_WORD = re.compile(r"[а-яa-z0-9]+(?:-[а-яa-z0-9]+)*")
# An advice verb's infinitive or imperative in the raw text (not «писали», «звонила»).
# A demand of those responsible: an imperative, or an infinitive with «!» («Уберите», «Убрать!»).
_DEMAND_MOOD = re.compile(r"\b[а-я]{3,}(?:ите|йте)\b|\b[а-я]{3,}ть\s*!")
# Words one of which late advice has: the clause is read only for comments with one.
_LATE_ADVICE_HINTS = _ADVICE | _AUTHORITY
_QUOTED_THANKS = re.compile(r"\bспасибо (?:вам |им |ему |ей )?за [«\"„“]")
_ADVICE_MOOD = re.compile(r"(?:ть|ться|ти|йте|ите|итесь|йтесь)$")

#: The columns :func:`cue_matrix` returns, in order.
CUE_NAMES: tuple[str, ...] = (
    "problem",  # problem words, saturating at three
    "object",  # object words, saturating at three
    "problem_and_object",
    "advice_opening",  # opens with an imperative to write, call, complain
    "names_commenter",  # opens with a first name: a reply to another commenter
    "question_opening",  # «подскажите», «кто знает», «где»
    "length",  # log of the word count, 1.0 at 60 words
)
_LONG = math.log1p(60)


def _row(doc: str) -> list[float]:
    return _row_of(doc.split())


def _row_of(words: Sequence[str]) -> list[float]:
    """``_row`` of a document already split into its words."""
    if not words:
        return [0.0] * len(CUE_NAMES)
    # Counted by the sets' own membership test, in C: the same counts as a loop over the words.
    problem = sum(map(_PROBLEM.__contains__, words))
    objects = sum(map(_OBJECT.__contains__, words))
    first = words[0]
    return [
        min(problem, 3) / 3,
        min(objects, 3) / 3,
        float(problem > 0 and objects > 0),
        float(first in _ADVICE or (len(words) > 1 and first == "вы" and words[1] in _ADVICE)),
        float(first in FIRST_NAMES),
        float(first in _QUESTION and first != "когда"),
        min(math.log1p(len(words)) / _LONG, 1.0),
    ]


_ASK_VERBS = _lexicon("знать подсказать сказать")


# What keeps each raw-text rule from firing (computed once).
_ADVICE_BLOCKERS = _FAILURE - _WEAK_FAILURE - _DONE_TO - _ADVICE_AVOIDS - _DURATION
_NEWS_BLOCKERS = _NEGATION | _COMPLAINT_TURN | (_FAILURE - _DONE_TO) | {"давно"}
_PLANNED_BLOCKERS = _FAILURE - _PLANNED - _WEAK_FAILURE
_NOTICE_BLOCKERS = _COMPLAINT_TURN - {"а", "когда"} | _DEMAND | _DAMAGE | {"нет"}
_CONTACT_BLOCKERS = (_FAILURE - _FIXED_THINGS - _WEAK_FAILURE) | _COMPLAINT_TURN


def _asks(words: Sequence[str], at: int) -> bool:
    return at < len(words) and words[at] in _ASK_VERBS


def _failures(words: Sequence[str]) -> set[str]:
    """Return a comment's failure words; «не» is one before a word that can fail.

    «не» counts before a content word («не вывозят», «не горит»), not before a function word
    («не в первый раз», «не так всё просто») or an asking verb («не подскажете»).
    """
    failures = {
        w
        for i, w in enumerate(words)
        if w in _FAILURE
        and w != "не"
        # «никто не знает…» asks, it does not say nobody came
        and not (w == "никто" and words[i + 1 : i + 2] == ["не"] and _asks(words, i + 2))
    }
    failures.update(
        "не"
        for w, after in itertools.pairwise(words)
        if w == "не" and after not in RUSSIAN_STOP_WORDS and after not in _POLITE
    )
    if any(w == "без" and _lacks(words[i + 1 : i + 3]) for i, w in enumerate(words)):
        failures.add("без")  # a lack: «без света», «без горячей воды»
    return failures


def _lacks(after: Sequence[str]) -> bool:
    """Say whether the words after «без» name an object, or an adjective and one («горячей»)."""
    if after[:1] and after[0] in _OBJECT:
        return True
    return len(after) == 2 and after[0][-2:] in {"ий", "ый", "ой"} and after[1] in _OBJECT


def _names_failure(words: Sequence[str], vocabulary: frozenset[str]) -> bool:
    """Say whether a comment names a failure (and, for a bare «не»/«нет», what has failed)."""
    failures = _failures(words)
    if failures - _WEAK_FAILURE:  # a failure of its own: «отменили», «течёт», «сломали», «без»
        return True
    return bool(failures) and bool((set(words) & vocabulary) - _FAILURE)


def _imperative_advice(words: Sequence[str], text: str) -> bool:
    """Say whether a comment opens with an imperative to a fellow citizen and names no failure."""
    match = _IMPERATIVE_OPENING.match(text)
    if match is None:
        return False
    verb = match.group(0).split()[-1].strip(",.!:;")
    verb_at = next((i for i, w in enumerate(words[:6]) if w[:3] == verb[:3]), None)
    if verb_at is None or words[verb_at] in _DEMANDED:
        return False
    present = set(words) - {words[verb_at]}
    if present & {"опять", "снова"}:
        return False  # «Смотрите, опять…»: pointing at a failure again
    return not present & _ADVICE_BLOCKERS


def _comment_advice(words: Sequence[str]) -> bool:
    """Say whether a comment gives advice: an advice verb first, or "you should" before one."""
    head = words[:3]
    if head[0] in _ADVICE or (head[0] == "вы" and len(head) > 1 and head[1] in _ADVICE):
        return True
    return head[0] in _SHOULD and any(w in _ADVICE or w in _AUTHORITY for w in words[1:5])


def _reports_done_work(words: Sequence[str], text: str) -> bool:
    """Say whether a text reports work done or announced, with no failure and no turn."""
    present = set(words)
    if "?" in text or present & _NEWS_BLOCKERS:
        return False
    return _DONE_WORK.search(text) is not None


def _information_question(words: Sequence[str], text: str, vocabulary: frozenset[str]) -> bool:
    """Say whether a text asks for information and names no failure («Подскажите, где МФЦ?»).

    «сколько» asks a time or a price there («до скольки работает»), not how long it has lasted.
    """
    if len(words) < _MIN_QUESTION_WORDS or "?" not in text:
        return False
    if not set(words[:4]) & _ASKING or set(words) & _INDIGNANT:
        return False
    return not _names_failure([w for w in words if w != "сколько"], vocabulary)


def _planned_question(words: Sequence[str], text: str) -> bool:
    """Say whether a comment asks whether a planned outage or closure will reach someone."""
    if "?" not in text or set(words) & _INDIGNANT or not _PLANNED_FUTURE.search(text):
        return False
    return not set(words) & _PLANNED_BLOCKERS


def _comment_question(words: Sequence[str], text: str) -> bool:
    """Say whether a comment asks and names no failure beyond a bare «не» or a need.

    «А нужно что-то перекрывать?», «Отопление не затронет?» ask; «Почему опять…?», «Когда
    уже…?» reproach (``_INDIGNANT``), and «без света» or «сломали» report.
    """
    if not _ENDS_ASKING.search(text) or set(words) & _INDIGNANT:
        return False
    failures = _failures(words)
    if "нет" in failures and set(words) & _OBJECT:
        return False  # a lack: «…никакой машины нет», «а света у вас нет?»
    return not failures - _WEAK_FAILURE - _NEED - _PLANNED - {"сколько"}


def _official_notice(words: Sequence[str], text: str) -> bool:
    """Say whether a text is an official notice: its marker, and no citizen's voice in it."""
    present = set(words)
    if "?" in text or present & _NOTICE_BLOCKERS or not any(h in text for h in _NOTICE_HINTS):
        return False
    if any(
        w == "не" and after not in RUSSIAN_STOP_WORDS and after not in _NOTICE_ASKS
        for w, after in itertools.pairwise(words)
    ):
        return False  # «объявлений о плановых работах не было», «свет так и не дали»
    return _NOTICE.search(text) is not None


def _contact_ad(words: Sequence[str], text: str) -> bool:
    """Say whether a text carries a phone, link or price and reports no failure of its own."""
    if _CONTACT_HINT.search(text) is None or set(words) & _CONTACT_BLOCKERS:
        return False
    if any(
        w in _NEGATION and after not in RUSSIAN_STOP_WORDS and after not in _POLITE
        for w, after in itertools.pairwise(words)
    ):
        return False
    return _CONTACT.search(text) is not None


def _accident_news(words: Sequence[str], text: str) -> bool:
    """Say whether a post reports an accident the services are already at, in no citizen's voice."""
    if "?" in text or set(words) & _ACCIDENT_NEWS_BLOCKERS:
        return False
    return _SERVICES_AT_WORK.search(text) is not None


def _forecast(words: Sequence[str], text: str) -> bool:
    """Say whether a post forecasts or warns of weather, in no citizen's voice."""
    if not any(h in text for h in _FORECAST_HINTS):
        return False
    if "?" in text or set(words) & _ACCIDENT_NEWS_BLOCKERS:
        return False
    if any(
        w == "не" and after not in RUSSIAN_STOP_WORDS and after not in _WARNING_ASKS
        for w, after in itertools.pairwise(words)
    ):
        return False  # «снег так и не убрали»; a warning may ask «не выезжать», «не парковать»
    return _FORECAST.search(text) is not None


def _cause_correction(words: Sequence[str], text: str) -> bool:
    """Say whether a reply to a commenter argues about the cause («Игорь, это не завод, это…»)."""
    if "?" in text or set(words) & _CORRECTION_BLOCKERS:
        return False
    return _CAUSE_CORRECTION.search(text) is not None


def _own_case(words: Sequence[str], text: str) -> bool:
    """Say whether a comment tells its own case: a duration, «у нас», a number, «так и не»."""
    return bool(set(words) & _OWN_CASE) or _OWN_CASE_TEXT.search(text) is not None


def _reply_reports(words: Sequence[str], text: str) -> bool:
    """Say whether a reply to a commenter reports a failure of its own case.

    A failure of its own («сломаны», «без света»), or a bare «не»/«нет» beside the thing that
    failed («лифт не работает», «талонов нет»), told as its own case («уже месяц», «у нас на
    Профсоюзной 7»): «Ольга, инфомат сломан уже месяц» is a complaint, «Олег, не надо
    заявления» is not.
    """
    strong = _failures(words) - _WEAK_FAILURE - _NEED
    return (strong or _bare_lack(words)) and _own_case(words, text)


def _bare_lack(words: Sequence[str]) -> bool:
    """Say whether a bare «не»/«нет» stands beside a thing that fails («лифт не работает»).

    «не надо», «не нужно» give an opinion, not a failure («не надо никакого собрания»).
    """
    if not set(words) & _OBJECT:
        return False
    return "нет" in words or any(
        w == "не" and after not in _NEED | _POLITE and after not in RUSSIAN_STOP_WORDS
        for w, after in itertools.pairwise(words)
    )


def _reply_argues(words: Sequence[str], text: str) -> bool:
    """Say whether a reply argues or explains and tells no lasting failure of its own."""
    if _ARGUMENT.search(text) is None:
        return False
    return not set(words) & _DURATION and "до сих пор" not in text and "так и не" not in text


def _late_advice(words: Sequence[str], text: str) -> bool:
    """Say whether a comment's first clause advises where to go, its verb late or missing.

    «В дорожное управление области только писать, район ничего не решает», «Через Госуслуги
    талоны с утра появляются, надо ловить», «В прокуратуру надо»: an advice verb's infinitive or
    imperative, "you should" or «только» beside an authority, or «через» one; the rest may give
    a reason with a bare «не», but no failure of its own and no case of its own.
    """
    clause = _CLAUSE_END.split(text, maxsplit=1)[0]
    raw = _RAW_WORD.findall(clause)
    head = words[: max(len(raw), 1)]
    verb = any(
        w in _ADVICE and any(r[:4] == w[:4] and _ADVICE_MOOD.search(r) for r in raw) for w in head
    )
    authority = bool(set(head) & _AUTHORITY)
    should = bool(set(head) & (_SHOULD | {"только"}))
    via = any(w == "через" and after in _AUTHORITY for w, after in itertools.pairwise(head))
    if not (verb or (authority and should) or via):
        return False
    failures = _failures(words) - _WEAK_FAILURE - _NEED - _ADVICE_AVOIDS - _DONE_TO
    if failures or set(words) & _DURATION:
        return False
    return not (_bare_lack(words) and _own_case(words, text))


def _thanks_complains(words: Sequence[str], text: str) -> bool:
    """Say whether a thank-you is a complaint: a failure, sarcasm, or a contrast that fails.

    «Спасибо, но на Парковой фонари не горят», «Ну спасибо нашей УК, второй месяц без света»
    complain; «Спасибо всем, кто вышел на субботник», «Спасибо, что убрали мусор», «…Теперь не
    надо возить детей в Киров» thank. What thanks are for (repairs, clean-ups) is no failure.
    """
    if _QUOTED_THANKS.search(text):
        return True  # «Спасибо за „на днях“…»: thanks for a quoted promise is sarcasm
    failures = _failures(words)
    if failures - _WEAK_FAILURE - _NEED - _DONE_TO:
        return True
    if set(words) & _FIX_VERBS and _DEMAND_MOOD.search(text):
        return True  # «Спасибо за чистый двор… Убрать!»: a demand after sarcastic thanks
    if failures and (_own_case(words, text) or re.match(r"^\W*ну\W+спасибо", text)):
        return True
    turn = next((i for i, w in enumerate(words) if w in _CONTRAST), None)
    if turn is None:
        return False
    after = words[turn + 1 :]
    rest = _failures(after)
    return bool(rest - _WEAK_FAILURE - _NEED) or bool(
        rest & {"не", "нет", "без"} and set(after) & _OBJECT
    )


def _thanks_opening(words: Sequence[str], text: str) -> bool:
    """Say whether a text opens thanking: a word of thanks in its first clause's first words."""
    clause = _RAW_WORD.findall(_CLAUSE_END.split(text, maxsplit=1)[0]) if text else words[:2]
    return bool(set(words[: min(max(len(clause), 2), 6)]) & _THANKS)


def _lament(words: Sequence[str], text: str) -> bool:
    """Say whether a comment laments in the infinitive and tells no fact of its own."""
    if len(words) > _LAMENT_WORDS or "?" in text or _LAMENT_OPENING.match(text) is None:
        return False
    if "не" in words or _own_case(words, text) or not _INFINITIVE.search(text):
        return False
    return _PAST_TENSE.search(text) is None  # «Опять сломали качели, теперь чинить» reports


def _relief(words: Sequence[str], text: str) -> bool:
    """Say whether a comment greets a fix with relief and names no failure after a turn."""
    if "?" in text or _RELIEF_OPENING.match(text) is None or "до сих пор" in text:
        return False
    if set(words) & _RELIEF_TURN or "так и не" in text:
        return False
    turn = next((i for i, w in enumerate(words) if w == "а"), None)
    if turn is None:
        return True
    after = words[turn + 1 :]
    return not (_failures(after) - _WEAK_FAILURE - _NEED - _DONE_TO or _bare_lack(after))


def _joke(words: Sequence[str], text: str) -> bool:
    """Say whether a comment ends laughing and names no failure of its own."""
    if len(words) > _LAUGHTER_WORDS or _LAUGHTER.search(text) is None:
        return False
    if set(words) & ({"опять", "снова"} | _DURATION) or _OWN_CASE_TEXT.search(text):
        return False
    return not _failures(words) - _WEAK_FAILURE - _NEED


def cue_matrix(docs: Sequence[str]) -> np.ndarray[Any, Any]:
    """Return the cue columns (``CUE_NAMES``) of each lemma document, one row per document."""
    return np.asarray([_row(doc) for doc in docs], dtype=np.float64).reshape(-1, len(CUE_NAMES))


def problem_vocabulary(
    complaint_docs: Sequence[str], other_docs: Sequence[str], *, min_df: int = 3
) -> frozenset[str]:
    """Return the lemmas that speak of a problem: the hand lexicons and the corpus's own.

    A lemma is the corpus's own when at least ``min_df`` complaints use it and, document
    frequencies compared as shares of each side, it is at least ``VOCABULARY_SHARE`` a
    complaint's word («граффити», «люк», «парадная»...). Measured on a dev set and 3 000 SPb
    appeals: the hand lexicons alone keep 0.871 of the appeals, with the corpus's words 0.968.
    """
    complaint_df: Counter[str] = Counter()
    other_df: Counter[str] = Counter()
    for docs, counts in ((complaint_docs, complaint_df), (other_docs, other_df)):
        for doc in docs:
            counts.update(set(doc.split()))
    n_c, n_o = max(len(complaint_docs), 1), max(len(other_docs), 1)
    own = {
        word
        for word, df in complaint_df.items()
        if df >= min_df
        and len(word) > 2
        and word not in RUSSIAN_STOP_WORDS
        and (df / n_c) / (df / n_c + other_df[word] / n_o) >= VOCABULARY_SHARE
    }
    return frozenset(own) | _PROBLEM | _OBJECT


def no_problem_reason(
    doc: str, vocabulary: frozenset[str], *, is_comment: bool = False, text: str | None = None
) -> str | None:
    """Say why a lemma document reports no problem, or None when it may report one.

    The rules, first match wins:

    - a comment that opens with advice («Пишите в ЦУР», «Надо сразу в прокуратуру писать»,
      with ``text``: an imperative to a fellow citizen, «Записывайтесь…»; not a past tense,
      «Звонила в УК…»); a comment opening with a first name that names no failure of its own;
    - an advice-like opening or a name addressed («Олег, ...») with no problem word and object
      together; an invitation or a poll («Приглашаем…», «Опрос: …»);
    - an ad's opening («продам», «сдаётся») with no failure word; a lost or found pet with no
      danger; the community's rules; spam; thanks or a congratulation with no failure and no
      contrast (sarcasm keeps one: «спасибо, теперь катаемся как по стиральной доске»);
    - with ``text`` (the raw message; what the lemmas lose): an official notice, news of work
      done or announced, an ad with a phone, link or price, a question for information (a post
      opening with one, a comment whose last sentence asks) — each with no failure in it;
    - no word of the problem vocabulary at all;
    - a comment (``is_comment``) with no failure word, or no other word of the vocabulary (what
      has failed).

    A document with no word is left to the caller.
    """
    words = doc.split()
    if not words:
        return None
    row = dict(zip(CUE_NAMES, _row_of(words), strict=True))
    # The raw text as the raw-text cues read it: lower case, «ё» as «е».
    text = text.lower().replace("ё", "е") if text else None
    present = set(words)
    if is_comment and (
        (_comment_advice(words) and not (text and _REPORTED.match(text)))
        or (text and _imperative_advice(words, text))
        or (
            text
            and present & _LATE_ADVICE_HINTS
            and not _REPORTED.match(text)
            and _late_advice(words, text)
        )
    ):
        return ADVICE_REASON
    names = bool(row["names_commenter"])
    if is_comment and names and text and _reply_argues(words, text):
        return REPLY_REASON  # «Николай, её ставила администрация, значит им и ремонтировать»
    if is_comment and names and text and _reply_reports(words, text):
        names = False  # «Ольга, инфомат сломан уже месяц»: a complaint addressed to someone
    if is_comment and names and not _failures(words) - _WEAK_FAILURE - _NEED:
        return REPLY_REASON  # «Светлана, это не УК, это домофонщики отвечают»
    if is_comment and names and text and _cause_correction(words, text):
        return REPLY_REASON  # «Игорь, это не завод, это свалку жгут»
    if not row["problem_and_object"]:
        if row["advice_opening"]:
            return ADVICE_REASON
        if names:
            return REPLY_REASON
    if words[0] in _INVITATION_OPENING:
        return INVITATION_REASON
    if words[0] in _SALE_OPENING and not present & _FAILURE:
        return AD_REASON
    if present & _PET and present & _PET_LOST and not present & _PET_DANGER:
        return PET_REASON
    if "правило" in present and present & _GROUP:
        return RULES_REASON
    if present & _SPAM and not present & _FAILURE and not (text and _forecast(words, text)):
        return SPAM_REASON  # (a weather forecast's «прогноз» is no betting tip)
    if present & _OCCULT and not present & _OCCULT_BLOCKERS:
        return SPAM_REASON
    if text is None and set(words[:2]) & _THANKS and not present & (_FAILURE | _CONTRAST):
        return THANKS_REASON
    thanks = bool(text and present & _THANKS and _thanks_opening(words, text))
    if thanks and text and not _thanks_complains(words, text):
        return THANKS_REASON
    greets = words[0] in _GREETING or (words[0] == "с" and len(words) > 1 and words[1] in _OCCASION)
    if greets and not present & _FAILURE:
        return GREETING_REASON
    if text:
        if _official_notice(words, text):
            return NOTICE_REASON
        if _reports_done_work(words, text):
            return NEWS_REASON
        if not is_comment and _accident_news(words, text):
            return ACCIDENT_NEWS_REASON
        if not is_comment and _forecast(words, text):
            return NEWS_REASON
        if _contact_ad(words, text):
            return CONTACT_REASON
        if not is_comment and _information_question(words, text, vocabulary):
            return QUESTION_REASON
        if is_comment and (_planned_question(words, text) or _comment_question(words, text)):
            return QUESTION_REASON
        if is_comment and (_lament(words, text) or _joke(words, text) or _relief(words, text)):
            return REACTION_REASON
    if not any(w in vocabulary for w in words):
        return NO_PROBLEM_REASON
    if is_comment and not _names_failure(words, vocabulary):
        return COMMENT_REASON
    return None
