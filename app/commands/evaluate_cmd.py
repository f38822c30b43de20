"""``evaluate``: score the classifier on real labelled St Petersburg appeals it never trained on."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.commands._common import add_command
from app.errors import CliError

if TYPE_CHECKING:
    from app.commands._common import Subparsers

SPB_RELATIVE = Path("..") / "shared" / "data" / "spb-nash-peterburg"
_REPO_ROOT = Path(__file__).resolve().parents[2]
NOISE_SET = _REPO_ROOT / "tests" / "classifier" / "data" / "noise_threads.txt"
GROUPING_SET = _REPO_ROOT / "tests" / "router" / "data" / "entity_duplicates.json"


def register(subparsers: Subparsers) -> None:
    """Add the ``evaluate`` command."""
    parser = add_command(
        subparsers,
        "evaluate",
        help="score the classifier on the labelled SPb appeals (per-group P/R/F1, learning curve)",
    )
    parser.add_argument(
        "target",
        nargs="?",
        choices=("classifier", "grouping"),
        default="classifier",
        help="what to score: the classifier (default) or grouping on a labelled set",
    )
    parser.add_argument(
        "--grouping-set",
        type=Path,
        default=GROUPING_SET,
        metavar="FILE",
        help="the labelled grouping set for 'evaluate grouping' "
        "(default: the project's tests/router/data/entity_duplicates.json)",
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
    parser.add_argument(
        "--noise-set",
        type=Path,
        default=None,
        metavar="FILE",
        help="the measured noise set (default: the project's tests/classifier/data/"
        "noise_threads.txt when present): complaint precision/recall and a row per kind",
    )
    parser.add_argument(
        "--noise-only",
        action="store_true",
        help="score only the model in --model (default: the shipped one) on the noise set",
    )
    parser.add_argument(
        "--model", type=Path, default=None, metavar="DIR", help="the model for --noise-only"
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


def _noise_set(explicit: Path | None) -> list[Any]:
    """Load the measured noise set (none when absent and not asked for explicitly)."""
    from classifier.noise import NoiseSetError, load_noise_set

    path = explicit if explicit is not None else NOISE_SET
    if explicit is None and not path.is_file():
        return []
    try:
        return list(load_noise_set(path))
    except NoiseSetError as err:
        raise CliError(str(err)) from err


def run_noise_only(args: argparse.Namespace) -> int:
    """Score one saved model on the measured noise set."""
    from classifier.artifact import ModelArtifactError, load_artifact
    from classifier.evaluate import evaluate_noise
    from classifier.lemmatizer import Lemmatizer
    from classifier.noise import format_noise_report

    messages = _noise_set(args.noise_set)
    if not messages:
        raise CliError(f"noise set not found: {NOISE_SET}; pass --noise-set FILE")
    try:
        artifact = load_artifact(args.model)
    except ModelArtifactError as err:
        raise CliError(str(err)) from err
    report = evaluate_noise(artifact.models, messages, lemmatize=Lemmatizer().lemmatize_text)
    print(f"== noise set: {artifact.version}")
    print(format_noise_report(report))
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    return 0


def run_grouping(args: argparse.Namespace) -> int:
    """Group a labelled set and print pair precision/recall, B-cubed and the suggested share."""
    from classifier.lemmatizer import Lemmatizer
    from router.grouping_eval import evaluate_grouping, load_labelled

    path: Path = args.grouping_set
    if not path.is_file():
        raise CliError(f"labelled grouping set not found: {path}; pass --grouping-set FILE")
    try:
        labelled = load_labelled(path, Lemmatizer().lemmatize_text)
    except ValueError as err:
        raise CliError(str(err)) from err
    scores = evaluate_grouping(labelled)
    print(f"== grouping on {path.name}")
    for line in scores.lines():
        print(line)
    if args.json:
        figures = {
            "messages": scores.messages,
            "problems": scores.problems,
            "incidents": scores.incidents,
            "pair_precision": round(scores.pair_precision, 4),
            "pair_recall": round(scores.pair_recall, 4),
            "bcubed_precision": round(scores.bcubed_precision, 4),
            "bcubed_recall": round(scores.bcubed_recall, 4),
            "bcubed_f1": round(scores.bcubed_f1, 4),
            "merges_made": scores.merges_made,
            "merges_suggested": scores.merges_suggested,
            "suggested_share": round(scores.suggested_share, 4),
        }
        print(json.dumps(figures, ensure_ascii=False))
    return 0


def run(args: argparse.Namespace) -> int:
    """Print per-group scores at cold start, its confusion matrix, and the learning curve."""
    if args.target == "grouping":
        return run_grouping(args)
    if args.noise_only:
        return run_noise_only(args)
    from classifier.corpus import load_seed_corpus
    from classifier.evaluate import (
        EvaluationDataError,
        format_calibration,
        format_confusion,
        format_confusions,
        format_curve,
        format_report,
        learning_curve,
        load_spb_appeals,
        top_confusions,
    )
    from classifier.lemmatizer import Lemmatizer
    from classifier.noise import format_noise_report
    from classifier.rubricator import load_rubricator

    noise = _noise_set(args.noise_set)
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
        noise=noise,
    )
    first = points[0]
    print(f"== {first.labels} operator labels: per-group scores on {first.report.n} appeals")
    print(format_report(first.report))
    print("\n== top confusions (truth -> prediction)")
    print(format_confusions(top_confusions(first.report)))
    print("\n== confusion matrix (rows: truth, columns: prediction)")
    print(format_confusion(first.report))
    print(
        "\n== group confidence: reliability, and the accuracy of what a threshold routes "
        "(routing.auto_route_min_confidence; the rest goes to triage)"
    )
    print(format_calibration(first.extra["calibration"]))
    print("\n== learning curve (appeals fed in as operator corrections; scored on the rest)")
    print(format_curve(points))
    if noise:
        print(f"\n== noise set ({len(noise)} messages), the cold-start model")
        print(format_noise_report(first.extra["noise"]))
    if args.json:
        figures = [
            {
                "labels": p.labels,
                "report": p.report.to_json(),
                "topic_accuracy": round(p.topic_accuracy, 4),
                "complaint_recall": round(p.complaint_recall, 4),
                "calibration": p.extra["calibration"].to_json(),
                **({"noise": p.extra["noise"].to_json()} if "noise" in p.extra else {}),
            }
            for p in points
        ]
        print(json.dumps(figures, ensure_ascii=False))
    return 0
