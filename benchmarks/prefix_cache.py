"""Few-shot evaluation with and without reuse of the shared prompt prefix's KV cache.

few_shot (random selection) puts the same k demonstrations in front of every request, so all
prompts share a long token prefix. With reuse, its keys and values are computed once and copied
into each batch; without, every request recomputes them. Same model, same prompts, same run:

    .venv/bin/python benchmarks/prefix_cache.py [--k 4 8 16] [--n 40] [--batch-size 8]

Checks that both give identical answers on the real model (they must: greedy, same tokens),
prints a table and writes benchmarks/results/prefix_cache.json.
"""

from __future__ import annotations

import argparse
import random

from benchutil import demo_rows, load_bundled_lm, machine, table, timed, write_json

from shouldtune.core import prompts
from shouldtune.core.types import Example
from shouldtune.models.decode import common_prefix_len
from shouldtune.models.lm import LanguageModel

INSTRUCTION = "Write the order code for this message."


def few_shot_convos(k: int, n: int, seed: int = 0) -> list:
    """As the few_shot strategy builds them: one seeded random set of k demonstrations."""
    train = [Example(r["input"], r["output"]) for r in demo_rows("train")]
    test = [Example(r["input"], r["output"]) for r in demo_rows("test")[:n]]
    shots = random.Random(seed).sample(train, k)
    return [prompts.few_shot(INSTRUCTION, shots, ex) for ex in test]


def run_once(lm: LanguageModel, convos: list, args: argparse.Namespace, reuse: bool) -> tuple:
    fresh = LanguageModel(lm.name, lm.model, lm.tokenizer)  # nothing cached beforehand
    return timed(
        lambda: fresh.generate(convos, args.max_new_tokens, args.batch_size, reuse_prefix=reuse)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, nargs="+", default=[4, 8, 16], help="demonstrations")
    ap.add_argument("--n", type=int, default=40, help="test requests")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    args = ap.parse_args()

    lm = load_bundled_lm()
    lm.generate(few_shot_convos(2, 2), 2, 2)  # warm-up
    rows = []
    for k in args.k:
        convos = few_shot_convos(k, args.n)
        encoded = [lm.encode(lm.render(c)) for c in convos]
        shared = common_prefix_len(encoded)
        mean_len = sum(len(e) for e in encoded) / len(encoded)
        plain_s, plain = run_once(lm, convos, args, reuse=False)
        cached_s, cached = run_once(lm, convos, args, reuse=True)
        same = sum(a == b for a, b in zip(plain, cached, strict=True))
        rows.append(
            {
                "k": k,
                "prompt_tokens_mean": round(mean_len, 1),
                "shared_prefix_tokens": shared,
                "seconds_without_reuse": round(plain_s, 3),
                "seconds_with_reuse": round(cached_s, 3),
                "speedup": round(plain_s / cached_s, 2),
                "identical_outputs": f"{same}/{len(plain)}",
            }
        )
        print(f"k={k}: {plain_s:.2f} s without, {cached_s:.2f} s with reuse", flush=True)
    headers = list(rows[0])
    print()
    print(table(headers, [[r[h] for h in headers] for r in rows]))
    info = machine()
    print(f"\nmachine: {info}")
    path = write_json(
        "prefix_cache",
        {
            "machine": info,
            "workload": {
                "task": "examples/ticket-codes, few_shot (seeded random demonstrations)",
                "requests": args.n,
                "batch_size": args.batch_size,
                "max_new_tokens": args.max_new_tokens,
            },
            "results": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
