"""Score grouping against known truth: pair precision and recall, B-cubed, suggested merges.

Pure: labelled messages in (the true problem of each, in posting order), figures out. The
``evaluate grouping`` command and the quality tests feed it the labelled sets under
``tests/router/data/``.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from router.grouping import Attach, Create, GroupingConfig, GroupingIndex, GroupingMessage

__all__ = [
    "GroupingScores",
    "LabelledMessage",
    "bcubed",
    "evaluate_grouping",
    "load_labelled",
    "pair_precision_recall",
]


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    """A message and the problem it truly belongs to."""

    truth: str
    message: GroupingMessage


@dataclass(frozen=True, slots=True)
class GroupingScores:
    """How a grouping run compares with the truth."""

    messages: int
    problems: int
    incidents: int
    pair_precision: float
    pair_recall: float
    bcubed_precision: float
    bcubed_recall: float
    merges_made: int
    merges_suggested: int
    suggestions_right: int
    accepted_pair_precision: float
    accepted_pair_recall: float

    @property
    def bcubed_f1(self) -> float:
        """Return the harmonic mean of B-cubed precision and recall."""
        total = self.bcubed_precision + self.bcubed_recall
        return 0.0 if total == 0 else 2 * self.bcubed_precision * self.bcubed_recall / total

    @property
    def suggested_share(self) -> float:
        """Return the share of merges left to the operator rather than made."""
        total = self.merges_made + self.merges_suggested
        return 0.0 if total == 0 else self.merges_suggested / total

    def lines(self) -> list[str]:
        """Return the figures as lines for a terminal."""
        return [
            f"messages {self.messages}, true problems {self.problems}, "
            f"incidents made {self.incidents}",
            f"pair precision {self.pair_precision:.3f}, pair recall {self.pair_recall:.3f}",
            f"B-cubed precision {self.bcubed_precision:.3f}, recall {self.bcubed_recall:.3f}, "
            f"F1 {self.bcubed_f1:.3f}",
            f"merges made {self.merges_made}, suggested {self.merges_suggested} "
            f"(share suggested {self.suggested_share:.3f}; "
            f"{self.suggestions_right} of the suggestions right)",
            f"if every suggestion is accepted: pair precision "
            f"{self.accepted_pair_precision:.3f}, recall {self.accepted_pair_recall:.3f}",
        ]


def _pairs(labels: Sequence[Hashable]) -> set[tuple[int, int]]:
    groups: dict[Hashable, list[int]] = {}
    for position, label in enumerate(labels):
        groups.setdefault(label, []).append(position)
    return {pair for members in groups.values() for pair in itertools.combinations(members, 2)}


def pair_precision_recall(
    truth: Sequence[Hashable], predicted: Sequence[Hashable]
) -> tuple[float, float]:
    """Return the pairwise precision and recall of a clustering (1.0 when there are no pairs)."""
    true_pairs, predicted_pairs = _pairs(truth), _pairs(predicted)
    both = len(true_pairs & predicted_pairs)
    precision = both / len(predicted_pairs) if predicted_pairs else 1.0
    recall = both / len(true_pairs) if true_pairs else 1.0
    return precision, recall


def bcubed(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> tuple[float, float]:
    """Return B-cubed precision and recall: per message, the share of its cluster that is right."""
    if not truth:
        return 1.0, 1.0
    both = Counter(zip(truth, predicted, strict=True))
    true_sizes, predicted_sizes = Counter(truth), Counter(predicted)
    precision = sum(
        both[(t, p)] / predicted_sizes[p] for t, p in zip(truth, predicted, strict=True)
    )
    recall = sum(both[(t, p)] / true_sizes[t] for t, p in zip(truth, predicted, strict=True))
    return precision / len(truth), recall / len(truth)


def _accepted(predicted: Sequence[int], suggestions: Mapping[int, int]) -> list[int]:
    """Return the clustering after every suggested merge (new incident -> suggested) is made."""
    parent: dict[int, int] = {}

    def find(node: int) -> int:
        while parent.get(node, node) != node:
            node = parent[node]
        return node

    for new, suggested in suggestions.items():
        parent[find(new)] = find(suggested)
    return [find(p) for p in predicted]


def evaluate_grouping(
    labelled: Sequence[LabelledMessage], config: GroupingConfig | None = None
) -> GroupingScores:
    """Group the messages in order with a fresh index and score the result against the truth."""
    index = GroupingIndex(config)
    ids = itertools.count(1)
    made = 0
    suggestions: dict[int, int] = {}
    for item in labelled:
        decision, link = index.process(item.message, lambda seed: next(ids))
        if isinstance(decision, Attach):
            made += 1
        elif isinstance(decision, Create) and link is not None:
            suggested = decision.evidence.suggested_incident_id
            if suggested is not None:
                suggestions[link.incident_id] = suggested
    truth = [item.truth for item in labelled]
    predicted = [index.incident_of(item.message.key) or 0 for item in labelled]
    truth_of_incident: dict[int, Counter[str]] = {}
    for label, incident in zip(truth, predicted, strict=True):
        truth_of_incident.setdefault(incident, Counter())[label] += 1
    right = sum(
        1
        for new, suggested in suggestions.items()
        if truth_of_incident[new].most_common(1)[0][0]
        == truth_of_incident.get(suggested, Counter({"": 1})).most_common(1)[0][0]
    )
    pair_p, pair_r = pair_precision_recall(truth, predicted)
    b_p, b_r = bcubed(truth, predicted)
    acc_p, acc_r = pair_precision_recall(truth, _accepted(predicted, suggestions))
    return GroupingScores(
        messages=len(labelled),
        problems=len(set(truth)),
        incidents=len(set(predicted)),
        pair_precision=pair_p,
        pair_recall=pair_r,
        bcubed_precision=b_p,
        bcubed_recall=b_r,
        merges_made=made,
        merges_suggested=len(suggestions),
        suggestions_right=right,
        accepted_pair_precision=acc_p,
        accepted_pair_recall=acc_r,
    )


def load_labelled(path: Path, lemmatize: Callable[[str], Iterable[str]]) -> list[LabelledMessage]:
    """Read a labelled set (the JSON of tests/router/data) as messages in posting order.

    Each message needs ``key``, ``truth``, ``network``, ``text``, ``minutes`` (after
    ``base_time``); ``place`` names a municipality of ``municipalities`` or is null (unknown);
    ``group``, ``topic``, ``parent`` and ``author`` are optional.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        base = datetime.fromisoformat(raw["base_time"])
        places: dict[str, str] = raw.get("municipalities", {})
        result = []
        for item in raw["messages"]:
            place = item.get("place")
            message = GroupingMessage(
                key=str(item["key"]),
                network=str(item["network"]),
                text=str(item["text"]),
                lemmas=tuple(lemmatize(str(item["text"]))),
                topic_group=item.get("group"),
                topic=item.get("topic"),
                municipality_oktmo=None if place is None else places[place],
                posted_at=base + timedelta(minutes=int(item["minutes"])),
                parent_key=item.get("parent"),
                author_id=item.get("author"),
            )
            result.append(LabelledMessage(str(item["truth"]), message))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a labelled grouping set: {err!r}") from err
    result.sort(key=lambda lm: lm.message.posted_at)
    return result
