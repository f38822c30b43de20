"""Benchmark the classifier end to end: messages/s, against uncached pure-Python pymorphy3.

Run: ``.venv/bin/python bench/bench_classifier.py [--messages N] [--baseline-messages N]``.

Both measurements run the same pipeline — normalise, tokenise, lemmatise, the text models (the
shipped artefact), the region's gazetteer (or the region-lookup fallback) — on one core
(BLAS threads limited to one, the process pinned to one CPU where the OS allows it):

* ours: the C DAWG extension and the lemma cache, messages in batches (``classify_many``);
* baseline: a subprocess in which the ``dawg`` C extension is made unimportable, so pymorphy3
  reads its dictionaries with ``dawg_python``, and the lemma cache is off.

The messages are the SPb appeals read from ../shared when present (texts people really wrote;
read at run time, never copied), else the seed corpus. Both wall time and CPU time are
reported: on a shared machine the CPU time (single-threaded, one core) is the steadier figure.
Figures are printed, never asserted.
"""

from __future__ import annotations

import os

# One core: set before numpy/scipy load their BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SPB = ROOT.parent / "shared" / "data" / "spb-nash-peterburg" / "spb_appeals_2020_2021.csv.gz"
GOAL = 3000.0


def pin_one_cpu() -> None:
    """Keep this process on one CPU, where the OS supports it."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})


def load_texts(n: int) -> tuple[list[str], str]:
    """Return ``n`` message texts and where they came from."""
    texts: list[str] = []
    if SPB.is_file():
        with gzip.open(SPB, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["text"].strip():
                    texts.append(row["text"])
                if len(texts) >= n:
                    break
        return texts, "SPb appeals (../shared)"
    from classifier.corpus import load_seed_corpus

    seed = [e.text for e in load_seed_corpus()]
    while len(texts) < n:
        texts.extend(seed)
    return texts[:n], "seed corpus"


def measure(n: int, *, baseline: bool) -> dict[str, Any]:
    """Classify ``n`` messages once and return the timings."""
    if baseline:
        sys.modules["dawg"] = None  # type: ignore[assignment]  # forces dawg_python
    pin_one_cpu()
    import pymorphy3

    from classifier.artifact import load_artifact
    from classifier.lemmatizer import Lemmatizer
    from classifier.pipeline import Classifier, MunicipalityMatcher, RegionMatcher
    from classifier.regions import load_region
    from classifier.types import ClassificationInput

    morph = pymorphy3.MorphAnalyzer()
    lemmatizer = Lemmatizer(morph, cache_size=0 if baseline else 200_000)
    matcher: MunicipalityMatcher
    matcher_name = "gazetteer"
    try:
        from classifier.gazetteer import Gazetteer

        matcher = Gazetteer.load("kirov", morph=morph)
    except ImportError:
        matcher = RegionMatcher(load_region("kirov"), lemmatizer)
        matcher_name = "region-lookup fallback"
    classifier = Classifier.from_artifact(load_artifact(), lemmatizer=lemmatizer, matcher=matcher)
    texts, origin = load_texts(n)
    items = [ClassificationInput(t) for t in texts]
    classifier.classify_many(items[:50])  # load the analyzer's pages and the model, not the cache
    if not baseline:
        lemmatizer.clear_cache()
    started = time.perf_counter()
    cpu_started = time.process_time()
    for start in range(0, len(items), 1000):
        classifier.classify_many(items[start : start + 1000])
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    # Stage split on the same messages (a second pass: the cache is warm for ours).
    t0 = time.perf_counter()
    docs = [" ".join(lemmatizer.lemmatize_text(t)) for t in texts]
    t1 = time.perf_counter()
    classifier.models.predict(docs)
    t2 = time.perf_counter()
    for t in texts:
        matcher.match(t)
    t3 = time.perf_counter()
    return {
        "messages": len(items),
        "origin": origin,
        "seconds": total,
        "per_second": len(items) / total,
        "per_cpu_second": len(items) / cpu,
        "c_extension": lemmatizer.uses_c_extension,
        "cache": not baseline,
        "matcher": matcher_name,
        "stages_per_second": {
            "normalise+lemmatise": len(items) / (t1 - t0),
            "models": len(items) / (t2 - t1),
            "gazetteer": len(items) / (t3 - t2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Measure ours, then the baseline in a subprocess, and print both with their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--baseline-messages", type=int, default=3_000)
    parser.add_argument("--child", choices=["baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.baseline_messages, baseline=True)))
        return 0
    ours = measure(args.messages, baseline=False)
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "baseline",
            "--baseline-messages",
            str(args.baseline_messages),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    base = json.loads(child.stdout.strip().splitlines()[-1])
    for name, r in (("ours", ours), ("baseline", base)):
        stages = ", ".join(f"{k} {v:,.0f}/s" for k, v in r["stages_per_second"].items())
        print(
            f"{name:8s} {r['per_second']:9,.0f} messages/s wall, "
            f"{r['per_cpu_second']:,.0f} per CPU-second  ({r['messages']} {r['origin']}; "
            f"C DAWG {r['c_extension']}, cache {r['cache']}, {r['matcher']})\n"
            f"         stages: {stages}"
        )
    ratio = ours["per_second"] / base["per_second"]
    cpu_ratio = ours["per_cpu_second"] / base["per_cpu_second"]
    print(
        f"ratio    {ratio:9.1f}x the uncached pure-Python pipeline ({cpu_ratio:.1f}x in CPU time)"
    )
    for label, key in (("wall", "per_second"), ("CPU", "per_cpu_second")):
        verdict = "meets" if ours[key] >= GOAL else "misses"
        print(f"goal     {GOAL:9,.0f} messages/s on one core, {label} time: {verdict} it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
