"""Generation throughput on the bundled model (SmolLM2-135M-Instruct), side by side in one run:

(a) naive: transformers `model.generate`, one request at a time (greedy, stop at <|im_end|>),
    and transformers `model.generate` batched (left padding) at the largest batch size;
(b) shouldtune's evaluation path, `LanguageModel.generate` (batched, left padding,
    length-sorted, early exit of finished rows, shared-prefix KV cache), at several batch sizes,
    plus ablations that switch one technique off at a time;
(c) llama.cpp through llama-cpp-python on the same GGUF, one request at a time (batch 1),
    when it is installed (`pip install llama-cpp-python`, see benchmarks/README.md); and on a
    float32 GGUF of the same weights (benchmarks/gguf_f32.py), so that batch-1 decoding, which
    is bound by the bytes of weights read per token, is also compared at equal precision.

    .venv/bin/python benchmarks/generation.py [--n 40] [--max-new-tokens 24]
        [--batch-sizes 8 16 32] [--repeats 1] [--no-llamacpp]

Workload: the zero-shot prompts of the demo task's test set (examples/ticket-codes), chat
template applied, greedy. Tokens/s = generated tokens (the stop token included) / wall seconds
for the whole workload, prefill included. Prints a table and writes
benchmarks/results/generation.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from benchutil import demo_rows, load_bundled_lm, machine, table, timed, write_json

from shouldtune.core.prompts import chat
from shouldtune.models.decode import StopRule, greedy
from shouldtune.models.lm import LanguageModel

INSTRUCTION = "Write the order code for this message."
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMACPP = "llama.cpp (llama-cpp-python), batch 1"
LLAMACPP_F32 = "llama.cpp, float32 GGUF of the same weights, batch 1"

Outputs = list[tuple[str, int]]  # (text, generated tokens) per request


def naive(lm: LanguageModel, prompts: list[list[int]], max_new: int) -> Outputs:
    """What a first script does: `generate` per request, no batching."""
    stops, outs = lm.stop_ids(), []
    for p in prompts:
        ids = torch.tensor([p])
        out = lm.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new,
            do_sample=False,
            eos_token_id=stops,
            pad_token_id=lm.tokenizer.pad_token_id,
        )
        new = out[0, len(p) :].tolist()
        cut = next((k for k, t in enumerate(new) if t in stops), len(new))
        text = lm.tokenizer.decode(new[:cut], skip_special_tokens=True).strip()
        outs.append((text, cut + (cut < len(new))))
    return outs


def hf_batched(lm: LanguageModel, prompts: list[list[int]], max_new: int, batch: int) -> Outputs:
    """transformers `generate` on batches of `batch` prompts, padded on the left."""
    stops, pad, outs = lm.stop_ids(), lm.tokenizer.pad_token_id, []
    for start in range(0, len(prompts), batch):
        chunk = prompts[start : start + batch]
        width = max(len(p) for p in chunk)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in chunk])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk])
        out = lm.model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=max_new,
            do_sample=False,
            eos_token_id=stops,
            pad_token_id=pad,
        )
        for row in out[:, width:].tolist():
            cut = next((k for k, t in enumerate(row) if t in stops), len(row))
            text = lm.tokenizer.decode(row[:cut], skip_special_tokens=True).strip()
            outs.append((text, cut + (cut < len(row))))
    return outs


def ours(lm: LanguageModel, convos: list, max_new: int, batch: int, **kw: Any) -> Outputs:
    fresh = LanguageModel(lm.name, lm.model, lm.tokenizer)  # no prefix kept from earlier runs
    return [(g.text, g.new_tokens) for g in fresh.generate(convos, max_new, batch, **kw)]


def ablation(
    lm: LanguageModel, prompts: list[list[int]], max_new: int, batch: int, sort: bool, compact: bool
) -> Outputs:
    """The evaluation path with length sorting or early exit switched off (no prefix cache)."""
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i])) if sort else None
    order = order or list(range(len(prompts)))
    rule = StopRule(frozenset(lm.stop_ids()))
    results: dict[int, tuple[str, int]] = {}
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        rows = greedy(
            lm.model,
            [prompts[i] for i in chunk],
            lm.tokenizer.pad_token_id,
            max_new,
            rule,
            lm._decode,
            compact=compact,
        )
        for i, row in zip(chunk, rows, strict=True):
            kept = row.ids[:-1] if row.stopped else row.ids
            results[i] = (lm._decode(kept).strip(), len(row.ids))
    return [results[i] for i in range(len(prompts))]


def llamacpp(
    texts: list[str], max_new: int, repeats: int, f32: bool = False
) -> tuple[float, Outputs] | None:
    """llama.cpp batch 1 on the same GGUF (`f32`: on a float32 copy of its weights), in a
    process of its own (no torch threads, and not two OpenMP runtimes in one process); None
    when llama-cpp-python is not installed."""
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        job, gguf = Path(tmp) / "job.json", None
        if f32:
            from gguf_f32 import bundled_q4_1, write_f32

            gguf = str(write_f32(bundled_q4_1(), Path(tmp) / "f32.gguf"))
        spec = {"texts": texts, "max_new": max_new, "repeats": repeats, "gguf": gguf}
        job.write_text(json.dumps(spec))
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("llamacpp_worker.py")), str(job)],
            check=True,
            capture_output=True,
            text=True,
        )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["seconds"], [tuple(o) for o in out["outputs"]]


def measure(fn: Callable[[], Outputs], repeats: int) -> tuple[float, Outputs]:
    """Median wall seconds over `repeats` runs, and the outputs."""
    times, outs = [], []
    for _ in range(repeats):
        seconds, outs = timed(fn)
        times.append(seconds)
    return statistics.median(times), outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40, help="requests (demo test set has 40)")
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--repeats", type=int, default=1, help="median of this many runs")
    ap.add_argument("--no-llamacpp", action="store_true")
    args = ap.parse_args()

    lm = load_bundled_lm()
    rows = demo_rows("test")[: args.n]
    convos = [chat(INSTRUCTION, r["input"]) for r in rows]
    texts = [lm.render(c) for c in convos]
    prompts = [lm.encode(t) for t in texts]
    max_new, default_batch = args.max_new_tokens, args.batch_sizes[0]
    ours(lm, convos[:2], 2, 2)  # warm-up: first-call costs are not throughput
    naive(lm, prompts[:1], 2)

    systems: list[tuple[str, Callable[[], Outputs]]] = [
        ("naive transformers generate, one by one", lambda: naive(lm, prompts, max_new)),
        ("shouldtune path, batch 1", lambda: ours(lm, convos, max_new, 1)),
    ]
    for b in args.batch_sizes:
        systems.append((f"shouldtune path, batch {b}", lambda b=b: ours(lm, convos, max_new, b)))
    top = max(args.batch_sizes)
    systems.append(
        (f"transformers generate, batch {top}", lambda: hf_batched(lm, prompts, max_new, top))
    )
    b = default_batch
    systems += [
        (
            f"  ablation batch {b}: no prefix cache",
            lambda: ours(lm, convos, max_new, b, reuse_prefix=False),
        ),
        (
            f"  ablation batch {b}: no prefix cache, unsorted",
            lambda: ablation(lm, prompts, max_new, b, sort=False, compact=True),
        ),
        (
            f"  ablation batch {b}: no prefix cache, no early exit",
            lambda: ablation(lm, prompts, max_new, b, sort=True, compact=False),
        ),
    ]
    reference: Outputs | None = None
    measured = []
    runs = [(name, lambda fn=fn: measure(fn, args.repeats)) for name, fn in systems]
    if not args.no_llamacpp and importlib.util.find_spec("llama_cpp") is not None:
        runs.append((LLAMACPP, lambda: llamacpp(texts, max_new, args.repeats)))
        runs.append((LLAMACPP_F32, lambda: llamacpp(texts, max_new, args.repeats, f32=True)))
    for name, run in runs:
        seconds, outs = run()
        reference = reference or outs
        tokens = sum(n for _, n in outs)
        same = sum(a[0] == b[0] for a, b in zip(outs, reference, strict=True))
        measured.append(
            {
                "system": name,
                "seconds": round(seconds, 3),
                "tokens": tokens,
                "tokens_per_s": round(tokens / seconds, 2),
                "same_text_as_naive": f"{same}/{len(outs)}",
            }
        )
        print(f"{name}: {tokens} tokens in {seconds:.2f} s", flush=True)
    report(measured, args, any(m["system"] == LLAMACPP for m in measured), default_batch)


def report(measured: list[dict], args: argparse.Namespace, has_cpp: bool, batch: int) -> None:
    by = {m["system"]: m["tokens_per_s"] for m in measured}
    naive_tps = by["naive transformers generate, one by one"]
    cpp_tps = by.get(LLAMACPP)
    for m in measured:
        m["x_naive"] = round(m["tokens_per_s"] / naive_tps, 2)
        m["x_llamacpp"] = round(m["tokens_per_s"] / cpp_tps, 2) if cpp_tps else None
    best = max(
        (m for m in measured if m["system"].startswith("shouldtune path, batch ")),
        key=lambda m: m["tokens_per_s"],
    )
    print()
    print(
        table(
            ["system", "seconds", "tokens", "tokens/s", "x naive", "x llama.cpp", "same text"],
            [
                [
                    m["system"],
                    m["seconds"],
                    m["tokens"],
                    m["tokens_per_s"],
                    m["x_naive"],
                    m["x_llamacpp"] if m["x_llamacpp"] is not None else "n/a",
                    m["same_text_as_naive"],
                ]
                for m in measured
            ],
        )
    )
    info = machine()
    b1 = next(m for m in measured if m["system"] == "shouldtune path, batch 1")
    top = max(args.batch_sizes)
    hf_top = by.get(f"transformers generate, batch {top}")
    summary = {
        "best_shouldtune": best["system"],
        "x_naive": best["x_naive"],
        "x_llamacpp": best["x_llamacpp"],
        "target_x_naive": 4.0,
        "target_x_llamacpp": 2.0,
        # Single-request latency (issue 15): batch-1 decoding against llama.cpp's batch 1.
        "batch1_x_llamacpp": b1["x_llamacpp"],
        "target_batch1_x_llamacpp": 0.5,
        # The same at equal precision: both read the same float32 weights every token.
        "batch1_x_llamacpp_f32": (
            round(b1["tokens_per_s"] / by[LLAMACPP_F32], 2) if by.get(LLAMACPP_F32) else None
        ),
        "batch1_x_transformers_generate": b1["x_naive"],
        f"batch{top}_x_transformers_generate_batch{top}": (
            round(by[f"shouldtune path, batch {top}"] / hf_top, 2) if hf_top else None
        ),
        "llamacpp_installed": has_cpp,
    }
    print(f"\n{summary}\nmachine: {info}")
    path = write_json(
        "generation",
        {
            "machine": info,
            "workload": {
                "task": "examples/ticket-codes test, zero-shot",
                "requests": args.n,
                "max_new_tokens": args.max_new_tokens,
                "repeats": args.repeats,
                "ablation_batch_size": batch,
            },
            "results": measured,
            "summary": summary,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
