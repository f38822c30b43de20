"""Page filters: the classification's evidence grouped for people, safe links."""

from __future__ import annotations

from web.filters import evidence_groups


def test_evidence_words_are_grouped_by_what_they_decided_strongest_first() -> None:
    evidence = {
        "evidence": [
            {"field": "complaint", "text": "уже", "weight": 0.3421},
            {"field": "complaint", "text": "не", "weight": 0.7451},
            {"field": "topic", "text": "вода", "weight": 0.8676},
            {"field": "municipality", "text": "source: город Киров", "weight": 0.5},
            "broken item",
        ],
        "municipality_candidates": [{"name": "город Киров", "oktmo": "33701000", "score": 0.5}],
        "topic_group_confidence": 0.46,
    }
    assert evidence_groups(evidence) == [
        ("жалоба", ["не (0.75)", "уже (0.34)"]),
        ("тема", ["вода (0.87)"]),
        ("место", ["source: город Киров (0.50)"]),
        ("кандидаты места", ["город Киров (0.50)"]),
    ]
    assert evidence_groups({"other": 1}) == []
