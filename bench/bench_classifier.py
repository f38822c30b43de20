"""Benchmark the classifier on texts it has never seen: ours against a plain pipeline.

Run: ``.venv/bin/python bench/bench_classifier.py [--messages N] [--min-chars N]``.

Both pipelines run in this process, on the same texts, on one core (BLAS threads limited to
one, the process pinned to one CPU where the OS allows it), each text once and every cache
empty at the start (lemmas, the gazetteer's typo checks, the char n-grams):

* ours: the whole classifier (``Classifier.classify_many`` in batches of 1 000): normalisation,
  pymorphy3 lemmas, the shipped text models (word and char TF-IDF, three logistic-regression
  heads, evidence) and the Kirov gazetteer;
* plain: what a first version would do: lower-case, ``\\w+`` tokens, pymorphy3 lemmas
  (memoised in a dict that starts empty), scikit-learn's ``TfidfVectorizer`` (lemma 1-2-grams)
  and one ``LogisticRegression`` over the topic groups and "no complaint", fitted on the seed
  corpus before the clock starts.

The texts are the SPb appeals read from ../shared (texts people really wrote; read at run time,
never copied into the project), distinct, in file order. Two sets are measured: real-length
appeals (at least ``--min-chars`` characters, default 200: a mean near 400, the length of a
social-network complaint with its details) and all appeals as they come (mean ~110). The figure
that counts is messages per CPU-second (the machine is shared, so wall time moves between runs);
wall time is printed too. Figures are printed, never asserted.
"""

from __future__ import annotations

import os

# One core: set before numpy/scipy load their BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import gzip  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
_SPB = Path("shared") / "data" / "spb-nash-peterburg" / "spb_appeals_2020_2021.csv.gz"
GOAL = 3000.0
BATCH = 1000


def pin_one_cpu() -> None:
    """Keep this process on one CPU, where the OS supports it."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})


def spb_file() -> Path | None:
    """Return the SPb appeals file in ../shared (beside the checkout or its worktree folder)."""
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / _SPB).is_file():
            return base / _SPB
    return None


def load_texts(n: int, min_chars: int) -> list[str]:
    """Return ``n`` distinct SPb appeal texts of at least ``min_chars`` characters."""
    path = spb_file()
    if path is None:
        raise SystemExit("the SPb appeals are not in ../shared: nothing to measure on")
    texts: dict[str, None] = {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = row["text"]
            if text.strip() and len(text) >= min_chars:
                texts[text] = None
                if len(texts) >= n:
                    break
    return list(texts)


def cpu_rate(texts: Sequence[str], run: Callable[[Sequence[str]], object]) -> tuple[float, float]:
    """Run ``run`` over ``texts`` in batches; return messages per CPU-second and per second."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), BATCH):
        run(texts[start : start + BATCH])
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - started
    return len(texts) / cpu, len(texts) / wall


class Ours:
    """The project's classifier, built once; ``cold()`` empties every cache it keeps."""

    def __init__(self) -> None:
        """Load the shipped model, the lemmatiser and the Kirov gazetteer."""
        import pymorphy3

        from classifier.artifact import load_artifact
        from classifier.gazetteer import Gazetteer
        from classifier.lemmatizer import Lemmatizer
        from classifier.pipeline import Classifier
        from classifier.types import ClassificationInput

        morph = pymorphy3.MorphAnalyzer()
        self.lemmatizer = Lemmatizer(morph)
        self.gazetteer = Gazetteer.load("kirov", morph=morph)
        self.classifier = Classifier.from_artifact(
            load_artifact(), lemmatizer=self.lemmatizer, matcher=self.gazetteer
        )
        self._input = ClassificationInput

    def cold(self) -> None:
        """Forget every lemma, typo check and char n-gram seen so far."""
        self.lemmatizer.clear_cache()
        for cache in (
            getattr(self.gazetteer, "_corrections", None),
            getattr(self.classifier.models.featurizer, "_char_cache", None),
        ):
            if cache is not None:
                cache.clear()

    def run(self, texts: Sequence[str]) -> object:
        """Classify a batch."""
        return self.classifier.classify_many([self._input(t) for t in texts])


class Plain:
    """Lemmas + TF-IDF + logistic regression, fitted on the seed corpus; nothing else."""

    _WORD = re.compile(r"\w+")

    def __init__(self) -> None:
        """Fit the vectorizer and the model on the seed corpus (its groups, or no complaint)."""
        import pymorphy3
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from classifier.corpus import load_seed_corpus

        self.morph = pymorphy3.MorphAnalyzer()
        self.cache: dict[str, str] = {}
        seed = list(load_seed_corpus())
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        x = self.vectorizer.fit_transform(self.docs([e.text for e in seed]))
        self.model = LogisticRegression(C=10.0, max_iter=2000)
        self.model.fit(x, [e.group if e.is_complaint else "not a complaint" for e in seed])

    def cold(self) -> None:
        """Forget the lemmas seen so far."""
        self.cache.clear()

    def lemma(self, word: str) -> str:
        """Return a word's first pymorphy3 normal form (memoised)."""
        found = self.cache.get(word)
        if found is None:
            found = self.morph.parse(word)[0].normal_form
            self.cache[word] = found
        return found

    def docs(self, texts: Sequence[str]) -> list[str]:
        """Return the lemma documents of raw texts."""
        return [" ".join(map(self.lemma, self._WORD.findall(t.lower()))) for t in texts]

    def run(self, texts: Sequence[str]) -> object:
        """Classify a batch."""
        return self.model.predict_proba(self.vectorizer.transform(self.docs(texts)))


def differences(texts: Sequence[str]) -> str:
    """Count the texts our classifier decides otherwise than through pymorphy3's own ``parse``.

    The reference is the same classifier with every lemma from ``parse(word)[0].normal_form``
    (what the lemmatiser did before reading the dictionary directly); the char n-grams, the
    gazetteer's tokens and the cleaning are checked against their references by the tests.
    Everything a ``Classification`` holds is compared: decisions, confidences, evidence.
    """
    from classifier.morph_lookup import NormalFormLookup

    fast, reference = Ours(), Ours()
    lemmatizer: Any = reference.lemmatizer
    lemmatizer._normal_form = NormalFormLookup(lemmatizer.morph, direct=False).normal_form
    differing = 0
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        ours = fast.classifier.classify_many([fast._input(t) for t in batch])
        theirs = reference.classifier.classify_many([fast._input(t) for t in batch])
        differing += sum(a != b for a, b in zip(ours, theirs, strict=True))
    return f"{differing} of {len(texts)}"


def main(argv: list[str] | None = None) -> int:
    """Measure ours and the plain pipeline on both sets and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3_000)
    parser.add_argument("--min-chars", type=int, default=200)
    args = parser.parse_args(argv)
    pin_one_cpu()
    sets = {
        f"real-length (>= {args.min_chars} chars)": load_texts(args.messages, args.min_chars),
        "all lengths": load_texts(args.messages, 0),
    }
    pipelines: dict[str, Any] = {"ours": Ours(), "plain": Plain()}
    warm_up = [
        "Прогрев: в Кирове нет воды",
        "Котельнич, ул. Ленина: яма на дороге",
        "Спасибо за уборку снега!",
    ]
    for pipeline in pipelines.values():
        # The analyzer's pages and the models loaded (a batch big enough for the heads' dense
        # weights, built once a process: classifier.model.DENSE_FROM_ROWS), not the texts.
        pipeline.run(warm_up * 25)
    print(f"one core, each text once, caches empty at the start; batches of {BATCH}")
    for label, texts in sets.items():
        mean = sum(map(len, texts)) / len(texts)
        print(f"\n{len(texts)} SPb appeals, {label}, mean {mean:.0f} characters")
        rates = {}
        for name, pipeline in pipelines.items():
            pipeline.cold()
            per_cpu, per_wall = cpu_rate(texts, pipeline.run)
            rates[name] = per_cpu
            print(f"  {name:6s} {per_cpu:7,.0f} messages per CPU-second  ({per_wall:,.0f}/s wall)")
        verdict = "meets" if rates["ours"] >= GOAL else "misses"
        print(f"  decisions differing from the reference path: {differences(texts)}")
        print(
            f"  ours / plain {rates['ours'] / rates['plain']:.2f}x; "
            f"goal {GOAL:,.0f} per CPU-second: ours {verdict} it"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
