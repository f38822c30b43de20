"""The dev set (tuning) and the measured set (testing) share no text."""

from __future__ import annotations

import re
from pathlib import Path

from classifier.noise import NOISE_KINDS, load_noise_set

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "bench" / "data" / "noise_dev_threads.txt"
MEASURED = ROOT / "tests" / "classifier" / "data" / "noise_threads.txt"


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+|[^\w\s]", text.casefold().replace("ё", "е")))


def test_the_dev_set_loads_and_is_apart_from_the_measured_set() -> None:
    dev = load_noise_set(DEV)
    measured = {_key(m.text) for m in load_noise_set(MEASURED)}
    assert len(dev) >= 150
    assert {m.label for m in dev} >= {"complaint", "same", *NOISE_KINDS}
    assert not {_key(m.text) for m in dev} & measured
