"""``classify``: JSON Lines on stdin -> one classification per line on stdout."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app.commands._common import add_command, load_config_or_fail
from app.errors import CliError

if TYPE_CHECKING:
    from app.commands._common import Subparsers
    from app.config import Config
    from classifier.artifact import ModelArtifact
    from classifier.lemmatizer import Lemmatizer
    from classifier.pipeline import Classifier, MunicipalityMatcher
    from classifier.types import Classification, ClassificationInput

# Where `train` writes and `classify` looks first; the package's shipped model is the fallback.
DEFAULT_MODEL_DIR = Path("var") / "models" / "current"
BATCH = 256
#: Where the region's gazetteer is kept built (classifier.gazetteer_cache).
GAZETTEER_CACHE_DIR = Path("var") / "cache" / "gazetteer"


def register(subparsers: Subparsers) -> None:
    """Add the ``classify`` command."""
    parser = add_command(
        subparsers,
        "classify",
        help="classify messages: JSON Lines on stdin, one JSON result per line on stdout",
    )
    add_model_option(parser)
    parser.set_defaults(handler=run)


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """Add --model DIR (default: ./var/models/current when present, else the shipped model)."""
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"model artefact directory (default: ./{DEFAULT_MODEL_DIR} if it exists, "
        "else the model shipped with the package)",
    )


def resolve_model_dir(explicit: Path | None, configured: Path | None = None) -> Path | None:
    """Return the artefact directory to load (None: the shipped model).

    The explicit one (--model) always; else the configured classifier.model_dir, then
    ./var/models/current, whichever holds a trained model.
    """
    if explicit is not None:
        return explicit
    for candidate in (configured, DEFAULT_MODEL_DIR):
        if candidate is not None and (candidate / "manifest.json").is_file():
            return candidate
    return None


def load_model_or_fail(directory: Path | None) -> ModelArtifact:
    """Load an artefact, turning ModelArtifactError into a one-line CLI error."""
    from classifier.artifact import ModelArtifactError, load_artifact

    try:
        return load_artifact(directory)
    except ModelArtifactError as err:
        raise CliError(str(err)) from err


def build_matcher(
    config: Config, lemmatizer: Lemmatizer, *, cache_dir: Path | None = GAZETTEER_CACHE_DIR
) -> MunicipalityMatcher:
    """Return the region's gazetteer, or the region-lookup fallback when it is not available.

    The gazetteer shares the lemmatiser's pymorphy3 analyzer (one dictionary in memory); it
    comes built from ``cache_dir`` when built there before from the same sources
    (``classifier.gazetteer_cache``; None: built at each start).
    """
    from classifier.pipeline import RegionMatcher
    from classifier.regions import RegionError, load_region

    try:
        importlib.import_module("classifier.gazetteer")
        cache: Any = importlib.import_module("classifier.gazetteer_cache")
        matcher: MunicipalityMatcher = cache.load_cached_gazetteer(
            config.region.code, cache_dir, morph=lemmatizer.morph
        )
    except (ImportError, AttributeError, RegionError, LookupError, OSError, ValueError) as err:
        print(
            f"warning: no gazetteer for {config.region.code!r} ({err}); matching municipalities "
            "by name only",
            file=sys.stderr,
        )
        matcher = RegionMatcher(load_region(config.region.code), lemmatizer)
    return matcher


def build_classifier(config: Config, model_dir: Path | None) -> Classifier:
    """Compose the classifier: artefact, lemmatiser, the region's municipality matcher."""
    from classifier.lemmatizer import Lemmatizer
    from classifier.pipeline import Classifier

    artifact = load_model_or_fail(resolve_model_dir(model_dir, config.classifier.model_dir))
    lemmatizer = Lemmatizer()
    return Classifier.from_artifact(
        artifact, lemmatizer=lemmatizer, matcher=build_matcher(config, lemmatizer)
    )


def parse_line(line: str) -> ClassificationInput:
    """Read one input line: a JSON object with "text" (and priors), or plain text.

    Raises:
        ValueError: when the line is JSON but not a valid input object.
    """
    from classifier.types import ClassificationInput

    stripped = line.strip()
    if not stripped.startswith(("{", "[", '"')):
        return ClassificationInput(text=stripped)
    data = json.loads(stripped)
    if isinstance(data, str):
        return ClassificationInput(text=data)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object with a 'text' field")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' must be a non-empty string")
    source = data.get("source_municipality")
    if source is not None and not isinstance(source, str):
        raise ValueError("'source_municipality' must be a string")
    coords: list[float | None] = []
    for key in ("lat", "lon"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{key!r} must be a number")
        coords.append(float(value) if value is not None else None)
    return ClassificationInput(text=text, source_municipality=source, lat=coords[0], lon=coords[1])


def result_json(result: Classification) -> dict[str, Any]:
    """Return the output object of one classification."""
    return {
        "complaint": result.is_complaint,
        "complaint_confidence": result.complaint_confidence,
        "group": result.topic_group,
        "group_confidence": result.topic_group_confidence,
        "topic": result.topic,
        "topic_confidence": result.topic_confidence,
        "municipality": result.municipality,
        "municipality_oktmo": result.municipality_oktmo,
        "municipality_confidence": result.municipality_confidence,
        "municipality_candidates": [
            {"name": c.name, "oktmo": c.oktmo, "score": c.score}
            for c in result.municipality_candidates
        ],
        "evidence": [
            {"field": e.field, "text": e.text, "weight": e.weight} for e in result.evidence
        ],
        "model_version": result.model_version,
    }


def _batches(lines: Iterable[str], size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        batch.append((number, line))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def classify_stream(classifier: Classifier, source: TextIO, out: TextIO) -> tuple[int, int]:
    """Classify every non-empty line of ``source``; return (lines classified, lines in error)."""
    done = errors = 0
    for batch in _batches(source, BATCH):
        parsed: list[tuple[int, ClassificationInput | str]] = []
        for number, line in batch:
            try:
                parsed.append((number, parse_line(line)))
            except ValueError as err:  # json.JSONDecodeError is a ValueError
                parsed.append((number, f"line {number}: {err}"))
        inputs = [item for _n, item in parsed if not isinstance(item, str)]
        results = iter(classifier.classify_many(inputs))
        for _number, item in parsed:
            if isinstance(item, str):
                errors += 1
                out.write(json.dumps({"error": item}, ensure_ascii=False) + "\n")
            else:
                done += 1
                out.write(json.dumps(result_json(next(results)), ensure_ascii=False) + "\n")
        out.flush()
    return done, errors


def run(args: argparse.Namespace) -> int:
    """Classify stdin line by line; exit 0 even when some lines were malformed."""
    config = load_config_or_fail(args)
    classifier = build_classifier(config, args.model)
    done, errors = classify_stream(classifier, sys.stdin, sys.stdout)
    print(
        f"classified {done} messages ({errors} malformed lines) with {classifier.version}",
        file=sys.stderr,
    )
    return 0
