"""Benchmark start-up: ``--help``, ``version`` and ``classify`` of one message, as a user runs them.

Run: ``.venv/bin/python bench/bench_startup.py [--runs N]``.

Each command runs ``--runs`` times (default 5) in a fresh interpreter; the median wall time and
the median CPU time (user + system of the child) are printed. Beside them, in the same run, the
baselines: a bare interpreter (``python -c pass``, the floor) and what starting cost before this
work, measured directly: importing scikit-learn and unpickling the full model file
(``model.joblib``) as ``classify`` used to. ``classify`` reads ./config.yaml (the Kirov
example), so it loads the region's gazetteer too. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "app"]
ONE = '{"text": "В Котельниче третий день нет воды, ул. Ленина 5"}\n'
GOALS = {"--help": 0.5, "version": 0.5, "classify (one message)": 1.5}


def timed(argv: list[str], stdin: str = "") -> tuple[float, float]:
    """Run a command once; return its wall time and its CPU time (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        argv,
        input=stdin,
        text=True,
        capture_output=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median_of(runs: int, argv: list[str], stdin: str = "") -> tuple[float, float]:
    """Return the median wall and CPU times of ``runs`` runs."""
    results = [timed(argv, stdin) for _ in range(runs)]
    return (
        statistics.median(w for w, _c in results),
        statistics.median(c for _w, c in results),
    )


def main(argv: list[str] | None = None) -> int:
    """Measure the commands and the baselines and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    model = ROOT / "classifier" / "data" / "models" / "data" / "model.joblib"
    cases = {
        "bare interpreter (floor)": ([sys.executable, "-c", "pass"], ""),
        "--help": ([*CLI, "--help"], ""),
        "version": ([*CLI, "version"], ""),
        "classify (one message)": ([*CLI, "classify"], ONE),
        "before: import sklearn + unpickle model.joblib": (
            [sys.executable, "-c", f"import sklearn, joblib; joblib.load({str(model)!r})"],
            "",
        ),
    }
    load = os.getloadavg()[0]
    print(f"median of {args.runs} runs each, fresh interpreter; load average {load:.1f}")
    for name, (command, stdin) in cases.items():
        wall, cpu = median_of(args.runs, command, stdin)
        goal = GOALS.get(name)
        verdict = ""
        if goal is not None:
            verdict = f"  goal {goal} s wall: {'meets' if wall <= goal else 'misses'} it"
        print(f"{name:48s} {wall:6.2f} s wall  {cpu:6.2f} s CPU{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
