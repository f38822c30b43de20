"""Grouping quality on synthetic duplicate sets with known truth: pairwise precision and recall."""

from __future__ import annotations

import itertools

import pytest

from router.grouping import Attach, GroupingIndex, Rule
from tests.router.test_grouping_support import load_duplicates, pair_scores

# Measured on 2026-11-23 with the default GroupingConfig (attach_threshold 0.25):
#   duplicates.json       68 messages, 24 incidents: precision 1.00, recall 1.00
#   duplicates_hard.json  33 messages, 15 incidents: precision 1.00, recall 0.85
# The floors sit just under those figures, so a change that loses quality fails here.
FLOORS = {
    "duplicates.json": (0.97, 0.95),
    "duplicates_hard.json": (0.97, 0.80),
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_pairwise_precision_and_recall(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = load_duplicates(name)
    index = GroupingIndex()
    ids = itertools.count(1)
    for labelled in data:
        index.process(labelled.message, lambda seed: next(ids))
    predicted = [index.incident_of(lm.message.key) for lm in data]
    scores = pair_scores([lm.truth for lm in data], predicted)
    with capsys.disabled():
        print(
            f"\n{name}: {len(data)} messages, {len({lm.truth for lm in data})} true incidents, "
            f"{len(set(predicted))} predicted; pairwise precision {scores.precision:.3f}, "
            f"recall {scores.recall:.3f} ({scores.true_pairs} true pairs, "
            f"{scores.predicted_pairs} predicted)"
        )
    precision_floor, recall_floor = FLOORS[name]
    assert scores.precision >= precision_floor
    assert scores.recall >= recall_floor


def test_every_attachment_says_why() -> None:
    index = GroupingIndex()
    ids = itertools.count(1)
    rules = set()
    for labelled in load_duplicates():
        decision, link = index.process(labelled.message, lambda seed: next(ids))
        assert link is not None
        evidence = link.evidence.to_dict()
        assert evidence["incident_id"] == link.incident_id
        assert evidence["note"]
        if isinstance(decision, Attach):
            rules.add(decision.evidence.rule)
            if decision.evidence.rule is not Rule.COMMENT_OF_POST:
                assert decision.evidence.matched_fingerprint is not None
    assert rules == {Rule.COMMENT_OF_POST, Rule.ADDRESS_FINGERPRINT, Rule.SIMILARITY}
