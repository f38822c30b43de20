"""The classifier pipeline: text models plus the municipality matcher, single and batch."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from classifier.artifact import ModelArtifact, load_artifact
from classifier.lemmatizer import Lemmatizer
from classifier.pipeline import (
    Classifier,
    LemmatizerLike,
    MunicipalityMatcher,
    NullMatcher,
    RegionMatch,
    RegionMatcher,
)
from classifier.regions import load_region
from classifier.types import ClassificationInput, Evidence, MunicipalityCandidate


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return Lemmatizer()


@pytest.fixture(scope="module")
def artifact() -> ModelArtifact:
    return load_artifact()


@pytest.fixture(scope="module")
def kirov(lemmatizer: Lemmatizer) -> RegionMatcher:
    return RegionMatcher(load_region("kirov"), lemmatizer)


@pytest.fixture(scope="module")
def classifier(artifact: ModelArtifact, lemmatizer: Lemmatizer, kirov: RegionMatcher) -> Classifier:
    return Classifier.from_artifact(artifact, lemmatizer=lemmatizer, matcher=kirov)


@dataclass
class RecordingMatcher:
    """A matcher that answers one fixed place and records what it was asked."""

    calls: list[tuple[str, str | None, float | None, float | None]]

    def match(
        self,
        text: str,
        *,
        source_municipality: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> RegionMatch:
        self.calls.append((text, source_municipality, lat, lon))
        municipality = load_region("kirov").find_municipality("Котельнич")
        assert municipality is not None
        return RegionMatch(
            municipality,
            0.9,
            (MunicipalityCandidate(municipality.name, municipality.oktmo, 0.9),),
            (Evidence("municipality", "Котельниче", 0.9),),
        )


def test_protocols_are_satisfied(lemmatizer: Lemmatizer, kirov: RegionMatcher) -> None:
    assert isinstance(lemmatizer, LemmatizerLike)
    assert isinstance(kirov, MunicipalityMatcher)
    assert isinstance(NullMatcher(), MunicipalityMatcher)
    assert isinstance(RecordingMatcher([]), MunicipalityMatcher)


def test_the_real_gazetteer_satisfies_the_matcher_protocol() -> None:
    gazetteer = pytest.importorskip("classifier.gazetteer")
    assert isinstance(gazetteer.load_gazetteer("kirov"), MunicipalityMatcher)


def test_a_complaint_with_its_topic_place_and_evidence(classifier: Classifier) -> None:
    result = classifier.classify(
        ClassificationInput("В Котельниче мусор не вывозят уже неделю, баки переполнены!!!")
    )
    assert result.is_complaint
    assert result.complaint_confidence > 0.5
    assert result.topic_group == "Мусор/Свалки/ТКО"
    assert result.topic == "Уборка/Вывоз мусора"
    assert 0 < result.topic_confidence <= result.topic_group_confidence <= 1
    assert result.municipality == "город Котельнич"
    assert result.municipality_oktmo == "33710000"
    assert result.model_version == classifier.version
    fields = {e.field for e in result.evidence}
    assert fields == {"complaint", "topic", "municipality"}
    assert any(e.text == "мусор" for e in result.evidence if e.field == "topic")


def test_noise_is_not_a_complaint(classifier: Classifier) -> None:
    result = classifier.classify(ClassificationInput("Поздравляем Ирину с днём рождения! 🎉"))
    assert not result.is_complaint
    assert result.complaint_confidence < 0.5
    assert result.municipality is None


def test_a_street_named_after_a_town_decides_nothing(classifier: Classifier) -> None:
    result = classifier.classify(ClassificationInput("на ул. Кирова не горят фонари"))
    assert result.municipality is None
    assert result.municipality_confidence == 0.0


def test_the_source_territory_is_a_prior(classifier: Classifier) -> None:
    result = classifier.classify(
        ClassificationInput("во дворе не убирают снег", source_municipality="Слободской район")
    )
    assert result.municipality == "Слободской муниципальный район"
    assert result.municipality_confidence == pytest.approx(RegionMatcher.SOURCE_CONFIDENCE)


def test_batch_equals_one_by_one_and_keeps_order(classifier: Classifier) -> None:
    items = [
        ClassificationInput("нет горячей воды третий день"),
        ClassificationInput("продам дрова, недорого"),
        ClassificationInput("ямы на дороге в Котельниче"),
    ]
    batch = classifier.classify_many(items)
    assert batch == [classifier.classify(item) for item in items]
    assert [r.topic_group for r in batch][::2] == ["ЖКХ", "Дороги"]
    assert classifier.classify_many([]) == []


def test_priors_reach_the_matcher(artifact: ModelArtifact, lemmatizer: Lemmatizer) -> None:
    matcher = RecordingMatcher([])
    classifier = Classifier.from_artifact(artifact, lemmatizer=lemmatizer, matcher=matcher)
    result = classifier.classify(
        ClassificationInput("яма", source_municipality="Котельнич", lat=58.3, lon=48.3)
    )
    assert matcher.calls == [("яма", "Котельнич", 58.3, 48.3)]
    assert result.municipality == "город Котельнич"
    assert result.municipality_confidence == 0.9
    assert result.municipality_candidates[0].oktmo == "33710000"


def test_without_a_matcher_the_place_is_unknown(
    artifact: ModelArtifact, lemmatizer: Lemmatizer
) -> None:
    classifier = Classifier.from_artifact(artifact, lemmatizer=lemmatizer)
    result = classifier.classify(ClassificationInput("в Котельниче нет света"))
    assert result.municipality is None
    assert result.municipality_candidates == ()


def test_two_municipalities_in_one_text_give_candidates_not_a_guess(kirov: RegionMatcher) -> None:
    match = kirov.match("Дорога из Котельнича в Слободской вся в ямах")
    assert match.municipality is None
    names = {c.name for c in match.candidates}
    assert len(names) == 2
    assert "город Котельнич" in names


def test_region_matcher_finds_declined_names(kirov: RegionMatcher) -> None:
    found = kirov.match("В Кирово-Чепецке опять прорвало трубу")
    assert found.municipality is not None
    assert found.municipality.name == "город Кирово-Чепецк"
    assert found.evidence[0].text == "Кирово-Чепецке"
    assert kirov.match("просто текст без мест").municipality is None


def test_load_classifier_composes_the_shipped_model_and_a_gazetteer() -> None:
    from classifier.pipeline import load_classifier

    bare = load_classifier()
    assert bare.version == load_artifact().version
    assert isinstance(bare.matcher, NullMatcher)
    perm = load_classifier(region="perm")
    result = perm.classify(ClassificationInput("В Березниках третий день нет горячей воды"))
    assert result.topic_group == "ЖКХ"
    assert result.municipality_oktmo is not None
    assert result.municipality_oktmo.startswith("57")  # Perm krai's OKTMO prefix
