"""Benchmark lemmatisation: words/s with the C DAWG and a cache, without the cache, pure Python.

Run: ``.venv/bin/python bench/bench_lemmatize.py [--words N]``. The pure-Python case runs in a
subprocess where the ``dawg`` C extension is made unimportable, so pymorphy3 falls back to its
``dawg_python`` reader; all three figures come from the same run on the same word stream.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Realistic regional VK messages: the vocabulary repeats, as it does in a real feed.
MESSAGES = [
    "Ужжжас, на ул. Ленина в Кирове опять прорвало трубу, вода хлещет третий день!!!",
    "Когда уже отремонтируют дорогу в Слободском? Ямы по колено, машины ломаются",
    "В деревне Балезинщина нет света с утра, звонили в Россети — никто не берёт трубку",
    "Жители Котельнича жалуются на мусор: контейнеры не вывозят вторую неделю",
    "Оричевский р-н, пгт Оричи: автобус №105 не ходит по расписанию, люди мёрзнут на остановке",
    "В школе №3 г. Кирово-Чепецка холодно, дети сидят в куртках, администрация молчит",
    "Спасибо коммунальщикам за быструю уборку снега во дворе дома 15 по улице Мира!",
    "Продам гараж в Перми, недорого, звоните",
    "В Березниках на Пятилетке третий день нет горячей воды, управляющая компания не отвечает",
    "Из Кунгура в Пермь не уехать — рейсы отменили, а билеты не вернули",
    "Поздравляем с днём рождения нашу любимую учительницу!",
    "В подъезде воняет, крысы бегают, УК бездействует, куда жаловаться?",
    "Во дворе сломали детскую площадку, качели висят на одной цепи, опасно для детей",
    "Скорая ехала к бабушке два часа, в ЦРБ сказали что машин нет",
    "Тротуар на Октябрьском проспекте не чистят, гололёд, люди падают",
]


def word_stream(n_words: int, seed: int = 1) -> list[str]:
    """Return ``n_words`` tokens drawn from the sample messages, as the lemmatizer sees them."""
    from classifier.text import normalize, tokenize

    vocabulary = [tokenize(normalize(m)) for m in MESSAGES]
    rng = random.Random(seed)
    words: list[str] = []
    while len(words) < n_words:
        words.extend(rng.choice(vocabulary))
    return words[:n_words]


def measure(*, cache: bool, n_words: int) -> dict[str, float | bool]:
    """Lemmatise the stream once and return words/s and whether the C extension was used."""
    from classifier.lemmatizer import Lemmatizer

    lem = Lemmatizer(cache_size=200_000 if cache else 0)
    words = word_stream(n_words)
    lem.lemmas(words[:100])  # warm the analyzer itself, not the cache
    lem.clear_cache()
    start = time.perf_counter()
    lem.lemmas(words)
    elapsed = time.perf_counter() - start
    return {"words_per_s": n_words / elapsed, "c_extension": lem.uses_c_extension}


_BLOCK_DAWG = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "dawg" or name.startswith("dawg."):
            raise ImportError("dawg blocked for the pure-Python baseline")
        return None
sys.meta_path.insert(0, _Block())
sys.path.insert(0, {root!r})
import json
sys.argv = ["bench_lemmatize.py"]
from bench.bench_lemmatize import measure
print(json.dumps(measure(cache=False, n_words={n})))
"""


def measure_pure_python(n_words: int) -> dict[str, float | bool]:
    """Measure the uncached lemmatizer in a subprocess where ``dawg`` cannot be imported."""
    code = _BLOCK_DAWG.format(root=str(ROOT), n=n_words)
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    result: dict[str, float | bool] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Print words/s for the three set-ups and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200_000, help="words per measurement")
    args = parser.parse_args()
    n = args.words

    cached = measure(cache=True, n_words=n)
    uncached = measure(cache=False, n_words=n)
    pure = measure_pure_python(max(n // 4, 1000))
    if not (cached["c_extension"] and uncached["c_extension"]):
        raise SystemExit("the dawg2 C extension is not in use: install dawg2")
    if pure["c_extension"]:
        raise SystemExit("the pure-Python baseline still used the C extension")

    base = float(pure["words_per_s"])
    rows = [
        ("C DAWG + cache", float(cached["words_per_s"])),
        ("C DAWG, no cache", float(uncached["words_per_s"])),
        ("pure-Python DAWG, no cache", base),
    ]
    print(f"lemmatisation, {n} words (pure Python: {max(n // 4, 1000)} words)")
    for name, wps in rows:
        print(f"  {name:<28} {wps:>12,.0f} words/s   x{wps / base:6.1f} vs pure Python")
    print(f"  cache speed-up over C DAWG alone: x{rows[0][1] / rows[1][1]:.1f}")


if __name__ == "__main__":
    main()
