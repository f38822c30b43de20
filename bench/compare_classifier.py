"""Not a speed figure: does a faster classifier still say what the code before it said?

Run: ``.venv/bin/python bench/compare_classifier.py --save before.pickle`` on the code before a
change, then ``.venv/bin/python bench/compare_classifier.py --against before.pickle`` on the
code after it (the SPb appeals in ../shared must be there). Every distinct SPb appeal (file
order, batches of 1 000, caches empty at the start as in bench_classifier.py) and every
message of the two noise sets (bench/data/noise_dev_threads.txt,
tests/classifier/data/noise_threads.txt, comments as comments) go through the shipped model
with the Kirov gazetteer; each message's whole ``Classification`` (complaint, group, topic,
municipality, candidates, evidence, kind) and the lemmas the models read are kept. Compared:
every field equal, the confidences within ``--tolerance`` (default 1e-9). Prints the number
of messages that differ and the first few differences.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pickle
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

NOISE_SETS = (
    ROOT / "bench" / "data" / "noise_dev_threads.txt",
    ROOT / "tests" / "classifier" / "data" / "noise_threads.txt",
)
BATCH = 1000


def _plain(value: Any) -> Any:
    """Turn dataclasses and tuples into plain data (pickled, then compared field by field)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def outputs() -> list[tuple[str, Any]]:
    """Classify every message of the sets; return (label, plain output) pairs in order."""
    from bench_classifier import Ours, load_texts

    from classifier.noise import load_noise_set
    from classifier.types import ClassificationInput

    items = [(f"spb {k}", ClassificationInput(t)) for k, t in enumerate(load_texts(10**9, 0))]
    for path in NOISE_SETS:
        items += [
            (f"{path.name} {m.id}", ClassificationInput(m.text, is_comment=m.role != "post"))
            for m in load_noise_set(path)
        ]
    ours = Ours()
    ours.cold()
    result: list[tuple[str, Any]] = []
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        done = ours.classifier.classify_with_lemmas([item for _label, item in batch])
        result += [(label, _plain(out)) for (label, _item), out in zip(batch, done, strict=True)]
    return result


def _same(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0.0, abs_tol=tolerance)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, tolerance) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def main(argv: list[str] | None = None) -> int:
    """Save the outputs, or compare them with saved ones; exit 1 when any differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", type=Path, help="write the outputs to this file")
    mode.add_argument("--against", type=Path, help="compare with outputs saved before")
    parser.add_argument("--tolerance", type=float, default=1e-9)
    args = parser.parse_args(argv)
    now = outputs()
    if args.save is not None:
        args.save.write_bytes(pickle.dumps(now))
        print(f"{len(now)} outputs saved to {args.save}")
        return 0
    before = pickle.loads(args.against.read_bytes())  # noqa: S301 - a file this script wrote
    if [label for label, _ in before] != [label for label, _ in now]:
        print("the message sets differ (another ../shared or noise set?)")
        return 1
    differing = [
        (label, old, new)
        for (label, old), (_label, new) in zip(before, now, strict=True)
        if not _same(old, new, args.tolerance)
    ]
    print(f"{len(differing)} of {len(now)} outputs differ (tolerance {args.tolerance:g})")
    for label, old, new in differing[:5]:
        print(f"  {label}:\n    before {old}\n    after  {new}")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
