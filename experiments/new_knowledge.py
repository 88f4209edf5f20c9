"""Gekhman et al. (2024) at tiny scale, with shouldtune's own code: does fine-tuning on facts
the model did not know make it worse?

    .venv/bin/python experiments/new_knowledge.py   # ~20 min on the shared 2-core machine

1. SliCK (shouldtune.probes.slick + the ModelOracle the runs use) sorts closed-book facts of
   two relations (capital of a country, country of a city; experiments/facts.py) into Known
   (HighlyKnown, MaybeKnown, WeaklyKnown) and Unknown for the base model.
2. A held-out test and dev set are drawn from both; then fixed-size training sets with 0%,
   50% and 100% Unknown facts.
3. Each set trains a LoRA adapter with shouldtune's training loop (finetune/trainer.py) for
   a fixed number of epochs ("convergence"); after every epoch the dev loss is measured and
   the weights at the best one are kept ("early stop", shouldtune's own criterion).
4. Test accuracy at early stop and at convergence, with 95% bootstrap CIs, two ways: the
   generated answer contains the reference (generation), and the reference is the option
   with the highest log-likelihood per byte among it and three other answers of the same
   relation (likelihood, lm-eval's acc_norm; shouldtune.probes.likelihood), which does not
   depend on the answer format the fine-tune taught. Written to
   results/new_knowledge.{json,md,svg}.

The SliCK categories are cached in results/new_knowledge_slick.json (delete it to redo).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from facts import facts  # noqa: E402

from shouldtune.core.prompts import chat  # noqa: E402
from shouldtune.core.stats import bootstrap_ci, paired_difference_ci  # noqa: E402
from shouldtune.core.types import Example  # noqa: E402
from shouldtune.finetune.data import make_sample  # noqa: E402
from shouldtune.finetune.trainer import TrainConfig, dev_loss, train  # noqa: E402
from shouldtune.models.bundled import resolve_model  # noqa: E402
from shouldtune.models.lm import LanguageModel  # noqa: E402
from shouldtune.probes import slick  # noqa: E402
from shouldtune.probes.abstention import contains_answer  # noqa: E402
from shouldtune.probes.likelihood import choose, option_logprobs  # noqa: E402
from shouldtune.probes.runner import ModelOracle  # noqa: E402

HERE = Path(__file__).resolve().parent
INSTRUCTION = "Answer the question with a short answer."
SHARES = (0.0, 0.5, 1.0)
DISTRACTORS = 3


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-train", type=int, default=40)
    p.add_argument("--epochs", type=int, default=10, help="training to convergence")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--test", type=int, default=30, help="held-out facts per category")
    p.add_argument("--dev", type=int, default=10, help="dev facts per category")
    p.add_argument("--prompts", type=int, default=2, help="SliCK few-shot prompts")
    p.add_argument("--samples", type=int, default=2, help="SliCK samples at T=0.5")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--model", default=None, help="bundled model name or local folder")
    return p.parse_args()


def score(text: str, gold: str) -> float:
    return float(contains_answer(text, [gold]))


def categorise(lm: LanguageModel, rows: list[dict], args: argparse.Namespace) -> list[str]:
    cache = args.out / "new_knowledge_slick.json"
    if cache.is_file():
        return json.loads(cache.read_text())["categories"]
    examples = [Example(r["question"], r["answer"]) for r in rows]
    oracle = ModelOracle(
        lm, INSTRUCTION, examples, list(range(len(examples))), score, shots=4,
        seed=args.seed, max_new_tokens=10, batch_size=16, temperature=0.5,
    )  # fmt: skip
    result = slick.analyse(len(examples), oracle, args.prompts, args.samples)
    categories = result.pop("per_example")
    cache.write_text(json.dumps({**result, "categories": categories}, indent=1))
    return categories


def split(rows: list[dict], categories: list[str], args: argparse.Namespace) -> dict[str, list]:
    rng = random.Random(args.seed)
    known = [r for r, c in zip(rows, categories, strict=True) if c != slick.UNKNOWN]
    unknown = [r for r, c in zip(rows, categories, strict=True) if c == slick.UNKNOWN]
    rng.shuffle(known)
    rng.shuffle(unknown)
    t, d = args.test, args.dev
    parts = {
        "test": known[:t] + unknown[:t],
        "dev": known[t : t + d] + unknown[t : t + d],
        "known": known[t + d :],
        "unknown": unknown[t + d :],
    }
    need = args.n_train
    if len(parts["known"]) < need or len(parts["unknown"]) < need:
        raise SystemExit(
            f"not enough facts: {len(parts['known'])} Known and {len(parts['unknown'])} Unknown"
            f" left for training, {need} of each needed; lower --n-train, --test or --dev"
        )
    return parts


def samples(lm: LanguageModel, rows: list[dict]) -> list:
    out = []
    for r in rows:
        prompt, completion = lm.encode_for_training(chat(INSTRUCTION, r["question"]), r["answer"])
        out.append(make_sample(prompt, completion, 256))
    return out


def accuracy(lm: LanguageModel, rows: list[dict]) -> list[float]:
    gens = lm.generate([chat(INSTRUCTION, r["question"]) for r in rows], 10, 16)
    return [score(g.text, r["answer"]) for g, r in zip(gens, rows, strict=True)]


def with_options(rows: list[dict], every: list[dict], seed: int) -> list[dict]:
    """Each row plus options: its answer first, then DISTRACTORS other answers of the same
    relation (another capital, another country), seeded."""
    rng = random.Random(seed + 1)
    out = []
    for r in rows:
        pool = sorted({str(o["answer"]) for o in every if o["relation"] == r["relation"]}
                      - {str(r["answer"])})  # fmt: skip
        out.append(r | {"options": [r["answer"], *rng.sample(pool, DISTRACTORS)]})
    return out


def likelihood_accuracy(lm: LanguageModel, rows: list[dict]) -> list[float]:
    """1.0 where the right answer has the highest log-likelihood per byte of the options."""
    prompts = [chat(INSTRUCTION, r["question"]) for r in rows]
    scores = option_logprobs(lm, prompts, [r["options"] for r in rows], batch_size=32)
    return [float(choose(s) == 0) for s in scores]


def fine_tune(base: LanguageModel, train_rows: list[dict], dev_rows: list[dict], args) -> dict:
    """LoRA for args.epochs; the weights at the lowest end-of-epoch dev loss are kept too."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(args.seed)
    config = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0,
                        target_modules="all-linear", task_type="CAUSAL_LM")  # fmt: skip
    model = get_peft_model(copy.deepcopy(base.model), config)
    train_s, dev_s = samples(base, train_rows), samples(base, dev_rows)
    per_epoch = -(-len(train_s) // 8)
    pad = base.tokenizer.pad_token_id or base.tokenizer.eos_token_id
    track: dict[str, Any] = {"best": float("inf"), "state": None, "epoch": 0, "dev": []}

    def on_step(step: int, _total: int) -> None:
        if step % per_epoch:
            return
        loss = dev_loss(model, dev_s, pad, 16)
        track["dev"].append(round(loss, 4))
        if loss < track["best"]:
            params = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
            track.update(best=loss, state=params, epoch=step // per_epoch)

    cfg = TrainConfig(epochs=args.epochs, learning_rate=args.lr, batch_size=8, seed=args.seed)
    report = train(model, train_s, [], cfg, pad, on_step=on_step)  # no dev: no early stop
    return {"model": model, "report": report, **track}


def evaluate(base: LanguageModel, run: dict, parts: dict, train_rows: list[dict]) -> dict:
    lm = LanguageModel("tuned", run["model"], base.tokenizer)
    converged = accuracy(lm, parts["test"])
    converged_lik = likelihood_accuracy(lm, parts["test"])
    fit = accuracy(lm, train_rows)
    with torch.no_grad():
        for n, p in run["model"].named_parameters():
            if n in run["state"]:
                p.copy_(run["state"][n])
    early_lm = LanguageModel("early", run["model"], base.tokenizer)
    return {
        "early": accuracy(early_lm, parts["test"]),
        "converged": converged,
        "fit": fit,
        "early_lik": likelihood_accuracy(early_lm, parts["test"]),
        "converged_lik": converged_lik,
    }


def ci(scores: list[float]) -> dict[str, float]:
    mean, lo, hi = bootstrap_ci(scores, 2000, seed=0)
    return {"mean": round(mean, 3), "ci_low": round(lo, 3), "ci_high": round(hi, 3)}


def row_for(share: float, run: dict, acc: dict, n_known_test: int) -> dict[str, Any]:
    k = n_known_test
    return {
        "unknown_share": share,
        "early_stop_epoch": run["epoch"],
        "dev_loss_by_epoch": run["dev"],
        "final_train_loss": round(run["report"].final_train_loss, 4),
        "train_fit": ci(acc["fit"]),
        "test_early": ci(acc["early"]),
        "test_converged": ci(acc["converged"]),
        "known_test_early": ci(acc["early"][:k]),
        "known_test_converged": ci(acc["converged"][:k]),
        "unknown_test_converged": ci(acc["converged"][k:]),
        "likelihood": {
            "test_early": ci(acc["early_lik"]),
            "test_converged": ci(acc["converged_lik"]),
            "known_test_early": ci(acc["early_lik"][:k]),
            "known_test_converged": ci(acc["converged_lik"][:k]),
            "unknown_test_early": ci(acc["early_lik"][k:]),
            "unknown_test_converged": ci(acc["converged_lik"][k:]),
        },
        "scores": {
            stage: acc[stage] for stage in ("early", "converged", "early_lik", "converged_lik")
        },  # per test fact
    }


def paired(a: list[float], b: list[float], k: int) -> dict[str, dict[str, float]]:
    """a - b over the same test facts (all, and the first k = Known), paired bootstrap."""
    out = {}
    for name, sl in (("test", slice(None)), ("known_test", slice(0, k))):
        d, lo, hi = paired_difference_ci(a[sl], b[sl], 2000, seed=0)
        out[name] = {"mean": round(d, 3), "ci_low": round(lo, 3), "ci_high": round(hi, 3)}
    return out


def comparisons(rows: list[dict], k: int, suffix: str = "") -> list[dict[str, Any]]:
    """The paper's two contrasts: more Unknown vs none (same stage), and convergence vs
    early stop (same training set). `suffix` "_lik": on the likelihood scores."""
    by = {r["unknown_share"]: r["scores"] for r in rows}
    early, conv = "early" + suffix, "converged" + suffix
    out = []
    for share in SHARES[1:]:
        for stage, when in ((conv, "convergence"), (early, "early stop")):
            label = f"{share:.0%} vs 0% Unknown, at {when}"
            out.append({"comparison": label, **paired(by[share][stage], by[0.0][stage], k)})
    for share in SHARES:
        label = f"convergence vs early stop, {share:.0%} Unknown"
        out.append({"comparison": label, **paired(by[share][conv], by[share][early], k)})
    return out


def likelihood_table(rows: list[dict], base: dict) -> str:
    """Known-test accuracy at early stop vs convergence, likelihood beside generation."""
    head = (
        "| % Unknown in train | Known-test acc, early (likelihood) | Known-test acc, conv."
        " (likelihood) | Known-test acc, early (generation) | Known-test acc, conv."
        " (generation) | Unknown-test acc, conv. (likelihood) |\n|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| base model (no fine-tune) | {fmt(base['known_lik'])} | | {fmt(base['known'])} | |"
        f" {fmt(base['unknown_lik'])} |"
    ]
    for r in rows:
        lik = r["likelihood"]
        lines.append(
            f"| {r['unknown_share']:.0%} | {fmt(lik['known_test_early'])}"
            f" | {fmt(lik['known_test_converged'])} | {fmt(r['known_test_early'])}"
            f" | {fmt(r['known_test_converged'])} | {fmt(lik['unknown_test_converged'])} |"
        )
    return head + "\n".join(lines) + "\n"


def diff_table(rows: list[dict]) -> str:
    head = "| paired difference | test acc [95% CI] | Known-test acc [95% CI] |\n|---|---|---|\n"
    return head + "".join(
        f"| {r['comparison']} | {fmtd(r['test'])} | {fmtd(r['known_test'])} |\n" for r in rows
    )


def fmtd(c: dict[str, float]) -> str:
    return f"{c['mean']:+.3f} [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}]"


def fmt(c: dict[str, float]) -> str:
    return f"{c['mean']:.3f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}]"


def table(rows: list[dict], base: dict) -> str:
    head = (
        "| % Unknown in train | test acc, early stop | test acc, convergence "
        "| Known-test acc, early | Known-test acc, conv. | Unknown-test acc, conv. "
        "| early-stop epoch | train fit at conv. | final train loss |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| base model (no fine-tune) | {fmt(base['test'])} | | {fmt(base['known'])} | "
        f"| {fmt(base['unknown'])} | | | |"
    ]
    for r in rows:
        lines.append(
            f"| {r['unknown_share']:.0%} | {fmt(r['test_early'])} | {fmt(r['test_converged'])}"
            f" | {fmt(r['known_test_early'])} | {fmt(r['known_test_converged'])}"
            f" | {fmt(r['unknown_test_converged'])} | {r['early_stop_epoch']}"
            f" | {r['train_fit']['mean']:.2f} | {r['final_train_loss']:.3f} |"
        )
    return head + "\n".join(lines) + "\n"


def svg(rows: list[dict]) -> str:
    """Test accuracy against the Unknown share: early stop and convergence (no plot library)."""
    w, h, pad = 420, 280, 50
    x = [pad + (w - 2 * pad) * r["unknown_share"] for r in rows]

    def y(v: float) -> float:
        return h - pad - (h - 2 * pad) * v

    top = max(max(r["test_early"]["ci_high"], r["test_converged"]["ci_high"]) for r in rows)
    scale = max(0.1, round(top + 0.05, 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-size="11"'
        ' font-family="sans-serif">',
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>',
        f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">% Unknown in training set</text>',
        f'<text x="12" y="{pad - 12}">test accuracy</text>',
    ]
    for tick in (0.0, scale / 2, scale):  # y axis labels
        ty = y(tick / scale)
        parts.append(f'<text x="{pad - 6}" y="{ty + 4:.1f}" text-anchor="end">{tick:.2f}</text>')
    for xi, r in zip(x, rows, strict=True):
        parts.append(f'<text x="{xi}" y="{h - pad + 15}" text-anchor="middle">'
                     f'{r["unknown_share"]:.0%}</text>')  # fmt: skip
    for key, colour in (("test_early", "#1f77b4"), ("test_converged", "#d62728")):
        pts = [(xi, y(r[key]["mean"] / scale)) for xi, r in zip(x, rows, strict=True)]
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for xi, r in zip(x, rows, strict=True):
            lo, hi = y(r[key]["ci_low"] / scale), y(r[key]["ci_high"] / scale)
            parts.append(f'<line x1="{xi}" y1="{lo:.1f}" x2="{xi}" y2="{hi:.1f}" '
                         f'stroke="{colour}" opacity="0.5"/>')  # fmt: skip
    for i, (label, colour) in enumerate((("early stop", "#1f77b4"), ("convergence", "#d62728"))):
        parts.append(
            f'<text x="{w - pad}" y="{pad + 14 * i}" fill="{colour}" text-anchor="end">'
            f"{label}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    base = LanguageModel.load(*resolve_model(args.model))
    rows = facts()
    categories = categorise(base, rows, args)
    slick_s = json.loads((args.out / "new_knowledge_slick.json").read_text())["seconds"]
    parts = split(rows, categories, args)
    parts["test"] = with_options(parts["test"], rows, args.seed)
    base_test = accuracy(base, parts["test"])
    base_lik = likelihood_accuracy(base, parts["test"])
    base_acc = {
        "test": ci(base_test),
        "known": ci(base_test[: args.test]),
        "unknown": ci(base_test[args.test :]),
        "known_lik": ci(base_lik[: args.test]),
        "unknown_lik": ci(base_lik[args.test :]),
    }
    results = []
    for share in SHARES:
        n_unknown = round(args.n_train * share)
        train_rows = parts["unknown"][:n_unknown] + parts["known"][: args.n_train - n_unknown]
        run = fine_tune(base, train_rows, parts["dev"], args)
        results.append(row_for(share, run, evaluate(base, run, parts, train_rows), args.test))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "scores"}), flush=True)
        del run
    counts = {c: categories.count(c) for c in slick.CATEGORIES}
    meta = {"args": {k: str(v) for k, v in vars(args).items()}, "slick_categories": counts,
            "slick_seconds": round(slick_s, 1), "seconds": round(time.perf_counter() - started, 1),
            "base": base_acc, "torch_threads": torch.get_num_threads()}  # fmt: skip
    contrasts = comparisons(results, args.test)
    contrasts_lik = comparisons(results, args.test, "_lik")
    out = {**meta, "rows": results, "paired": contrasts, "paired_likelihood": contrasts_lik,
           "test_options": [r["options"] for r in parts["test"]]}  # fmt: skip
    (args.out / "new_knowledge.json").write_text(json.dumps(out, indent=1))
    text = (
        table(results, base_acc) + "\n" + diff_table(contrasts)
        + "\nLikelihood (multiple choice among the answer and three others of the same relation,"
        " highest log-likelihood per byte):\n\n"
        + likelihood_table(results, base_acc) + "\n" + diff_table(contrasts_lik)
    )  # fmt: skip
    (args.out / "new_knowledge.md").write_text(text)
    (args.out / "new_knowledge.svg").write_text(svg(results))
    print(text)
    print(f"SliCK categories: {counts}; total {meta['seconds']} s")


if __name__ == "__main__":
    main()
