"""The text models, the artefact, training with operators' labels, and promotion."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classifier.artifact import (
    MANIFEST_FILE,
    MODEL_FILE,
    ModelArtifactError,
    load_artifact,
    read_manifest,
    save_artifact,
)
from classifier.corpus import SeedExample, load_seed_corpus
from classifier.features import FeatureSpec
from classifier.lemmatizer import Lemmatizer
from classifier.model import ModelSpec, TextModels
from classifier.rubricator import Rubricator, load_rubricator
from classifier.train import (
    LabelScores,
    OperatorLabel,
    decide_promotion,
    label_field,
    merge_training_items,
    retrain_and_promote,
    score_on_labels,
    split_held_back,
    train,
)

# Word features only and every example: seconds to fit, enough to test behaviour.
SMALL = ModelSpec(features=FeatureSpec(char_ngrams=None), c=5.0, max_iter=300)

# Written for these tests, not taken from the seed corpus.
CASES = [
    ("Третий день нет горячей воды в доме, что происходит?", "ЖКХ"),
    ("Скорую помощь ждали два часа, бабушке было плохо", "Здравоохранение/Медицина"),
    ("У контейнеров гора мусора, мусоровоз не приезжает", "Мусор/Свалки/ТКО"),
    ("На дороге огромные ямы и выбоины, колесо пробил", "Дороги"),
    ("Автобус не ходит по расписанию, ждем по часу на остановке", "Общественный транспорт"),
    ("В детском саду нет мест, очередь не двигается", "Образование"),
]
NOISE = ["Продам гараж недорого, звоните", "Поздравляем любимую маму с юбилеем!"]


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return Lemmatizer()


@pytest.fixture(scope="module")
def rubricator() -> Rubricator:
    return load_rubricator()


@pytest.fixture(scope="module")
def seed(rubricator: Rubricator) -> list[SeedExample]:
    # Every other example: half the fitting time, and still every topic.
    return load_seed_corpus(rubricator=rubricator)[::2]


@pytest.fixture(scope="module")
def models(seed: list[SeedExample], lemmatizer: Lemmatizer, rubricator: Rubricator) -> TextModels:
    return train(
        seed, lemmatize=lemmatizer.lemmatize_text, rubricator=rubricator, spec=SMALL
    ).models


def _docs(lemmatizer: Lemmatizer, texts: list[str]) -> list[str]:
    return [" ".join(lemmatizer.lemmatize_text(t)) for t in texts]


def test_groups_of_unseen_complaints(models: TextModels, lemmatizer: Lemmatizer) -> None:
    predictions = models.predict(_docs(lemmatizer, [t for t, _g in CASES]))
    assert [p.group for p in predictions] == [g for _t, g in CASES]
    assert all(p.is_complaint for p in predictions)


def test_noise_is_not_a_complaint(models: TextModels, lemmatizer: Lemmatizer) -> None:
    predictions = models.predict(_docs(lemmatizer, NOISE))
    assert [p.is_complaint for p in predictions] == [False, False]


def test_topic_lies_within_the_group_and_confidences_are_probabilities(
    models: TextModels, lemmatizer: Lemmatizer, rubricator: Rubricator
) -> None:
    for p in models.predict(_docs(lemmatizer, [t for t, _g in CASES] + NOISE)):
        assert p.topic is not None
        assert p.group is not None
        assert rubricator.group_of(p.topic) == p.group
        assert 0.0 <= p.topic_confidence <= p.group_confidence <= 1.0
        assert 0.0 <= p.complaint_confidence <= 1.0
    water = models.predict(_docs(lemmatizer, [CASES[0][0]]))[0]
    assert water.topic == "Отсутствие горячей воды"


def test_evidence_names_the_deciding_lemmas(models: TextModels, lemmatizer: Lemmatizer) -> None:
    (water,) = models.predict(_docs(lemmatizer, [CASES[0][0]]))
    topic_words = {e.text for e in water.evidence if e.field == "topic"}
    assert {"вода", "горячий", "горячий вода"} & topic_words
    assert all(e.weight > 0 for e in water.evidence)
    assert not {e.text for e in water.evidence} & {"в", "на", "что"}
    assert models.predict(_docs(lemmatizer, ["яма"]), evidence=False)[0].evidence == ()


def test_empty_batch(models: TextModels) -> None:
    assert models.predict([]) == []


# --- The artefact ------------------------------------------------------------------------------


def test_artifact_round_trip(models: TextModels, lemmatizer: Lemmatizer, tmp_path: Path) -> None:
    info = save_artifact(models, tmp_path, training={"examples": 1}, scores={"x": 0.5})
    assert re.fullmatch(r"tfidf-lr:\d{4}-\d{2}-\d{2}\+[0-9a-f]{10}", info.version)
    loaded = load_artifact(tmp_path)
    assert loaded.version == info.version
    assert loaded.info.training == {"examples": 1}
    assert loaded.info.scores == {"x": 0.5}
    docs = _docs(lemmatizer, [t for t, _g in CASES])
    assert loaded.models.predict(docs) == models.predict(docs)
    assert read_manifest(tmp_path).sha256 == info.sha256


def test_missing_artifact_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="incident-management train"):
        load_artifact(tmp_path / "nowhere")


def test_altered_model_file_is_refused(models: TextModels, tmp_path: Path) -> None:
    save_artifact(models, tmp_path)
    with (tmp_path / MODEL_FILE).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelArtifactError, match="checksum"):
        load_artifact(tmp_path)


def test_corrupt_model_file_with_matching_checksum_is_refused(tmp_path: Path) -> None:
    import hashlib

    (tmp_path / MODEL_FILE).write_bytes(b"not a joblib file")
    manifest = {
        "format": 1,
        "version": "tfidf-lr:2026-01-01+0000000000",
        "created_at": "2026-01-01T00:00:00+00:00",
        "sha256": hashlib.sha256(b"not a joblib file").hexdigest(),
    }
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelArtifactError, match="cannot be loaded"):
        load_artifact(tmp_path)


@pytest.mark.parametrize("manifest", ["{oops", '{"format": 99}', '{"format": 1}'])
def test_bad_manifest_is_refused(tmp_path: Path, manifest: str) -> None:
    (tmp_path / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
    (tmp_path / MODEL_FILE).write_bytes(b"")
    with pytest.raises(ModelArtifactError):
        load_artifact(tmp_path)


def test_missing_model_file_is_refused(models: TextModels, tmp_path: Path) -> None:
    save_artifact(models, tmp_path)
    (tmp_path / MODEL_FILE).unlink()
    with pytest.raises(ModelArtifactError, match="missing"):
        load_artifact(tmp_path)


def test_shipped_artifact_loads_and_classifies(lemmatizer: Lemmatizer) -> None:
    artifact = load_artifact()
    assert artifact.version.startswith("tfidf-lr:")
    assert artifact.info.training["seed"]["examples"] >= 3000
    predictions = artifact.models.predict(_docs(lemmatizer, [t for t, _g in CASES]))
    assert [p.group for p in predictions] == [g for _t, g in CASES]


# --- Training with operators' labels -----------------------------------------------------------


def test_labels_merge_with_the_seed_and_weigh_more(
    seed: list[SeedExample], lemmatizer: Lemmatizer, rubricator: Rubricator
) -> None:
    labels = [
        OperatorLabel("Сосед шумит по ночам", "complaint", "true"),
        OperatorLabel("Сосед шумит по ночам", "topic", "Безопасность общественных пространств"),
        OperatorLabel("Котики продаются", "complaint", "нет"),
        OperatorLabel("Где мой автобус", "topic", "Общественный транспорт"),
        OperatorLabel("Бла", "topic", "Несуществующая тема"),
        OperatorLabel("Где-то", "municipality", "33701000"),
        OperatorLabel(seed[0].text, "complaint", "false"),
    ]
    items, summary = merge_training_items(
        seed, labels, lemmatize=lemmatizer.lemmatize_text, rubricator=rubricator, label_weight=4.0
    )
    assert len(items) == len(seed) - 1 + 4
    labelled = {i.doc: i for i in items if i.weight == 4.0}
    noise = labelled[" ".join(lemmatizer.lemmatize_text("Сосед шумит по ночам"))]
    assert (noise.is_complaint, noise.group) == (True, "Безопасность")
    assert noise.topic == "Безопасность общественных пространств"
    bus = labelled[" ".join(lemmatizer.lemmatize_text("Где мой автобус"))]
    assert (bus.group, bus.topic) == ("Общественный транспорт", None)
    cats = labelled[" ".join(lemmatizer.lemmatize_text("Котики продаются"))]
    assert (cats.is_complaint, cats.group) == (False, None)
    assert summary["labels"]["ignored"] == 1
    assert summary["labels"]["municipality"] == 1
    assert summary["labels"]["texts"] == 4


def test_a_later_label_wins(
    seed: list[SeedExample], lemmatizer: Lemmatizer, rubricator: Rubricator
) -> None:
    labels = [
        OperatorLabel("Текст", "topic", "Пробки"),
        OperatorLabel("Текст", "complaint", "false"),
    ]
    items, _ = merge_training_items(
        seed[:5], labels, lemmatize=lemmatizer.lemmatize_text, rubricator=rubricator
    )
    assert (items[-1].is_complaint, items[-1].group, items[-1].topic) == (False, None, None)


def test_label_field_names() -> None:
    assert label_field("topic") == "topic"
    with pytest.raises(ValueError, match="unknown label field"):
        label_field("colour")


def test_held_back_split_is_stable_and_keeps_a_text_together() -> None:
    labels = [OperatorLabel(f"текст {i}", "topic", "Пробки") for i in range(500)]
    labels += [OperatorLabel(f"текст {i}", "complaint", "true") for i in range(500)]
    kept, held = split_held_back(labels)
    assert split_held_back(labels) == (kept, held)
    assert 60 < len(held) < 140 * 2
    assert not {lab.text for lab in kept} & {lab.text for lab in held}


def test_operator_labels_teach_the_model(
    seed: list[SeedExample], lemmatizer: Lemmatizer, rubricator: Rubricator, models: TextModels
) -> None:
    # A word the seed corpus never uses, which operators file under one topic.
    texts = [f"ксилофон {suffix}" for suffix in ("сломан", "опять встал", "скрипит", "не едет")]
    labels = [OperatorLabel(t, "topic", "Лифт неисправен или отключен") for t in texts]
    retrained = train(
        seed, labels, lemmatize=lemmatizer.lemmatize_text, rubricator=rubricator, spec=SMALL
    ).models
    probe = _docs(lemmatizer, ["ксилофон"])
    assert models.predict(probe)[0].topic != "Лифт неисправен или отключен"
    assert retrained.predict(probe)[0].topic == "Лифт неисправен или отключен"
    before = score_on_labels(
        models, labels, lemmatize=lemmatizer.lemmatize_text, rubricator=rubricator
    )
    after = score_on_labels(
        retrained, labels, lemmatize=lemmatizer.lemmatize_text, rubricator=rubricator
    )
    assert after.overall is not None
    assert before.overall is not None
    assert after.overall > before.overall
    assert after.topic_n == 4


def test_promotion_decision() -> None:
    better = LabelScores(complaint_n=10, complaint_accuracy=0.9, group_n=10, group_accuracy=0.8)
    worse = LabelScores(complaint_n=10, complaint_accuracy=0.9, group_n=10, group_accuracy=0.6)
    assert decide_promotion(better, worse, held_back=20).promoted
    kept = decide_promotion(worse, better, held_back=20)
    assert not kept.promoted
    assert "kept current" in kept.reason
    assert not decide_promotion(better, better, held_back=20).promoted
    assert decide_promotion(LabelScores(), None, held_back=0).promoted
    assert not decide_promotion(LabelScores(), LabelScores(), held_back=0).promoted
    assert kept.to_json()["candidate"]["group_accuracy"] == 0.6


def test_retrain_and_promote_compares_on_held_back_labels(
    seed: list[SeedExample],
    lemmatizer: Lemmatizer,
    rubricator: Rubricator,
    models: TextModels,
    caplog: pytest.LogCaptureFixture,
) -> None:
    labels = [
        OperatorLabel(
            f"дубак в квартире номер {i}", "topic", "Ненадлежащее качество или отсутствие отопления"
        )
        for i in range(40)
    ]
    with caplog.at_level("INFO", logger="classifier.train"):
        trained, decision = retrain_and_promote(
            seed[:1500],
            labels,
            current=models,
            lemmatize=lemmatizer.lemmatize_text,
            rubricator=rubricator,
            spec=SMALL,
        )
    assert decision.held_back > 0
    assert decision.current is not None
    assert decision.promoted == (
        (decision.candidate.overall or 0) > (decision.current.overall or 0)
    )
    assert "model promotion" in caplog.text
    assert trained.training["labels"]["texts"] == 40 - decision.held_back


def test_cached_char_features_equal_the_vectorizers(
    lemmatizer: Lemmatizer, seed: list[SeedExample]
) -> None:
    from classifier.features import Featurizer

    docs = _docs(lemmatizer, [e.text for e in seed[:400]])
    featurizer = Featurizer(FeatureSpec()).fit(docs)
    assert featurizer.chars is not None
    probe = [*_docs(lemmatizer, [t for t, _g in CASES] + NOISE), "", "ксилофон ксилофон"]
    expected = featurizer.chars.transform(probe).toarray()
    for _ in range(2):  # cold, then from the per-word cache
        got = featurizer._char_tfidf(probe).toarray()
        assert abs(got - expected).max() < 1e-6


def test_word_char_ngrams_are_the_vectorizers_char_wb_ngrams() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from classifier.features import word_char_ngrams

    analyze = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False)
    analyze = analyze.build_analyzer()
    for word in ["я", "ул", "яма", "дом", "вода", "кирово-чепецк", "10-й", "ё", "😡"]:
        assert word_char_ngrams(word, 3, 5) == analyze(word)


def test_frozen_models_predict_exactly_as_the_fitted_ones(
    models: TextModels, lemmatizer: Lemmatizer, tmp_path: Path
) -> None:
    frozen = models.freeze()
    assert frozen is not None
    assert frozen.complaint.model is None
    assert frozen.group.model is None
    texts = [t for t, _g in CASES] + NOISE + ["", "Нет воды!!! 😡 ул. Ленина, д. 5, Киров"]
    docs = _docs(lemmatizer, texts)
    assert frozen.predict(docs) == models.predict(docs)
    x = models.featurizer.transform(docs)
    assert (frozen.featurizer.transform(docs) != x).nnz == 0
    for mine, theirs in ((frozen.complaint, models.complaint), (frozen.group, models.group)):
        assert (mine.proba(x) == theirs.proba(x)).all()
    with pytest.raises(ValueError, match="frozen"):
        frozen.featurizer.fit(docs)


def test_frozen_char_features_equal_scikit_learns(lemmatizer: Lemmatizer) -> None:
    shipped = load_artifact().models
    fitted = shipped.featurizer
    if fitted.chars is None or type(fitted.chars).__name__ == "FrozenVectorizer":
        import joblib

        from classifier.artifact import default_artifact_dir

        fitted = joblib.load(default_artifact_dir() / MODEL_FILE).featurizer
    frozen = fitted.freeze()
    docs = _docs(lemmatizer, [t for t, _g in CASES] + NOISE + ["Кирово-Чепецк ул. Мира 5а"])
    analyze, ours = fitted.chars.build_analyzer(), frozen.chars.build_analyzer()
    for doc in docs:
        assert ours(doc) == analyze(doc)
    assert (frozen.transform(docs) != fitted.transform(docs)).nnz == 0


def test_save_writes_the_frozen_copy_and_loading_reads_it(
    models: TextModels, tmp_path: Path
) -> None:
    from classifier.artifact import INFERENCE_FILE

    info = save_artifact(models, tmp_path)
    assert info.inference_sha256
    assert json.loads((tmp_path / MANIFEST_FILE).read_text("utf-8"))["inference_file"] == (
        INFERENCE_FILE
    )
    loaded = load_artifact(tmp_path)
    assert loaded.models.complaint.model is None  # the frozen copy, not the fitted models
    with (tmp_path / INFERENCE_FILE).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelArtifactError, match="checksum"):
        load_artifact(tmp_path)
    (tmp_path / INFERENCE_FILE).unlink()
    assert load_artifact(tmp_path).models.complaint.model is not None  # the full file


def test_the_shipped_model_loads_without_scikit_learn() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from classifier.artifact import load_artifact\n"
        "from classifier.lemmatizer import Lemmatizer\n"
        "m = load_artifact().models\n"
        "p = m.predict([' '.join(Lemmatizer().lemmatize_text('Третий день нет воды'))])[0]\n"
        "print(p.group, 'sklearn' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["ЖКХ", "False"]


def test_a_frozen_copy_of_another_model_is_not_used(
    models: TextModels, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from classifier.artifact import INFERENCE_FILE, write_inference_file

    first, second = tmp_path / "first", tmp_path / "second"
    save_artifact(models, first)
    other = train(
        load_seed_corpus()[1::4],
        lemmatize=Lemmatizer().lemmatize_text,
        rubricator=load_rubricator(),
        spec=SMALL,
    ).models
    info = save_artifact(other, second)
    # A manifest merged by hand: the second model, the first model's frozen copy.
    stale = first / INFERENCE_FILE
    (second / INFERENCE_FILE).write_bytes(stale.read_bytes())
    manifest = json.loads((second / MANIFEST_FILE).read_text("utf-8"))
    manifest["inference_sha256"] = json.loads((first / MANIFEST_FILE).read_text("utf-8"))[
        "inference_sha256"
    ]
    (second / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    loaded = load_artifact(second)
    assert loaded.models.complaint.model is not None  # the full model file, not the stale copy
    assert "frozen from another model" in caplog.text
    assert loaded.version == info.version
    # Written for the right model, the frozen copy is read again.
    frozen = other.freeze()
    assert frozen is not None
    manifest["inference_sha256"] = write_inference_file(frozen, second, model_sha256=info.sha256)
    (second / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    assert load_artifact(second).models.complaint.model is None


def test_the_group_decision_combines_both_heads_and_is_calibrated(
    models: TextModels, lemmatizer: Lemmatizer
) -> None:
    # No operator labels to calibrate on: the combined probabilities as they are.
    assert models.group_mix == 0.7
    assert models.group_temperature == 1.0
    models.group_temperature = 0.7  # as if fitted on labels
    docs = _docs(lemmatizer, [t for t, _g in CASES])
    x = models.featurizer.transform(docs)
    assert models.topic is not None
    head, topics = models.group.proba(x), models.topic.proba(x)
    # No mix and no temperature: the group head's own probabilities.
    models.group_mix = 0.0
    try:
        assert (models.group_proba(head, topics, temperature=1.0) == head).all()
    finally:
        models.group_mix = 0.7
    combined = models.group_proba(head, topics)
    assert combined.sum(axis=1) == pytest.approx([1.0] * len(docs))
    # The second opinion is the topic head's probabilities summed within each group.
    summed = {g: 0.0 for g in models.groups}
    for column, topic in enumerate(models.topic.classes):
        summed[models.topic_groups[topic]] += float(topics[0, column])
    expected = [head[0, i] ** 0.3 * summed[g] ** 0.7 for i, g in enumerate(models.groups)]
    expected_p = [e ** (1 / models.group_temperature) for e in expected]
    total = sum(expected_p)
    assert combined[0] == pytest.approx([e / total for e in expected_p], rel=1e-6, abs=1e-9)
    predictions = models.predict(docs)
    models.group_temperature = 1.0
    assert [p.group_confidence for p in predictions] == pytest.approx(combined.max(axis=1).tolist())


def test_a_model_saved_before_the_two_level_decision_decides_by_its_group_head(
    models: TextModels, lemmatizer: Lemmatizer
) -> None:
    state = models.__getstate__()
    for key in ("group_mix", "group_temperature"):
        state.pop(key)
    old = object.__new__(TextModels)
    old.__setstate__(state)
    assert (old.group_mix, old.group_temperature) == (0.0, 1.0)
    docs = _docs(lemmatizer, [t for t, _g in CASES])
    x = models.featurizer.transform(docs)
    head = models.group.proba(x)
    got = [p.group_confidence for p in old.predict(docs, evidence=False)]
    assert got == pytest.approx(head.max(axis=1).tolist())


def test_without_calibration_the_temperature_stays_one(
    seed: list[SeedExample], lemmatizer: Lemmatizer, rubricator: Rubricator
) -> None:
    from dataclasses import replace

    spec = replace(SMALL, calibrate_groups=False, group_from_topics=0.0)
    small = train(seed[::4], lemmatize=lemmatizer.lemmatize_text, rubricator=rubricator, spec=spec)
    assert small.models.group_temperature == 1.0
    assert small.models.group_mix == 0.0


def test_the_temperature_is_fitted_on_held_back_operator_labels(
    seed: list[SeedExample], lemmatizer: Lemmatizer, rubricator: Rubricator
) -> None:
    from classifier.model import MIN_CALIBRATION, TrainingItem, _held_back, group_temperature

    topic_groups = {t.name: t.group for t in rubricator.topics}

    def item(example: SeedExample, *, operator: bool) -> TrainingItem:
        return TrainingItem(
            doc=" ".join(lemmatizer.lemmatize_text(example.text)),
            is_complaint=example.is_complaint,
            group=example.group,
            topic=example.topic,
            kind=example.kind,
            operator=operator and example.is_complaint,
        )

    # Seed examples alone: nothing real to calibrate on.
    seed_only = [item(e, operator=False) for e in seed]
    assert group_temperature(seed_only, topic_groups=topic_groups, spec=SMALL) == 1.0
    # The complaints as operators' labels: a fifth of them held back, a temperature fitted.
    labelled = [item(e, operator=True) for e in seed]
    held = [i for i in labelled if i.operator and _held_back(i.doc)]
    assert len(held) >= MIN_CALIBRATION
    t = group_temperature(labelled, topic_groups=topic_groups, spec=SMALL)
    assert t != 1.0
    assert 0.25 <= t <= 16.0


def test_a_save_cut_short_leaves_the_previous_artifact_whole(
    models: TextModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifier.artifact as artifact

    directory = tmp_path / "current"
    before = save_artifact(models, directory)
    other = train(
        load_seed_corpus()[1::4],
        lemmatize=Lemmatizer().lemmatize_text,
        rubricator=load_rubricator(),
        spec=SMALL,
    ).models

    def killed(*_: object, **__: object) -> None:  # the process dies writing the frozen copy
        raise SystemExit("killed while writing")

    monkeypatch.setattr(artifact.pickle, "dump", killed)
    with pytest.raises(SystemExit):
        save_artifact(other, directory)
    monkeypatch.undo()

    assert load_artifact(directory).version == before.version
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [MANIFEST_FILE, artifact.MODEL_FILE, artifact.INFERENCE_FILE]
    )  # no temporary file left behind
    after = save_artifact(other, directory)
    assert load_artifact(directory).version == after.version != before.version
