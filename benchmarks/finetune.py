"""Fine-tuning methods side by side on the bundled model: speed, memory, achieved FLOP/s.

    .venv/bin/python benchmarks/finetune.py [--steps 8] [--batch-size 8] [--threads N]

Each method trains the same batches of the demo task (examples/ticket-codes) with the shared
loop, in its own process so its peak RSS is its own. Achieved GFLOP/s is model matmul FLOPs
(forward 2 x params per token, backward 2 x params on the gradient path for input gradients
plus 2 x trained params for weight gradients; full = 6 x params x tokens) over the measured
seconds, compared with float32 matmul GFLOP/s measured in the same run. Also prints the
padding waste of plain shuffled batches against length-bucketed ones on the same data.
Writes benchmarks/results/finetune.json. --threads sets torch's thread count for every
measurement (default: torch's own); on a shared, busy machine 1 thread avoids the spin-wait
collapse that several busy processes with 2 threads each cause.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
OUT = ROOT / "benchmarks" / "results" / "finetune.json"
TASK = ROOT / "examples" / "ticket-codes"
METHODS = {
    "full": ("full", {}),
    "lora r8": ("lora", {"rank": 8}),
    "layerwise top-4": ("layerwise", {"top_k": 4}),
    "layerwise top-4 + LISA 2": ("layerwise", {"top_k": 4, "lisa_layers": 2, "lisa_interval": 2}),
}


def matmul_gflops(m: int, k: int, n: int, repeats: int = 5) -> float:
    """Best of `repeats` timings of one float32 (m x k) @ (k x n) product."""
    import torch

    a, b = torch.randn(m, k), torch.randn(k, n)
    a @ b  # warm-up
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * m * k * n / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def flops_per_token(sizes: list[int], head: int, trained: set[int], weight_grads: int) -> int:
    """Matmul FLOPs per token for one training step (attention scores ignored).

    sizes: parameters per block; head: output-projection parameters; trained: blocks whose
    parameters get gradients; weight_grads: parameters whose weight gradient is computed.
    """
    forward = 2 * (sum(sizes) + head)
    lowest = min(trained) if trained else len(sizes)
    input_grads = 2 * (head + sum(sizes[lowest:]))
    return forward + input_grads + 2 * weight_grads


def _demo_samples(lm, max_length: int = 512) -> list:
    from shouldtune.core.taskio import load_task
    from shouldtune.finetune.common import encode_examples

    task = load_task(TASK)
    return encode_examples(lm, task, task.train, max_length)


def _method_flops(model, strategy, name: str, report) -> int:
    from shouldtune.finetune.layers import find_blocks

    blocks = find_blocks(model)
    sizes = [sum(p.numel() for p in b.parameters()) for b in blocks]
    head = model.get_output_embeddings().weight.numel()
    every = set(range(len(blocks)))
    if name == "full":
        return flops_per_token(sizes, head, every, report.trainable_parameters)
    if name == "lora":  # adapters on every block; base weight gradients are never computed
        return flops_per_token(sizes, head, every, report.trainable_parameters)
    k = strategy.options.top_k
    top = set(range(len(blocks) - k, len(blocks)))
    draws = strategy.sampler.history if strategy.sampler else [[]]
    per_draw = [  # LISA: sampled block i of the lower pool is block i overall
        flops_per_token(sizes, head, top | set(d), sum(sizes[i] for i in top | set(d)))
        for d in draws
    ]
    return sum(per_draw) // len(per_draw)


def run_one(label: str, steps: int, batch_size: int) -> dict:
    """Child process: train one method for `steps` batches, report speed and memory."""
    import psutil

    from shouldtune import strategies
    from shouldtune.finetune import trainer
    from shouldtune.models.bundled import resolve_model
    from shouldtune.models.lm import LanguageModel

    name, options = METHODS[label]
    lm = LanguageModel.load(*resolve_model(None))
    samples = _demo_samples(lm)
    strategy = strategies.create(name, options)
    model = strategy.trainable_copy(lm.model, seed=0)
    rss_before = psutil.Process().memory_info().rss / 2**20
    cfg = trainer.TrainConfig(
        epochs=100, max_steps=steps, batch_size=batch_size, seed=0,
        learning_rate=strategy.options.learning_rate,
    )  # fmt: skip
    report = trainer.train(
        model, samples, [], cfg, lm.tokenizer.pad_token_id,
        accelerator=trainer.make_accelerator(1, strategy.find_unused()),
        before_batch=strategy.batch_hook(model, 0),
    )  # fmt: skip
    per_token = _method_flops(model, strategy, name, report)
    return {
        "method": label,
        "trainable_parameters": report.trainable_parameters,
        "total_parameters": report.total_parameters,
        "steps": report.steps,
        "train_tokens": report.train_tokens,
        "seconds": round(report.seconds, 2),
        "tokens_per_s": round(report.tokens_per_s, 1),
        "rss_before_training_mb": round(rss_before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "flops_per_token": per_token,
        "achieved_gflops": round(per_token * report.tokens_per_s / 1e9, 2),
    }


def padding(batch_size: int) -> dict:
    from shouldtune.finetune.data import padding_report
    from shouldtune.models.bundled import resolve_model
    from shouldtune.models.lm import LanguageModel

    lm = LanguageModel.load(*resolve_model(None))
    samples = _demo_samples(lm)
    lengths = [len(s.input_ids) for s in samples]
    report = padding_report(samples, batch_size, seed=0)
    return {
        **{k: round(v, 4) for k, v in report.items()},
        "samples": len(samples),
        "length_min": min(lengths),
        "length_max": max(lengths),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one:
        print(json.dumps(run_one(args.one, args.steps, args.batch_size)))
        return
    load_before = round(os.getloadavg()[0], 2)  # the machine is shared: timings move with it
    rows = []
    for label in METHODS:
        cmd = [sys.executable, __file__, "--one", label, "--steps", str(args.steps),
               "--batch-size", str(args.batch_size), "--threads", str(args.threads)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    hidden, inter = 576, 1536  # SmolLM2-135M projection shapes, a batch of ~512 tokens
    matmul = {
        "square_2048": round(matmul_gflops(2048, 2048, 2048), 1),
        "model_shaped_512x576x1536": round(matmul_gflops(512, hidden, inter), 1),
    }
    for r in rows:
        r["share_of_matmul_peak"] = round(r["achieved_gflops"] / matmul["square_2048"], 3)
    result = {
        "model": "smollm2-135m-instruct (float32)",
        "data": "examples/ticket-codes train.jsonl",
        "steps": args.steps,
        "batch_size": args.batch_size,
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_average_1m_before": load_before,
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
        "matmul_gflops": matmul,
        "padding_waste": padding(args.batch_size),
        "methods": rows,
    }
    print_table(result)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


def print_table(result: dict) -> None:
    m = result["machine"]
    print(
        f"{result['model']}, {result['steps']} steps of batch {result['batch_size']}, "
        f"{m['cpus']} CPUs, {m['torch_threads']} torch threads, "
        f"load {m['load_average_1m_before']} -> {m['load_average_1m_after']}"
    )
    head = (
        f"{'method':<26} {'trainable':>11} {'tokens/s':>9} {'peak RSS MB':>12} "
        f"{'GFLOP/s':>8} {'of matmul':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in result["methods"]:
        print(
            f"{r['method']:<26} {r['trainable_parameters']:>11,} {r['tokens_per_s']:>9.1f} "
            f"{r['peak_rss_mb']:>12.0f} {r['achieved_gflops']:>8.1f} "
            f"{r['share_of_matmul_peak']:>9.0%}"
        )
    mm, pad = result["matmul_gflops"], result["padding_waste"]
    print(f"float32 matmul GFLOP/s: {mm}")
    print(
        f"padding waste, {pad['samples']} samples of {pad['length_min']}-{pad['length_max']} "
        f"tokens: random batches {pad['random_batches']:.1%}, "
        f"length-bucketed {pad['bucketed_batches']:.1%}"
    )


if __name__ == "__main__":
    main()
