"""Replay files: the line schema, bad lines with their numbers, appended lines only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from collector.replay import ReplayError, ReplayPoller, parse_line

GOOD = {
    "network": "vk",
    "external_id": "-1_10",
    "kind": "post",
    "author": "123",
    "time": "2026-11-30T09:15:00+03:00",
    "text": "Во дворе на ул. Ленина 5 не вывозят мусор 🗑️",
    "url": "https://vk.com/wall-1_10",
}


def test_a_good_line() -> None:
    msg = parse_line(json.dumps(GOOD, ensure_ascii=False))
    assert msg.posted_at == dt.datetime(2026, 11, 30, 6, 15, tzinfo=dt.UTC)
    assert (msg.network, msg.external_id, msg.kind, msg.author_id) == ("vk", "-1_10", "post", "123")
    assert msg.parent is None


def test_the_export_form_is_accepted() -> None:
    exported = {
        "network": "ok",
        "source": "Жалобы Киров",
        "external_id": "5_6_7",
        "kind": "comment",
        "parent": "5_6",
        "author_id": "42",
        "text": "",
        "posted_at": "2026-11-30T06:15:00+00:00",
        "url": None,
        "edited": True,
        "edited_at": None,
        "deleted": False,
        "versions": 1,
    }
    msg = parse_line(json.dumps(exported))
    assert (msg.kind, msg.parent, msg.author_id, msg.edited, msg.text) == (
        "comment",
        "5_6",
        "42",
        True,
        "",
    )


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"network": "myspace"}, "network must be one of"),
        ({"kind": "story"}, "kind must be post or comment"),
        ({"kind": "comment"}, "needs the external id of its post"),
        ({"time": "2026-11-30 09:15"}, "has no zone offset"),
        ({"time": "вчера"}, "not ISO 8601"),
        ({"external_id": ""}, "external_id is missing"),
        ({"text": 5}, "text must be a string"),
        ({"deleted": "yes"}, "deleted must be true or false"),
        ({"colour": "red"}, "unknown keys"),
        ({"external_id": "x" * 129}, "external_id is longer than 128"),
        ({"author": "a" * 65}, "author is longer than 64"),
    ],
)
def test_bad_lines_say_why(change: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_line(json.dumps({**GOOD, **change}))


async def test_bad_lines_are_reported_with_numbers_and_the_rest_read(tmp_path: Path) -> None:
    path = tmp_path / "archive.jsonl"
    lines = [
        json.dumps(GOOD, ensure_ascii=False),
        "{not json",
        "",
        json.dumps({**GOOD, "external_id": "-1_11", "time": "нет"}, ensure_ascii=False),
        json.dumps({**GOOD, "external_id": "-1_12"}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    poller = ReplayPoller(path)
    first = await poller.poll({})
    assert [m.external_id for m in first.messages] == ["-1_10", "-1_12"]
    assert [n.split(":")[0] for n in first.notes] == [
        "archive.jsonl line 2",
        "archive.jsonl line 4",
    ]
    # Appended lines only on the next poll, numbered on from the file's start.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({**GOOD, "external_id": "-1_13"}) + "\n{oops}\n")
    second = await poller.poll(first.cursor)
    assert [m.external_id for m in second.messages] == ["-1_13"]
    assert second.notes[0].startswith("archive.jsonl line 7:")
    assert (await poller.poll(second.cursor)).messages == ()
    # A file replaced by a shorter one is read again from its start.
    path.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    assert [m.external_id for m in (await poller.poll(second.cursor)).messages] == ["-1_10"]


async def test_a_missing_file_is_an_unavailable_source(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="replay file"):
        await ReplayPoller(tmp_path / "nope.jsonl").poll({})


async def test_a_line_still_being_written_is_read_once_it_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    whole = json.dumps({**GOOD, "external_id": "-1_20"}, ensure_ascii=False)
    growing = json.dumps(
        {**GOOD, "external_id": "-1_21", "text": "Трубу прорвало, вода хлещет 💧"},
        ensure_ascii=False,
    ).encode()
    cut = growing.index("💧".encode()) + 2  # mid-way through the emoji's bytes
    path.write_bytes(whole.encode() + b"\n" + growing[:cut])
    poller = ReplayPoller(path)

    first = await poller.poll({})
    with path.open("ab") as handle:
        handle.write(growing[cut:] + b"\n")
    second = await poller.poll(first.cursor)
    third = await poller.poll(second.cursor)

    assert ([m.external_id for m in first.messages], first.notes) == (["-1_20"], ())
    assert ([m.external_id for m in second.messages], second.notes) == (["-1_21"], ())
    assert second.messages[0].text == "Трубу прорвало, вода хлещет 💧"
    assert third.messages == ()
    assert second.cursor["lines"] == 2


async def test_a_last_line_without_a_newline_is_imported(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")  # no final newline
    poller = ReplayPoller(path)

    first = await poller.poll({})
    again = await poller.poll(first.cursor)

    assert [m.external_id for m in first.messages] == ["-1_10"]
    assert again.messages == ()


async def test_a_line_nested_too_deep_or_dated_out_of_range_is_skipped_not_a_stuck_file(
    tmp_path: Path,
) -> None:
    # A poison line used to raise RecursionError / OverflowError out of the poll, so every
    # retry failed at the same offset and no later line of the file was ever imported.
    path = tmp_path / "archive.jsonl"
    lines = [
        json.dumps(GOOD, ensure_ascii=False),
        '{"network": "vk", "text": ' + "[" * 50_000 + "]" * 50_000 + "}",
        json.dumps({**GOOD, "external_id": "-1_11", "time": "0001-01-01T00:00:00+05:00"}),
        json.dumps({**GOOD, "external_id": "-1_12", "time": "9999-12-31T23:30:00-03:00"}),
        json.dumps({**GOOD, "external_id": "-1_13", "text": "Нет света на ул. Мира 8"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    harvest = await ReplayPoller(path).poll({})
    assert [m.external_id for m in harvest.messages] == ["-1_10", "-1_13"]
    assert [n.split(":")[0] for n in harvest.notes] == [
        "archive.jsonl line 2",
        "archive.jsonl line 3",
        "archive.jsonl line 4",
    ]
    assert "out of range" in harvest.notes[1]
    assert harvest.cursor["lines"] == 5
