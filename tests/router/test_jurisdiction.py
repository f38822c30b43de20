"""Test jurisdiction rules: first match wins, $municipal, default, confidence, return stats."""

from __future__ import annotations

import pytest

from classifier.types import Classification
from router.jurisdiction import (
    MUNICIPAL,
    TRIAGE,
    Jurisdiction,
    JurisdictionError,
    ReturnStats,
    RoutingSubject,
    Rule,
    TriageReason,
)

KIROV_CITY = "33701000"
SLOBODSKOY = "33713000"
KOTELNICH = "33710000"

RULES = (
    Rule(topic_group="Дороги", level="regional", executor="dorkom"),
    Rule(topic_group="Дороги", executor=MUNICIPAL),
    Rule(topic_group="Общественный транспорт", municipality_oktmo=KIROV_CITY, executor="adm-kirov"),
    Rule(topic_group="Общественный транспорт", executor="mintrans"),
    Rule(topic_group="Мусор", topic="Плата за вывоз ТКО", executor="minecology", id="tko-fee"),
    Rule(topic_group="Мусор", executor=MUNICIPAL),
)
MUNICIPALS = {KIROV_CITY: "adm-kirov", SLOBODSKOY: "adm-slobodskoy"}


def juris(default: str = TRIAGE, threshold: float = 0.8) -> Jurisdiction:
    """The test rules."""
    return Jurisdiction(RULES, default, threshold, MUNICIPALS)


def subject(
    group: str | None,
    topic: str | None = None,
    oktmo: str | None = SLOBODSKOY,
    level: str | None = None,
    topic_conf: float | None = 0.95,
    muni_conf: float | None = 0.95,
) -> RoutingSubject:
    """A routing subject with confident values unless told."""
    return RoutingSubject(group, topic, oktmo, level, topic_conf, muni_conf)


@pytest.mark.parametrize(
    ("subj", "executor", "index"),
    [
        (subject("Дороги", level="regional"), "dorkom", 0),
        (subject("Дороги", level="municipal"), "adm-slobodskoy", 1),
        (subject("Дороги"), "adm-slobodskoy", 1),  # level unknown: only level-free rules
        (subject("Общественный транспорт", oktmo=KIROV_CITY), "adm-kirov", 2),
        (subject("Общественный транспорт"), "mintrans", 3),
        (subject("Мусор", "Плата за вывоз ТКО"), "minecology", 4),
        (subject("Мусор", "Свалка"), "adm-slobodskoy", 5),
    ],
)
def test_first_matching_rule_wins(subj: RoutingSubject, executor: str, index: int) -> None:
    decision = juris().route(subj)
    assert decision.routed
    assert decision.executor == executor
    assert decision.rule_index == index


def test_decision_names_the_rule_and_why() -> None:
    decision = juris().route(subject("Мусор", "Плата за вывоз ТКО"))
    assert decision.rule_id == "tko-fee"
    assert decision.reason == (
        "tko-fee matched (topic group Мусор and topic Плата за вывоз ТКО → minecology)"
    )
    municipal = juris().route(subject("Дороги"))
    assert municipal.rule_id == "rules[1]"
    assert municipal.reason.endswith(f"{MUNICIPAL} of {SLOBODSKOY} is adm-slobodskoy")


def test_no_rule_goes_to_triage_or_the_default() -> None:
    decision = juris().route(subject("Культура"))
    assert not decision.routed
    assert decision.triage_reason is TriageReason.NO_RULE
    assert decision.rule_index is None
    fallback = juris(default="minkult").route(subject("Культура"))
    assert fallback.executor == "minkult"
    assert fallback.reason == "no rule matched; default minkult"


def test_municipal_without_municipality_or_administration_goes_to_triage() -> None:
    unknown = juris().route(subject("Дороги", oktmo=None, muni_conf=None))
    assert unknown.triage_reason is TriageReason.NO_MUNICIPALITY
    assert unknown.rule_index == 1
    missing = juris().route(subject("Дороги", oktmo=KOTELNICH))
    assert missing.triage_reason is TriageReason.NO_MUNICIPAL_EXECUTOR


@pytest.mark.parametrize(
    ("topic_conf", "muni_conf", "routed"),
    [(0.95, 0.95, True), (0.8, 0.8, True), (0.79, 0.95, False), (0.95, 0.5, False)],
)
def test_automatic_routing_only_above_threshold(
    topic_conf: float, muni_conf: float, routed: bool
) -> None:
    decision = juris().route(subject("Дороги", topic_conf=topic_conf, muni_conf=muni_conf))
    assert decision.routed is routed
    if not routed:
        assert decision.triage_reason is TriageReason.LOW_CONFIDENCE
        assert decision.suggested_executor == "adm-slobodskoy"
        assert "below 0.80" in decision.reason


def test_municipality_confidence_matters_only_when_the_rule_uses_it() -> None:
    decision = juris().route(subject("Общественный транспорт", muni_conf=0.1))
    assert decision.executor == "mintrans"
    assert decision.confidence == 0.95


def test_manual_routing_ignores_confidence() -> None:
    decision = juris().route(subject("Дороги", topic_conf=0.2), automatic=False)
    assert decision.executor == "adm-slobodskoy"


def test_subject_from_classification() -> None:
    classification = Classification(
        is_complaint=True,
        complaint_confidence=0.9,
        topic_group="Дороги",
        topic="Ямы",
        topic_confidence=0.91,
        municipality="Слободской",
        municipality_oktmo=SLOBODSKOY,
        municipality_confidence=0.7,
        model_version="test",
    )
    decision = juris().route(RoutingSubject.from_classification(classification))
    assert decision.triage_reason is TriageReason.LOW_CONFIDENCE
    assert decision.confidence == 0.7


def test_rules_are_validated() -> None:
    with pytest.raises(JurisdictionError, match="used twice"):
        Jurisdiction((Rule(executor="a", id="x"), Rule(executor="b", id="x")))
    with pytest.raises(JurisdictionError, match="no executor"):
        Jurisdiction((Rule(executor=""),))
    with pytest.raises(JurisdictionError):
        Jurisdiction((), min_confidence=1.5)


def test_return_stats_count_against_the_routing_rule() -> None:
    stats = ReturnStats.replay(
        routed=[("rules[1]", "adm-a"), ("rules[1]", "adm-a"), ("rules[1]", "adm-b"), ("x", "m")],
        returned=[("rules[1]", "adm-a"), ("x", "m"), ("x", "m")],
    )
    assert stats.returns("rules[1]", "adm-a") == 1
    assert stats.returns("rules[1]", "adm-b") == 0
    rows = stats.rows()
    assert [(r.rule_id, r.executor, r.routed, r.returned) for r in rows] == [
        ("x", "m", 1, 2),
        ("rules[1]", "adm-a", 2, 1),
        ("rules[1]", "adm-b", 1, 0),
    ]
    assert rows[1].return_share == 0.5
    assert ReturnStats().record_returned("r", "e").rows()[0].return_share == 0.0
