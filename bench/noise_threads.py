"""The measured noise set read two ways: the text alone, and each comment in its thread.

Run: ``.venv/bin/python bench/noise_threads.py [--model DIR] [--set FILE]`` (default: the
measured set; ``--set bench/data/noise_dev_threads.txt`` is the dev set, the one to tune on).

Text alone: a message is a complaint when the classifier says so (``evaluate --noise-only``).
In its thread: the pipeline's reading (``router.thread.decide_thread``), with the post's
incident being "the post was called a complaint". A message "acts" (opens or joins an incident
as a complaint) when the reading is ``own`` and the classifier calls it a complaint, or
``same_elsewhere``; support attaches without being a complaint. Scored against the labels:
``complaint`` and ``same`` should act, every other kind should not. Prints both side by side,
what the thread did per label, and the incidents of their own the set would open (a post
called a complaint; a comment that is the same problem elsewhere, or a complaint whose topic
group differs from its post's incident) with the share of them that are noise.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NOISE_SET = ROOT / "tests" / "classifier" / "data" / "noise_threads.txt"


def main(argv: list[str] | None = None) -> int:
    """Print text-alone and thread-read complaint precision/recall on the measured set."""
    from classifier.noise import COMPLAINT, SAME, load_noise_set
    from classifier.pipeline import load_classifier
    from classifier.types import ClassificationInput
    from router.fingerprint import extract_address
    from router.thread import (
        ParentIncident,
        ThreadAction,
        ThreadMessage,
        addresses_commenter,
        decide_thread,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--set", type=Path, default=NOISE_SET, help="a thread set to score")
    args = parser.parse_args(argv)
    messages = load_noise_set(args.set)
    classifier = load_classifier(args.model)
    results = classifier.classify_many(
        [ClassificationInput(m.text, is_comment=m.role != "post") for m in messages]
    )
    by_id = {m.id: (m, r) for m, r in zip(messages, results, strict=True)}
    lemmatize = classifier.lemmatizer.lemmatize_text
    actions: Counter[tuple[str, str]] = Counter()
    opened = Counter[str]()
    text_hits = Counter[str]()
    thread_hits = Counter[str]()
    for n, (message, result) in enumerate(zip(messages, results, strict=True)):
        parent = None
        if message.parent_id is not None:
            post, post_result = by_id[message.parent_id]
            if post_result.is_complaint:
                parent = ParentIncident(
                    id=n,
                    topic_group=post_result.topic_group,
                    topic=post_result.topic,
                    municipality_oktmo=post_result.municipality_oktmo,
                    addresses=frozenset({extract_address(post.text)}),
                )
        decision = decide_thread(
            ThreadMessage(
                classification=result,
                lemmas=tuple(lemmatize(message.text)),
                is_comment=message.role != "post",
                address=extract_address(message.text),
                replies_to_commenter=addresses_commenter(message.text),
                parent_incident=parent,
            )
        )
        actions[(message.label, decision.action.value)] += 1
        acts = decision.action is ThreadAction.SAME_ELSEWHERE or (
            decision.action is ThreadAction.OWN and result.is_complaint
        )
        truth = message.label in (COMPLAINT, SAME)
        for hits, called in ((text_hits, result.is_complaint), (thread_hits, acts)):
            hits["tp" if called and truth else "fp" if called else "fn" if truth else "tn"] += 1
        # Incidents of their own: a post called a complaint; a comment that is the same problem
        # elsewhere, or a complaint about something other than its post's incident.
        if message.parent_id is None:
            opens, should = bool(result.is_complaint), message.label == COMPLAINT
        else:
            post = by_id[message.parent_id][0]
            opens = decision.action is ThreadAction.SAME_ELSEWHERE or (
                decision.action is ThreadAction.OWN
                and result.is_complaint
                and (parent is None or result.topic_group != parent.topic_group)
            )
            should = message.label == SAME or (
                message.label == COMPLAINT
                and (post.label != COMPLAINT or post.group != message.group)
            )
        opened["opened" if opens else "not"] += 1
        opened[
            "noise" if opens and not should else "ok" if opens else "missed" if should else ""
        ] += 1

    def pr(h: Counter[str]) -> str:
        p = h["tp"] / max(h["tp"] + h["fp"], 1)
        r = h["tp"] / max(h["tp"] + h["fn"], 1)
        return f"precision {p:.3f}, recall {r:.3f} (tp {h['tp']}, fp {h['fp']}, fn {h['fn']})"

    print(f"{classifier.version}: {len(messages)} messages; 'same' counts as a complaint here")
    print(f"text alone:     {pr(text_hits)}")
    print(f"in its thread:  {pr(thread_hits)}")
    share = opened["noise"] / max(opened["opened"], 1)
    print(
        f"incidents of their own: {opened['opened']}, of which noise {opened['noise']} "
        f"({share:.1%}); incidents that should open but do not: {opened['missed']}"
    )
    labels = sorted({label for label, _ in actions})
    names = [a.value for a in ThreadAction]
    print(f"{'label':<10} " + " ".join(f"{a:>14}" for a in names))
    for label in labels:
        print(f"{label:<10} " + " ".join(f"{actions[(label, a)]:>14d}" for a in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
