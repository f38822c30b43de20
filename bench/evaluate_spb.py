"""Evaluate the classifier on the labelled St Petersburg appeals: the same as ``evaluate``.

Run: ``.venv/bin/python bench/evaluate_spb.py [--data DIR] [--steps 0,100,500,2000] [--limit N]``.

Reads ../shared/data/spb-nash-peterburg at run time (never copied into the project) and prints
per-group precision/recall/F1, macro-F1, the ten largest confusions, the confusion matrix, the
group confidence's reliability table with the accuracy of what each threshold routes, and the
learning curve (cold start, then after N appeals fed in as operator corrections, scored on the
remaining appeals).
Exit code 2 when the data is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    """Run ``incident-management evaluate`` with these arguments."""
    from app.cli import main as cli_main

    return cli_main(["evaluate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
