"""Precision and recall of the answer review aid per flag, on the project's example answers.

    .venv/bin/python bench/answer_review.py [--split dev|test|all] [--lemmatizer] [--show-errors]

The examples (tests/app/data/answer_review/examples.json) were written for the project; see
docs/answer-review.md for which splits were looked at when. Beside the rules, the same run
scores a baseline: one keyword list per flag, as the issue words it (no dates parsed, no
addresses or subjects compared), so the figures say what the rules add over plain keywords.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.answer_review import AnswerDraft, ComplaintContext, FlagCode, review_answer  # noqa: E402

EXAMPLES = ROOT / "tests" / "app" / "data" / "answer_review" / "examples.json"


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled answer and the complaint it answers."""

    scenario: str
    split: str
    answer: AnswerDraft
    complaint: ComplaintContext
    flags: frozenset[str]


def load_examples(path: Path = EXAMPLES, region: str = "kirov") -> list[Example]:
    """Read the labelled answers, each with its scenario's complaint."""
    from classifier.regions import load_region

    names = tuple(m.name for m in load_region(region).municipalities)
    data = json.loads(path.read_text(encoding="utf-8"))
    examples = []
    for scenario in data["scenarios"]:
        complaint = ComplaintContext(
            texts=tuple(scenario["texts"]),
            topic_group=scenario.get("topic_group"),
            topic=scenario.get("topic"),
            municipality=scenario.get("municipality"),
            region_municipalities=names,
        )
        for item in scenario["answers"]:
            examples.append(
                Example(
                    scenario=scenario["id"],
                    split=scenario["split"],
                    answer=AnswerDraft(item["text"], bool(item.get("attachments"))),
                    complaint=complaint,
                    flags=frozenset(item["flags"]),
                )
            )
    return examples


@dataclass
class Score:
    """Counts for one flag."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def evaluate(
    examples: list[Example], lemma: Callable[[str], str] = str
) -> tuple[dict[str, Score], list[tuple[Example, frozenset[str]]]]:
    """Score every flag; return the scores and the examples whose flags differed."""
    scores = {code.value: Score() for code in FlagCode}
    wrong = []
    for example in examples:
        flags = review_answer(example.answer, example.complaint, lemma=lemma)
        got = frozenset(f.code.value for f in flags)
        for code, score in scores.items():
            if code in got and code in example.flags:
                score.tp += 1
            elif code in got:
                score.fp += 1
            elif code in example.flags:
                score.fn += 1
        if got != example.flags:
            wrong.append((example, got))
    return scores, wrong


_BASELINE: dict[str, re.Pattern[str]] = {
    "no_term": re.compile(r"ближайшее время|по мере|будет|будут|планир"),
    "no_evidence": re.compile(r"выполнен|устранен|восстановлен"),
    "only_law": re.compile(r"\bст\.|закон|постановлени|фз\b"),
    "brush_off": re.compile(r"рассмотрен|к сведению|обратиться"),
}


def baseline(example: Example) -> frozenset[str]:
    """The keyword baseline's flags (it has no rule for topic, address or another message)."""
    text = example.answer.text.lower().replace("ё", "е")
    found = {code for code, pattern in _BASELINE.items() if pattern.search(text)}
    if "no_evidence" in found and (example.answer.has_attachments or "фото" in text):
        found.discard("no_evidence")
    return frozenset(found)


def evaluate_baseline(examples: list[Example]) -> dict[str, Score]:
    """Score the keyword baseline like the rules."""
    scores = {code.value: Score() for code in FlagCode}
    for example in examples:
        got = baseline(example)
        for code, score in scores.items():
            if code in got and code in example.flags:
                score.tp += 1
            elif code in got:
                score.fp += 1
            elif code in example.flags:
                score.fn += 1
    return scores


def _lines(scores: dict[str, Score], examples: list[Example]) -> Iterator[str]:
    yield (
        f"{'flag':<14} {'labelled':>8} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}"
    )
    for code, s in scores.items():
        labelled = s.tp + s.fn
        precision = f"{s.precision:.2f}" if s.tp + s.fp else "-"  # nothing flagged
        yield (
            f"{code:<14} {labelled:>8} {s.tp:>4} {s.fp:>4} {s.fn:>4} "
            f"{precision:>9} {s.recall:>7.2f}"
        )
    clean = [e for e in examples if not e.flags]
    yield f"answers: {len(examples)}, of them labelled with no flag: {len(clean)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "holdout", "all"), default="all")
    parser.add_argument("--lemmatizer", action="store_true", help="compare words by lemma")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    examples = load_examples()
    lemma: Callable[[str], str] = str
    if args.lemmatizer:
        from classifier.lemmatizer import Lemmatizer

        lemma = Lemmatizer().lemma
    splits = ("dev", "test", "holdout", "all") if args.split == "all" else (args.split,)
    for split in splits:
        chosen = [e for e in examples if split == "all" or e.split == split]
        started = time.perf_counter()
        scores, wrong = evaluate(chosen, lemma)
        elapsed = time.perf_counter() - started
        print(f"== {split}: {len(chosen)} answers, {elapsed * 1000 / len(chosen):.2f} ms an answer")
        for line in _lines(scores, chosen):
            print(line)
        print(f"-- keyword baseline on the same {len(chosen)} answers")
        for line in list(_lines(evaluate_baseline(chosen), chosen))[:-1]:
            print(line)
        if args.show_errors:
            for example, got in wrong:
                print(
                    f"  {example.scenario}: want {sorted(example.flags)} got {sorted(got)}: "
                    f"{example.answer.text[:110]}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
