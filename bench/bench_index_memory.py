"""Benchmark the grouping index's memory: bytes a message, on emulator texts, deterministic.

Run: ``.venv/bin/python bench/bench_index_memory.py [--messages 20000]``.

The emulator's synthetic region (300 communities, its posts and comments) gives the texts;
each message gets a seeded random topic group, municipality, author and reach and a time in
the ten hours before a fixed instant, and goes through ``GroupingIndex.process`` one at a
time. tracemalloc measures what the index holds afterwards (the messages themselves, built
before, are not counted), beside the same figure for the messages' own objects (the baseline
in the same run: what the pipeline's batch holds anyway). A digest of where every message went
lets two versions be compared: a memory change must not change it. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import random
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    """Fill an index with ``--messages`` messages; print its size and a digest of the links."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=0, help="print the N largest lines too")
    args = parser.parse_args(argv)

    from classifier.lemmatizer import Lemmatizer
    from emulator.vk.server import VkEmulator
    from router.fingerprint import extract_address
    from router.grouping import GroupingIndex, GroupingMessage, IncidentSeed, Reach

    emu = VkEmulator(seed=1, groups=300)
    texts = [p.text for p in emu.visible_posts()] + [c.text for c in emu.visible_comments()]
    texts = [t for t in texts if t]
    lemmatizer = Lemmatizer()
    rnd = random.Random(1)
    end = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    messages = []
    for i in range(args.messages):
        text = texts[i % len(texts)]
        messages.append(
            GroupingMessage(
                key=f"vk:-{i}_{i * 7}",
                network="vk",
                text=text,
                lemmas=tuple(lemmatizer.lemmatize_text(text)),
                topic_group=rnd.choice(["ЖКХ", "Дороги", "Благоустройство"]),
                topic=None,
                municipality_oktmo=rnd.choice(["33701000", "33707000", None]),
                posted_at=end - dt.timedelta(seconds=rnd.randrange(36_000)),
                author_id=str(rnd.randrange(10**6)),
                reach=Reach(rnd.randrange(1000), rnd.randrange(50), 0, 0),
                address=extract_address(text),
            )
        )
    gc.collect()
    built = tracemalloc.get_traced_memory()[0]
    index = GroupingIndex()
    ids = iter(range(1, 10**9))

    def create(seed: IncidentSeed) -> int:
        return next(ids)

    for message in messages:
        index.process(message, create)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    links = repr([(m.key, index.incident_of(m.key)) for m in messages]).encode()
    n = args.messages
    print(f"{len(texts)} emulator texts; {n} messages into {len(index._incidents)} incidents")
    print(
        f"baseline: the messages themselves {(built - before) / MB:.1f} MB, "
        f"{(built - before) / n:.0f} bytes a message"
    )
    print(f"the index: {(held - built) / MB:.1f} MB, {(held - built) / n:.0f} bytes a message")
    print(f"digest of the links: {hashlib.sha256(links).hexdigest()[:12]}")
    if args.top:
        for stat in tracemalloc.take_snapshot().statistics("lineno")[: args.top]:
            print(f"  {stat.size / MB:6.2f} MB {stat.count:7d}  {stat.traceback[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
