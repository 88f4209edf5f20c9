"""Convert banking77 (CSV) into a shouldtune task folder.

python data/banking77/to_task.py OUT_DIR [--train-per-class N] [--seed S] [--max-test N]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTRUCTION = (
    "Classify the online-banking customer query into exactly one intent. "
    "Answer with the intent name only, for example: card_arrival."
)


def read_rows(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def subset_per_class(rows: list[tuple[str, str]], n: int, seed: int) -> list[tuple[str, str]]:
    """Keep n rows per intent, chosen with a seeded RNG, in the original row order."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, (_, label) in enumerate(rows):
        by_label[label].append(index)
    rng = random.Random(seed)
    keep: set[int] = set()
    for label in sorted(by_label):
        indices = by_label[label]
        keep.update(rng.sample(indices, min(n, len(indices))))
    return [row for index, row in enumerate(rows) if index in keep]


def write_jsonl(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for text, label in rows:
            handle.write(json.dumps({"input": text, "output": label}, ensure_ascii=False) + "\n")


def write_task(
    out: Path,
    train_per_class: int | None = None,
    seed: int = 0,
    max_test: int | None = None,
    source: Path = HERE,
) -> Path:
    train = read_rows(source / "train.csv")
    test = read_rows(source / "test.csv")
    if train_per_class is not None:
        train = subset_per_class(train, train_per_class, seed)
    if max_test is not None:
        test = test[:max_test]
    out.mkdir(parents=True, exist_ok=True)
    labels = json.loads((source / "categories.json").read_text(encoding="utf-8"))
    yaml_text = (
        "name: banking77\n"
        f"instruction: {json.dumps(INSTRUCTION)}\n"
        f"description: {json.dumps(f'banking77 intent detection, {len(labels)} intents')}\n"
        "metric: accuracy\n"
    )
    (out / "task.yaml").write_text(yaml_text, encoding="utf-8")
    write_jsonl(out / "train.jsonl", train)
    write_jsonl(out / "test.jsonl", test)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="task folder to write")
    parser.add_argument("--train-per-class", type=int, default=None, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-test", type=int, default=None, metavar="N")
    args = parser.parse_args(argv)
    if args.train_per_class is not None and args.train_per_class < 1:
        parser.error("--train-per-class must be at least 1")
    out = write_task(args.out, args.train_per_class, args.seed, args.max_test)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
