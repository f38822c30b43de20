"""Do navec word vectors help the cold-start classifier on the SPb appeals? (issue 11)

Run: ``.venv/bin/python bench/embeddings_spb.py [--limit 12000] [--alphas 0.5,1]``.
Needs the natasha wheel (``pip install natasha``: the navec news table ships inside it,
``natasha/data/emb/navec_news_v1_1B_250K_300d_100q.tar``); the project does not depend on it,
since this measurement said no. natasha is found, never imported (its ``__init__`` imports
pymorphy2, broken on Python 3.11+). Exit 2 when natasha or the SPb data is missing.

Trained on the seed corpus alone, scored on a fixed sample of SPb appeals (the shuffle of
``evaluate``), it prints group accuracy / macro-F1, topic accuracy and complaint recall of:
the shipped recipe; the same with the l2-normalised mean vector of the message's lemmas
(function words left out) appended to the TF-IDF row, weighted ``alpha``, in every head; an
LR on the mean vectors alone, mixed geometrically into the group decision; and two centroid
priors mixed in the same way (each group's topic names, and each group's seed examples).
Also the vector table's load CPU and the prediction CPU. Asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import json
import random
import sys
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NAVEC_FILE = "data/emb/navec_news_v1_1B_250K_300d_100q.tar"
DATA = ROOT.parent / "shared" / "data" / "spb-nash-peterburg"


class WordVectors:
    """The navec table kept as product-quantisation codes; a batch decodes only its own words.

    Read straight from the tar: ``navec.Navec.load`` precomputes norms and similarity tables for
    all 250 000 words (0.9 CPU-s, 200 MB peak) that a mean vector never needs.
    """

    def __init__(self, path: Path) -> None:
        """Read ``path`` (a navec tar): the vocabulary, the codes and the centroids."""
        with tarfile.open(path) as tar:
            vocab = gzip.decompress(self._read(tar, "vocab.bin"))
            pq = self._read(tar, "pq.bin")
            self.meta = json.loads(self._read(tar, "meta.json"))
        (size,) = np.frombuffer(vocab[:4], np.uint32)
        words = vocab[4 + 4 * int(size) :].decode("utf-8").split("\n")
        vectors, _dim, qdim, centroids = (int(v) for v in np.frombuffer(pq[:16], np.uint32))
        self.ids = {word: i for i, word in enumerate(words)}
        self.indexes = np.frombuffer(pq[16 : 16 + vectors * qdim], np.uint8).reshape(vectors, qdim)
        self.codes = np.frombuffer(pq[16 + vectors * qdim :], np.float32).reshape(
            qdim, centroids, -1
        )
        self.subspaces = np.arange(qdim)
        self.dim = qdim * self.codes.shape[2]

    @staticmethod
    def _read(tar: tarfile.TarFile, name: str) -> bytes:
        handle = tar.extractfile(name)
        if handle is None:
            raise SystemExit(f"{name} missing from the navec archive")
        return handle.read()

    def mean_vectors(self, docs: Sequence[Sequence[str]]) -> np.ndarray[Any, Any]:
        """Return each document's l2-normalised mean word vector (zeros if no word is known)."""
        rows: list[int] = []
        owners: list[int] = []
        for n, words in enumerate(docs):
            for word in words:
                row = self.ids.get(word)
                if row is not None:
                    rows.append(row)
                    owners.append(n)
        out = np.zeros((len(docs), self.dim), dtype=np.float32)
        if rows:
            parts = self.codes[self.subspaces, self.indexes[np.asarray(rows)]]
            np.add.at(out, np.asarray(owners), parts.reshape(len(rows), self.dim))
            norms = np.linalg.norm(out, axis=1)
            out[norms > 0] /= norms[norms > 0, None]
        return out


def _navec_path() -> Path | None:
    spec = importlib.util.find_spec("natasha")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / NAVEC_FILE
    return path if path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    """Train each variant on the seed corpus, score it on the SPb sample, print the figures."""
    import scipy.sparse as sp  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression

    from classifier.calibration import softmax
    from classifier.corpus import load_seed_corpus
    from classifier.evaluate import evaluate_models, group_report, load_spb_appeals
    from classifier.features import Featurizer
    from classifier.lemmatizer import RUSSIAN_STOP_WORDS, Lemmatizer
    from classifier.model import ModelSpec, fit_text_models
    from classifier.rubricator import load_rubricator
    from classifier.train import merge_training_items

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=12_000)
    parser.add_argument("--alphas", default="0.5,1")
    args = parser.parse_args(argv)
    path = _navec_path()
    if path is None or not (DATA / "spb_appeals_2020_2021.csv.gz").is_file():
        print("needs the natasha wheel (pip install natasha) and ../shared's SPb appeals")
        return 2
    started = time.process_time()
    vectors = WordVectors(path)
    print(
        f"navec: {len(vectors.ids)} words, {vectors.dim}-d, "
        f"loaded in {time.process_time() - started:.2f} CPU-s"
    )

    rubricator = load_rubricator()
    topic_groups = {t.name: t.group for t in rubricator.topics}
    lemmatize = Lemmatizer().lemmatize_text
    items, _ = merge_training_items(
        load_seed_corpus(rubricator=rubricator), [], lemmatize=lemmatize, rubricator=rubricator
    )
    appeals, _ = load_spb_appeals(DATA)
    random.Random(4).shuffle(appeals)
    test = appeals[: args.limit]
    docs = [" ".join(lemmatize(a.text)) for a in test]
    truth = [a.group for a in test]

    def content(ds: Sequence[str]) -> np.ndarray[Any, Any]:
        return vectors.mean_vectors(
            [[w for w in d.split() if w not in RUSSIAN_STOP_WORDS] for d in ds]
        )

    def fit_and_score(alpha: float) -> Any:
        plain = Featurizer.transform_parts

        def with_vectors(self: Featurizer, ds: Sequence[str]) -> Any:
            x, words = plain(self, ds)
            dense = sp.csr_matrix(content(ds) * alpha)
            return sp.csr_matrix(sp.hstack([x, dense], format="csr")), words

        patch = (
            mock.patch.object(Featurizer, "transform_parts", with_vectors)
            if alpha
            else contextlib.nullcontext()
        )
        with patch:
            cpu = time.process_time()
            models = fit_text_models(items, topic_groups=topic_groups, spec=ModelSpec())
            fit_cpu = time.process_time() - cpu
            cpu = time.process_time()
            report, topic_acc, recall = evaluate_models(models, docs, test)
            predict_cpu = time.process_time() - cpu
        print(
            f"vectors x{alpha:g} in every head: accuracy {report.accuracy:.3f}  macro-F1 "
            f"{report.macro_f1:.3f}  topic {topic_acc:.3f}  complaint recall {recall:.3f}  "
            f"fit {fit_cpu:.0f} CPU-s  predict {len(docs) / predict_cpu:.0f} msgs/CPU-s"
        )
        return models

    base = fit_and_score(0.0)
    for alpha in (float(a) for a in args.alphas.split(",") if a):
        fit_and_score(alpha)

    groups = list(base.groups)
    column = {g: i for i, g in enumerate(groups)}
    x = base.featurizer.transform(docs)
    p_base = base.group_proba(base.group.proba(x), base.topic.proba(x))

    def show(name: str, p: np.ndarray[Any, Any]) -> None:
        r = group_report(truth, [groups[i] for i in np.argmax(p, axis=1)])
        print(f"{name}: accuracy {r.accuracy:.3f}  macro-F1 {r.macro_f1:.3f}")

    def mixed(p: np.ndarray[Any, Any], w: float) -> np.ndarray[Any, Any]:
        logs = (1 - w) * np.log(np.maximum(p_base, 1e-12)) + w * np.log(np.maximum(p, 1e-12))
        return softmax(logs, 1.0)

    grouped = [i for i, item in enumerate(items) if item.group is not None]
    train_vectors = content([items[i].doc for i in grouped])
    labels = np.asarray([column[str(items[i].group)] for i in grouped])
    test_vectors = content(docs)
    head = LogisticRegression(C=1.0, max_iter=2000).fit(train_vectors, labels)
    p_vectors = np.zeros_like(p_base)
    p_vectors[:, head.classes_] = head.predict_proba(test_vectors)
    show("LR on the mean vectors alone", p_vectors)
    for w in (0.2, 0.35):
        show(f"  mixed into the group decision, weight {w}", mixed(p_vectors, w))
    names = np.zeros((len(groups), vectors.dim), dtype=np.float32)
    for g in groups:
        described = [g] + [t.name for t in rubricator.topics if t.group == g]
        names[column[g]] = content([" ".join(lemmatize(n)) for n in described]).sum(axis=0)
    seeds = np.zeros_like(names)
    np.add.at(seeds, labels, train_vectors)
    for title, centroids in (("topic names", names), ("seed examples", seeds)):
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
        p_prior = softmax(test_vectors @ centroids.T, 0.1)
        show(f"nearest centroid of each group's {title} (T 0.1) alone", p_prior)
        for w in (0.15, 0.3):
            show(f"  mixed into the group decision, weight {w}", mixed(p_prior, w))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
