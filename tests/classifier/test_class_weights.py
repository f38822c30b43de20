"""Class weights on the group and topic heads only (count**-power), not the complaint head."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from classifier.corpus import load_seed_corpus
from classifier.features import FeatureSpec
from classifier.lemmatizer import Lemmatizer
from classifier.model import ModelSpec, TextModels, TrainingItem, class_weights, fit_text_models
from classifier.rubricator import Rubricator, load_rubricator
from classifier.train import merge_training_items

LABELS = ["ЖКХ"] * 8 + ["Дороги"] * 2 + ["Мусор/Свалки/ТКО"] * 1 + ["ЖКХ"] * 4


def test_power_one_is_scikit_learns_balanced() -> None:
    classes = np.array(sorted(set(LABELS)))
    expected = compute_class_weight("balanced", classes=classes, y=np.array(LABELS))
    by_class = dict(zip(classes.tolist(), expected.tolist(), strict=True))
    assert class_weights(LABELS, 1.0).tolist() == pytest.approx([by_class[g] for g in LABELS])


def test_partial_power_scales_by_the_root_of_the_class_size_and_keeps_the_total() -> None:
    weights = class_weights(LABELS, 0.5)
    housing, roads, rubbish = weights[0], weights[8], weights[10]
    assert housing / roads == pytest.approx((2 / 12) ** 0.5)
    assert housing / rubbish == pytest.approx((1 / 12) ** 0.5)
    assert weights.sum() == pytest.approx(len(LABELS))
    assert {w for w, g in zip(weights.tolist(), LABELS, strict=True) if g == "ЖКХ"} == {housing}


@pytest.mark.parametrize("labels", [[], ["ЖКХ"], LABELS], ids=["empty", "one", "several"])
def test_power_zero_or_no_rows_weighs_nothing(labels: list[str]) -> None:
    assert class_weights(labels, 0.0).tolist() == [1.0] * len(labels)
    assert len(class_weights([], 1.0)) == 0


@pytest.fixture(scope="module")
def rubricator() -> Rubricator:
    return load_rubricator()


@pytest.fixture(scope="module")
def items(rubricator: Rubricator) -> list[TrainingItem]:
    seed = load_seed_corpus(rubricator=rubricator)[::4]
    lemmatizer = Lemmatizer()
    merged, _summary = merge_training_items(
        seed, [], lemmatize=lemmatizer.lemmatize_text, rubricator=rubricator
    )
    return merged


def _fit(items: list[TrainingItem], rubricator: Rubricator, **spec: object) -> TextModels:
    small = ModelSpec(
        features=FeatureSpec(char_ngrams=None),
        c=5.0,
        max_iter=300,
        calibrate_groups=False,
        **spec,  # type: ignore[arg-type]
    )
    topic_groups = {t.name: t.group for t in rubricator.topics}
    return fit_text_models(items, topic_groups=topic_groups, spec=small)


def _coef(head: object) -> np.ndarray:  # type: ignore[type-arg]
    return np.asarray(head.coef.toarray())  # type: ignore[attr-defined]


def test_only_the_group_and_topic_heads_are_weighted(
    items: list[TrainingItem], rubricator: Rubricator
) -> None:
    plain = _fit(items, rubricator, group_class_power=0.0, topic_class_power=0.0)
    weighted = _fit(items, rubricator, group_class_power=1.0, topic_class_power=1.0)
    assert np.array_equal(_coef(plain.complaint), _coef(weighted.complaint))
    assert not np.allclose(_coef(plain.group), _coef(weighted.group))
    assert not np.allclose(_coef(plain.topic), _coef(weighted.topic))
    assert "group classes x count^-1" in weighted.spec.describe()
    assert "classes x count" not in plain.spec.describe()


def test_balanced_spec_is_not_weighted_twice(
    items: list[TrainingItem], rubricator: Rubricator
) -> None:
    balanced = _fit(items, rubricator, balanced=True, group_class_power=0.0)
    both = _fit(items, rubricator, balanced=True, group_class_power=1.0)
    assert np.array_equal(_coef(balanced.group), _coef(both.group))
    assert "classes x count" not in both.spec.describe()
