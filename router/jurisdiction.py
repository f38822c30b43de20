"""Route an incident to its executor by jurisdiction rules kept as data; first match wins."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from classifier.types import Classification

__all__ = [
    "ANY",
    "MUNICIPAL",
    "TRIAGE",
    "Jurisdiction",
    "JurisdictionError",
    "ReturnStats",
    "RouteDecision",
    "RoutingSubject",
    "Rule",
    "RuleStats",
    "TriageReason",
]

#: Matches any topic group, topic or municipality.
ANY = "*"
#: A rule's executor meaning "the administration of the incident's own municipality".
MUNICIPAL = "$municipal"
#: The operators' triage queue.
TRIAGE = "triage"


class JurisdictionError(ValueError):
    """The rules cannot be used (a duplicate id, an empty executor, a bad threshold)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """Topic group × topic × municipality × level → executor; ``*`` (or None level) matches any.

    ``executor`` is an executor code or :data:`MUNICIPAL`. ``id`` names the rule in decisions
    and statistics; it defaults to ``rules[<index>]``.
    """

    executor: str
    topic_group: str = ANY
    topic: str = ANY
    municipality_oktmo: str = ANY
    level: str | None = None
    id: str = ""

    def matches(self, subject: RoutingSubject) -> bool:
        """Return whether the rule applies to the subject (an unknown value matches only ``*``)."""
        return (
            self.topic_group in (ANY, subject.topic_group)
            and self.topic in (ANY, subject.topic)
            and self.municipality_oktmo in (ANY, subject.municipality_oktmo)
            and (self.level is None or self.level == subject.level)
        )

    def describe(self) -> str:
        """Return what the rule matches, for people."""
        parts = [
            f"{name} {value}"
            for name, value in (
                ("topic group", self.topic_group),
                ("topic", self.topic),
                ("municipality", self.municipality_oktmo),
                ("level", self.level or ANY),
            )
            if value != ANY
        ]
        return (" and ".join(parts) or "anything") + f" → {self.executor}"


@dataclass(frozen=True, slots=True)
class RoutingSubject:
    """What routing reads about an incident, each value with the classifier's confidence.

    Confidences are None for values a person set (they are certain).
    """

    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    level: str | None = None
    topic_confidence: float | None = None
    municipality_confidence: float | None = None

    @classmethod
    def from_classification(
        cls, classification: Classification, level: str | None = None
    ) -> RoutingSubject:
        """Build the subject from the classifier's result."""
        return cls(
            topic_group=classification.topic_group,
            topic=classification.topic,
            municipality_oktmo=classification.municipality_oktmo,
            level=level,
            topic_confidence=classification.topic_confidence,
            municipality_confidence=classification.municipality_confidence,
        )


class TriageReason(enum.StrEnum):
    """Why an incident was left in the triage queue."""

    LOW_CONFIDENCE = "low_confidence"
    NO_RULE = "no_rule"
    NO_MUNICIPALITY = "no_municipality"
    NO_MUNICIPAL_EXECUTOR = "no_municipal_executor"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where an incident goes and why: the rule that matched (index and id) and the reasoning.

    ``executor`` is None when the incident waits in triage; ``suggested_executor`` is then what
    the rules would have chosen, for the operator to confirm.
    """

    executor: str | None
    rule_index: int | None
    rule_id: str | None
    reason: str
    triage_reason: TriageReason | None = None
    suggested_executor: str | None = None
    confidence: float | None = None

    @property
    def routed(self) -> bool:
        """Return whether the incident was routed to an executor (not left in triage)."""
        return self.executor is not None


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """The ordered rules, the default, the municipal executors and the auto-routing threshold.

    ``municipal_executors`` maps an OKTMO code to the code of that municipality's
    administration (what :data:`MUNICIPAL` resolves to). ``default`` is an executor code or
    :data:`TRIAGE`. Automatic routing requires the confidence of every value the matched
    rule relied on to be at least ``min_confidence``.
    """

    rules: tuple[Rule, ...]
    default: str = TRIAGE
    min_confidence: float = 0.8
    municipal_executors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not 0 <= self.min_confidence <= 1:
            raise JurisdictionError(f"min_confidence must be within 0..1: {self.min_confidence}")
        seen: set[str] = set()
        for index, rule in enumerate(self.rules):
            if not rule.executor:
                raise JurisdictionError(f"rules[{index}] has no executor")
            name = self.rule_id(index)
            if name in seen:
                raise JurisdictionError(f"rules[{index}]: rule id {name!r} is used twice")
            seen.add(name)

    def rule_id(self, index: int) -> str:
        """Return the id of the rule at ``index`` (its own, or ``rules[<index>]``)."""
        return self.rules[index].id or f"rules[{index}]"

    def route(self, subject: RoutingSubject, *, automatic: bool = True) -> RouteDecision:
        """Choose the executor for a subject; automatic routing honours the confidence threshold.

        A person routing by hand (``automatic=False``) gets the rule's choice whatever the
        confidence.
        """
        for index, rule in enumerate(self.rules):
            if not rule.matches(subject):
                continue
            rule_id = self.rule_id(index)
            why = f"{rule_id} matched ({rule.describe()})"
            executor = rule.executor
            if executor == MUNICIPAL:
                if subject.municipality_oktmo is None:
                    return RouteDecision(
                        None,
                        index,
                        rule_id,
                        f"{why}, but the municipality is unknown",
                        TriageReason.NO_MUNICIPALITY,
                    )
                resolved = self.municipal_executors.get(subject.municipality_oktmo)
                if resolved is None:
                    return RouteDecision(
                        None,
                        index,
                        rule_id,
                        f"{why}, but municipality {subject.municipality_oktmo} has no "
                        "municipal executor",
                        TriageReason.NO_MUNICIPAL_EXECUTOR,
                    )
                why += f"; {MUNICIPAL} of {subject.municipality_oktmo} is {resolved}"
                executor = resolved
            return self._confident(subject, rule, index, rule_id, executor, why, automatic)
        if self.default != TRIAGE:
            return RouteDecision(
                self.default, None, None, f"no rule matched; default {self.default}"
            )
        return RouteDecision(
            None, None, None, "no rule matched; default is the triage queue", TriageReason.NO_RULE
        )

    def _confident(
        self,
        subject: RoutingSubject,
        rule: Rule,
        index: int,
        rule_id: str,
        executor: str,
        why: str,
        automatic: bool,
    ) -> RouteDecision:
        relied: list[tuple[str, float | None]] = []
        if rule.topic_group != ANY or rule.topic != ANY:
            relied.append(("topic", subject.topic_confidence))
        if rule.municipality_oktmo != ANY or rule.executor == MUNICIPAL:
            relied.append(("municipality", subject.municipality_confidence))
        known = [(name, value) for name, value in relied if value is not None]
        confidence = min((value for _, value in known), default=None)
        if automatic and confidence is not None and confidence < self.min_confidence:
            weakest = min(known, key=lambda item: item[1])
            return RouteDecision(
                None,
                index,
                rule_id,
                f"{why}; {weakest[0]} confidence {weakest[1]:.2f} is below "
                f"{self.min_confidence:.2f}, so an operator confirms",
                TriageReason.LOW_CONFIDENCE,
                suggested_executor=executor,
                confidence=confidence,
            )
        return RouteDecision(executor, index, rule_id, why, confidence=confidence)


# --------------------------------------------------------------------------- returns


@dataclass(frozen=True, slots=True)
class RuleStats:
    """How often one rule routed incidents to one executor and how often they came back."""

    rule_id: str
    executor: str
    routed: int
    returned: int

    @property
    def return_share(self) -> float:
        """Return the share of routed incidents the executor returned as "not ours"."""
        return self.returned / self.routed if self.routed else 0.0


@dataclass(frozen=True, slots=True)
class ReturnStats:
    """Each executor's "not ours" returns, counted against the rule that routed the incident.

    Immutable: ``record_*`` return a new value. Built from the event log by replaying its
    routing and return events (see ``storage.repositories.events``).
    """

    routed: Mapping[tuple[str, str], int] = field(default_factory=lambda: MappingProxyType({}))
    returned: Mapping[tuple[str, str], int] = field(default_factory=lambda: MappingProxyType({}))

    def record_routed(self, rule_id: str, executor: str) -> ReturnStats:
        """Count one incident the rule routed to the executor."""
        return ReturnStats(_bump(self.routed, (rule_id, executor)), self.returned)

    def record_returned(self, rule_id: str, executor: str) -> ReturnStats:
        """Count one "not ours" return by the executor of an incident the rule routed."""
        return ReturnStats(self.routed, _bump(self.returned, (rule_id, executor)))

    def returns(self, rule_id: str, executor: str) -> int:
        """Return the number of returns counted against the rule for the executor."""
        return self.returned.get((rule_id, executor), 0)

    def rows(self) -> list[RuleStats]:
        """Return one row per (rule, executor), most returned first."""
        keys = set(self.routed) | set(self.returned)
        rows = [
            RuleStats(
                rule, executor, self.routed.get((rule, executor), 0), self.returns(rule, executor)
            )
            for rule, executor in keys
        ]
        return sorted(rows, key=lambda r: (-r.returned, r.rule_id, r.executor))

    @classmethod
    def replay(
        cls, routed: Iterable[tuple[str, str]], returned: Iterable[tuple[str, str]]
    ) -> ReturnStats:
        """Build the statistics from (rule id, executor) pairs of routings and returns."""
        stats = cls()
        for rule_id, executor in routed:
            stats = stats.record_routed(rule_id, executor)
        for rule_id, executor in returned:
            stats = stats.record_returned(rule_id, executor)
        return stats


def _bump(
    counts: Mapping[tuple[str, str], int], key: tuple[str, str]
) -> Mapping[tuple[str, str], int]:
    updated = dict(counts)
    updated[key] = updated.get(key, 0) + 1
    return MappingProxyType(updated)
