"""Share of noise incidents in a demo-like run: the emulator's region through the pipeline.

Run: ``.venv/bin/python bench/demo_noise_share.py [--groups N] [--days D] [--model DIR]``.

The emulator's generator labels what it writes: a post is a complaint of a topic or a
non-complaint kind (ad, congrats, news, pets); its comments are drawn from generic pools («Та
же беда», «Пишите в ЦУР…», «Позор, а налоги платим исправно», replies «Дарья, …») of which only
«У нас на <улица> то же самое» names a problem worth an incident of its own. The region's posts
and comments of the last ``--days`` are stored in a temporary SQLite database and processed by
the pipeline with the shipped classifier (Kirov gazetteer); an incident is *noise* when the
message that opened it is a non-complaint post or a generic comment. Prints the incidents, the
noise ones by what opened them, and the share. Counted, not guessed; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    """Generate the region, run the pipeline over it, count the noise incidents."""
    from app.pipeline import Pipeline
    from classifier.pipeline import load_classifier
    from collector.types import VkComment, VkPost
    from emulator.vk import texts
    from emulator.vk.world import RegionSpec, generate_world
    from storage.enums import IncidentStatus
    from storage.repositories import IncidentRepository
    from storage.repositories.grouping import GroupingRepository
    from storage.repositories.messages import MessageRepository
    from tests.app.test_pipeline_support import add_source
    from tests.factories import world

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=30)
    parser.add_argument("--days", type=float, default=2.0)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--examples", type=int, default=0, help="print N noise openers' texts")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        w = world(f"sqlite:///{tmp}/demo.db")
        now = w.clock()
        region = generate_world(
            RegionSpec(groups=args.groups, history_days=args.days), lambda: now.timestamp()
        )
        source = add_source(w.sm)
        opened_by: dict[str, str] = {}
        texts_of: dict[str, str] = {}
        stored = Counter[str]()
        with w.sm.begin() as session:
            repo = MessageRepository(session)
            for post in region.visible_posts(accessible_only=True):
                at = datetime.fromtimestamp(post.date, UTC)
                item = VkPost(
                    owner_id=post.owner_id,
                    id=post.post_id,
                    from_id=post.from_id,
                    date=at,
                    text=post.text,
                )
                repo.upsert_post(source.id, item, now)
                other = post.label not in texts.COMPLAINTS
                opened_by[item.external_id] = f"post:{post.label}" if other else ""
                texts_of[item.external_id] = post.text
                stored["posts"] += 1
            for c in region.visible_comments(accessible_only=True):
                at = datetime.fromtimestamp(c.date, UTC)
                reply = VkComment(
                    owner_id=c.owner_id,
                    post_id=c.post_id,
                    id=c.comment_id,
                    from_id=c.from_id,
                    date=at,
                    text=c.text,
                )
                repo.upsert_comment(source.id, reply, now)
                same = "то же самое" in c.text
                kind = "reply" if c.reply_to_comment else "comment"
                opened_by[reply.external_id] = "" if same else f"{kind}:{c.text[:40]}"
                stored["comments"] += 1
        classifier = load_classifier(args.model, region="kirov")
        pipeline = Pipeline(
            sessionmaker=w.sm,
            workflow=w.workflow,
            classifier=classifier,
            lemmatizer=classifier.lemmatizer,
            clock=w.clock,
        )
        report = pipeline.run_once()
        noise = Counter[str]()
        examples: list[str] = []
        total = 0
        with w.sm() as session:
            grouping = GroupingRepository(session)
            for record in IncidentRepository(session).by_status(list(IncidentStatus)):
                links = grouping.evidence(record.id)
                if not links:
                    continue  # a surge's parent
                total += 1
                first = links[0][0]
                why = opened_by.get(first, "")
                if why:
                    noise[why.split(":")[0] + ":" + why.split(":", 1)[1][:40]] += 1
                    examples.append(f"{why.split(':')[0]}: {texts_of.get(first, why)[:100]}")
    share = sum(noise.values()) / max(total, 1)
    print(f"{classifier.version}: {stored['posts']} posts, {stored['comments']} comments")
    print("\n".join(report.lines()))
    print(f"incidents: {total}, noise: {sum(noise.values())} ({share:.1%})")
    for why, n in noise.most_common(12):
        print(f"  {n:4d}  {why}")
    for text in examples[: args.examples]:
        print(f"  e.g. {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
