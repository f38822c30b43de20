"""What people write besides complaints: the non-complaint kinds, and the measured thread set.

The complaint head of the text models tells a complaint from ten kinds of non-complaint that
real threads are full of (``NOISE_KINDS``); its answer names the kind, so the thread logic
(``router.thread``) can attach a reaction or a piece of advice to the post's incident as
support instead of opening an incident of its own.

The measured set (``tests/classifier/data/noise_threads.txt``) is a hand-written collection of
VK/OK/Telegram threads — posts, comments and replies — each message labelled with its kind. It is
never used for training; :func:`noise_report` scores a model on it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "COMPLAINT",
    "FIRST_NAMES",
    "NOISE_KINDS",
    "SAME",
    "SUPPORT_KINDS",
    "KindScore",
    "NoiseMessage",
    "NoiseReport",
    "NoiseSetError",
    "format_noise_report",
    "load_noise_set",
    "noise_report",
]

COMPLAINT = "complaint"
#: "The post's problem, at another place" (a comment such as «у нас на Щорса то же самое»):
#: no object of its own, so the text alone decides nothing; the thread logic does.
SAME = "same"
#: The kinds of non-complaint, in the order reports list them.
NOISE_KINDS: tuple[str, ...] = (
    "reaction",  # reactions and agreement, emoji-only and «+» included
    "advice",  # where and how to complain
    "reply",  # talk between commenters
    "thanks",  # thanks and praise
    "greeting",  # greetings and congratulations
    "ad",  # ads and sales
    "news",  # news and announcements
    "notice",  # official notices: planned outages, road closures
    "question",  # questions for information
    "spam",
)
#: Under a post that is an incident, these say "me too" / "here is what to do": support.
SUPPORT_KINDS: frozenset[str] = frozenset({"reaction", "advice", "thanks"})
#: Russian names of the kinds, for evidence and screens.
KIND_NAMES: dict[str, str] = {
    COMPLAINT: "жалоба",
    SAME: "то же самое в другом месте",
    "reaction": "реакция или согласие",
    "advice": "совет, куда обращаться",
    "reply": "ответ другому комментатору",
    "thanks": "благодарность",
    "greeting": "приветствие или поздравление",
    "ad": "объявление или реклама",
    "news": "новость или анонс",
    "notice": "официальное уведомление",
    "question": "вопрос для справки",
    "spam": "спам",
}

_NAMES = """
    александр саша алексей лёша леша андрей анатолий антон артём артем борис вадим валентин
    валерий василий вася виктор витя виталий владимир вова владислав влад вячеслав глеб
    григорий гриша денис дима дмитрий евгений женя егор иван ваня игорь илья кирилл константин
    костя лев леонид максим макс марат михаил миша никита николай коля олег павел паша пётр
    петр роман рома руслан сергей серёжа сережа станислав стас степан тимур фёдор федор юрий
    юра ярослав эдуард анна аня алёна алена алла алина александра анастасия настя ангелина
    валентина валя вера вероника виктория вика галина галя дарья даша диана ева евгения
    екатерина катя елена лена елизавета лиза жанна зоя зинаида инна ирина ира карина кира
    кристина ксения лариса лидия любовь люба людмила люда маргарита рита марина мария маша
    надежда надя наталья наташа нина оксана ольга оля полина раиса роза светлана света софья
    тамара татьяна таня ульяна эльвира юлия юля яна нелли римма тимофей эмма
    олеся геннадий гена аркадий семён семен захар тарас филипп ефим марк давид арсений
    матвей данил даниил всеволод герман георгий жора алиса таисия антонина тоня клавдия
    валерия лера снежана регина фаина богдан ростислав эдик толя гоша лёня леня
"""
#: First names (lower case) a reply to another commenter opens with («Олег, ...»).
FIRST_NAMES: frozenset[str] = frozenset(_NAMES.split())

Role = Literal["post", "comment", "reply"]
_HEADER = re.compile(r"^=== (\S+) (vk|ok|tg)\s*$")
_LINE = re.compile(r"^( {0,2})(post|comment|reply) ([^|]+?) \| (.+)$")
_ROLE_INDENT = {"post": 0, "comment": 1, "reply": 2}


class NoiseSetError(ValueError):
    """The measured set's file is missing or a line of it is malformed."""


@dataclass(frozen=True, slots=True)
class NoiseMessage:
    """One labelled message of the measured set, with its place in the thread.

    ``label`` is ``complaint``, ``same`` or one of ``NOISE_KINDS``; ``group`` is the topic group
    of a complaint. ``parent_id`` is the post's id for a comment and a reply; ``reply_to`` the
    comment a reply answers.
    """

    id: str
    thread: str
    network: str
    role: Role
    text: str
    label: str
    group: str | None = None
    parent_id: str | None = None
    reply_to: str | None = None

    @property
    def is_complaint(self) -> bool | None:
        """Say whether the text alone is a complaint (None for ``same``: the thread decides)."""
        if self.label == SAME:
            return None
        return self.label == COMPLAINT


def _parse_label(raw: str, where: str) -> tuple[str, str | None]:
    kind, _, group = raw.partition(":")
    if kind == COMPLAINT:
        if not group:
            raise NoiseSetError(f"{where}: a complaint needs its group: complaint:<group>")
        return COMPLAINT, group
    if group or (kind not in NOISE_KINDS and kind != SAME):
        raise NoiseSetError(f"{where}: unknown label {raw!r}")
    return kind, None


def load_noise_set(path: Path) -> list[NoiseMessage]:
    """Read the measured set (format: the comment at the top of the file).

    Raises:
        NoiseSetError: when the file cannot be read or a line is malformed.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise NoiseSetError(f"{path}: cannot read: {err.strerror or err}") from err
    out: list[NoiseMessage] = []
    thread = network = ""
    post_id: str | None = None
    comment_id: str | None = None
    counter = 0
    for number, line in enumerate(lines, start=1):
        where = f"{path.name}:{number}"
        if not line.strip() or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            thread, network = header.group(1), header.group(2)
            post_id = comment_id = None
            counter = 0
            continue
        match = _LINE.match(line)
        if match is None or not thread:
            raise NoiseSetError(f"{where}: expected '=== <thread> <network>' or '<role> <label> |'")
        indent, role, raw_label, text = match.groups()
        if len(indent) != _ROLE_INDENT[role]:
            raise NoiseSetError(f"{where}: a {role} is indented by {_ROLE_INDENT[role]} spaces")
        label, group = _parse_label(raw_label, where)
        counter += 1
        message_id = f"{thread}.{counter}"
        parent: str | None = None
        reply_to: str | None = None
        if role == "post":
            if post_id is not None:
                raise NoiseSetError(f"{where}: a second post in thread {thread}")
            post_id = message_id
        elif post_id is None:
            raise NoiseSetError(f"{where}: a {role} before the post of thread {thread}")
        else:
            parent = post_id
            if role == "comment":
                comment_id = message_id
            elif comment_id is None:
                raise NoiseSetError(f"{where}: a reply before any comment")
            else:
                reply_to = comment_id
        out.append(
            NoiseMessage(
                id=message_id,
                thread=thread,
                network=network,
                role=role,  # type: ignore[arg-type]  # matched by _LINE
                text=text.strip().replace("\\n", "\n"),
                label=label,
                group=group,
                parent_id=parent,
                reply_to=reply_to,
            )
        )
    if not out:
        raise NoiseSetError(f"{path}: the set is empty")
    return out


@dataclass(frozen=True, slots=True)
class KindScore:
    """How one label of the measured set fared.

    ``kept_out`` is the share of its messages not called a complaint (for ``complaint``: the
    share called one, i.e. the recall). ``precision``/``recall`` are the kind head's, when the
    model names kinds (None otherwise).
    """

    label: str
    n: int
    kept_out: float
    precision: float | None
    recall: float | None


@dataclass(frozen=True, slots=True)
class NoiseReport:
    """Complaint precision and recall on the measured set, and a score per label."""

    n: int
    complaint_precision: float
    complaint_recall: float
    per_kind: tuple[KindScore, ...]
    false_positives: tuple[tuple[str, str, float], ...]  # (label, text, confidence)
    false_negatives: tuple[tuple[str, float], ...]  # (text, confidence)

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "n": self.n,
            "complaint_precision": round(self.complaint_precision, 4),
            "complaint_recall": round(self.complaint_recall, 4),
            "per_kind": {
                k.label: {
                    "n": k.n,
                    "kept_out": round(k.kept_out, 4),
                    "precision": None if k.precision is None else round(k.precision, 4),
                    "recall": None if k.recall is None else round(k.recall, 4),
                }
                for k in self.per_kind
            },
        }


def noise_report(
    messages: Sequence[NoiseMessage],
    confidences: Sequence[float],
    kinds: Sequence[str | None] | None = None,
    *,
    threshold: float = 0.5,
) -> NoiseReport:
    """Score complaint confidences (and, if given, predicted kinds) against the labels.

    ``same`` messages are left out of the complaint precision and recall (the thread decides
    them) but get their own row.
    """
    if len(messages) != len(confidences) or (kinds is not None and len(kinds) != len(messages)):
        raise ValueError("messages and predictions differ in length")
    called = [c >= threshold for c in confidences]
    tp = fp = fn = 0
    fps: list[tuple[str, str, float]] = []
    fns: list[tuple[str, float]] = []
    for message, yes, conf in zip(messages, called, confidences, strict=True):
        truth = message.is_complaint
        if truth is None:
            continue
        if yes and truth:
            tp += 1
        elif yes:
            fp += 1
            fps.append((message.label, message.text, conf))
        elif truth:
            fn += 1
            fns.append((message.text, conf))
    predicted_kind: list[str | None] = list(kinds) if kinds is not None else []
    if kinds is not None:
        predicted_kind = [COMPLAINT if yes else k for yes, k in zip(called, kinds, strict=True)]
    by_label = Counter(m.label for m in messages)
    by_prediction = Counter(predicted_kind)
    rows: list[KindScore] = []
    for label in (COMPLAINT, *NOISE_KINDS, SAME):
        idx = [i for i, m in enumerate(messages) if m.label == label]
        if not idx:
            continue
        yes_n = sum(called[i] for i in idx)
        kept = yes_n / len(idx) if label == COMPLAINT else 1 - yes_n / len(idx)
        precision = recall = None
        if kinds is not None and label != SAME:
            hits = sum(predicted_kind[i] == label for i in idx)
            recall = hits / by_label[label]
            precision = hits / by_prediction[label] if by_prediction[label] else 0.0
        rows.append(KindScore(label, len(idx), kept, precision, recall))
    return NoiseReport(
        n=len(messages),
        complaint_precision=tp / (tp + fp) if tp + fp else 0.0,
        complaint_recall=tp / (tp + fn) if tp + fn else 0.0,
        per_kind=tuple(rows),
        false_positives=tuple(sorted(fps, key=lambda f: -f[2])),
        false_negatives=tuple(sorted(fns, key=lambda f: f[1])),
    )


def format_noise_report(report: NoiseReport, *, examples: int = 10) -> str:
    """Render the report: complaint P/R, a row per label, the worst mistakes."""
    lines = [
        f"complaint precision {report.complaint_precision:.3f}, recall "
        f"{report.complaint_recall:.3f} ({report.n} messages)",
        f"{'label':<10}  {'n':>4}  kept-out  kind-precision  kind-recall",
    ]
    for k in report.per_kind:
        p = "—" if k.precision is None else f"{k.precision:.3f}"
        r = "—" if k.recall is None else f"{k.recall:.3f}"
        lines.append(f"{k.label:<10}  {k.n:4d}  {k.kept_out:8.3f}  {p:>14}  {r:>11}")
    lines.append("(kept-out: share not called a complaint; for 'complaint' the share called one)")
    if report.false_positives:
        lines.append(f"called complaints, worst {examples}:")
        lines.extend(
            f"  {conf:.2f} [{label}] {text[:90]}"
            for label, text, conf in report.false_positives[:examples]
        )
    if report.false_negatives:
        lines.append(f"missed complaints, worst {examples}:")
        lines.extend(
            f"  {conf:.2f} {text[:90]}" for text, conf in report.false_negatives[:examples]
        )
    return "\n".join(lines)
