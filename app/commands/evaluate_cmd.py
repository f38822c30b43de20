"""``evaluate``: score the classifier on real labelled St Petersburg appeals it never trained on."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands._common import add_command
from app.errors import CliError

if TYPE_CHECKING:
    from app.commands._common import Subparsers

SPB_RELATIVE = Path("..") / "shared" / "data" / "spb-nash-peterburg"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def register(subparsers: Subparsers) -> None:
    """Add the ``evaluate`` command."""
    parser = add_command(
        subparsers,
        "evaluate",
        help="score the classifier on the labelled SPb appeals (per-group P/R/F1, learning curve)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"the spb-nash-peterburg folder (default: ./{SPB_RELATIVE}, "
        "then the same path beside the project's folder)",
    )
    parser.add_argument(
        "--steps",
        default="0,100,500,2000",
        metavar="N,N,...",
        help="numbers of appeals fed in as operator corrections (default: 0,100,500,2000)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="score on at most N of the remaining appeals (default: all of them)",
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.set_defaults(handler=run)


def find_data_dir(explicit: Path | None) -> Path:
    """Return the SPb data folder, or raise a one-line CLI error saying where it was looked for."""
    from classifier.evaluate import SPB_FILE

    candidates = [explicit] if explicit is not None else [SPB_RELATIVE, _REPO_ROOT / SPB_RELATIVE]
    for directory in candidates:
        if (directory / SPB_FILE).is_file():
            return directory
    looked = ", ".join(str(d / SPB_FILE) for d in candidates)
    raise CliError(
        f"evaluation data not found (looked for {looked}); it is read from ../shared at run "
        "time and never copied into the project: pass --data DIR"
    )


def parse_steps(text: str) -> list[int]:
    """Parse "0,100,500" into a list of non-negative integers."""
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise CliError(f"--steps: expected numbers separated by commas, got {text!r}") from err
    if not steps or any(s < 0 for s in steps):
        raise CliError(f"--steps: expected non-negative numbers, got {text!r}")
    return steps


def run(args: argparse.Namespace) -> int:
    """Print per-group scores at cold start, its confusion matrix, and the learning curve."""
    from classifier.corpus import load_seed_corpus
    from classifier.evaluate import (
        EvaluationDataError,
        format_confusion,
        format_curve,
        format_report,
        learning_curve,
        load_spb_appeals,
    )
    from classifier.lemmatizer import Lemmatizer
    from classifier.rubricator import load_rubricator

    directory = find_data_dir(args.data)
    steps = parse_steps(args.steps)
    try:
        appeals, unmapped = load_spb_appeals(directory)
    except EvaluationDataError as err:
        raise CliError(str(err)) from err
    rubricator = load_rubricator()
    lemmatizer = Lemmatizer()
    print(
        f"{len(appeals)} appeals from {directory} ({sum(unmapped.values())} with unmapped "
        f"reasons left out); learning-curve steps {steps}",
        file=sys.stderr,
    )
    points = learning_curve(
        appeals,
        load_seed_corpus(rubricator=rubricator),
        lemmatize=lemmatizer.lemmatize_text,
        rubricator=rubricator,
        steps=steps,
        test_limit=args.limit,
    )
    first = points[0]
    print(f"== {first.labels} operator labels: per-group scores on {first.report.n} appeals")
    print(format_report(first.report))
    print("\n== confusion matrix (rows: truth, columns: prediction)")
    print(format_confusion(first.report))
    print("\n== learning curve (appeals fed in as operator corrections; scored on the rest)")
    print(format_curve(points))
    if args.json:
        figures = [
            {
                "labels": p.labels,
                "report": p.report.to_json(),
                "topic_accuracy": round(p.topic_accuracy, 4),
                "complaint_recall": round(p.complaint_recall, 4),
            }
            for p in points
        ]
        print(json.dumps(figures, ensure_ascii=False))
    return 0
