"""Tests for each grouping rule: tombstones, windows, comments, networks, merge and split."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from classifier.types import Classification
from router import fingerprint as fingerprint_module
from router.fingerprint import (
    GROUPING_VERSION,
    Fingerprint,
    FingerprintInput,
    FingerprintKind,
)
from router.grouping import (
    Attach,
    Candidates,
    Create,
    Drop,
    GroupingConfig,
    GroupingError,
    GroupingIndex,
    GroupingMessage,
    IncidentHeader,
    IncidentRecord,
    IncidentStatus,
    Reach,
    Rule,
    Tombstone,
    decide,
)
from tests.router.test_grouping_support import lemmatize

T0 = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)
KIROV = "33701000"
CHEPETSK = "33707000"
WATER = ("ЖКХ", "Отсутствие холодной воды")
HEATING = ("ЖКХ", "Ненадлежащее качество или отсутствие отопления")
POTHOLE = ("Дороги", "Ямы и выбоины на дороге")
DOGS = ("Безопасность", "Отлов безнадзорных собак и кошек")


def msg(
    key: str,
    text: str,
    *,
    minutes: float = 0,
    topic: tuple[str, str] | tuple[None, None] = WATER,
    place: str | None = KIROV,
    network: str = "vk",
    parent: str | None = None,
    author: str | None = None,
    reach: Reach | None = None,
) -> GroupingMessage:
    return GroupingMessage(
        key=key,
        network=network,
        text=text,
        lemmas=tuple(lemmatize(text)),
        topic_group=topic[0],
        topic=topic[1],
        municipality_oktmo=place,
        posted_at=T0 + timedelta(minutes=minutes),
        parent_key=parent,
        author_id=author or key,
        reach=reach or Reach(),
    )


_IDS = itertools.count(100)


def new_id(seed: object) -> int:
    """Hand out incident ids the way storage would (never twice)."""
    return next(_IDS)


def feed(index: GroupingIndex, *messages: GroupingMessage) -> list[int]:
    """Process messages; return the incident each went to (``-1`` when dropped)."""
    result = []
    for message in messages:
        _, link = index.process(message, new_id)
        result.append(-1 if link is None else link.incident_id)
    return result


WATER_LENINA = "Ленина 15, с утра нет холодной воды, краны сухие"
WATER_LENINA_2 = "на улице Ленина 15 отключили холодную воду, жильцы без воды"


# ----------------------------------------------------------------------------- attach or create


def test_first_message_creates_and_a_paraphrase_attaches_with_evidence() -> None:
    index = GroupingIndex()
    first = index.route(msg("a", WATER_LENINA))
    assert isinstance(first, Create)
    assert first.evidence.rule is Rule.NEW_INCIDENT
    assert first.seed.first_message_key == "a"
    assert first.seed.grouping_version == GROUPING_VERSION
    link = index.apply(msg("a", WATER_LENINA), first, incident_id=7)
    assert link is not None
    assert link.incident_id == 7
    assert link.evidence.incident_id == 7
    assert [fp.kind for fp in link.lookup_fingerprints] == [
        FingerprintKind.TEXT,
        FingerprintKind.ADDRESS,
    ]

    second = index.route(msg("b", WATER_LENINA_2, minutes=30))
    assert isinstance(second, Attach)
    assert second.incident_id == 7
    assert second.evidence.rule is Rule.ADDRESS_FINGERPRINT
    assert second.evidence.matched_fingerprint is not None
    assert "вода" in second.evidence.shared_lemmas
    shown = second.evidence.to_dict()
    assert shown["rule"] == "fingerprint-address"
    assert shown["grouping_version"] == GROUPING_VERSION


def test_similarity_attaches_without_an_address_and_records_score_and_threshold() -> None:
    index = GroupingIndex()
    a, b = feed(
        index,
        msg(
            "a",
            "В Нововятске пропал свет, весь район без электричества",
            topic=("Электроснабжение", "Качество электроснабжения"),
        ),
        msg(
            "b",
            "Нововятск без света сидим, когда электричество дадут?",
            minutes=20,
            topic=("Электроснабжение", "Качество электроснабжения"),
        ),
    )
    assert a == b
    decision = index.route(
        msg(
            "c",
            "Свет в Нововятске отключили, дети дома одни",
            minutes=40,
            topic=("Электроснабжение", "Качество электроснабжения"),
        )
    )
    assert isinstance(decision, Attach)
    assert decision.evidence.rule is Rule.SIMILARITY
    assert decision.evidence.score is not None
    assert decision.evidence.threshold is not None
    assert decision.evidence.score >= decision.evidence.threshold
    assert decision.evidence.matched_fingerprint is not None
    assert ":block:Электроснабжение:33701000:" in decision.evidence.matched_fingerprint
    assert {"свет", "нововятск"} <= set(decision.evidence.shared_lemmas)


def test_same_problem_at_another_house_is_another_incident() -> None:
    index = GroupingIndex()
    a, b = feed(
        index,
        msg("a", WATER_LENINA),
        msg("b", "Ленина 40, с утра нет холодной воды, краны сухие", minutes=10),
    )
    assert a != b


def test_same_house_with_another_problem_is_another_incident() -> None:
    index = GroupingIndex()
    a, b = feed(
        index,
        msg("a", WATER_LENINA),
        msg("b", "Ленина 15, батареи холодные, отопления нет", minutes=10, topic=HEATING),
    )
    assert a != b


def test_same_problem_in_another_municipality_is_another_incident() -> None:
    index = GroupingIndex()
    a, b = feed(
        index,
        msg("a", "На проспекте Мира огромная яма, пробил колесо", topic=POTHOLE),
        msg("b", "На проспекте Мира огромная яма, пробил колесо", topic=POTHOLE, place=CHEPETSK),
    )
    assert a != b


def test_a_repost_on_another_network_joins_by_text_fingerprint() -> None:
    index = GroupingIndex()
    text = "Внимание! У школы 14 стая собак напала на ребенка, просим отловить"
    a, b = feed(
        index,
        msg("vk:1", text + ". Звоните 8 912 000-11-22", topic=DOGS),
        msg(
            "tg:1",
            text + "! Звоните +7 (912) 333-44-55",
            topic=DOGS,
            network="telegram",
            minutes=30,
        ),
    )
    assert a == b
    assert index.incident(a).message_keys == ("vk:1", "tg:1")


def test_cross_network_paraphrases_join() -> None:
    index = GroupingIndex()
    a, b, c = feed(
        index,
        msg("vk:1", WATER_LENINA),
        msg("ok:1", "ул. Ленина д.15 воды холодной нет с шести утра", network="ok", minutes=40),
        msg("tg:1", WATER_LENINA_2, network="telegram", minutes=90),
    )
    assert a == b == c


# ----------------------------------------------------------------------------- time window


def test_a_repeat_within_the_window_attaches_and_after_it_creates() -> None:
    index = GroupingIndex(GroupingConfig(window=timedelta(days=3)))
    first, within = feed(
        index, msg("a", WATER_LENINA), msg("b", WATER_LENINA_2, minutes=2 * 24 * 60)
    )
    assert first == within
    # The window counts from the incident's last message: 2 days + 4 days is past it.
    (later,) = feed(index, msg("c", WATER_LENINA_2, minutes=6 * 24 * 60 + 1))
    assert later != first
    decision = index.route(msg("d", WATER_LENINA_2, minutes=6 * 24 * 60 + 5))
    assert isinstance(decision, Attach)
    assert decision.incident_id == later


def test_closed_incidents_collect_nothing_until_reopened() -> None:
    index = GroupingIndex()
    (first,) = feed(index, msg("a", WATER_LENINA))
    index.close(first)
    assert isinstance(index.route(msg("b", WATER_LENINA_2, minutes=10)), Create)
    index.reopen(first)
    decision = index.route(msg("b", WATER_LENINA_2, minutes=10))
    assert isinstance(decision, Attach)
    assert decision.incident_id == first


# ----------------------------------------------------------------------------- comments


def test_a_comment_joins_its_posts_incident_without_any_shared_words() -> None:
    index = GroupingIndex()
    post, comment, plus = feed(
        index,
        msg("vk:1", WATER_LENINA),
        msg("vk:1_c1", "У нас тоже самое, второй подъезд", minutes=5, parent="vk:1"),
        msg("vk:1_c2", "+++ поддерживаю", minutes=6, parent="vk:1", topic=(None, None)),
    )
    assert post == comment == plus
    decision = index.route(msg("vk:1_c3", "и у нас", minutes=7, parent="vk:1"))
    assert isinstance(decision, Attach)
    assert decision.evidence.rule is Rule.COMMENT_OF_POST
    assert "vk:1" in decision.evidence.note


def test_a_comment_about_something_else_gets_its_own_incident() -> None:
    index = GroupingIndex()
    post, comment = feed(
        index,
        msg(
            "vk:1", "Октябрьский проспект у остановки огромная яма, колёса пробивают", topic=POTHOLE
        ),
        msg(
            "vk:1_c1",
            "А у нас во дворе на Комсомольской стая бродячих собак, детей пугают",
            minutes=5,
            parent="vk:1",
            topic=DOGS,
        ),
    )
    assert post != comment
    record = index.incident(comment)
    assert record.topic_group == "Безопасность"


def test_a_comment_whose_post_is_unknown_is_grouped_like_any_message() -> None:
    index = GroupingIndex()
    a, b = feed(
        index,
        msg("vk:9", WATER_LENINA),
        msg("vk:1_c1", WATER_LENINA_2, minutes=5, parent="vk:1"),
    )
    assert a == b


# ----------------------------------------------------------------------------- tombstones


class LookupForbidden(GroupingIndex):
    """An index whose lookup must not run (the tombstone check comes first)."""

    def lookup(self, message: GroupingMessage, fingerprints: Sequence[Fingerprint]) -> Candidates:
        raise AssertionError("lookup ran before the tombstone check")


def test_dismissing_an_incident_drops_its_repeats_before_any_lookup() -> None:
    spam = "Продам дрова берёзовые колотые, доставка по городу, звоните 8 900 111-22-33"
    index = LookupForbidden()
    index.add_incident(IncidentHeader(1, *WATER, KIROV, T0))
    index.add_message(1, msg("a", spam))
    tombstones = index.dismiss(1, reason="advertisement", at=T0 + timedelta(hours=1))
    assert len(tombstones) == 1
    assert tombstones[0].incident_id == 1
    assert ":text:" in tombstones[0].fingerprint
    assert index.incident(1).status is IncidentStatus.DISMISSED

    repeat = msg(
        "b", spam.replace("8 900 111-22-33", "+7 999 444-55-66"), minutes=600, network="ok"
    )
    decision = index.route(repeat)
    assert isinstance(decision, Drop)
    assert decision.evidence.rule is Rule.TOMBSTONE
    assert decision.evidence.matched_fingerprint == tombstones[0].fingerprint
    assert "advertisement" in decision.evidence.note
    assert index.apply(repeat, decision) is None
    assert index.incident_of("b") is None


def test_a_tombstone_wins_over_an_open_incident_with_the_same_fingerprint() -> None:
    index = GroupingIndex()
    (open_id,) = feed(index, msg("a", WATER_LENINA))
    text_fp = next(
        fp for fp in index.fingerprints(msg("x", WATER_LENINA)) if fp.kind is FingerprintKind.TEXT
    )
    index.add_tombstone(Tombstone(text_fp.value, None, "operator: flood of copies", T0))
    decision = index.route(msg("b", WATER_LENINA, minutes=5))
    assert isinstance(decision, Drop)
    assert decision.tombstone.reason == "operator: flood of copies"
    assert index.incident(open_id).message_count == 1


def test_a_new_real_complaint_at_a_dismissed_address_is_not_dropped() -> None:
    index = GroupingIndex()
    (dismissed,) = feed(index, msg("a", "Ленина 15 тестовое сообщение проверка связи вода"))
    index.dismiss(dismissed, reason="test post", at=T0)
    decision = index.route(msg("b", WATER_LENINA, minutes=10))
    assert isinstance(decision, Create)


# ----------------------------------------------------------------------------- merge and split


def test_merge_moves_messages_and_fingerprints_and_later_duplicates_follow() -> None:
    index = GroupingIndex()
    a, b = feed(
        index,
        msg("a", WATER_LENINA),
        msg("b", "Ленина 40, с утра нет холодной воды", minutes=5),
    )
    assert a != b
    result = index.merge(a, [b])
    assert result.target_id == a
    assert result.merged_ids == (b,)
    assert result.moved_message_keys == ("b",)
    assert result.moved_fingerprints
    assert index.incident(b).status is IncidentStatus.MERGED
    assert index.incident_of("b") == a
    assert index.incident(a).message_keys == ("a", "b")
    # A duplicate of the merged incident now lands in the target.
    decision = index.route(msg("c", "Ленина 40 так и нет холодной воды", minutes=60))
    assert isinstance(decision, Attach)
    assert decision.incident_id == a


def test_merge_into_a_closed_incident_is_refused() -> None:
    index = GroupingIndex()
    a, b = feed(index, msg("a", WATER_LENINA), msg("b", "Ленина 40 нет холодной воды", minutes=5))
    index.close(a)
    with pytest.raises(GroupingError, match="cannot merge"):
        index.merge(a, [b])


def test_split_moves_messages_to_a_new_incident() -> None:
    index = GroupingIndex()
    a, b, c = feed(
        index,
        msg("a", WATER_LENINA, author="u1", reach=Reach(views=100)),
        msg("b", WATER_LENINA_2, minutes=5, author="u2", reach=Reach(views=50)),
        msg("c", "Ленина 15 нет холодной воды, кран сухой", minutes=9, author="u3"),
    )
    assert a == b == c
    result = index.split(a, ["c"], new_incident_id=500)
    assert result.source_id == a
    assert result.new_id == 500
    assert result.moved_message_keys == ("c",)
    assert not result.source_emptied
    assert index.incident_of("c") == 500
    source, new = index.incident(a), index.incident(500)
    assert source.message_keys == ("a", "b")
    assert source.authors == {"u1", "u2"}
    assert source.reach == Reach(views=150)
    assert new.message_keys == ("c",)
    assert new.status is IncidentStatus.OPEN


def test_split_checks_its_arguments() -> None:
    index = GroupingIndex()
    (a,) = feed(index, msg("a", WATER_LENINA))
    with pytest.raises(GroupingError, match="not in incident"):
        index.split(a, ["zzz"], new_incident_id=9)
    with pytest.raises(GroupingError, match="at least one"):
        index.split(a, [], new_incident_id=9)
    with pytest.raises(GroupingError, match="already in the index"):
        index.split(a, ["a"], new_incident_id=a)
    emptied = index.split(a, ["a"], new_incident_id=9)
    assert emptied.source_emptied
    assert index.incident(a).status is IncidentStatus.CLOSED


def test_set_parent_links_surge_children() -> None:
    index = GroupingIndex()
    a, b = feed(index, msg("a", WATER_LENINA), msg("b", "Ленина 40 нет холодной воды", minutes=5))
    index.add_incident(IncidentHeader(900, *WATER, KIROV, T0))
    assert index.set_parent([a, b, 900], 900) == (a, b)
    assert index.incident(a).parent_incident_id == 900
    assert index.set_parent([a], 900) == ()


# ----------------------------------------------------------------------------- index and purity


def test_decide_is_a_pure_function_of_message_and_candidates() -> None:
    index = GroupingIndex()
    feed(index, msg("a", WATER_LENINA), msg("b", "Ленина 40 нет холодной воды", minutes=5))
    message = msg("c", WATER_LENINA_2, minutes=10)
    fps = index.fingerprints(message)
    candidates = index.lookup(message, fps)
    first = decide(message, fps, candidates, index.config)
    second = decide(message, fps, candidates, index.config)
    assert first == second
    no_candidates = replace(candidates, fingerprint_hits=(), similar=(), entity_hits=())
    assert isinstance(decide(message, fps, no_candidates, index.config), Create)


def test_blocking_only_offers_incidents_of_the_same_group_place_and_days() -> None:
    index = GroupingIndex()
    feed(
        index,
        msg("a", WATER_LENINA),
        msg("b", "Ленина 15 нет холодной воды", topic=HEATING),  # same group: offered
        msg("c", "Ленина 15 яма нет холодной воды", topic=POTHOLE),  # other group: not offered
        msg("d", "Ленина 15 нет холодной воды", place=CHEPETSK),  # other place: not offered
        msg("e", "Ленина 15 нет холодной воды", minutes=30 * 24 * 60),  # a month later: not offered
    )
    message = msg("x", "Нет холодной воды на Ленина 15", minutes=60)
    candidates = index.lookup(message, index.fingerprints(message))
    offered = {record.id for record in candidates.similar}
    assert offered == {index.incident_of("a"), index.incident_of("b")}


def test_rebuilding_from_stored_records_gives_the_same_decisions() -> None:
    live = GroupingIndex()
    messages = [
        msg("a", WATER_LENINA),
        msg("b", "Ленина 40, с утра нет холодной воды", minutes=5),
        msg("c", WATER_LENINA_2, minutes=10),
    ]
    feed(live, *messages)
    headers = [
        IncidentHeader(i, *WATER, KIROV, live.incident(i).opened_at)
        for i in live.open_incident_ids()
    ]
    links = [(live.incident_of(m.key) or 0, m) for m in messages]
    rebuilt = GroupingIndex()
    rebuilt.load(headers, links)
    probe = msg("p", "Ленина 40 до сих пор нет холодной воды", minutes=90)
    assert rebuilt.route(probe) == live.route(probe)


def test_apply_create_needs_an_id_and_messages_attach_once() -> None:
    index = GroupingIndex()
    message = msg("a", WATER_LENINA)
    decision = index.route(message)
    with pytest.raises(GroupingError, match="needs the new incident's id"):
        index.apply(message, decision)
    index.apply(message, decision, incident_id=1)
    with pytest.raises(GroupingError, match="already attached"):
        index.add_message(1, message)
    with pytest.raises(GroupingError, match="not in the index"):
        index.incident(2)


def test_messages_need_aware_times_and_build_from_a_classification() -> None:
    with pytest.raises(ValueError, match="aware"):
        replace(msg("a", "x"), posted_at=datetime(2026, 11, 16, 6, 0))
    classification = Classification(
        is_complaint=True,
        complaint_confidence=0.9,
        topic_group="ЖКХ",
        topic="Отсутствие холодной воды",
        topic_confidence=0.8,
        municipality="город Киров",
        municipality_oktmo=KIROV,
        municipality_confidence=0.9,
        model_version="test:2026-11-23",
    )
    message = GroupingMessage.from_classification(
        key="vk:1",
        network="vk",
        text=WATER_LENINA,
        lemmas=lemmatize(WATER_LENINA),
        classification=classification,
        posted_at=T0,
    )
    assert (message.topic_group, message.municipality_oktmo) == ("ЖКХ", KIROV)
    assert message.resolved_address() == ("ленин", "15")


def test_expire_forgets_old_postings() -> None:
    index = GroupingIndex()
    feed(index, msg("a", WATER_LENINA))
    assert index.expire(T0 + timedelta(days=10)) == 1
    message = msg("b", "Нет холодной воды, краны сухие", minutes=10)
    assert index.lookup(message, index.fingerprints(message)).similar == ()


def test_crowded_blocks_fall_back_to_the_most_recent_incidents() -> None:
    index = GroupingIndex(GroupingConfig(posting_cap=3))
    messages = [msg(f"m{i}", f"Ленина {i}, нет холодной воды", minutes=i) for i in range(1, 7)]
    ids = feed(index, *messages)
    assert len(set(ids)) == 6  # six houses, six incidents
    probe = msg("p", "нет холодной воды", minutes=10)
    offered = [r.id for r in index.lookup(probe, index.fingerprints(probe)).similar]
    assert len(offered) == 3
    assert set(offered) == set(ids[-3:])


# ----------------------------------------------------------------------------- versioning


def _old_fingerprints(source: FingerprintInput) -> tuple[Fingerprint, ...]:
    """A stand-in for a previous algorithm: one address fingerprint of a different shape."""
    if not source.address:
        return ()
    value = f"old:2026-01-01:addr:{source.municipality_oktmo}:{'-'.join(source.address)}"
    return (Fingerprint(FingerprintKind.ADDRESS, value, "old:2026-01-01"),)


def test_old_and_new_fingerprints_side_by_side_during_a_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(fingerprint_module.FINGERPRINTERS, "old:2026-01-01", _old_fingerprints)
    # Yesterday's incident was grouped by the old algorithm only.
    old_index = GroupingIndex(GroupingConfig(versions=("old:2026-01-01",)))
    feed(old_index, msg("a", WATER_LENINA))
    (stored_fp,) = old_index.fingerprints(msg("a", WATER_LENINA))
    assert stored_fp.value == "old:2026-01-01:addr:33701000:ленин-15"

    # Transition: the new version is primary, the old one still computed and looked up.
    index = GroupingIndex(GroupingConfig(versions=(GROUPING_VERSION, "old:2026-01-01")))
    index.add_incident(IncidentHeader(1, *WATER, KIROV, T0))
    index.add_fingerprint(stored_fp.value, 1)  # as stored in incident_fingerprints
    probe = msg("b", "Ленина 15 так и нет холодной воды", minutes=30)
    decision = index.route(probe)
    assert isinstance(decision, Attach)
    assert decision.incident_id == 1
    assert decision.evidence.matched_fingerprint == stored_fp.value
    assert decision.evidence.grouping_version == "old:2026-01-01"
    link = index.apply(probe, decision)
    assert link is not None
    assert link.grouping_version == GROUPING_VERSION
    assert {fp.version for fp in link.lookup_fingerprints} == {GROUPING_VERSION, "old:2026-01-01"}


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="versions"):
        GroupingConfig(versions=())
    with pytest.raises(ValueError, match="window"):
        GroupingConfig(window=timedelta(0))
    with pytest.raises(ValueError, match="attach_threshold"):
        GroupingConfig(attach_threshold=1.5)


# ----------------------------------------------------------------------------- generic words


def test_generic_words_alone_do_not_join_complaints_from_unknown_places() -> None:
    """Two "надписи на стене" may be two buildings: a rare shared word or an address is needed."""
    config = GroupingConfig(generic_min_df=5, generic_share=0.0)
    index = GroupingIndex(config)
    graffiti = ("Благоустройство", "Надписи")
    # Make "надпись" common: five complaints at five addresses.
    feed(
        index,
        *(
            msg(f"g{i}", f"На Ленина {i} надписи на стене", topic=graffiti, minutes=i)
            for i in range(1, 6)
        ),
    )
    a, b = feed(
        index,
        msg("x1", "Надписи на стене", topic=graffiti, minutes=10),
        msg("x2", "Надписи на стене, закрасьте", topic=graffiti, minutes=20),
    )
    assert a != b
    decision = index.route(msg("x3", "Надписи на стене", topic=graffiti, minutes=30))
    assert isinstance(decision, Create)
    assert "only generic words" in decision.evidence.note
    # A rare word they share (a landmark) is enough.
    c, d = feed(
        index,
        msg("y1", "Надписи на стене у Филармонии", topic=graffiti, minutes=40),
        msg("y2", "Возле филармонии стена в надписях", topic=graffiti, minutes=50),
    )
    assert c == d


# ----------------------------------------------------------------------------- place evidence

HOT = ("ЖКХ", "Отсутствие горячей воды")


def test_a_complaint_with_an_address_does_not_join_one_from_nowhere() -> None:
    index = GroupingIndex()
    nowhere, here = feed(
        index,
        msg("a", "Нет горячей воды уже четвёртый день, без предупреждения", topic=HOT),
        msg("b", "Горького 5, нет горячей воды четвёртый день, без предупреждения", topic=HOT),
    )
    assert nowhere != here
    decision = index.route(
        msg("c", "Горького 5 горячей воды нет, предупреждения не было", topic=HOT)
    )
    assert isinstance(decision, Attach)
    assert decision.incident_id == here
    # ...and a complaint from nowhere does not join the one at Горького 5 either.
    later = index.route(msg("d", "Горячей воды нет четвёртый день без предупреждения", topic=HOT))
    assert isinstance(later, Attach)
    assert later.incident_id == nowhere


def test_naming_the_street_without_a_number_is_enough_place_evidence() -> None:
    index = GroupingIndex()
    a, b = feed(
        index,
        msg("a", "улица Воровского у школы бродячие собаки, кидаются на детей", topic=DOGS),
        msg("b", "С Воровского просят отловить бродячих собак у школы", topic=DOGS),
    )
    assert a == b


def test_one_comment_naming_a_street_does_not_pin_a_district_wide_incident() -> None:
    power = ("Электроснабжение", "Качество электроснабжения")
    index = GroupingIndex()
    post, comment = feed(
        index,
        msg("vk:1", "В Нововятске пропал свет, весь район без электричества", topic=power),
        msg("vk:1_c1", "и у нас на Советской тоже", topic=power, parent="vk:1", minutes=2),
    )
    assert post == comment
    assert not index.incident(post).placed
    decision = index.route(
        msg("ok:1", "Нововятск без света сидим, электричество когда", topic=power)
    )
    assert isinstance(decision, Attach)
    assert decision.incident_id == post


def test_numbered_places_keep_apart() -> None:
    school = ("Образование", "Безопасность образовательного процесса")
    index = GroupingIndex()
    five, eight = feed(
        index,
        msg("a", "В школе номер 5 в классах холодно, дети сидят в куртках", topic=school),
        msg("b", "В школе номер 8 в классах холодно, дети сидят в куртках", topic=school),
    )
    assert five != eight


# ----------------------------------------------------------------------------- the bench still runs


def test_the_bench_runs_on_a_tiny_index() -> None:
    """Smoke-run bench/bench_grouping.py's measurement (figures are the bench's business)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench/bench_grouping.py"
    spec = importlib.util.spec_from_file_location("bench_grouping_smoke", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        load_s, rate, cpu_rate, decisions = module.measure(GroupingIndex(), 300, 40, seed=1)
        all_pairs = module.measure(module.AllPairsIndex(), 300, 40, seed=1)[3]
    finally:
        del sys.modules[spec.name]
    assert rate > 0
    assert cpu_rate > 0
    assert load_s >= 0
    assert len(decisions) == 40
    assert any(isinstance(d, Attach) for d in decisions)
    assert [module.outcome(d) for d in decisions] == [module.outcome(d) for d in all_pairs]


def _candidates(
    index: GroupingIndex, probe: GroupingMessage, incident_id: int
) -> list[IncidentRecord]:
    """Return the snapshots of ``incident_id`` a lookup for ``probe`` hands the decision."""
    found = index.lookup(probe, index.fingerprints(probe))
    records = [r for _, r in found.fingerprint_hits] + list(found.similar)
    return [r for r in records if r.id == incident_id]


def test_lookup_sees_each_change_of_an_incident_it_read_before() -> None:
    # The index keeps one snapshot per incident between changes: each attach, detach and
    # direct change (locate, close) must show in the next lookup.
    index = GroupingIndex()
    first, _ = feed(
        index,
        msg("a", WATER_LENINA, place=None, author="u1"),
        msg("c", WATER_LENINA, minutes=40, place=None, author="u1"),
    )
    probe = msg("p", WATER_LENINA_2, minutes=50, place=None)
    before = _candidates(index, probe, first)
    assert {(r.message_count, r.authors) for r in before} == {(2, frozenset({"u1"}))}

    # Between its first and last message: only the message count and the authors change.
    assert feed(index, msg("b", WATER_LENINA_2, minutes=20, place=None, author="u2")) == [first]
    after = _candidates(index, probe, first)
    assert {(r.message_count, r.authors) for r in after} == {(3, frozenset({"u1", "u2"}))}
    assert {r.message_keys for r in after} == {("a", "c", "b")}

    assert index.locate(first, KIROV)
    assert {r.municipality_oktmo for r in _candidates(index, probe, first)} == {KIROV}

    index.close(first)
    assert _candidates(index, probe, first) == []
