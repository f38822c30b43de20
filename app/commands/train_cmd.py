"""``train``: rebuild the text models from the seed corpus and, optionally, operators' labels."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.commands._common import add_command, load_config_or_fail
from app.commands.classify_cmd import DEFAULT_MODEL_DIR
from app.errors import CliError

if TYPE_CHECKING:
    from app.commands._common import Subparsers
    from app.config import Config
    from classifier.train import OperatorLabel

logger = logging.getLogger(__name__)


def register(subparsers: Subparsers) -> None:
    """Add the ``train`` command."""
    parser = add_command(
        subparsers,
        "train",
        help="rebuild the classifier's models (seed corpus + operators' labels)",
    )
    parser.add_argument(
        "--labels-from-db",
        action="store_true",
        help="also learn from the operators' corrections in the database (training_labels)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="artefact directory to write (default: classifier.model_dir of the configuration, "
        f"else ./{DEFAULT_MODEL_DIR})",
    )
    parser.add_argument(
        "--seed-corpus",
        type=Path,
        default=None,
        metavar="PATH",
        help="seed corpus in JSON Lines (default: the shipped one)",
    )
    parser.add_argument(
        "--rubricator",
        type=Path,
        default=None,
        metavar="PATH",
        help="rubricator JSON (topic -> group; default: classifier.rubricator of the "
        "configuration, else the shipped one)",
    )
    parser.add_argument(
        "--holdout-scores",
        action="store_true",
        help="also fit on 80%% of the seed corpus and record the scores on the rest (slower)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write the new model even if it does not score better than the one in --out",
    )
    parser.set_defaults(handler=run)


def read_db_labels(config: Config) -> list[OperatorLabel]:
    """Read every operator correction from the configured database, oldest first."""
    import sqlalchemy as sa

    from classifier.train import OperatorLabel, label_field
    from storage.db import create_engine_for, make_sessionmaker
    from storage.errors import StorageError
    from storage.models import TrainingLabel

    try:
        engine = create_engine_for(config.database.url)
        try:
            with make_sessionmaker(engine)() as session:
                rows = session.execute(
                    sa.select(
                        TrainingLabel.text, TrainingLabel.field, TrainingLabel.value
                    ).order_by(TrainingLabel.created_at, TrainingLabel.id)
                ).all()
        finally:
            engine.dispose()
    except (StorageError, sa.exc.SQLAlchemyError) as err:
        raise CliError(f"cannot read training labels: {err}") from err
    return [OperatorLabel(text=r[0], field=label_field(str(r[1])), value=r[2]) for r in rows]


def run(args: argparse.Namespace) -> int:
    """Train, compare with the model in --out on held-back labels, write it if promoted."""
    from classifier.artifact import ModelArtifactError, load_artifact, read_manifest, save_artifact
    from classifier.corpus import CorpusError, load_seed_corpus
    from classifier.lemmatizer import Lemmatizer
    from classifier.rubricator import RubricatorError, load_rubricator
    from classifier.train import retrain_and_promote, seed_holdout_scores

    # The configuration supplies defaults when present; it is required only for the labels.
    config = (
        load_config_or_fail(args) if args.labels_from_db or Path(args.config).is_file() else None
    )
    configured = config.classifier if config is not None else None
    rubricator_path = args.rubricator or (configured.rubricator if configured else None)
    try:
        rubricator = load_rubricator(rubricator_path)
        seed = load_seed_corpus(args.seed_corpus, rubricator=rubricator)
    except (RubricatorError, CorpusError) as err:
        raise CliError(str(err)) from err
    labels = read_db_labels(config) if args.labels_from_db and config is not None else []
    current = None
    out: Path = args.out or (
        configured.model_dir if configured and configured.model_dir else DEFAULT_MODEL_DIR
    )
    if (out / "manifest.json").is_file():
        try:
            current = load_artifact(out)
        except ModelArtifactError as err:
            print(
                f"warning: the model in {out} is not usable ({err}); replacing it", file=sys.stderr
            )
    lemmatizer = Lemmatizer()
    print(f"training on {len(seed)} seed examples and {len(labels)} labels…", file=sys.stderr)
    trained, decision = retrain_and_promote(
        seed,
        labels,
        current=current.models if current is not None else None,
        lemmatize=lemmatizer.lemmatize_text,
        rubricator=rubricator,
    )
    promoted = decision.promoted or args.force
    report: dict[str, Any] = {"promotion": decision.to_json(), "forced": args.force}
    if current is not None:
        report["current_version"] = current.version
    if promoted:
        scores: dict[str, Any] = {"promotion": decision.to_json()}
        if args.holdout_scores:
            scores["seed_holdout"] = seed_holdout_scores(
                seed, lemmatize=lemmatizer.lemmatize_text, rubricator=rubricator
            )
            report["seed_holdout"] = scores["seed_holdout"]
        info = save_artifact(trained.models, out, training=trained.training, scores=scores)
        report["written"] = {"version": info.version, "path": str(out)}
    else:
        report["written"] = None
        report["kept_version"] = read_manifest(out).version
    print(json.dumps(report, ensure_ascii=False, indent=2))
    verdict = (
        f"wrote {report['written']['version']} to {out}" if promoted else "kept the current model"
    )
    print(f"{decision.reason}; {verdict}", file=sys.stderr)
    return 0
