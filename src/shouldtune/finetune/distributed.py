"""Train a task's fine-tune on several processes, GPUs or nodes with Hugging Face accelerate.

    accelerate launch --multi_gpu --num_processes 4 -m shouldtune.finetune.distributed \\
        TASK_DIR lora --out DIR

Same options (task.yaml `options.<strategy>`), data split, lr sweep and loop as
`shouldtune run`; batches are sharded across the processes (DDP; not FSDP: best-weight
restore and saving assume whole parameters on every process). The main process writes
DIR/trained/<strategy>/ and DIR/train_report.json; `shouldtune export DIR STRATEGY --out
MODEL` turns it into a plain model folder. Evaluation and the verdict stay with
`shouldtune run` (one process).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.errors import InputError


def train_task(
    task_dir: Path, strategy_name: str, out: Path, model: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """Sweep and train one fine-tuning strategy; returns its details (as in results.json)."""
    from accelerate import PartialState

    # This command is a top of the house, like run.py: it alone in finetune/ reaches up to
    # the strategies, to run a registered fine-tune (tests/test_layers.py names it).
    from .. import strategies
    from ..contract import RunContext
    from ..core.taskio import load_task
    from ..models.bundled import resolve_model
    from ..models.lm import LanguageModel
    from ..strategies.finetuned import FineTuneStrategy

    task = load_task(task_dir)
    source = str(task.root / "task.yaml")
    strategy = strategies.create(strategy_name, task.config.options.get(strategy_name), source)
    if not isinstance(strategy, FineTuneStrategy):
        raise InputError(f"{strategy_name!r} is not a fine-tuning strategy")
    name, folder = resolve_model(model or task.config.model)
    lm = LanguageModel.load(name, folder)
    ctx = RunContext(task=task, seed=seed, work_dir=Path(out), lm_loader=lambda: lm)
    _, details = strategy.fit(ctx)
    if PartialState().is_main_process:
        report = {"task": task.name, "model": name, "strategy": strategy_name, **details}
        (Path(out) / "train_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return details


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shouldtune.finetune.distributed")
    parser.add_argument("task_dir", type=Path)
    parser.add_argument("strategy", help="lora, full or layerwise")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default=None, help="bundled model name or local folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        details = train_task(args.task_dir, args.strategy, args.out, args.model, args.seed)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from accelerate import PartialState

    t = details["training"]
    PartialState().print(
        f"trained {args.strategy} on {t['processes']} process(es): {t['train_tokens']} tokens "
        f"in {t['seconds']:.1f} s; saved to {args.out / details['saved_to']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
