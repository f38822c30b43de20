"""The text models: complaint or not, topic group, and topic within the group, with evidence."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from classifier.calibration import fit_temperature, softmax
from classifier.complaint_cues import (
    ACCIDENT_NEWS_REASON,
    AD_REASON,
    ADVICE_REASON,
    CONTACT_REASON,
    GREETING_REASON,
    INVITATION_REASON,
    NEWS_REASON,
    NOTICE_REASON,
    PET_REASON,
    QUESTION_REASON,
    REACTION_REASON,
    REPLY_REASON,
    RULES_REASON,
    SPAM_REASON,
    THANKS_REASON,
    no_problem_reason,
    problem_vocabulary,
)
from classifier.features import FeatureSpec, Featurizer, LemmaDoc
from classifier.lemmatizer import RUSSIAN_STOP_WORDS
from classifier.types import Evidence

__all__ = [
    "ModelSpec",
    "TextModels",
    "TextPrediction",
    "TrainingItem",
    "fit_text_models",
]

ModelKind = Literal["lr", "svc"]
EVIDENCE_PER_FIELD = 4
#: A head multiplies a batch of fewer rows by its sparse weights until it has a dense copy.
DENSE_FROM_ROWS = 64
#: The complaint head's label for a complaint, and for a non-complaint of no known kind.
COMPLAINT_LABEL = "1"
UNKNOWN_KIND_LABEL = "0"
#: A message with no word at all ("+", "👍👍👍") names no problem: the complaint confidence
#: given to it, whatever the head would say about an empty document (its intercepts).
NO_WORDS_CONFIDENCE = 0.01
NO_WORDS_KIND = "reaction"
# Probabilities are clipped here before their logarithm (a pruned head may give exact zeros).
_TINY = 1e-12
#: The share of operators' labels held back to fit the group temperature, and the least number
#: of held-back labels worth fitting on (about 500 labels in all).
CALIBRATION_SHARE = 0.2
MIN_CALIBRATION = 100
#: A text that names no problem (classifier.complaint_cues.no_problem_reason: no problem word
#: or object, or advice / a reply to a commenter with no problem in it) gets at most this
#: complaint confidence, and the reason in its evidence. Of the dev set's messages so gated
#: none was a complaint (bench/data/noise_dev_threads.txt).
NO_PROBLEM_CONFIDENCE = 0.2
_REASON_KINDS = {
    ADVICE_REASON: "advice",
    REPLY_REASON: "reply",
    AD_REASON: "ad",
    PET_REASON: "ad",
    RULES_REASON: "news",
    INVITATION_REASON: "news",
    SPAM_REASON: "spam",
    THANKS_REASON: "thanks",
    GREETING_REASON: "greeting",
    NEWS_REASON: "news",
    ACCIDENT_NEWS_REASON: "news",
    NOTICE_REASON: "notice",
    CONTACT_REASON: "ad",
    QUESTION_REASON: "question",
    REACTION_REASON: "reaction",
}
# Words too common to explain a decision (negations stay: "не работает" is evidence).
_NOT_EVIDENCE = RUSSIAN_STOP_WORDS | {"ул", "д", "г", "дом", "у", "в", "на", "с", "по"}


def _explains(name: str) -> bool:
    """Say whether a word feature is worth showing as evidence."""
    return any(len(w) > 1 and not w.isdigit() and w not in _NOT_EVIDENCE for w in name.split())


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How to build the models: features, the linear model, its regularisation."""

    features: FeatureSpec = field(default_factory=FeatureSpec)
    kind: ModelKind = "lr"
    c: float = 10.0
    max_iter: int = 2000
    # Share of each head's weights kept (the largest by magnitude); the rest become zero and the
    # weights are stored sparse: the artefact is ~6x smaller, for about -0.4 points of macro-F1.
    keep_weights: float = 0.1
    # Class weights inversely proportional to class size. Off, the seed corpus's own proportions
    # (common problems have more phrasings) are the prior; classifier.train.train turns it on
    # once operators' labels (skewed towards a few groups) are learnt.
    balanced: bool = False
    # Weight of a complaint against a non-complaint in the complaint head. The seed corpus has
    # about as many non-complaints (ten kinds of them) as complaints, and the kinds share words
    # with complaints ("пишите в жилинспекцию", "отключение воды с 9 до 18"); weighting the
    # complaints up keeps the complaint recall on real appeals (measured on the SPb appeals:
    # 0.969 at weight 1, 0.985 at 3, 0.987 at 5, with the noise kinds in the corpus; the
    # complaint precision on the measured noise set falls from 0.515 to 0.439 and 0.418).
    complaint_weight: float = 5.0
    # Class weights on the group and topic heads only, proportional to count**-power (1: like
    # "balanced", 0: off), unused when ``balanced`` already weights every head; the complaint
    # head keeps its own weights. Measured on the SPb appeals at cold start: 0.5 and 0.25 give
    # +0.5 points of macro-F1, accuracy unchanged, complaint recall unchanged (docs/classifier.md).
    group_class_power: float = 0.5
    topic_class_power: float = 0.25
    # The group decision is two-level: the group head's probabilities and the topic head's
    # summed within each group, combined geometrically with this weight on the topics' side
    # (0: the group head alone). Measured on the SPb appeals at cold start: 0.5 gives +1.3
    # points of accuracy and +1.1 of macro-F1 over the group head alone; 0.7 another +0.6 to
    # +1.6 of accuracy on each of nine corpus draws, macro-F1 unchanged (docs/classifier.md).
    group_from_topics: float = 0.7
    # Fit a temperature for the group probabilities on a held-back fifth of the operators'
    # labels once there are enough of them (classifier.calibration); off, or at cold start, the
    # combined probabilities are used as they are.
    calibrate_groups: bool = True

    @property
    def family(self) -> str:
        """Return the model family name used in version strings ("tfidf-lr", "tfidf-svc")."""
        return f"tfidf-{self.kind}"

    def describe(self) -> str:
        """Return a short description for the artefact's metadata and reports."""
        model = "LogisticRegression" if self.kind == "lr" else "CalibratedClassifierCV(LinearSVC)"
        weights = ", balanced" if self.balanced else ""
        if self.complaint_weight != 1.0:
            weights += f", complaints x{self.complaint_weight:g}"
        for head in ("group", "topic"):
            power = _class_power(self, head)
            if power:
                weights += f", {head} classes x count^-{power:g}"
        # getattr: a spec unpickled from an artefact saved before these fields has none.
        mix = getattr(self, "group_from_topics", 0.0)
        groups = f"; groups two-level (topic weight {mix:g})" if mix else ""
        if getattr(self, "calibrate_groups", False):
            groups += ", temperature from held-back operator labels"
        return f"{self.features.describe()}; {model} C={self.c}{weights}{groups}"


@dataclass(frozen=True, slots=True)
class TrainingItem:
    """One document to learn from; ``None`` fields say nothing about that output."""

    doc: LemmaDoc
    is_complaint: bool | None
    group: str | None = None
    topic: str | None = None
    weight: float = 1.0
    kind: str | None = None  # the kind of a non-complaint (classifier.noise.NOISE_KINDS)
    operator: bool = False  # an operator's label (not the seed corpus): calibration reads these

    def complaint_label(self) -> str:
        """Return the complaint head's label: "1", the non-complaint's kind, or "0"."""
        if self.is_complaint:
            return COMPLAINT_LABEL
        return self.kind or UNKNOWN_KIND_LABEL


@dataclass(frozen=True, slots=True)
class TextPrediction:
    """What the text models say about one message."""

    complaint_confidence: float
    group: str | None
    group_confidence: float
    topic: str | None
    topic_confidence: float
    evidence: tuple[Evidence, ...] = ()
    # The most probable kind of non-complaint (reaction, advice, reply, ...) and its probability
    # among the non-complaint kinds; None from a model trained without kinds.
    kind: str | None = None
    kind_confidence: float = 0.0

    @property
    def is_complaint(self) -> bool:
        """Say whether the complaint probability is at least one half."""
        return self.complaint_confidence >= 0.5


def _estimator(spec: ModelSpec, n_samples: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if spec.kind == "lr":
        # newton-cg reaches the same optimum as lbfgs in a few iterations, and does not slow
        # down 5x when BLAS threads compete for the cores (measured on the seed corpus).
        return LogisticRegression(
            C=spec.c,
            max_iter=spec.max_iter,
            class_weight="balanced" if spec.balanced else None,
            solver="newton-cg",
        )
    folds = 3 if n_samples >= 30 else 2
    return CalibratedClassifierCV(
        LinearSVC(C=spec.c / 10, class_weight="balanced" if spec.balanced else None),
        cv=folds,
        method="sigmoid",
    )


def _coef(model: Any) -> sp.csr_matrix:
    """Return a (classes x features) weight matrix of a fitted linear model, for evidence."""
    from sklearn.calibration import CalibratedClassifierCV

    if isinstance(model, CalibratedClassifierCV):
        coefs = [c.estimator.coef_ for c in model.calibrated_classifiers_]
        return sp.csr_matrix(np.mean(coefs, axis=0))
    return sp.csr_matrix(model.coef_)


def _prune(model: Any, keep: float) -> None:
    """Zero all but the ``keep`` share of largest weights of a linear model; store them sparse."""
    from sklearn.linear_model import LogisticRegression

    if keep >= 1.0 or not isinstance(model, LogisticRegression):
        return
    coef = np.asarray(model.coef_)
    threshold = np.quantile(np.abs(coef), 1.0 - keep)
    model.coef_ = sp.csr_matrix(np.where(np.abs(coef) >= threshold, coef, 0.0).astype(np.float32))


@dataclass(slots=True)
class _Head:
    """One fitted classifier over the shared features, with its class labels.

    A frozen head (:meth:`frozen`) keeps no scikit-learn model, only the weights and the
    intercepts of a logistic regression, and computes the same probabilities from them.
    """

    model: Any
    classes: tuple[str, ...]
    coef: sp.csr_matrix
    intercept: np.ndarray[Any, Any] | None = None

    _dense: np.ndarray[Any, Any] | None = field(default=None, repr=False, compare=False)
    _dense_t: np.ndarray[Any, Any] | None = field(default=None, repr=False, compare=False)
    _weights_t: sp.csr_matrix | None = field(default=None, repr=False, compare=False)

    def dense(self) -> np.ndarray[Any, Any]:
        """Return the (classes x features) weights as a dense array (built once)."""
        if self._dense is None:
            self._dense = np.asarray(self.coef.toarray(), dtype=np.float32)
        return self._dense

    def dense_t(self) -> np.ndarray[Any, Any]:
        """Return the (features x classes) weights, dense and row-major (built once).

        ``x @ dense_t()`` adds, for each row, the same products in the same order as
        scikit-learn's sparse product does (the zeros add nothing), in float32 alike.
        """
        if self._dense_t is None:  # not through dense(): the topic head needs only this one
            weights = self._dense if self._dense is not None else self.coef.toarray()
            self._dense_t = np.ascontiguousarray(np.asarray(weights, dtype=np.float32).T)
        return self._dense_t

    def _products(self, x: sp.csr_matrix) -> np.ndarray[Any, Any]:
        """Return ``x`` times the weights, (rows x classes), in float32.

        A few rows (a command classifying one message) are multiplied by the sparse weights:
        building the dense copy (30 MB for the topic head) costs more than they do. Both
        products add each row's non-zero terms in the same order in float32 (the zero weights
        the dense one also adds change no sum), so their results are the same to the bit.
        """
        if self._dense_t is None and x.shape[0] < DENSE_FROM_ROWS:
            return np.asarray((x @ self._sparse_t()).toarray())
        return np.asarray(x @ self.dense_t())

    def _sparse_t(self) -> sp.csr_matrix:
        """Return the (features x classes) weights as a CSR matrix (built once)."""
        if self._weights_t is None:
            self._weights_t = sp.csr_matrix(self.coef.T, dtype=np.float32)
        return self._weights_t

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the dense copies of the weights (rebuilt on first use)."""
        return {
            "model": self.model,
            "classes": self.classes,
            "coef": self.coef,
            "intercept": self.intercept,
            "_dense": None,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`__getstate__` (or from an artefact saved before frozen heads)."""
        self.intercept = None
        self._dense = None
        self._dense_t = None
        self._weights_t = None
        for key, value in state.items():
            setattr(self, key, value)

    def frozen(self) -> _Head | None:
        """Return this head without its scikit-learn model, or None if it is no plain LR."""
        if self.model is None:
            return self
        if type(self.model).__name__ != "LogisticRegression":
            return None
        weights = sp.csr_matrix(self.model.coef_)
        return _Head(
            model=None,
            classes=self.classes,
            coef=weights,
            intercept=np.asarray(self.model.intercept_),
        )

    def proba(self, x: sp.csr_matrix) -> np.ndarray[Any, Any]:
        if self.model is not None:
            return np.asarray(self.model.predict_proba(x))
        # scikit-learn's LogisticRegression.predict_proba, step by step.
        assert self.intercept is not None  # noqa: S101 - set by frozen()
        scores = np.asarray(self._products(x)) + self.intercept
        if len(self.classes) <= 2:
            p = _expit(scores.reshape(-1))
            return np.stack([1 - p, p], axis=1)
        scores -= scores.max(axis=1).reshape(-1, 1)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1).reshape(-1, 1)
        return np.asarray(scores)


def _expit(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Return the logistic sigmoid (``scipy.special.expit``, imported when first needed)."""
    from scipy.special import expit  # type: ignore[import-untyped]

    return np.asarray(expit(x))


def class_weights(labels: Sequence[str], power: float) -> np.ndarray[Any, Any]:
    """Return each row's weight for its class, proportional to ``count ** -power``.

    Scaled so the weights sum to the number of rows (with ``power`` 1 the same as
    scikit-learn's "balanced": n / (classes x count)); all ones at ``power`` 0.
    """
    if not labels or power == 0:
        return np.ones(len(labels))
    _, inverse, counts = np.unique(np.asarray(labels), return_inverse=True, return_counts=True)
    per_row = counts.astype(np.float64)[inverse] ** -power
    return np.asarray(per_row * (len(labels) / per_row.sum()))


def _class_power(spec: ModelSpec, head: str) -> float:
    """Return the class-weight power of the group or topic head (0 when ``balanced`` is on)."""
    # getattr: a spec unpickled from an artefact saved before these fields has none.
    return 0.0 if spec.balanced else float(getattr(spec, f"{head}_class_power", 0.0))


def _fit_head(
    spec: ModelSpec, x: sp.csr_matrix, labels: Sequence[str], weights: np.ndarray[Any, Any]
) -> _Head | None:
    classes = sorted(set(labels))
    if len(classes) < 2:
        return None
    model = _estimator(spec, len(labels))
    model.fit(x, np.asarray(labels), sample_weight=weights)
    _prune(model, spec.keep_weights)
    return _Head(model=model, classes=tuple(str(c) for c in model.classes_), coef=_coef(model))


class TextModels:
    """The fitted featurizer and heads; ``predict`` turns lemma documents into predictions."""

    def __init__(
        self,
        *,
        spec: ModelSpec,
        featurizer: Featurizer,
        complaint: _Head,
        group: _Head,
        topic: _Head | None,
        topic_groups: dict[str, str],
        problem_words: frozenset[str] | None = None,
    ) -> None:
        """Hold fitted parts; build them with :func:`fit_text_models`.

        ``problem_words`` (classifier.complaint_cues.problem_vocabulary): a text with none of
        them, or advice / a reply with no problem in it, is kept out of the complaints; None
        (an artefact from before) keeps no text out that way.
        """
        self.spec = spec
        self.featurizer = featurizer
        self.complaint = complaint
        self.group = group
        self.topic = topic
        self.topic_groups = topic_groups
        self.problem_words = problem_words
        self._topics_by_group: dict[str, np.ndarray[Any, Any]] = {}
        if topic is not None:
            for group_name in group.classes:
                idx = [i for i, t in enumerate(topic.classes) if topic_groups.get(t) == group_name]
                self._topics_by_group[group_name] = np.asarray(idx, dtype=np.intp)
        self._yes = complaint.classes.index(COMPLAINT_LABEL)
        self._kinds = _kind_columns(complaint.classes)
        # The group decision (see ModelSpec.group_from_topics) and its calibration.
        self.group_mix = spec.group_from_topics if topic is not None else 0.0
        self.group_temperature = 1.0
        self._topic_to_group: sp.csr_matrix | None = None

    @property
    def groups(self) -> tuple[str, ...]:
        """Return the groups the group model knows."""
        return self.group.classes

    def predict(
        self,
        docs: Sequence[LemmaDoc],
        *,
        evidence: bool = True,
        comments: Sequence[bool] | None = None,
        texts: Sequence[str] | None = None,
    ) -> list[TextPrediction]:
        """Predict complaint, group and topic for each document (one batch).

        ``comments`` says which documents are comments under a post (read more strictly by the
        no-problem rule: a comment must name a failure and what has failed); none by default.
        ``texts`` are the raw messages the documents came from: the rule also reads what the
        lemmas lose (phone numbers, links, prices, past-tense news verbs); none by default.
        """
        if not docs:
            return []
        x, x_words = self.featurizer.transform_parts(docs)
        p_all = self.complaint.proba(x)
        p_complaint = p_all[:, self._yes].copy()
        wordless = np.diff(x.indptr) == 0
        p_complaint[wordless] = NO_WORDS_CONFIDENCE
        kinds, kind_conf = self._kind(p_all, wordless)
        reasons = self._gate(docs, p_complaint, kinds, comments, texts)
        p_topic = self.topic.proba(x) if self.topic is not None else None
        p_group = self.group_proba(self.group.proba(x), p_topic)
        best = np.argmax(p_group, axis=1)
        evidences = self._evidence(x_words, best, p_complaint, kinds, reasons) if evidence else None
        out: list[TextPrediction] = []
        for row in range(len(docs)):
            g = int(best[row])
            group = self.group.classes[g]
            group_conf = float(p_group[row, g])
            topic, topic_conf = self._topic(group, group_conf, p_topic, row)
            ev = evidences[row] if evidences is not None else ()
            out.append(
                TextPrediction(
                    complaint_confidence=float(p_complaint[row]),
                    group=group,
                    group_confidence=group_conf,
                    topic=topic,
                    topic_confidence=topic_conf,
                    evidence=ev,
                    kind=kinds[row],
                    kind_confidence=float(kind_conf[row]),
                )
            )
        return out

    def group_proba(
        self,
        p_head: np.ndarray[Any, Any],
        p_topic: np.ndarray[Any, Any] | None,
        *,
        temperature: float | None = None,
    ) -> np.ndarray[Any, Any]:
        """Return the group probabilities: the two heads combined, then calibrated.

        ``p_head``: the group head's probabilities; ``p_topic``: the topic head's (their sum
        within each group is the second opinion). With neither a mix nor a temperature, the
        group head's own probabilities, untouched.
        """
        t = self.group_temperature if temperature is None else temperature
        mix = self.group_mix if p_topic is not None else 0.0
        if mix == 0.0 and t == 1.0:
            return p_head
        log_p = np.log(np.maximum(p_head, _TINY))
        if mix > 0.0 and p_topic is not None:
            summed = np.asarray(p_topic @ self._topic_group_matrix())
            log_p = (1.0 - mix) * log_p + mix * np.log(np.maximum(summed, _TINY))
        return softmax(log_p, t)

    def _topic_group_matrix(self) -> sp.csr_matrix:
        """Return the (topics x groups) 0/1 matrix that sums topic probabilities per group."""
        if self._topic_to_group is None:
            assert self.topic is not None  # noqa: S101 - only called with topic probabilities
            column = {g: i for i, g in enumerate(self.group.classes)}
            rows, cols = [], []
            for i, topic in enumerate(self.topic.classes):
                group = column.get(self.topic_groups.get(topic, ""))
                if group is not None:
                    rows.append(i)
                    cols.append(group)
            self._topic_to_group = sp.csr_matrix(
                (np.ones(len(rows)), (rows, cols)),
                shape=(len(self.topic.classes), len(self.group.classes)),
            )
        return self._topic_to_group

    def _kind(
        self, p_all: np.ndarray[Any, Any], wordless: np.ndarray[Any, Any]
    ) -> tuple[list[str | None], np.ndarray[Any, Any]]:
        """Return each row's most probable non-complaint kind and its share among the kinds."""
        n = p_all.shape[0]
        kinds: list[str | None] = [None] * n
        conf = np.zeros(n, dtype=np.float64)
        if len(self._kinds):
            within = p_all[:, self._kinds]
            total = within.sum(axis=1)
            best = np.argmax(within, axis=1)
            conf = np.where(total > 0, within[np.arange(n), best] / np.maximum(total, 1e-12), 0.0)
            names = [self.complaint.classes[int(i)] for i in self._kinds]
            kinds = [names[int(b)] for b in best]
        for row in np.flatnonzero(wordless).tolist():
            kinds[row], conf[row] = NO_WORDS_KIND, 1.0
        return kinds, conf

    def _gate(
        self,
        docs: Sequence[LemmaDoc],
        p_complaint: np.ndarray[Any, Any],
        kinds: list[str | None],
        comments: Sequence[bool] | None = None,
        texts: Sequence[str] | None = None,
    ) -> list[str | None]:
        """Keep out of the complaints each text that names no problem; return the reasons.

        Changes ``p_complaint`` and ``kinds`` in place (advice and replies get their kind).
        """
        reasons: list[str | None] = [None] * len(docs)
        words = self.problem_words
        if words is None:
            return reasons
        known = {self.complaint.classes[int(i)] for i in self._kinds}
        for row, doc in enumerate(docs):
            reason = no_problem_reason(
                doc,
                words,
                is_comment=bool(comments and comments[row]),
                text=texts[row] if texts else None,
            )
            if reason is None:
                continue
            reasons[row] = reason
            p_complaint[row] = min(float(p_complaint[row]), NO_PROBLEM_CONFIDENCE)
            kind = _REASON_KINDS.get(reason)
            if kind is not None and kind in known:
                kinds[row] = kind
        return reasons

    def _topic(
        self,
        group: str,
        group_conf: float,
        p_topic: np.ndarray[Any, Any] | None,
        row: int,
    ) -> tuple[str | None, float]:
        if p_topic is None or self.topic is None:
            return None, 0.0
        idx = self._topics_by_group.get(group)
        if idx is None or len(idx) == 0:
            return None, 0.0
        within = p_topic[row, idx]
        total = float(within.sum())
        best = int(np.argmax(within))
        share = float(within[best]) / total if total > 0 else 1.0 / len(idx)
        return self.topic.classes[int(idx[best])], group_conf * share

    def _evidence(
        self,
        x: sp.csr_matrix,
        groups: np.ndarray[Any, Any],
        p_complaint: np.ndarray[Any, Any],
        kinds: Sequence[str | None],
        reasons: Sequence[str | None] = (),
    ) -> list[tuple[Evidence, ...]]:
        """Return each row's evidence (``x``: its word columns): top words by tf-idf x weight.

        For the complaint decision the weights of the side decided (complaint, or the kind of
        non-complaint named first as ``kind`` evidence); for the topic, the weights of the
        group chosen. Computed for the whole batch at once.
        """
        n = x.shape[0]
        rows = np.repeat(np.arange(n), np.diff(x.indptr))
        cols = x.indices
        explainable = self._explainable(cols)
        selected = cols < len(explainable)
        selected[selected] = explainable[cols[selected]]
        rows, cols, vals = rows[selected], cols[selected], x.data[selected]
        is_complaint = p_complaint >= 0.5
        complaint_dense = self.complaint.dense()
        if complaint_dense.shape[0] == 1:  # a binary head: one row, for its second class
            positive = self.complaint.classes[1] == COMPLAINT_LABEL
            sign = np.where(is_complaint == positive, 1.0, -1.0).astype(np.float32)
            complaint_w = vals * complaint_dense[0, cols] * sign[rows]
        else:  # one row per class: the complaint's, or the kind's decided
            index = {c: i for i, c in enumerate(self.complaint.classes)}
            side = np.asarray(
                [
                    self._yes if yes else index.get(kind or "", self._yes)
                    for yes, kind in zip(is_complaint.tolist(), kinds, strict=True)
                ],
                dtype=np.intp,
            )
            complaint_w = vals * complaint_dense[side[rows], cols]
        group_w = vals * self.group.dense()[groups[rows], cols]
        result: list[list[Evidence]] = [
            []
            if yes or kind is None
            else [Evidence("kind", kind, round(float(1.0 - p_complaint[row]), 4))]
            for row, (yes, kind) in enumerate(zip(is_complaint.tolist(), kinds, strict=True))
        ]
        for row, reason in enumerate(reasons):
            if reason is not None:  # why no complaint, after the kind
                result[row].insert(
                    1, Evidence("reason", reason, round(float(1.0 - p_complaint[row]), 4))
                )
        for name, weights in (("complaint", complaint_w), ("topic", group_w)):
            positive = weights > 0
            r, c, w = rows[positive], cols[positive], weights[positive]
            order = np.lexsort((-w, r))  # by row, then by weight, largest first
            r, c, w = r[order], c[order], w[order]
            rank = np.arange(len(r)) - np.searchsorted(r, r, side="left")
            top = rank < EVIDENCE_PER_FIELD
            for row, col, weight in zip(
                r[top].tolist(), c[top].tolist(), w[top].tolist(), strict=True
            ):
                result[row].append(Evidence(name, self.featurizer.word_name(col), round(weight, 4)))
        return [tuple(items) for items in result]

    def _explainable(self, columns: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Return, per word column, whether it may be shown as evidence.

        Decided for ``columns`` (those of a batch) the first time each is seen, not for the
        whole vocabulary at once: one message need not pay for fifteen thousand names.
        """
        names = self.featurizer.word_names()
        mask: np.ndarray[Any, Any] | None = getattr(self, "_explainable_mask", None)
        known: np.ndarray[Any, Any] | None = getattr(self, "_explainable_known", None)
        if mask is None or known is None:
            mask = np.zeros(len(names), dtype=bool)
            known = np.zeros(len(names), dtype=bool)
            self._explainable_mask, self._explainable_known = mask, known
        columns = columns[columns < len(names)]
        new = np.unique(columns[~known[columns]])
        if len(new):
            mask[new] = [_explains(str(names[c])) for c in new.tolist()]
            known[new] = True
        return mask

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the evidence mask (rebuilt on first use)."""
        state = dict(self.__dict__)
        state.pop("_explainable_mask", None)
        state.pop("_explainable_known", None)
        state["_topic_to_group"] = None
        return state

    def freeze(self) -> TextModels | None:
        """Return the same models without scikit-learn objects, or None if a head is no LR.

        They predict what these predict, and load without importing scikit-learn.
        """
        heads = [h.frozen() if h is not None else None for h in (self.complaint, self.group)]
        topic = self.topic.frozen() if self.topic is not None else None
        complaint, group = heads
        if complaint is None or group is None or (self.topic is not None and topic is None):
            return None
        frozen = TextModels(
            spec=self.spec,
            featurizer=self.featurizer.freeze(),
            complaint=complaint,
            group=group,
            topic=topic,
            topic_groups=self.topic_groups,
            problem_words=self.problem_words,
        )
        frozen.group_mix = self.group_mix
        frozen.group_temperature = self.group_temperature
        return frozen

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore; an artefact from before the kinds of non-complaint gets none.

        One from before the two-level group decision decides by the group head alone.
        """
        self.__dict__.update(state)
        if "problem_words" not in state:
            self.problem_words = None
        if "_kinds" not in state:
            self._kinds = _kind_columns(self.complaint.classes)
        self.__dict__.setdefault("group_mix", 0.0)
        self.__dict__.setdefault("group_temperature", 1.0)
        self._topic_to_group = None


def _kind_columns(classes: Sequence[str]) -> np.ndarray[Any, Any]:
    """Return the complaint head's columns that are kinds of non-complaint."""
    unnamed = (COMPLAINT_LABEL, UNKNOWN_KIND_LABEL)
    return np.asarray([i for i, c in enumerate(classes) if c not in unnamed], dtype=np.intp)


def fit_text_models(
    items: Sequence[TrainingItem],
    *,
    topic_groups: dict[str, str],
    spec: ModelSpec | None = None,
) -> TextModels:
    """Fit the featurizer and the three heads on ``items``.

    The complaint head learns from items whose ``is_complaint`` is known, a non-complaint under
    its kind when known (so it is a multinomial model: complaint against each kind of
    non-complaint, P(complaint) its answer); the group head from
    items with a group; the topic head from items with a topic of the rubricator
    (``topic_groups`` maps each topic to its group).

    Raises:
        ValueError: when there are not two kinds of complaint answer or two groups to learn.
    """
    spec = spec or ModelSpec()
    featurizer = Featurizer(spec.features).fit([item.doc for item in items]).compact()
    x_all = featurizer.transform([item.doc for item in items])
    weights = np.asarray([item.weight for item in items], dtype=np.float64)

    def subset(select: list[int]) -> tuple[sp.csr_matrix, np.ndarray[Any, Any]]:
        return x_all[select], weights[select]

    c_idx = [i for i, item in enumerate(items) if item.is_complaint is not None]
    x, w = subset(c_idx)
    w = w * np.where([bool(items[i].is_complaint) for i in c_idx], spec.complaint_weight, 1.0)
    complaint = _fit_head(spec, x, [items[i].complaint_label() for i in c_idx], w)
    if complaint is None:
        raise ValueError("the complaint model needs both complaints and non-complaints")
    g_idx = [i for i, item in enumerate(items) if item.group is not None]
    x, w = subset(g_idx)
    group_labels = [str(items[i].group) for i in g_idx]
    w = w * class_weights(group_labels, _class_power(spec, "group"))
    group = _fit_head(spec, x, group_labels, w)
    if group is None:
        raise ValueError("the group model needs examples of at least two groups")
    t_idx = [i for i, item in enumerate(items) if item.topic in topic_groups]
    x, w = subset(t_idx)
    topic_labels = [str(items[i].topic) for i in t_idx]
    w = w * class_weights(topic_labels, _class_power(spec, "topic"))
    topic = _fit_head(spec, x, topic_labels, w) if t_idx else None
    complaint_docs = [items[i].doc for i in c_idx if items[i].is_complaint]
    other_docs = [items[i].doc for i in c_idx if not items[i].is_complaint]
    models = TextModels(
        spec=spec,
        featurizer=featurizer,
        complaint=complaint,
        group=group,
        topic=topic,
        topic_groups=dict(topic_groups),
        problem_words=problem_vocabulary(complaint_docs, other_docs) if other_docs else None,
    )
    if spec.calibrate_groups:
        models.group_temperature = group_temperature(items, topic_groups=topic_groups, spec=spec)
    return models


def _held_back(doc: LemmaDoc) -> bool:
    """Say whether a training document is in the fifth held back for calibration (by hash)."""
    return hashlib.sha256(doc.encode("utf-8")).digest()[0] < CALIBRATION_SHARE * 256


def group_temperature(
    items: Sequence[TrainingItem], *, topic_groups: dict[str, str], spec: ModelSpec
) -> float:
    """Return the temperature that calibrates the group probabilities of models like these.

    A fifth of the operators' labels with a group (split by a hash of the document) is held
    back; models are fitted, uncalibrated, on everything else, and the temperature is the one
    that fits their group probabilities best on the held-back labels
    (:func:`classifier.calibration.fit_temperature`). Only real messages can calibrate: held-back
    seed examples share their templates' phrasings with the rest, so a temperature fitted on
    them makes the model sure of itself (on the SPb appeals: T 0.26, calibration error 0.154
    against 0.214 as it is; at a 0.8 threshold 14.8 % of all messages routed to a wrong
    executor, against 1.3 % as it is).
    1.0 when fewer than ``MIN_CALIBRATION`` labels would be held back.
    """
    held = [item for item in items if item.operator and item.group and _held_back(item.doc)]
    if len(held) < MIN_CALIBRATION:
        return 1.0
    kept = [item for item in items if not (item.operator and _held_back(item.doc))]
    try:
        models = fit_text_models(
            kept, topic_groups=topic_groups, spec=replace(spec, calibrate_groups=False)
        )
    except ValueError:  # too little left to learn from
        return 1.0
    column = {g: i for i, g in enumerate(models.groups)}
    known = [item for item in held if item.group in column]
    if len(known) < MIN_CALIBRATION:
        return 1.0
    x = models.featurizer.transform([item.doc for item in known])
    p_topic = models.topic.proba(x) if models.topic is not None else None
    p_group = models.group_proba(models.group.proba(x), p_topic, temperature=1.0)
    scores = np.log(np.maximum(p_group, _TINY))
    return fit_temperature(scores, [column[str(item.group)] for item in known])
