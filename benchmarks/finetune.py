"""Fine-tuning methods side by side on the bundled model: tokens/s and share of matmul peak.

    .venv/bin/python benchmarks/finetune.py [--steps 8] [--rounds 2] [--threads N] [--ablations]
        [--only "full,lora r8,..."]

Each row trains the same batches of the demo task (examples/ticket-codes) with the shared
loop, in its own process (so peak RSS is its own), then measures a float32 2048^2 matmul in
that process right away: "of peak" is the row's achieved GFLOP/s over that matmul's, taken
under the same machine load. Rows run in rounds (every row once per round, in turn) and the
table shows each row's median over the rounds, so a load change hits every row alike.

Achieved GFLOP/s counts the matmul FLOPs a method needs per real token: forward 2 x (block
weights + head x target share), since the head now only projects positions whose next token
is a target; the backward 2 x the same for input gradients (down to the lowest trained
block) and 2 x the trained weights for weight gradients; LoRA's adapters 6 x their
parameters. Attention scores, norms and the optimizer count as overhead, not work.

The "(before)" rows are the same code with the three training-loop costs this benchmark
found switched back on: loss over the whole vocabulary at every position, unfused AdamW,
LoRA dropout 0.05. --ablations adds LoRA rows with one of them back at a time.
Writes benchmarks/results/finetune.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

from benchutil import ROOT, machine, write_json

TASK = ROOT / "examples" / "ticket-codes"
BEFORE = ("all_logits", "unfused_adamw")
METHODS: dict[str, tuple[str, dict, tuple[str, ...]]] = {
    "full": ("full", {}, ()),
    "lora r8": ("lora", {"rank": 8}, ()),
    "layerwise top-4": ("layerwise", {"top_k": 4}, ()),
    "layerwise top-4 + LISA 2": (
        "layerwise",
        {"top_k": 4, "lisa_layers": 2, "lisa_interval": 2},
        (),
    ),
    "full (before)": ("full", {}, BEFORE),
    "lora r8 (before)": ("lora", {"rank": 8, "dropout": 0.05}, BEFORE),
}
ABLATIONS = {
    "lora r8 + dropout 0.05": ("lora", {"rank": 8, "dropout": 0.05}, ()),
    "lora r8 + all-position logits": ("lora", {"rank": 8}, ("all_logits",)),
    "lora r8 + unfused AdamW": ("lora", {"rank": 8}, ("unfused_adamw",)),
}


def matmul_gflops(n: int = 2048, repeats: int = 5) -> tuple[float, float]:
    """float32 (n x n) @ (n x n) GFLOP/s: best of `repeats` wall timings, and GFLOP per
    CPU-second (all threads' CPU time) over all of them."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best, cpu0 = math.inf, time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    cpu = time.process_time() - cpu0
    return 2 * n**3 / best / 1e9, repeats * 2 * n**3 / cpu / 1e9


def flops_per_token(
    blocks: list[int], head: float, grad_from: int, weight_grads: float, adapters: int = 0
) -> float:
    """Matmul FLOPs per token of one training step (attention scores ignored).

    blocks: linear-weight parameters per block; head: output-projection parameters times
    the share of positions projected; grad_from: lowest block whose input gradient is needed;
    weight_grads: parameters whose weight gradient is computed; adapters: LoRA parameters.
    """
    forward = 2 * (sum(blocks) + head)
    input_grads = 2 * (head + sum(blocks[grad_from:]))
    return forward + input_grads + 2 * weight_grads + 6 * adapters


def _undo(changes: tuple[str, ...]) -> None:
    """Switch the training loop's measured costs back on (the "before" rows)."""
    import torch

    from shouldtune.finetune import trainer

    if "all_logits" in changes:  # the former loss: logits and softmax at every position

        def old_loss(model, batch, keep=True):
            n = int((batch["labels"][:, 1:] != -100).sum())
            return model(**batch).loss, n

        trainer.completion_loss = old_loss
    if "unfused_adamw" in changes:
        adamw = torch.optim.AdamW

        def unfused(params, **kw):
            return adamw(params, **{**kw, "fused": False})

        trainer.torch.optim.AdamW = unfused  # type: ignore[misc]


def _samples(lm):
    from shouldtune.core.taskio import load_task
    from shouldtune.finetune.common import encode_examples

    task = load_task(TASK)
    return encode_examples(lm, task, task.train, 512)


def _linear_sizes(module) -> int:
    import torch

    return sum(m.weight.numel() for m in module.modules() if isinstance(m, torch.nn.Linear))


def _method_flops(model, strategy, report, share: float) -> float:
    from shouldtune.finetune.layers import find_blocks

    blocks = [_linear_sizes(b) for b in find_blocks(model)]
    head = model.get_output_embeddings().weight.numel() * share
    if strategy.name == "full":
        return flops_per_token(blocks, head, 0, sum(blocks) + head)
    if strategy.name == "lora":  # adapters in every block (their 2.4M weights counted in
        # `blocks` too, <1%); input gradients through every block, no base weight gradient
        return flops_per_token(blocks, head, 0, 0, report.trainable_parameters)
    k = strategy.options.top_k
    top = set(range(len(blocks) - k, len(blocks)))
    draws = strategy.sampler.history if strategy.sampler else [[]]
    per_draw = [  # LISA: sampled block i of the lower pool is block i overall
        flops_per_token(blocks, head, min(top | set(d)), sum(blocks[i] for i in top | set(d)))
        for d in draws
    ]
    return sum(per_draw) / len(per_draw)


def _setup(label: str, steps: int, batch_size: int) -> tuple:
    """The row's model, samples and config, after switching back any "before" costs."""
    from shouldtune import strategies
    from shouldtune.finetune import trainer
    from shouldtune.models.bundled import resolve_model
    from shouldtune.models.lm import LanguageModel

    name, options, changes = {**METHODS, **ABLATIONS}[label]
    _undo(changes)
    lm = LanguageModel.load(*resolve_model(None))
    samples = _samples(lm)
    strategy = strategies.create(name, options)
    model = strategy.trainable_copy(lm.model, seed=0)
    cfg = trainer.TrainConfig(
        epochs=100, max_steps=steps, batch_size=batch_size, seed=0,
        learning_rate=strategy.options.learning_rate,
    )  # fmt: skip
    return lm, samples, strategy, model, cfg


def _train(lm, samples, strategy, model, cfg, hook=None):
    from shouldtune.finetune import trainer

    own = strategy.batch_hook(model, 0)

    def before(i: int) -> None:
        if own:
            own(i)
        if hook:
            hook(i)

    return trainer.train(
        model, samples, [], cfg, lm.tokenizer.pad_token_id,
        accelerator=trainer.make_accelerator(1, strategy.find_unused()), before_batch=before,
    )  # fmt: skip


def run_one(label: str, steps: int, batch_size: int) -> dict:
    """Child process: train one row's method for `steps` batches, then a matmul peak."""
    import psutil

    lm, samples, strategy, model, cfg = _setup(label, steps, batch_size)
    share = sum(s.n_target for s in samples) / sum(len(s.input_ids) for s in samples)
    rss_before = psutil.Process().memory_info().rss / 2**20
    cpu0 = time.process_time()
    report = _train(lm, samples, strategy, model, cfg)
    cpu_train = time.process_time() - cpu0
    peak, peak_cpu = matmul_gflops()
    per_token = _method_flops(model, strategy, report, share)
    achieved = per_token * report.tokens_per_s / 1e9
    achieved_cpu = per_token * report.train_tokens / cpu_train / 1e9  # per CPU-second
    return {
        "method": label,
        "trainable_parameters": report.trainable_parameters,
        "steps": report.steps,
        "train_tokens": report.train_tokens,
        "target_share": round(share, 4),
        "seconds": round(report.seconds, 2),
        "cpu_seconds": round(cpu_train, 2),
        "tokens_per_s": round(report.tokens_per_s, 1),
        "rss_before_training_mb": round(rss_before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "flops_per_token": round(per_token),
        "achieved_gflops": round(achieved, 2),
        "matmul_peak_gflops": round(peak, 1),
        "share_of_matmul_peak": round(achieved / peak, 3),
        # The same ratio per CPU-second (training's and the matmul's): what the cores did
        # while this process had them, so a busy shared machine's time slicing cancels.
        "share_of_matmul_peak_cpu": round(achieved_cpu / peak_cpu, 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


# Where a training step's time goes, by torch op (self time): the matmuls (the work
# counted as FLOPs), attention, the optimizer, and the rest (elementwise, norms, copies).
OP_GROUPS = {
    "matmul": ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_mkldnn"),
    "attention": ("aten::_scaled_dot_product", "aten::_flash_attention"),
    "optimizer": ("aten::_fused_adam", "aten::_foreach", "aten::_amp_foreach"),
    "loss (softmax over the vocabulary)": ("aten::_log_softmax", "aten::nll_loss"),
}


def _group(name: str) -> str:
    for group, prefixes in OP_GROUPS.items():
        if name.startswith(prefixes):
            return group
    return "other ops (elementwise, norms, copies, indexing)"


def profile_one(label: str, steps: int, batch_size: int) -> dict:
    """Child process: torch.profiler over `steps` batches after one unprofiled batch."""
    from torch.profiler import ProfilerActivity, profile

    lm, samples, strategy, model, cfg = _setup(label, steps + 1, batch_size)
    prof = profile(activities=[ProfilerActivity.CPU], with_flops=True)
    marks: list[float] = []

    def hook(i: int) -> None:
        if i == 1:  # batch 0 allocates and picks kernels: not steady state
            marks.append(time.perf_counter())
            prof.start()

    _train(lm, samples, strategy, model, cfg, hook)
    prof.stop()
    wall = time.perf_counter() - marks[0]
    events = prof.key_averages()
    groups: dict[str, float] = {}
    flops = 0.0
    top: list[tuple[float, str]] = []
    for e in events:
        if e.self_cpu_time_total <= 0:
            continue
        group = _group(e.key)
        groups[group] = groups.get(group, 0.0) + e.self_cpu_time_total / 1e6
        top.append((e.self_cpu_time_total / 1e6, e.key))
        if group == "matmul":
            flops += e.flops or 0
    op_seconds = sum(groups.values())
    peak, _ = matmul_gflops()
    mm = groups.get("matmul", 0.0)
    return {
        "method": label,
        "profiled_batches": steps,
        "wall_seconds": round(wall, 2),
        "op_seconds": round(op_seconds, 2),  # the rest of the wall time: Python, dispatch
        "seconds_by_group": {
            k: round(v, 2) for k, v in sorted(groups.items(), key=lambda x: -x[1])
        },
        "matmul_gflops_inside": round(flops / max(mm, 1e-9) / 1e9, 1),
        "matmul_peak_gflops": round(peak, 1),
        "top_ops": [{"op": k, "seconds": round(s, 3)} for s, k in sorted(top, reverse=True)[:12]],
    }


def padding(batch_size: int) -> dict:
    from shouldtune.finetune.data import padding_report
    from shouldtune.models.bundled import resolve_model
    from shouldtune.models.lm import LanguageModel

    lm = LanguageModel.load(*resolve_model(None))
    samples = _samples(lm)
    lengths = [len(s.input_ids) for s in samples]
    report = padding_report(samples, batch_size, seed=0)
    return {
        **{k: round(v, 4) for k, v in report.items()},
        "samples": len(samples),
        "length_min": min(lengths),
        "length_max": max(lengths),
    }


def _median_rows(runs: list[dict]) -> list[dict]:
    """One row per method: the median of each timing over the rounds."""
    rows = []
    for label in dict.fromkeys(r["method"] for r in runs):
        mine = [r for r in runs if r["method"] == label]
        row = dict(mine[0])
        for key in ("seconds", "cpu_seconds", "tokens_per_s", "achieved_gflops",
                    "matmul_peak_gflops", "share_of_matmul_peak", "share_of_matmul_peak_cpu",
                    "peak_rss_mb"):  # fmt: skip
            row[key] = round(statistics.median(r[key] for r in mine), 3)
        row["tokens_per_s_each_round"] = [r["tokens_per_s"] for r in mine]
        rows.append(row)
    return rows


def _child(mode: str, label: str, args: argparse.Namespace) -> dict:
    sizes = ["--steps", str(args.steps), "--batch-size", str(args.batch_size)]
    cmd = [sys.executable, __file__, mode, label, *sizes, "--threads", str(args.threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--ablations", action="store_true", help="one lever back at a time")
    parser.add_argument("--only", help="comma-separated row labels (a busy machine's short run)")
    parser.add_argument("--profile", action="store_true", help="torch.profiler: where time goes")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--profile-one", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one or args.profile_one:
        fn = run_one if args.one else profile_one
        print(json.dumps(fn(args.one or args.profile_one, args.steps, args.batch_size)))
        return
    if args.profile:
        return profile_main(args)
    before = machine()
    labels = list(METHODS) + (list(ABLATIONS) if args.ablations else [])
    if args.only:
        labels = [x.strip() for x in args.only.split(",")]
        unknown = sorted(set(labels) - set(METHODS) - set(ABLATIONS))
        if unknown or "full" not in labels or "lora r8" not in labels:
            parser.error(f"--only needs 'full' and 'lora r8' and known rows; unknown: {unknown}")
    runs = []
    for r in range(args.rounds):
        for label in labels:
            runs.append({**_child("--one", label, args), "round": r})
            print(f"round {r + 1}: {label}: {runs[-1]['tokens_per_s']} tok/s", flush=True)
    rows = _median_rows(runs)
    by = {r["method"]: r for r in rows}
    result = {
        "model": "smollm2-135m-instruct (float32)",
        "data": "examples/ticket-codes train.jsonl",
        "steps": args.steps,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "machine": {**before, "physical_cores": _physical_cores()},
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "padding_waste": padding(args.batch_size),
        "lora_over_full": round(by["lora r8"]["tokens_per_s"] / by["full"]["tokens_per_s"], 2),
        "methods": rows,
        "runs": runs,
    }
    print_table(result)
    path = write_json("finetune", result)
    print(f"wrote {path.relative_to(ROOT)}")


def profile_main(args: argparse.Namespace) -> None:
    """Where a step's time goes for full, LoRA and layer-wise, one after the other."""
    before = machine()
    rows = [
        _child("--profile-one", label, args) for label in ("full", "lora r8", "layerwise top-4")
    ]
    for r in rows:
        print(
            f"{r['method']}: {r['profiled_batches']} batches, {r['wall_seconds']} s wall, "
            f"{r['op_seconds']} s in torch ops; matmuls at {r['matmul_gflops_inside']} GFLOP/s "
            f"(2048^2 peak {r['matmul_peak_gflops']})"
        )
        for group, seconds in r["seconds_by_group"].items():
            print(f"    {group:<50} {seconds:>7.2f} s {seconds / r['wall_seconds']:>6.1%}")
    result = {"machine": before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
              "steps": args.steps, "batch_size": args.batch_size, "methods": rows}  # fmt: skip
    path = write_json("finetune_profile", result)
    print(f"wrote {path.relative_to(ROOT)}")


def _physical_cores() -> int | None:
    import psutil

    return psutil.cpu_count(logical=False)


def print_table(result: dict) -> None:
    m = result["machine"]
    print(
        f"{result['model']}, {result['steps']} steps of batch {result['batch_size']}, median of "
        f"{result['rounds']} rounds; {m['cpu']}, {m['cores']} CPUs ({m['physical_cores']} "
        f"physical), {m['torch_threads']} torch threads, load {m['load_average']} -> "
        f"{result['load_average_after']}"
    )
    head = (
        f"{'method':<32} {'trainable':>11} {'tokens/s':>9} {'peak RSS MB':>12} "
        f"{'GFLOP/s':>8} {'matmul':>7} {'of peak':>8} {'per CPU-s':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in result["methods"]:
        print(
            f"{r['method']:<32} {r['trainable_parameters']:>11,} {r['tokens_per_s']:>9.1f} "
            f"{r['peak_rss_mb']:>12.0f} {r['achieved_gflops']:>8.1f} "
            f"{r['matmul_peak_gflops']:>7.1f} {r['share_of_matmul_peak']:>8.0%} "
            f"{r['share_of_matmul_peak_cpu']:>8.0%}"
        )
    pad = result["padding_waste"]
    print(f"lora / full tokens/s: {result['lora_over_full']}x")
    print(
        f"padding waste, {pad['samples']} samples of {pad['length_min']}-{pad['length_max']} "
        f"tokens: random batches {pad['random_batches']:.1%}, "
        f"length-bucketed {pad['bucketed_batches']:.1%}"
    )


if __name__ == "__main__":
    main()
