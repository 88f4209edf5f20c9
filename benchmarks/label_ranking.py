"""Label ranking with the options packed behind one copy of the prompt (a 4D attention mask)
against one row per option (each holding its own copy of the prompt's cache), same model, same
prompts, same run:

    .venv/bin/python benchmarks/label_ranking.py [--k 4 16] [--n 6] [--contexts 1 4]

Prompts are banking77's (examples/banking77, 77 labels), each test row with its own k
demonstrations (as few_shot_knn builds them: no prefix shared across rows). Checks that both
layouts choose the same label and give the same scores, prints a table and writes
benchmarks/results/label_ranking.json.
"""

from __future__ import annotations

import argparse
import json
import random

from benchutil import ROOT, load_bundled_lm, machine, table, timed, write_json

from shouldtune.core import prompts
from shouldtune.core.types import Example
from shouldtune.models import likelihood
from shouldtune.strategies import answering

TASK = ROOT / "examples" / "banking77"
INSTRUCTION = "Classify the banking customer query. Answer with the intent label only."


def rows(split: str) -> list[Example]:
    lines = (TASK / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [Example(r["input"], r["output"]) for r in map(json.loads, lines) if r]


def convos(k: int, n: int) -> list:
    """Each test row with its own seeded k demonstrations: one context per row."""
    train, test = rows("train"), rows("test")[:n]
    return [prompts.few_shot(INSTRUCTION, random.Random(i).sample(train, k), ex)
            for i, ex in enumerate(test)]  # fmt: skip


def rank(lm, chats: list, labels: list[str], packed: bool, contexts: int) -> tuple[float, list]:
    likelihood.PACKABLE = ("sdpa", "eager") if packed else ()
    answering.RANK_CONTEXTS = contexts
    return timed(lambda: answering.rank_labels(lm, chats, labels))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, nargs="+", default=[4, 16], help="demonstrations")
    ap.add_argument("--n", type=int, default=6, help="test rows ranked")
    ap.add_argument("--contexts", type=int, nargs="+", default=[1, 4],
                    help="prompts per ranking pass (packed layout)")  # fmt: skip
    args = ap.parse_args()

    lm = load_bundled_lm()
    labels = sorted({ex.output for ex in rows("train")})
    rank(lm, convos(2, 1), labels, True, 1)  # warm-up
    table_rows = []
    for k in args.k:
        chats = convos(k, args.n)
        tokens = sum(len(lm.encode(lm.render(c))) for c in chats) / len(chats)
        base_s, base = rank(lm, chats, labels, False, 1)
        for contexts in args.contexts:
            packed_s, packed = rank(lm, chats, labels, True, contexts)
            same = sum(a.text == b.text for a, b in zip(base, packed, strict=True))
            margin = max(abs(a.meta.get("label_margin", 0) - b.meta.get("label_margin", 0))
                         for a, b in zip(base, packed, strict=True))  # fmt: skip
            table_rows.append({
                "k": k, "prompt_tokens_mean": round(tokens, 1), "labels": len(labels),
                "contexts_per_pass": contexts,
                "s_per_row_one_option_per_row": round(base_s / len(chats), 3),
                "s_per_row_packed": round(packed_s / len(chats), 3),
                "speedup": round(base_s / packed_s, 1),
                "same_label": f"{same}/{len(chats)}", "max_margin_diff": round(margin, 5),
            })  # fmt: skip
            print(f"k={k} contexts={contexts}: {base_s:.1f} s one per row, "
                  f"{packed_s:.1f} s packed", flush=True)  # fmt: skip
    headers = list(table_rows[0])
    print()
    print(table(headers, [[r[h] for h in headers] for r in table_rows]))
    info = machine()
    print(f"\nmachine: {info}")
    path = write_json("label_ranking", {"machine": info, "args": vars(args), "rows": table_rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
