"""A comment read with its thread: support for the post's incident, the same problem elsewhere,
talk between commenters, or a message of its own.

Pure: plain values in (the comment's classification and lemmas, the post's classification and
incident, whether it answers another commenter), one :class:`ThreadDecision` out. The pipeline
(``app/pipeline.py``) acts on it: a reaction or a piece of advice under a post that is an incident
attaches to that incident as support (counted, and raising its priority) instead of opening an
incident of its own; «у нас на Щорса то же самое» opens a new incident with the post's topic at
the comment's place, linked to the post's incident; a reply to another commenter that reports
no problem itself is discussion, and goes no further.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from classifier.noise import FIRST_NAMES
from classifier.types import Classification
from router.fingerprint import content_terms

__all__ = [
    "SUPPORT_KINDS",
    "ParentIncident",
    "ThreadAction",
    "ThreadConfig",
    "ThreadDecision",
    "ThreadMessage",
    "addresses_commenter",
    "decide_thread",
    "same_problem_marker",
]

#: Kinds of non-complaint (classifier.noise.NOISE_KINDS) that, under a post that is an incident,
#: say "me too" or "here is where to complain": support for that incident.
SUPPORT_KINDS: frozenset[str] = frozenset({"reaction", "advice", "thanks"})


class ThreadAction(enum.StrEnum):
    """What to do with a message, read in its thread."""

    OWN = "own"  # as any message: grouping decides (a post, or a comment with its own problem)
    SUPPORT = "support"  # attach to the post's incident as support
    SAME_ELSEWHERE = "same_elsewhere"  # new incident: the post's topic, the comment's place
    DISCUSSION = "discussion"  # talk between commenters: no incident
    NOT_COMPLAINT = "not_complaint"  # nothing to act on


@dataclass(frozen=True, slots=True)
class ParentIncident:
    """The incident the commented post belongs to, as the decision needs it."""

    id: int
    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    addresses: frozenset[tuple[str, ...]] = frozenset()


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """A message with what its thread says about it.

    ``address`` is the comment's own address (router.fingerprint.extract_address); ``parent`` the
    post's classification, when known; ``parent_incident`` the post's open incident, if any;
    ``replies_to_commenter`` whether it answers another commenter rather than the post.
    """

    classification: Classification
    lemmas: tuple[str, ...]
    is_comment: bool
    address: tuple[str, ...] = ()
    replies_to_commenter: bool = False
    parent: Classification | None = None
    parent_incident: ParentIncident | None = None


@dataclass(frozen=True, slots=True)
class ThreadDecision:
    """The action, the reason (for logs and the link's evidence), and what it refers to.

    ``incident_id`` is the incident supported, or the one a same-elsewhere incident is linked
    to; ``topic_group``/``topic`` the topic a same-elsewhere incident takes from it.
    """

    action: ThreadAction
    reason: str
    incident_id: int | None = None
    topic_group: str | None = None
    topic: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class ThreadConfig:
    """Thresholds of the decision.

    ``reply_min_confidence``: a reply to another commenter counts as a problem of its own only
    at this complaint confidence or above (talk borrows the thread's words).
    """

    reply_min_confidence: float = 0.7
    # Under a post that is an incident, a comment called a complaint with fewer content words
    # than this and no address of its own («Безобразие», «Опять без света сидеть») echoes the
    # post: support, not a problem of its own.
    echo_max_terms: int = 6


# "то же самое", "та же беда", "такая же яма", "точно так же", "аналогично", "тоже нет света"
_SAME_PAIRS = frozenset(
    {
        ("тот", "же"),
        ("то", "же"),
        ("та", "же"),
        ("такой", "же"),
        ("так", "же"),
        ("же", "самый"),
    }
)
_SAME_WORDS = frozenset({"тоже", "аналогично", "аналогичный", "также"})


def same_problem_marker(lemmas: Sequence[str]) -> bool:
    """Tell whether a text says "the same (problem) here": то же самое, тоже, аналогично."""
    if any(lemma in _SAME_WORDS for lemma in lemmas):
        return True
    return any((a, b) in _SAME_PAIRS for a, b in itertools.pairwise(lemmas))


# A reply addresses the other commenter first: VK writes "[id123|Олег], ...", people write
# "Олег, ..." or "Галина Петровна, ...".
_MENTION = re.compile(r"^\s*\[(?:id|club|public)\d+\|[^\]]+\]")
_NAMED = re.compile(r"^\s*([А-ЯЁ][а-яё]+)(?:\s+([А-ЯЁ][а-яё]+))?\s*,")
_PATRONYMIC = re.compile(r"(?:вич|вна|ична|инична|ич)$")


def addresses_commenter(text: str) -> bool:
    """Tell whether a comment opens by addressing someone by name (a reply to a commenter)."""
    if _MENTION.match(text):
        return True
    match = _NAMED.match(text)
    if match is None:
        return False
    first, second = match.group(1).casefold(), match.group(2)
    if first not in FIRST_NAMES:
        return False
    return second is None or bool(_PATRONYMIC.search(second.casefold()))


def _other_place(message: ThreadMessage, parent: ParentIncident) -> bool:
    """Tell whether the comment names a place other than the parent incident's."""
    if message.address and message.address not in parent.addresses:
        return True
    own = message.classification.municipality_oktmo
    if own is None or parent.municipality_oktmo in (None, own):
        return False
    # Only a place the comment names counts: the source's territory is a prior the post
    # shares, not "another place".
    return any(
        e.field == "municipality" and not e.text.startswith("source:")
        for e in message.classification.evidence
    )


def decide_thread(message: ThreadMessage, config: ThreadConfig | None = None) -> ThreadDecision:
    """Decide what a message means in its thread. The rules, first match wins:

    1. a post is its own message;
    2. the same problem at another place ("тоже", "то же самое" with an address or a town other
       than the post's incident's) opens a new incident with the post's topic, linked to it;
    3. a reply to another commenter is discussion, unless it reports a problem itself (called a
       complaint at ``reply_min_confidence`` or above);
    4. under a post that is an incident, a short comment called a complaint (under
       ``echo_max_terms`` content words, no address) echoes it: support; any other complaint is
       its own message (grouping attaches it to the post's incident if it is about the same
       thing);
    5. under a post that is an incident, a reaction, a piece of advice or thanks — or "the same
       here" with no other place — is support for that incident;
    6. the rest is no complaint (a question, an ad, talk under a post that is no incident).
    """
    config = config or ThreadConfig()
    result = message.classification
    kind = result.kind
    if not message.is_comment:
        return ThreadDecision(ThreadAction.OWN, "a post", kind=kind)
    parent = message.parent_incident
    same = same_problem_marker(message.lemmas)
    if parent is not None and same and _other_place(message, parent):
        place = " ".join(message.address) or result.municipality or "another place"
        return ThreadDecision(
            ThreadAction.SAME_ELSEWHERE,
            f"the same problem as incident {parent.id}, at {place}",
            incident_id=parent.id,
            topic_group=parent.topic_group,
            topic=parent.topic,
            kind=kind,
        )
    if message.replies_to_commenter:
        if result.is_complaint and result.complaint_confidence >= config.reply_min_confidence:
            return ThreadDecision(ThreadAction.OWN, "a reply that reports a problem", kind=kind)
        return ThreadDecision(ThreadAction.DISCUSSION, "a reply to another commenter", kind=kind)
    if (
        result.is_complaint
        and parent is not None
        and not message.address
        and len(content_terms(message.lemmas)) < config.echo_max_terms
    ):
        return ThreadDecision(
            ThreadAction.SUPPORT,
            f"support (a short echo of the post) for incident {parent.id}",
            incident_id=parent.id,
            kind=kind,
        )
    if result.is_complaint:
        return ThreadDecision(ThreadAction.OWN, "a comment that reports a problem", kind=kind)
    if parent is not None and (kind in SUPPORT_KINDS or same):
        what = "the same here" if same and kind not in SUPPORT_KINDS else kind
        return ThreadDecision(
            ThreadAction.SUPPORT,
            f"support ({what}) for incident {parent.id}",
            incident_id=parent.id,
            kind=kind,
        )
    if kind == "reply" or (parent is not None and kind == "question"):
        return ThreadDecision(ThreadAction.DISCUSSION, f"talk under the post ({kind})", kind=kind)
    return ThreadDecision(ThreadAction.NOT_COMPLAINT, f"not a complaint ({kind})", kind=kind)
