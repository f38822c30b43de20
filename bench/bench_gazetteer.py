"""Evaluate and time the gazetteer on the project's municipality test set.

Run: ``.venv/bin/python bench/bench_gazetteer.py [--errors] [--spb]``. Prints the accuracy on the
messages whose municipality is known, the share answered "unknown" when it is not, both per
kind of message, and messages/s. ``--spb`` also runs the Kirov and Perm gazetteers over the
St Petersburg appeals in ../shared (a region they know nothing of; read at run time, never
copied) and prints the share wrongly given a municipality. Times are compared with the
plain text cleaning of the same messages, measured in the same run.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from classifier.gazetteer import Gazetteer, MunicipalityResult, load_gazetteer  # noqa: E402
from classifier.text import clean  # noqa: E402

TESTSET = ROOT / "tests" / "classifier" / "data" / "municipality_testset.jsonl"
SPB = ROOT.parent / "shared" / "data" / "spb-nash-peterburg" / "spb_appeals_2020_2021.csv.gz"


def load_testset(path: Path = TESTSET) -> list[dict[str, Any]]:
    """Read the test set (one JSON object per line)."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_item(item: dict[str, Any]) -> MunicipalityResult:
    """Match one test-set message with its region's gazetteer and priors."""
    gazetteer = load_gazetteer(item["region"])
    return gazetteer.match(
        item["text"],
        source_municipality=item.get("source_municipality"),
        lat=item.get("lat"),
        lon=item.get("lon"),
    )


def evaluate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Return accuracy (known truth), unknown share (unknown truth), per kind, and the misses."""
    known = correct = unknown_total = unknown_right = 0
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[tuple[dict[str, Any], str | None]] = []
    for item in items:
        result = run_item(item)
        got = result.oktmo
        expected = item["expected_oktmo"]
        ok = got == expected
        if expected is None:
            unknown_total += 1
            unknown_right += ok
        else:
            known += 1
            correct += ok
        kind = per_kind[item.get("kind", "?")]
        kind[0] += ok
        kind[1] += 1
        if not ok:
            misses.append((item, got))
    return {
        "messages": len(items),
        "known": known,
        "accuracy": correct / known if known else 0.0,
        "unknown": unknown_total,
        "unknown_share": unknown_right / unknown_total if unknown_total else 0.0,
        "per_kind": {k: (v[0], v[1]) for k, v in sorted(per_kind.items())},
        "misses": misses,
    }


def spb_false_positives(limit: int | None = None) -> dict[str, tuple[int, int]]:
    """Return, per gazetteer, how many St Petersburg appeals got a municipality, of how many."""
    csv.field_size_limit(10**9)
    with gzip.open(SPB, "rt", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)][:limit]
    out = {}
    for region in ("kirov", "perm"):
        gazetteer = load_gazetteer(region)
        answered = sum(gazetteer.match(t).municipality is not None for t in texts)
        out[region] = (answered, len(texts))
    return out


def throughput(gazetteer: Gazetteer, texts: list[str], rounds: int = 20) -> tuple[float, float]:
    """Return messages/s of ``match`` and of ``clean`` alone over the same texts."""
    start = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            clean(text)
    cleaning = rounds * len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            gazetteer.match(text)
    matching = rounds * len(texts) / (time.perf_counter() - start)
    return matching, cleaning


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the wrong answers")
    parser.add_argument("--spb", action="store_true", help="count false alarms on St Petersburg")
    args = parser.parse_args()

    items = load_testset()
    report = evaluate(items)
    regions = Counter(item["region"] for item in items)
    print(f"municipality test set: {report['messages']} messages ({dict(regions)})")
    print(f"  accuracy (truth known, {report['known']}):        {report['accuracy']:.3f}")
    print(f"  answered unknown (truth unknown, {report['unknown']}): {report['unknown_share']:.3f}")
    for kind, (ok, total) in report["per_kind"].items():
        print(f"    {kind:<18} {ok:>3}/{total:<3}")
    if args.errors:
        for item, got in report["misses"]:
            print(f"  MISS expected={item['expected_oktmo']} got={got}: {item['text']}")

    kirov = load_gazetteer("kirov")
    texts = [item["text"] for item in items]
    matching, cleaning = throughput(kirov, texts)
    print(f"  speed: {matching:,.0f} messages/s ({cleaning:,.0f}/s for text cleaning alone)")
    if args.spb:
        if not SPB.exists():
            print("  St Petersburg appeals not found; skipped")
            return
        for region, (answered, total) in spb_false_positives().items():
            print(
                f"  St Petersburg appeals, {region} gazetteer: {answered}/{total} given a "
                f"municipality ({answered / total:.2%}), {1 - answered / total:.2%} unknown"
            )


if __name__ == "__main__":
    main()
