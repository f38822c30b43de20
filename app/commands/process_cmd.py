"""``process``: run the pipeline once over stored messages and print what it did."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from app.commands._common import add_command, exclusive_job, load_config_or_fail
from app.errors import CliError

if TYPE_CHECKING:
    from app.commands._common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the ``process`` command."""
    parser = add_command(
        subparsers,
        "process",
        help="classify and group the stored messages not processed yet, then route new incidents",
    )
    parser.add_argument(
        "--limit", type=int, default=None, metavar="N", help="process at most N messages"
    )
    from app.commands.classify_cmd import add_model_option

    add_model_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the pipeline once; print counts (exit 1 if any message failed)."""
    from app.bootstrap import bootstrap
    from app.commands.classify_cmd import build_classifier
    from app.commands.sources_cmd import open_database
    from app.pipeline import Pipeline
    from app.routing import build_routing
    from app.runtime import utc_clock
    from app.workflow import Workflow

    if args.limit is not None and args.limit <= 0:
        raise CliError("--limit must be positive")
    config = load_config_or_fail(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sessions = open_database(config)
    bootstrap(config, sessions)
    classifier = build_classifier(config, args.model)
    routing = build_routing(config)
    workflow = Workflow(sessionmaker=sessions, clock=utc_clock, routing=routing)
    pipeline = Pipeline(
        sessionmaker=sessions,
        workflow=workflow,
        classifier=classifier,
        lemmatizer=classifier.lemmatizer,
        clock=utc_clock,
        jurisdiction=routing.jurisdiction,
        zone=config.region.zone,
    )
    with exclusive_job(config, sessions, "process"):
        report = pipeline.run_once(args.limit)
    rebuild = pipeline.last_rebuild
    if rebuild is not None:
        print(
            f"grouping index: {rebuild.incidents} open incidents, {rebuild.messages} messages, "
            f"{rebuild.tombstones} tombstones loaded in {rebuild.seconds:.2f} s"
        )
    print(f"model: {classifier.version}")
    for line in report.lines():
        print(line)
    return 1 if report.errors else 0
