"""Generate the tool-calculator task: arithmetic word problems whose answers must be exact.

A small model guesses at 3-digit multiplication; with a calculator tool (tools.py) or a
pipeline that lets Python do the arithmetic (pipeline.py) it can be exact. Seeded:

    python examples/tool-calculator/generate.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from shouldtune.audit.near import THRESHOLD, jaccard, shingles

HERE = Path(__file__).resolve().parent
SEED = 11
N_TRAIN, N_TEST = 60, 30


def problem(rng: random.Random) -> tuple[str, int]:
    a, b, c = rng.randint(112, 989), rng.randint(13, 97), rng.randint(105, 940)
    forms = [
        (f"What is {a} times {b}?", a * b),
        (f"What is {a} plus {c} minus {b}?", a + c - b),
        (f"A crate holds {b} bottles. How many bottles are in {a} crates?", a * b),
        (f"Each ticket costs {b} euros. What do {a} tickets cost in euros?", a * b),
        (f"{a * b} apples are shared equally among {b} baskets. How many apples per basket?", a),
        (f"A train travels {b} km every hour for {a} hours. How many km does it travel?", a * b),
    ]
    return rng.choice(forms)


def rows(
    rng: random.Random, n: int, seen: set[str], avoid: list[set[str]] | None = None
) -> list[dict[str, str]]:
    """n new problems; none with the same wording as a training one's up to the numbers
    (`avoid`: the audit's near-duplicate rule would call that train/test leakage)."""
    out = []
    while len(out) < n:
        question, answer = problem(rng)
        grams = shingles(question)
        if question in seen or any(jaccard(grams, g) >= THRESHOLD for g in avoid or []):
            continue
        seen.add(question)
        out.append({"input": question, "output": str(answer)})
    return out


def main() -> None:
    rng, seen = random.Random(SEED), set()
    train = rows(rng, N_TRAIN, seen)
    test = rows(rng, N_TEST, seen, avoid=[shingles(r["input"]) for r in train])
    for name, data in (("train.jsonl", train), ("test.jsonl", test)):
        lines = [json.dumps(r) for r in data]
        (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {N_TRAIN} train and {N_TEST} test problems to {HERE}")


if __name__ == "__main__":
    main()
