"""Measure grouping throughput: blocked lookup at 100 000 open messages vs an all-pairs baseline.

Run: ``.venv/bin/python bench/bench_grouping.py [--open 100000] [--probes 2000] [--baseline 5000]``.
Synthetic lemma tuples stand in for lemmatised text (no pymorphy3 here, so only grouping is
timed). Prints messages per second for each setting and how often the blocked decision equals
the all-pairs one (blocking must not lose matches). Figures are printed, never asserted.

``--spb N`` instead checks grouping on real text: the first N appeals of the St Petersburg
portal set in ../shared/data/spb-nash-peterburg (read in place, never copied), whose portal
address is known but not given to grouping. It prints how many grouped pairs join two different
addresses (a wrong place), with and without the generic-words rule.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from router.grouping import (
    Attach,
    Create,
    Decision,
    GroupingConfig,
    GroupingIndex,
    GroupingMessage,
    IncidentHeader,
    IncidentStatus,
)

T0 = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
SPAN = timedelta(days=3)  # open messages are spread over the grouping window


def word(prefix: str, number: int) -> str:
    """Spell a number in letters (grouping ignores tokens with digits): word("w", 12) == "wbc"."""
    return prefix + "".join("abcdefghij"[int(d)] for d in str(number))


@dataclass(frozen=True, slots=True)
class Problem:
    """One synthetic incident: its place, topic, street and characteristic words."""

    group: str
    topic: str
    oktmo: str
    street: str
    house: int
    words: tuple[str, ...]
    start: datetime


class Corpus:
    """A synthetic region: skewed municipalities and topic groups, per-topic vocabularies."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.oktmos = [f"33{600 + i:03d}000" for i in range(60)]
        self.oktmo_weights = [40.0] + [60.0 / 59] * 59  # the regional capital takes 40 %
        self.groups = [word("group", g) for g in range(26)]
        self.group_weights = [1 / (g + 1) for g in range(26)]  # Zipf-like
        self.topic_words = {g: [word(f"{g}w", w) for w in range(80)] for g in self.groups}
        self.common = [word("common", w) for w in range(3000)]
        self.streets = {
            o: [word(f"street{word('', int(o))}x", s) for s in range(300)] for o in self.oktmos
        }
        self.number = 0

    def problem(self) -> Problem:
        rng = self.rng
        group = rng.choices(self.groups, self.group_weights)[0]
        oktmo = rng.choices(self.oktmos, self.oktmo_weights)[0]
        return Problem(
            group=group,
            topic=f"{group}/t{rng.randrange(6)}",
            oktmo=oktmo,
            street=rng.choice(self.streets[oktmo]),
            house=rng.randrange(1, 120),
            words=tuple(rng.sample(self.topic_words[group], 6)),
            start=T0 + SPAN * rng.random(),
        )

    def message(self, problem: Problem, offset: timedelta) -> GroupingMessage:
        rng = self.rng
        self.number += 1
        words = rng.sample(problem.words, 4) + rng.sample(self.common, rng.randrange(2, 6))
        with_address = rng.random() < 0.6
        if with_address:
            words.append(problem.street)
        rng.shuffle(words)
        return GroupingMessage(
            key=f"m{self.number}",
            network=rng.choice(("vk", "ok", "telegram")),
            text="",
            lemmas=tuple(words),
            topic_group=problem.group,
            topic=problem.topic,
            municipality_oktmo=problem.oktmo,
            posted_at=problem.start + offset,
            author_id=f"u{rng.randrange(50_000)}",
            address=(problem.street, str(problem.house)) if with_address else (),
        )


def build(corpus: Corpus, open_messages: int, index: GroupingIndex) -> list[Problem]:
    """Load an index with ``open_messages`` messages in incidents of 1-10 messages each."""
    problems: list[Problem] = []
    count = 0
    incident_id = 0
    while count < open_messages:
        problem = corpus.problem()
        incident_id += 1
        problems.append(problem)
        index.add_incident(
            IncidentHeader(incident_id, problem.group, problem.topic, problem.oktmo, problem.start)
        )
        size = min(open_messages - count, 1 + int(corpus.rng.expovariate(1 / 2.5)) % 10)
        for _ in range(size):
            offset = timedelta(hours=corpus.rng.random() * 12)
            index.add_message(incident_id, corpus.message(problem, offset))
        count += size
    return problems


def probes(corpus: Corpus, problems: Sequence[Problem], count: int) -> list[GroupingMessage]:
    """Half repeats of known problems, half new ones."""
    result = []
    for number in range(count):
        problem = corpus.rng.choice(problems) if number % 2 == 0 else corpus.problem()
        result.append(corpus.message(problem, timedelta(hours=12 + corpus.rng.random() * 6)))
    return result


class AllPairsIndex(GroupingIndex):
    """The baseline: every open incident is a candidate (no blocking, no posting lists)."""

    def _similar_ids(self, message: GroupingMessage, terms: frozenset[str]) -> list[int]:
        return [
            incident.id
            for incident in self._incidents.values()
            if incident.status is IncidentStatus.OPEN
        ]


def run(
    index: GroupingIndex, messages: Sequence[GroupingMessage]
) -> tuple[float, float, list[Decision]]:
    """Route and apply each message; return messages per second, per CPU-second, decisions.

    On a shared machine the wall-clock rate swings with the neighbours' load; the rate per
    CPU-second of this process is the steadier figure to compare two versions by.
    """
    next_id = 10_000_000
    decisions: list[Decision] = []
    cpu_started = time.process_time()
    started = time.perf_counter()
    for message in messages:
        decision = index.route(message)
        if isinstance(decision, Create):
            next_id += 1
            index.apply(message, decision, incident_id=next_id)
        else:
            index.apply(message, decision)
        decisions.append(decision)
    elapsed = time.perf_counter() - started
    cpu = max(time.process_time() - cpu_started, 1e-9)
    return len(messages) / elapsed, len(messages) / cpu, decisions


def outcome(decision: Decision) -> object:
    return decision.incident_id if isinstance(decision, Attach) else type(decision).__name__


def measure(
    index: GroupingIndex, open_messages: int, probe_count: int, seed: int
) -> tuple[float, float, float, list[Decision]]:
    """Load the index, then time routing: load seconds, messages/s, per CPU-second, decisions."""
    corpus = Corpus(seed)
    started = time.perf_counter()
    problems = build(corpus, open_messages, index)
    loaded = time.perf_counter() - started
    rate, cpu_rate, decisions = run(index, probes(corpus, problems, probe_count))
    return loaded, rate, cpu_rate, decisions


SPB = Path(__file__).resolve().parents[2] / "shared/data/spb-nash-peterburg"
_WORD = re.compile(r"[а-яёa-z]+(?:-[а-яёa-z]+)*|\d+", re.IGNORECASE)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)


@lru_cache(maxsize=1)
def _morph() -> object:
    import pymorphy3  # only this mode needs it

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=100_000)
def _lemma(word: str) -> str:
    if word.isdigit():
        return word
    return str(_morph().parse(word)[0].normal_form)  # type: ignore[attr-defined]


def spb_place_check(count: int, config: GroupingConfig, warm_share: float = 0.4) -> str:
    """Group real appeals in time order; count grouped pairs whose portal addresses differ."""
    rows = []
    with gzip.open(SPB / "spb_appeals_2020_2021.csv.gz", "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows.append(row)
            if len(rows) >= count:
                break
    index = GroupingIndex(config)
    ids = itertools.count(1)
    for row in rows:
        message = GroupingMessage(
            key=row["id"],
            network="portal",
            text=row["text"],
            # The classifier's normaliser drops URLs before lemmatising; so does this stand-in.
            lemmas=tuple(_lemma(w.lower()) for w in _WORD.findall(_URL.sub(" ", row["text"]))),
            topic_group=row["category"],
            topic=row["reason"],
            municipality_oktmo=row["municipality"] or None,
            posted_at=datetime.fromisoformat(row["created_dt"]).replace(tzinfo=UTC),
        )
        index.process(message, lambda seed: next(ids))
    # Pairs only among the later appeals, once the lemma statistics have warmed up.
    late = rows[int(len(rows) * warm_share) :]
    address = {row["id"]: row["address"] for row in late}
    groups: defaultdict[int | None, list[str]] = defaultdict(list)
    for row in late:
        groups[index.incident_of(row["id"])].append(row["id"])
    pairs = [pair for keys in groups.values() for pair in itertools.combinations(keys, 2)]
    known = [(a, b) for a, b in pairs if address[a] and address[b]]
    wrong = sum(address[a] != address[b] for a, b in known)
    incidents = Counter(index.incident_of(row["id"]) for row in late)
    return (
        f"{len(late)} appeals -> {len(incidents)} incidents; {len(pairs)} grouped pairs, "
        f"{len(known)} with both addresses, {wrong} of them at different addresses "
        f"({wrong / max(1, len(known)):.1%})"
    )


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description="grouping throughput")
    parser.add_argument("--open", type=int, default=100_000, help="open messages in the index")
    parser.add_argument("--probes", type=int, default=2_000, help="messages routed and timed")
    parser.add_argument("--baseline", type=int, default=5_000, help="open messages, all-pairs")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--spb", type=int, default=0, help="check N real appeals instead")
    args = parser.parse_args()
    if args.spb:
        print("with the generic-words rule:   ", spb_place_check(args.spb, GroupingConfig()))
        no_rule = GroupingConfig(generic_min_df=10**12)
        print("without the generic-words rule:", spb_place_check(args.spb, no_rule))
        return
    small_probes = min(args.probes, 300)

    _, all_pairs_rate, _, all_pairs_decisions = measure(
        AllPairsIndex(GroupingConfig(max_candidates=10**9)), args.baseline, small_probes, args.seed
    )
    _, blocked_small_rate, blocked_small_cpu, blocked_small_decisions = measure(
        GroupingIndex(), args.baseline, small_probes, args.seed
    )
    same = sum(
        outcome(a) == outcome(b)
        for a, b in zip(all_pairs_decisions, blocked_small_decisions, strict=True)
    )
    load_s, blocked_rate, blocked_cpu, decisions = measure(
        GroupingIndex(), args.open, args.probes, args.seed
    )
    attached = sum(isinstance(d, Attach) for d in decisions)

    print(f"all-pairs {args.baseline:>7} open messages: {all_pairs_rate:9.0f} messages/s")
    print(
        f"blocked   {args.baseline:>7} open messages: {blocked_small_rate:9.0f} messages/s "
        f"({blocked_small_cpu:.0f} per CPU-second)"
    )
    print(
        f"blocked decisions equal to all-pairs: {same}/{small_probes} ({same / small_probes:.1%})"
    )
    print(
        f"blocked   {args.open:>7} open messages: {blocked_rate:9.0f} messages/s "
        f"({blocked_cpu:.0f} per CPU-second; index loaded in {load_s:.1f} s; "
        f"{attached}/{args.probes} probes attached)"
    )
    print(
        f"all-pairs cost grows with the index: at {args.open} it would be about "
        f"{all_pairs_rate * args.baseline / args.open:.1f} messages/s"
    )


if __name__ == "__main__":
    main()
