"""Close calls get more seeds (seeds.py): which fine-tunes, how they are retrained, and how
their answers are scored."""

from __future__ import annotations

from pydantic import BaseModel

from shouldtune import seeds
from shouldtune.core import scoring
from shouldtune.core.metrics import load_metric
from shouldtune.core.types import Example, Generation, StrategyRun, Traits
from shouldtune.strategies.base import RunContext
from shouldtune.strategies.finetuned import FineTuneStrategy

TEST = [Example(f"q{i}", "yes") for i in range(20)]
METRIC = load_metric("exact_match", ".")


def run(name: str, right: int, trains: bool) -> StrategyRun:
    gens = [Generation("yes" if i < right else "no") for i in range(len(TEST))]
    return StrategyRun(name, "x", Traits(trains=trains), gens, {"p50": 1.0}, 1, 1, 0, 0, 0)


def test_only_fine_tunes_within_their_interval_of_the_best_alternative_are_close():
    runs = [run("knn", 12, False), run("lora", 14, True), run("full", 20, True)]
    close = seeds.close_calls(runs, TEST, METRIC, scoring.TestSplit(len(TEST)), 500, 0)
    assert close == ["lora"]  # 0.70 vs 0.60 is within lora's CI; full's 1.00 is not close
    # Seen rows are not scored: on the clean rows alone lora is far ahead.
    split = scoring.TestSplit(len(TEST), seen=frozenset(range(12, 20)))
    runs = [run("knn", 0, False), run("lora", 12, True)]
    assert seeds.close_calls(runs, TEST, METRIC, split, 500, 0) == []


class Opts(BaseModel):
    learning_rate: float = 0.1
    lr_sweep: bool = True
    learning_curve: bool | None = None


class Recorder:
    name = "lora"

    def __init__(self) -> None:
        self.options, self.calls, self.tuned, self.folders = Opts(), [], None, []

    def prepare(self, ctx):
        self.calls.append((ctx.seed, ctx.split_seed, ctx.dev_split()[1], self.options))
        self.folders.append(ctx.work_dir)
        return {}

    def predict(self, examples, ctx):
        return [Generation(f"seed{ctx.seed}") for _ in examples]


def test_seeds_retrain_with_the_chosen_rate_on_the_same_dev_split(make_task_dir):
    from shouldtune.core.taskio import load_task

    rows = [{"input": f"q{i}", "output": "a"} for i in range(30)]
    task = load_task(make_task_dir(rows, rows[:4]))
    ctx = RunContext(task=task, seed=7, work_dir=task.root / "run")
    strategy = Recorder()
    first = run("lora", 1, True)
    first.details["learning_rate_chosen"] = 0.003
    got = seeds.seed_answers(strategy, ctx, first, [8, 9])
    assert [g["seed"] for g in got] == [8, 9]
    assert got[0]["predictions"] == ["seed8"] * 4
    dev = ctx.dev_split()[1]
    for (seed, split_seed, seed_dev, opts), want in zip(strategy.calls, (8, 9), strict=True):
        assert (seed, split_seed, seed_dev) == (want, 7, dev)
        assert (opts.learning_rate, opts.lr_sweep, opts.learning_curve) == (0.003, False, False)
    # Each seed trains in a folder of its own: the run's saved weights stay the first seed's.
    assert ctx.work_dir not in strategy.folders and len(set(strategy.folders)) == 2


def test_seed_answers_become_seed_scores_and_leave_the_scored_details():
    details = {"seeds": [{"seed": 1, "predictions": ["a", "b"]}, {"seed": 2, "predictions": ["a",
               "a"]}]}  # fmt: skip

    def score(texts):
        return [float(t == "a") for t in texts]

    out = FineTuneStrategy.score_details(details, score, [1.0, 1.0])
    assert out["seed_scores"] == [{"seed": 1, "score": 0.5}, {"seed": 2, "score": 1.0}]
    assert "seeds" not in out
