"""The fine-tuning pipeline through evaluate(): lr sweep, learning curve, results details,
saved weights, and reproducibility (same seed -> same scores) on the tiny model."""

from __future__ import annotations

import pytest
import torch

from shouldtune import strategies
from shouldtune.core.metrics import load_scorer
from shouldtune.core.taskio import load_task
from shouldtune.eval.evaluate import evaluate_scored as evaluate
from shouldtune.finetune.curve import curve_statement
from shouldtune.finetune.weights import MANIFEST, load_tuned
from shouldtune.strategies.base import RunContext

TRAIN = [
    {"input": f"order {i} of item {i % 4} please", "output": f"code {i % 4}"} for i in range(20)
]
TEST = [{"input": f"order {i} for item {i % 4}", "output": f"code {i % 4}"} for i in range(50, 56)]
FAST = {"epochs": 1, "batch_size": 4, "lr_sweep": False, "learning_curve": False}


@pytest.fixture
def task(make_task_dir):
    config = {
        "instruction": "Write the code.",
        "generation": {"max_new_tokens": 3, "batch_size": 6},
        "eval": {"bootstrap_samples": 200},
    }
    return load_task(make_task_dir(TRAIN, test=TEST, config=config))


def _run(task, tiny_lm, tmp_path, name: str, options: dict, seed: int = 0, quick=False):
    """(result, strategy) after evaluate() on the tiny model."""
    ctx = RunContext(
        task=task, seed=seed, quick=quick, work_dir=tmp_path, lm_loader=lambda: tiny_lm
    )
    strategy = strategies.create(name, options)
    scorer = load_scorer(task.metric, task.root)
    result = evaluate(strategy, ctx, scorer, tmp_path, latency_samples=1, bootstrap_samples=200)
    return result, strategy


def _evaluate(*args, **kw):
    return _run(*args, **kw)[0]


def test_sweep_picks_the_lowest_dev_loss_and_curve_gets_every_point(task, tiny_lm, tmp_path):
    options = {**FAST, "lr_sweep": True, "sweep_max_steps": 2, "sweep_extend": 0}
    options["learning_curve"] = True
    result = _evaluate(task, tiny_lm, tmp_path, "lora", options)
    d = result.details
    assert [r["learning_rate"] for r in d["lr_sweep"]] == [0.00033, 0.001, 0.003]
    # 18 examples in batches of 4, one epoch: 5 batches, so rounds of 1 (a quarter) and 2
    assert sorted(r["steps"] for r in d["lr_sweep"]) == [1, 2, 2]
    finalists = [r for r in d["lr_sweep"] if r["steps"] == 2]
    best = min(finalists, key=lambda r: r["dev_loss"])
    assert d["learning_rate_chosen"] == best["learning_rate"] == d["training"]["learning_rate"]
    curve = d["learning_curve"]
    assert [p["fraction"] for p in curve] == [0.25, 0.5, 1.0]
    assert [p["n_train"] for p in curve] == [4, 9, 18]
    assert curve[-1]["score"] == result.quality.score  # the full-data point is the main run
    assert all(p["ci_low"] <= p["score"] <= p["ci_high"] for p in curve)
    assert d["learning_curve_statement"].split(":")[0] in {
        "Still rising",
        "Probably still rising",
        "Flat",
    }
    assert set(d["seconds"]) == {"lr_sweep", "training", "learning_curve"}
    assert result.train_seconds == d["train_seconds"] < d["prepare_seconds"]


def test_quick_skips_sweep_and_curve(task, tiny_lm, tmp_path):
    options = {**FAST, "lr_sweep": True, "learning_curve": True}
    d = _evaluate(task, tiny_lm, tmp_path, "full", options, quick=True).details
    assert d["lr_sweep"] == [] and d["learning_curve"] == []
    assert "--quick" in d["learning_curve_statement"]
    assert d["learning_rate_chosen"] == 5e-5


def test_auto_curve_respects_the_budget(task, tiny_lm, tmp_path):
    options = {**FAST, "learning_curve": None, "learning_curve_budget_s": 0}
    d = _evaluate(task, tiny_lm, tmp_path, "layerwise", options).details
    assert d["learning_curve"] == [] and "budget" in d["learning_curve_statement"]


@pytest.mark.parametrize("name", ["lora", "full", "layerwise"])
def test_results_details_and_saved_weights(task, tiny_lm, tmp_path, name):
    result, strategy = _run(task, tiny_lm, tmp_path, name, {**FAST, "learning_rate": 0.01})
    d = result.details
    training = d["training"]
    for key in ("trainable_parameters", "train_tokens", "seconds", "tokens_per_s",
                "peak_rss_mb", "final_train_loss", "final_dev_loss", "epochs_run",
                "padding_waste", "padding_waste_random"):  # fmt: skip
        assert key in training, key
    assert training["train_tokens"] > 0 and training["epochs_run"] == 1.0
    saved = tmp_path / d["saved_to"]
    assert (saved / MANIFEST).is_file() and d["method"] == name
    model, _ = load_tuned(saved)  # the saved weights reproduce the evaluated model exactly
    evaluated = dict(strategy.tuned.model.named_parameters())
    assert set(dict(model.named_parameters())) == set(evaluated)
    for n, p in model.named_parameters():
        assert torch.equal(p, evaluated[n]), n
    base = dict(tiny_lm.model.named_parameters())
    assert any(not torch.equal(p, base[n]) for n, p in model.named_parameters())


def test_same_seed_same_scores_other_seed_differs(task, tiny_lm, tmp_path):
    options = {**FAST, "evals_per_epoch": 2, "learning_rate": 0.02}
    runs = [
        _evaluate(task, tiny_lm, tmp_path / f"r{i}", "lora", options, seed=s)
        for i, s in enumerate([3, 3, 4])
    ]
    a, b, c = runs
    assert a.scores == b.scores and a.quality == b.quality
    assert a.details["training"]["history"] == b.details["training"]["history"]
    assert a.details["training"]["history"] != c.details["training"]["history"]


def test_curve_statement_wording():
    pts = [{"score": 0.2, "n_train": 10}, {"score": 0.8, "n_train": 20}]
    rising = curve_statement(pts, [[0] * 8 + [1] * 2, [0] * 2 + [1] * 8])
    assert rising.startswith("Still rising") and "more data" in rising.lower()
    flat_pts = [{"score": 0.5, "n_train": 10}, {"score": 0.5, "n_train": 20}]
    flat = curve_statement(flat_pts, [[0, 1] * 5, [1, 0] * 5])
    assert flat.startswith("Flat")
    maybe_pts = [{"score": 0.5, "n_train": 10}, {"score": 0.6, "n_train": 20}]
    maybe = curve_statement(maybe_pts, [[0, 1] * 5, [1, 0, 1, 0, 1, 0, 1, 0, 1, 1]])
    assert maybe.startswith("Probably still rising")


def test_curve_statement_follows_the_scored_points():
    """score_details scores each point's cached answers with the task metric: the statement
    reads the scores, so answers that got right with more data say "rising", none say "flat"."""
    from shouldtune.strategies.finetuned import FineTuneStrategy

    details = {
        "train_examples": 20,
        "learning_curve": [
            {"fraction": 0.25, "n_train": 5, "predictions": ["x"] * 10},
            {"fraction": 0.5, "n_train": 10, "predictions": ["x"] * 10},
        ],
    }

    def score(texts):
        return [float(t == "y") for t in texts]

    rising = FineTuneStrategy.score_details(details, score, [1.0] * 10, n_resamples=200)
    assert [p["score"] for p in rising["learning_curve"]] == [0.0, 0.0, 1.0]
    assert [p["n_train"] for p in rising["learning_curve"]] == [5, 10, 20]
    assert rising["learning_curve_statement"].startswith("Still rising")
    flat = FineTuneStrategy.score_details(details, score, [0.0] * 10, n_resamples=200)
    assert flat["learning_curve_statement"].startswith("Flat")


@pytest.mark.parametrize("name", ["lora", "full"])
def test_a_resumed_fine_tune_is_restored_from_its_saved_weights_not_retrained(
    task, tiny_lm, tmp_path, name
):
    _, trained = _run(task, tiny_lm, tmp_path, name, FAST)
    ctx = RunContext(task=task, work_dir=tmp_path, lm_loader=lambda: tiny_lm)
    fresh = strategies.create(name, FAST)
    assert fresh.restore(ctx) is True and fresh.tuned_model() is not None
    served = [g.text for g in fresh.predict(task.test, ctx)]
    assert served == [g.text for g in trained.predict(task.test, ctx)]
    before = {k: v.clone() for k, v in tiny_lm.model.state_dict().items()}
    assert any(  # the restored model carries the training, not the base weights
        not torch.equal(p, before[k]) for k, p in fresh.tuned_model().model.state_dict().items()
        if k in before
    )
    elsewhere = RunContext(task=task, work_dir=tmp_path / "nothing", lm_loader=lambda: tiny_lm)
    assert strategies.create(name, FAST).restore(elsewhere) is False
