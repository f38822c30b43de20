"""Test the ``deadline`` command through argparse and its handler."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from app.commands import deadline


def run_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Parse ``argv`` with a parser that has only the deadline command; run its handler."""
    parser = argparse.ArgumentParser(prog="incident-management")
    subparsers = parser.add_subparsers(dest="command")
    deadline.register(subparsers)
    args = parser.parse_args(argv)
    code = args.handler(args)
    out, err = capsys.readouterr()
    return code, out, err


BASE = ["deadline", "--tz", "Europe/Kirov", "--hours", "8"]


def test_t01(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_command([*BASE, "--start", "2025-10-14T10:00"], capsys)
    assert (code, err) == (0, "")
    assert out == "2025-10-15T10:00:00+03:00\n"


def test_start_with_its_own_offset_is_shown_in_the_zone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["deadline", "--start", "2025-10-15T02:30+05:00", "--tz", "Asia/Yekaterinburg"]
    code, out, _ = run_command([*argv, "--hours", "8"], capsys)
    assert code == 0
    assert out == "2025-10-15T18:00:00+05:00\n"
    code, out, _ = run_command(
        ["deadline", "--start", "2025-10-14T07:00Z", "--tz", "Europe/Kirov", "--hours", "8"],
        capsys,
    )
    assert out == "2025-10-15T10:00:00+03:00\n"


def test_schedule_and_fractional_hours(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "mon-thu=08:00-12:00,13:00-17:00;fri=08:00-12:00,13:00-16:00"
    argv = ["deadline", "--start", "2025-03-07T10:00", "--tz", "Europe/Kirov"]
    code, out, _ = run_command([*argv, "--hours", "7.5", "--schedule", spec], capsys)
    assert code == 0
    assert out == "2025-03-10T11:30:00+03:00\n"


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_command([*BASE, "--start", "2025-12-30T15:00", "--explain"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "2026-01-12T15:00:00+03:00"
    assert lines[1].startswith("Start 2025-12-30T15:00:00+03:00 (Europe/Kirov)")
    assert "  2026-01-07 Wed  skipped: holiday (Рождество Христово)" in lines
    assert lines[-1] == "Deadline 2026-01-12T15:00:00+03:00"


def test_year_without_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_command(
        ["deadline", "--start", "2027-12-30T10:00", "--tz", "Europe/Kirov", "--hours", "16"],
        capsys,
    )
    assert code == 2
    assert out == ""
    assert "no production calendar data for 2028" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start", "2025-10-14T25:00", "--tz", "Europe/Kirov"], "bad --start"),
        (["--start", "tomorrow", "--tz", "Europe/Kirov"], "bad --start"),
        (["--start", "2025-10-14T10:00", "--tz", "Europe/Kirow"], "unknown time zone"),
        (["--start", "2025-10-14T10:00", "--tz", "../etc/passwd"], "unknown time zone"),
        (
            ["--start", "2025-10-14T10:00", "--tz", "Europe/Kirov", "--schedule", "mon=9-18"],
            "bad --schedule",
        ),
        (
            ["--start", "2025-10-14T10:00", "--tz", "Europe/Kirov", "--schedule", "mon-sun=off"],
            "no working time",
        ),
        (["--start", "2025-03-30T02:30", "--tz", "Europe/Berlin"], "does not exist"),
        (["--start", "2025-10-26T02:30", "--tz", "Europe/Berlin"], "ambiguous"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run_command(["deadline", *argv, "--hours", "8"], capsys)
    assert code == 2
    assert out == ""
    assert message in err
    assert err.startswith("incident-management deadline: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("hours", ["abc", "-1", "nan", "1e9"])
def test_bad_hours(capsys: pytest.CaptureFixture[str], hours: str) -> None:
    argv = ["deadline", "--start", "2025-10-14T10:00", "--tz", "Europe/Kirov", "--hours", hours]
    code, _, err = run_command(argv, capsys)
    assert code == 2
    assert "bad --hours" in err


def test_zero_hours_returns_the_start(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["deadline", "--start", "2025-10-18T03:00", "--tz", "Europe/Kirov", "--hours", "0"]
    assert run_command(argv, capsys)[1] == "2025-10-18T03:00:00+03:00\n"


def test_extra_calendar_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    regional = tmp_path / "regional.yaml"
    regional.write_text(
        "years:\n  2025:\n    non_working_weekdays:\n"
        "      - {date: 2025-10-15, name: Regional day}\n",
        encoding="utf-8",
    )
    code, out, _ = run_command(
        [*BASE, "--start", "2025-10-14T10:00", "--calendar", str(regional), "--explain"], capsys
    )
    assert code == 0
    assert out.splitlines()[0] == "2025-10-16T10:00:00+03:00"
    assert "skipped: non-working day (Regional day)" in out

    # A later file is validated against the merged result: shortening a day off is an error.
    later = tmp_path / "later.yaml"
    later.write_text("years:\n  2025:\n    shortened_days: [2025-10-15]\n", encoding="utf-8")
    code, out, err = run_command(
        [
            *BASE,
            "--start",
            "2025-10-14T10:00",
            "--calendar",
            str(regional),
            "--calendar",
            str(later),
        ],
        capsys,
    )
    assert (code, out) == (2, "")
    assert f"{later}: years.2025.shortened_days: 2025-10-15 is a day off" in err


def test_invalid_calendar_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("years:\n  2025:\n    non_working_weekdays: [2025-10-18]\n", encoding="utf-8")
    code, out, err = run_command(
        [*BASE, "--start", "2025-10-14T10:00", "--calendar", str(bad)], capsys
    )
    assert code == 2
    assert out == ""
    assert f"{bad}: years.2025.non_working_weekdays[0]" in err
    assert err.count("\n") == 1
