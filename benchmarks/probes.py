"""The probe stage of the demo, before and after the likelihood probe and the probe cache.

The demo's probe stage is SliCK on the training data, the base model's probes, and each
fine-tune's probes. Same model, same task (examples/ticket-codes), same settings, one run:

- `today`: the stage as shouldtune ran it before issue 14: generation only, nothing cached,
  SliCK samples only for examples never right greedily;
- `new, first run`: generation + likelihood, SliCK samples every example, empty cache
  (what a first run on a machine pays, the cache being written);
- `new, next runs`: the same with the cache filled by the first: only the fine-tune is asked.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/probes.py [--adapter RUN/trained/lora]

The fine-tune is a LoRA adapter saved by a run (`--adapter`), else one trained here on the
demo's data for a few steps (peft, rank 8), enough that it answers in order codes. Prints a
table and writes benchmarks/results/probes.json.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from pathlib import Path
from types import SimpleNamespace

from benchutil import ROOT, load_bundled_lm, machine, table, timed, write_json

from shouldtune.core.metrics import load_scorer
from shouldtune.core.prompts import chat
from shouldtune.core.taskio import load_task
from shouldtune.models.lm import LanguageModel
from shouldtune.probes import slick
from shouldtune.probes.runner import ModelOracle, answer_questions
from shouldtune.probes.session import ProbeSession
from shouldtune.strategies.base import RunContext

TASK = ROOT / "examples" / "ticket-codes"


def quick_lora(lm: LanguageModel, task, steps: int) -> LanguageModel:
    """A LoRA adapter trained for a few steps on the demo's data, merged."""
    import copy

    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM")
    model = get_peft_model(copy.deepcopy(lm.model), config)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    rows = [lm.encode_for_training(chat(task.instruction, e.input), e.output) for e in task.train]
    model.train()
    for step in range(steps):
        batch = random.Random(step).sample(rows, 8)
        loss = sum(_loss(model, p, c) for p, c in batch) / len(batch)
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    return LanguageModel("lora", model.merge_and_unload(), lm.tokenizer)


def _loss(model, prompt: list[int], completion: list[int]):
    import torch

    ids = torch.tensor([prompt + completion])
    labels = torch.tensor([[-100] * len(prompt) + completion])
    return model(input_ids=ids, labels=labels).loss


def load_adapter(lm: LanguageModel, folder: Path) -> LanguageModel:
    import copy

    from peft import PeftModel

    model = PeftModel.from_pretrained(copy.deepcopy(lm.model), folder).merge_and_unload()
    return LanguageModel("lora", model.eval(), lm.tokenizer)


def today(lm, tuned, task, session) -> dict[str, float]:
    """The stage as it ran before: generated answers only; SliCK samples only where no greedy
    answer was right (the old `slick.measure`)."""
    cfg, gen, s = task.config.probes, task.config.generation, task.config.probes.slick
    questions = [i.question for i in session.items]
    scorer = load_scorer(task.metric, task.root)
    n = min(s.max_examples, len(task.train))
    analysed = sorted(random.Random(0).sample(range(len(task.train)), n))
    oracle = ModelOracle(lm, task.instruction, task.train, analysed, scorer, s.shots, 0,
                         gen.max_new_tokens, gen.batch_size, s.temperature,
                         stop=tuple(gen.stop))  # fmt: skip

    def old_slick() -> None:
        greedy = [slick.Query(i, p) for i in range(n) for p in range(s.prompts)]
        right = oracle(greedy)
        known = {q.example for q, ok in zip(greedy, right, strict=True) if ok}
        sampled = [slick.Query(i, k % s.prompts, k) for i in range(n) if i not in known
                   for k in range(s.samples)]  # fmt: skip
        if sampled:
            oracle(sampled)

    times = {"slick": timed(old_slick)[0]}
    times["base"] = timed(lambda: answer_questions(lm, questions, 24, cfg.batch_size))[0]
    times["fine-tune"] = timed(lambda: answer_questions(tuned, questions, 24, cfg.batch_size))[0]
    return times


def new(lm, tuned, task) -> tuple[dict[str, float], dict]:
    session = ProbeSession(task, quick=False, model_dir=Path(lm.model.name_or_path))
    ctx = RunContext(task=task, lm_loader=lambda: lm)
    scorer = load_scorer(task.metric, task.root)
    times = {"slick": timed(lambda: session.knowledge(ctx, scorer))[0]}
    times["base"] = timed(lambda: session.before(ctx))[0]
    strategy = SimpleNamespace(name="lora", trains=True, tuned=tuned)
    times["fine-tune"], out = timed(lambda: session.after(strategy, ctx))
    return times, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", type=Path, help="a LoRA adapter folder saved by a run")
    ap.add_argument("--steps", type=int, default=20, help="training steps without --adapter")
    args = ap.parse_args()
    os.environ["SHOULDTUNE_CACHE"] = tempfile.mkdtemp(prefix="probe-cache-")  # empty: cold
    task = load_task(TASK)
    lm = load_bundled_lm()
    tuned = load_adapter(lm, args.adapter) if args.adapter else quick_lora(lm, task, args.steps)
    session = ProbeSession(task, quick=False)
    print(f"{len(session.items)} probe items ({len(session.choice_items)} multiple choice)")
    runs = {"today": today(lm, tuned, task, session)}
    runs["new, first run"], first = new(lm, tuned, task)
    runs["new, next runs"], again = new(lm, tuned, task)
    assert again["seconds"]["before_from_disk"], "the second run must reuse the base probes"
    base = sum(runs["today"].values())
    rows = [
        [name, t["slick"], t["base"], t["fine-tune"], sum(t.values()), sum(t.values()) / base]
        for name, t in runs.items()
    ]
    print(table(["path", "SliCK s", "base probes s", "fine-tune probes s", "stage s",
                 "vs today"], rows))  # fmt: skip
    shown = {k: v for k, v in again.items() if k != "examples"}
    print({k: (v["before"], v["after"]) for k, v in shown.items() if "before" in v})
    path = write_json(
        "probes",
        {"machine": machine(), "items": len(session.items), "runs": runs,
         "fine_tune": str(args.adapter or f"quick LoRA, {args.steps} steps"),
         "probes_after_fine_tune": shown},
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
