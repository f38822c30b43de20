"""The gazetteer kept built on disk: same answers, rebuilt when a source changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from classifier import gazetteer_cache
from classifier.gazetteer import Gazetteer, UnknownGazetteerError
from classifier.gazetteer_cache import cache_path, load_cached_gazetteer, source_digest

TEXTS = [
    "В Котельниче третий день нет воды, ул. Ленина 5",
    "😡😡 Оричевский р-н, д. Хорошавины: дорогу не чистят!!! 🚜❄️",
    "<p>Жители <b>Кирово-Чепецка</b> жалуются&nbsp;на свалку</p><br>у пгт Юрья",
    "ЯРАНСК: света нет с утра, [id123|Иван Петров] звонил в сети",
    "",
    "   ",
    "Из Котельнича в Киров автобус не пришёл\nг. Слободской, опять яма",
    ("В Кирове на улице Мостовицкой снова прорвало трубу, вода течёт по двору. " * 40),
]


def answers(gazetteer: Gazetteer) -> list[Any]:
    return [gazetteer.match(text) for text in TEXTS]


@pytest.fixture(scope="module")
def fresh() -> Gazetteer:
    return Gazetteer.load("kirov")


def test_the_second_start_reads_the_cache_and_answers_the_same(
    tmp_path: Path, fresh: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = load_cached_gazetteer("kirov", tmp_path)
    (written,) = tmp_path.glob("kirov-*.pickle")
    assert answers(built) == answers(fresh)

    def no_build(*_args: Any, **_kwargs: Any) -> Gazetteer:
        raise AssertionError("built again although the cache holds it")

    monkeypatch.setattr(Gazetteer, "load", no_build)
    cached = load_cached_gazetteer("kirov", tmp_path)
    assert cached is not built
    assert answers(cached) == answers(fresh)
    assert [s.name for s in cached.settlements_named("Котельнич")] == ["Котельнич"]
    assert list(tmp_path.glob("kirov-*.pickle")) == [written]


def test_the_cached_gazetteer_uses_the_analyzer_it_is_given(tmp_path: Path) -> None:
    morph = object()
    load_cached_gazetteer("kirov", tmp_path)
    cached = load_cached_gazetteer("kirov", tmp_path, morph=morph)
    assert cached._morph is morph
    assert cached._corrections == {}


def test_a_changed_source_is_rebuilt_and_the_stale_file_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: Gazetteer
) -> None:
    load_cached_gazetteer("kirov", tmp_path)
    (stale,) = tmp_path.glob("kirov-*.pickle")
    code = tmp_path / "gazetteer.py"
    code.write_text("# the index is built otherwise now\n", encoding="utf-8")
    monkeypatch.setattr(gazetteer_cache, "_code_files", lambda: (code,))
    builds: list[str] = []
    real_load = Gazetteer.load.__func__  # type: ignore[attr-defined]

    def counting_load(cls: type[Gazetteer], region: str, **kwargs: Any) -> Gazetteer:
        builds.append(region)
        result: Gazetteer = real_load(cls, region, **kwargs)
        return result

    monkeypatch.setattr(Gazetteer, "load", classmethod(counting_load))
    rebuilt = load_cached_gazetteer("kirov", tmp_path)
    assert builds == ["kirov"]
    assert not stale.exists()
    assert len(list(tmp_path.glob("kirov-*.pickle"))) == 1
    assert answers(rebuilt) == answers(fresh)


def test_the_digest_follows_the_data_the_code_and_nothing_else(tmp_path: Path) -> None:
    code = tmp_path / "gazetteer.py"
    code.write_text("A = 1\n", encoding="utf-8")
    first = source_digest(b'{"format": 1}', (code,))
    assert source_digest(b'{"format": 1}', (code,)) == first
    assert source_digest(b'{"format": 1, "x": 2}', (code,)) != first
    code.write_text("A = 2\n", encoding="utf-8")
    assert source_digest(b'{"format": 1}', (code,)) != first
    assert cache_path(tmp_path, "perm", first).name.startswith("perm-")


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path, fresh: Gazetteer) -> None:
    load_cached_gazetteer("kirov", tmp_path)
    (path,) = tmp_path.glob("kirov-*.pickle")
    path.write_bytes(path.read_bytes()[:1000])
    assert answers(load_cached_gazetteer("kirov", tmp_path)) == answers(fresh)
    assert path.stat().st_size > 1000  # written whole again
    path.write_bytes(b"not a pickle at all")
    assert answers(load_cached_gazetteer("kirov", tmp_path)) == answers(fresh)


def test_an_unwritable_cache_costs_a_build_not_the_answer(tmp_path: Path, fresh: Gazetteer) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the directory should be", encoding="utf-8")
    assert answers(load_cached_gazetteer("kirov", blocked / "gazetteer")) == answers(fresh)
    assert answers(load_cached_gazetteer("kirov", None)) == answers(fresh)


def test_an_unknown_region_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownGazetteerError, match="no gazetteer for region 'mars'"):
        load_cached_gazetteer("mars", tmp_path)
    assert list(tmp_path.iterdir()) == []
