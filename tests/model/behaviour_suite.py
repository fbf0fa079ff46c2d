"""A hand-written behavioural suite (CheckList-style: Ribeiro et al. 2020) for the served model.

Each capability holds clear-cut cases a person would not argue about. Two kinds:

* ``Case(text, label)`` - minimum functionality: the served label must be ``label``;
* ``Invariance(base, variant)`` - the label of ``variant`` (the base with irrelevant text added,
  re-cased or with typos) must equal the label of ``base``, and ``base`` must be right.

Run as a script to print the per-capability pass rates for the README and the model card::

    python -m tests.model.behaviour_suite            # the committed default model
    python -m tests.model.behaviour_suite --version 2
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

POS, NEG = "positive", "negative"


@dataclass(frozen=True)
class Case:
    text: str
    label: str


@dataclass(frozen=True)
class Invariance:
    base: Case
    variant: str


Item = Case | Invariance

SUITE: dict[str, list[Item]] = {
    "negation": [
        Case("This movie was not good at all. I would not recommend it.", NEG),
        Case("The film was not good.", NEG),
        Case("Not a good movie.", NEG),
        Case("I did not like this film at all.", NEG),
        Case("I didn't enjoy a single minute of it.", NEG),
        Case("This is not a film I would ever watch again.", NEG),
        Case("Not worth your time or your money.", NEG),
        Case("The acting was not convincing and the story made no sense.", NEG),
        Case("It was not bad at all, I actually enjoyed it a lot.", POS),
        Case("I was never bored for a second.", POS),
        Case("I can't remember the last time I laughed this much. Loved it.", POS),
        Case("There is not a single dull moment in this wonderful film.", POS),
        Case("Nobody could dislike this charming, funny movie.", POS),
        Case("I don't think I have ever been so disappointed by a film.", NEG),
    ],
    "contrast": [
        Case(
            "I expected to hate it, but it turned out to be one of the best films of the year.",
            POS,
        ),
        Case("The trailer looked great, but the movie itself is a boring mess.", NEG),
        Case("Great cast, but the script is awful and the whole thing is a waste of time.", NEG),
        Case("The first half drags a little, but the ending is brilliant and moving.", POS),
        Case("The effects are impressive, but the story is dull and the acting is terrible.", NEG),
        Case("It has a slow start, but it becomes a gripping, beautiful film.", POS),
        Case("I wanted to like it, but it was painfully boring.", NEG),
        Case("Critics hated it, but I loved every minute.", POS),
        Case("Despite a weak opening, the film is a triumph.", POS),
        Case("Although the cinematography is lovely, the movie is tedious and pointless.", NEG),
    ],
    "intensifiers": [
        Case("Absolutely wonderful.", POS),
        Case("An extremely good film.", POS),
        Case("Truly a masterpiece, incredibly well made.", POS),
        Case("Really, really enjoyable.", POS),
        Case("Utterly awful.", NEG),
        Case("Extremely boring and incredibly stupid.", NEG),
        Case("Totally pointless and deeply annoying.", NEG),
        Case("The most dreadful film I have ever seen.", NEG),
    ],
    "casing and typos": [
        Invariance(Case("This movie was fantastic.", POS), "THIS MOVIE WAS FANTASTIC!!!"),
        Invariance(Case("A terrible, boring film.", NEG), "a TERRIBLE, boring FILM"),
        Invariance(
            Case("I loved this movie, it was great.", POS), "i luved this movie, it was grat"
        ),
        Invariance(Case("The worst film of the year.", NEG), "The worst flim of the year."),
        Invariance(Case("A beautiful and moving story.", POS), "A beautifull and moving story."),
        Invariance(
            Case("Awful acting and a stupid plot.", NEG), "Awfull acting and a stupid plot."
        ),
        Invariance(Case("Great film, highly recommended.", POS), "great film highly recomended"),
        Invariance(Case("What a boring waste of time.", NEG), "what a boring wast of time"),
    ],
    "irrelevant filler": [
        Invariance(
            Case("A wonderful film with brilliant performances.", POS),
            "I watched it on a Tuesday evening with my cousin. "
            "A wonderful film with brilliant performances.",
        ),
        Invariance(
            Case("A dull, lifeless mess.", NEG),
            "A dull, lifeless mess. We bought popcorn and parked near the theater.",
        ),
        Invariance(
            Case("One of the funniest comedies I have seen.", POS),
            "The screening started at eight. One of the funniest comedies I have seen. "
            "The film is about two hours long.",
        ),
        Invariance(
            Case("The plot is ridiculous and the dialogue is painful.", NEG),
            "My friend recommended it last week. "
            "The plot is ridiculous and the dialogue is painful.",
        ),
        Invariance(
            Case("I loved it and would happily watch it again.", POS),
            "I loved it and would happily watch it again. It was released in 2004 in color.",
        ),
        Invariance(
            Case("Terrible. Avoid it.", NEG),
            "I saw this on DVD at a friend's house on Sunday afternoon. Terrible. Avoid it.",
        ),
    ],
    "one-liners": [
        Case("Loved it.", POS),
        Case("A masterpiece.", POS),
        Case("Two thumbs up!", POS),
        Case("Brilliant from start to finish.", POS),
        Case("A delight.", POS),
        Case("Funny, smart and touching.", POS),
        Case("Highly recommended.", POS),
        Case("Awful.", NEG),
        Case("Boring and predictable.", NEG),
        Case("Worst film I have ever seen.", NEG),
        Case("A complete waste of time.", NEG),
        Case("Avoid at all costs.", NEG),
        Case("Painfully dull.", NEG),
        Case("Terrible acting.", NEG),
    ],
    "other domains": [
        Case("The food was delicious and the service was excellent.", POS),
        Case("Great product, works perfectly and arrived on time.", POS),
        Case("The staff were friendly and the room was spotless.", POS),
        Case("Best pizza in town, we will definitely come back.", POS),
        Case("The battery died after two days. Very disappointed.", NEG),
        Case("The waiter was rude and the soup was cold.", NEG),
        Case("Cheap plastic, broke within a week. Do not buy.", NEG),
        Case("Terrible customer service and the food was bland.", NEG),
    ],
}

Scorer = Callable[[Sequence[str]], list[str]]  # texts -> served labels


def run_suite(
    score: Scorer, suite: dict[str, list[Item]] | None = None
) -> dict[str, tuple[int, int, list[str]]]:
    """Per capability: (passed, total, texts that failed)."""
    results: dict[str, tuple[int, int, list[str]]] = {}
    for capability, items in (SUITE if suite is None else suite).items():
        texts: list[str] = []
        for item in items:
            texts.extend([item.text] if isinstance(item, Case) else [item.base.text, item.variant])
        labels = iter(score(texts))
        passed, failed = 0, []
        for item in items:
            if isinstance(item, Case):
                ok = next(labels) == item.label
                shown = item.text
            else:
                base, variant = next(labels), next(labels)
                ok = base == item.base.label and variant == base
                shown = item.variant
            passed += ok
            if not ok:
                failed.append(shown)
        results[capability] = (passed, len(items), failed)
    return results


def format_results(results: dict[str, tuple[int, int, list[str]]]) -> str:
    lines = ["| capability | passed | pass rate |", "|---|---|---|"]
    total_passed = sum(p for p, _, _ in results.values())
    total = sum(n for _, n, _ in results.values())
    for capability, (passed, n, _) in results.items():
        lines.append(f"| {capability} | {passed}/{n} | {passed / n:.0%} |")
    lines.append(f"| **all** | {total_passed}/{total} | {total_passed / total:.0%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    p = argparse.ArgumentParser(prog="python -m tests.model.behaviour_suite")
    p.add_argument("--version", type=int, help="model version (default: the highest)")
    p.add_argument("--scoring", choices=["whole", "last"], help="default: the model's own")
    p.add_argument(
        "--suite", choices=["main", "heldout"], default="main",
        help="heldout: the negation cases of tests/model/negation_heldout.py",
    )  # fmt: skip
    args = p.parse_args(argv)
    suite = SUITE
    if args.suite == "heldout":
        from tests.model.negation_heldout import HELDOUT

        suite = HELDOUT
    with TestClient(create_app(Settings(model_version=args.version))) as client:

        def score(texts: Sequence[str]) -> list[str]:
            body: dict[str, object] = {"texts": list(texts)}
            if args.scoring:
                body["scoring"] = args.scoring
            response = client.post("/predict", json=body)
            response.raise_for_status()
            return [p["label"] for p in response.json()["predictions"]]

        results = run_suite(score, suite)
    print(format_results(results))
    for capability, (_, _, failed) in results.items():
        for text in failed:
            print(f"FAILED [{capability}] {text}")
    return 0


if __name__ == "__main__":
    # Through the importable module, so that suites defined elsewhere share its Case class.
    from tests.model.behaviour_suite import main as imported_main

    raise SystemExit(imported_main())
