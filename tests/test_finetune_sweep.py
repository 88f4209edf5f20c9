"""The learning-rate sweep: successive halving over warm-started runs of the real schedule.
The winner's run continues from its pause and ends exactly where a run started with that
rate would; the grid extends past an edge winner; two rounds, the best two in the second."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from shouldtune import strategies
from shouldtune.core.taskio import load_task
from shouldtune.finetune import sweep
from shouldtune.strategies.base import RunContext

TRAIN = [{"input": f"order {i} of item {i % 4}", "output": f"code {i % 4}"} for i in range(24)]


def _fake_rounds(monkeypatch, round1, round2):
    """Replace training by dev losses that depend on the rate and the round only."""
    calls = []

    def advance(strategy, ctx, data, cand, until, folder):
        calls.append((cand.learning_rate, until))
        loss = (round2 if cand.rounds else round1)(cand.learning_rate)
        cand.rounds.append({"steps": until, "dev_loss": loss})
        cand.steps = until
        return cand

    monkeypatch.setattr(sweep, "_advance", advance)
    return calls


def _ctx(n_train: int = 80):
    data = SimpleNamespace(train_s=[None] * n_train, dev_s=[None])
    return SimpleNamespace(quick=False, seed=0, checkpoint_dir=None), data


@pytest.mark.parametrize(
    ("round1", "tried"),
    [
        (lambda lr: 1 + abs(lr - 0.001), [0.00033, 0.001, 0.003]),  # inside: no extension
        (lambda lr: 1 - lr, [0.00033, 0.001, 0.003, 0.009, 0.027]),  # rising: 2 steps out
        (lambda lr: 1 + abs(lr - 0.009), [0.00033, 0.001, 0.003, 0.009, 0.027]),
        (lambda lr: 1 + lr, [3.7e-05, 0.00011, 0.00033, 0.001, 0.003]),  # smaller: 2 down
    ],
)
def test_grid_extends_past_an_edge_winner_then_a_close_pair_gets_a_second_round(
    monkeypatch, round1, tried
):
    strategy = strategies.create("lora", {"learning_rate": 1e-3, "sweep_max_steps": 5})
    calls = _fake_rounds(monkeypatch, round1, round2=lambda lr: -lr)  # round 2: larger wins
    rows, chosen = sweep.sweep_learning_rate(strategy, *_ctx())
    assert [r["learning_rate"] for r in rows] == tried
    finalists = sorted(tried, key=round1)[:2]  # losses within 3% of each other: close
    assert [c for c in calls if c[1] == 10] == [(lr, 10) for lr in finalists]
    assert len(calls) == len(tried) + 2 and chosen == max(finalists)
    assert {r["learning_rate"] for r in rows if r["steps"] == 10} == set(finalists)
    assert all(len(r["rounds"]) == (2 if r["steps"] == 10 else 1) for r in rows)


def test_a_clear_leader_wins_without_a_second_round(monkeypatch):
    losses = {0.00033: 4.7, 0.001: 3.6, 0.003: 1.0}  # the runner-up 3.6x the leader's loss
    calls = _fake_rounds(monkeypatch, losses.get, lambda lr: 0.0)
    strategy = strategies.create("lora", {"sweep_max_steps": 5, "sweep_extend": 0})
    rows, chosen = sweep.sweep_learning_rate(strategy, *_ctx())
    assert chosen == 0.003 and len(calls) == 3 and {r["steps"] for r in rows} == {5}
    leader = sweep._Candidate(1.0, [{"steps": 5, "dev_loss": 1.0}])
    for runner_up, close in ((1.25, True), (1.26, False)):
        other = sweep._Candidate(2.0, [{"steps": 5, "dev_loss": runner_up}])
        assert sweep.close_call([leader, other]) is close


def test_a_grid_the_user_chose_is_not_extended_and_one_rate_needs_no_round(monkeypatch):
    calls = _fake_rounds(monkeypatch, lambda lr: -lr, lambda lr: -lr)
    fixed = strategies.create("lora", {"lr_candidates": [1e-4, 1e-3]})
    rows, chosen = sweep.sweep_learning_rate(fixed, *_ctx())
    assert [r["learning_rate"] for r in rows] == [1e-4, 1e-3] and chosen == 1e-3
    calls.clear()
    single = strategies.create("lora", {"lr_candidates": [2e-3]})
    assert sweep.sweep_learning_rate(single, *_ctx())[1] == 2e-3 and len(calls) == 1


def test_rounds_fit_the_run():
    opts = strategies.create("lora", {"epochs": 3, "batch_size": 8, "sweep_max_steps": 6}).options
    assert sweep.rung_steps(opts, 144) == 6  # the demo: 54 batches, rounds at 6 and 12
    assert sweep.rung_steps(opts, 40) == 3  # 15 batches: rounds end by the middle
    assert sweep.rung_steps(opts, 4) == 1
    accum = strategies.create("lora", {"grad_accum": 4, "sweep_max_steps": 6}).options
    assert sweep.rung_steps(accum, 400) == 4  # whole optimizer steps only


def test_sweep_note_flags_a_winner_at_the_edge():
    rows = [{"learning_rate": r, "dev_loss": d} for r, d in ((1e-4, 3.0), (3e-4, 2.0), (1e-3, 1.0))]
    assert "largest" in sweep.edge_note(rows, 1e-3)
    assert "smallest" in sweep.edge_note(rows, 1e-4)
    assert sweep.edge_note(rows, 3e-4) == "" and sweep.edge_note([], 1e-3) == ""


def test_the_winner_continues_from_its_pause_to_the_weights_of_a_fresh_run(
    make_task_dir, tiny_lm, tmp_path
):
    task = load_task(make_task_dir(TRAIN, test=TRAIN[:4], config={"instruction": "Code."}))
    options = {"epochs": 2, "batch_size": 4, "sweep_max_steps": 2, "learning_curve": False,
               "learning_rate": 0.01, "dropout": 0.2}  # fmt: skip

    def fit(folder, **extra):
        ctx = RunContext(task=task, work_dir=tmp_path / folder, lm_loader=lambda: tiny_lm)
        ctx.checkpoint_dir = tmp_path / folder / "ckpt"
        strategy = strategies.create("lora", {**options, **extra})
        model, details = strategy.fit(ctx)
        return {n: p.detach() for n, p in model.named_parameters() if "lora_" in n}, details

    swept, details = fit("swept")
    chosen = details["learning_rate_chosen"]
    rows = details["lr_sweep"]
    steps = [r["steps"] for r in rows]  # rounds end at 2 and 4 (22 examples: 12 batches)
    assert steps.count(4) == 2 and set(steps) == {2, 4} and len(rows) >= 3
    assert details["training"]["resumed_at_step"] == 4  # the winner went on from round 2
    assert details["training"]["steps"] == 12
    fresh, fresh_details = fit("fresh", lr_sweep=False, learning_rate=chosen)
    assert fresh_details["training"]["resumed_at_step"] is None
    assert swept.keys() == fresh.keys()
    for name in swept:
        assert torch.equal(swept[name], fresh[name]), name
    assert details["training"]["history"] == fresh_details["training"]["history"]
    assert [p["step"] for p in details["training"]["pauses"]] == [2, 4]  # its two rounds


class Killed(Exception):
    """Stands in for SIGKILL (tests/test_resume_kill.py does the real thing for a run)."""


def test_a_sweep_killed_midway_resumes_to_the_same_choice_and_weights(
    make_task_dir, tiny_lm, tmp_path, monkeypatch
):
    task = load_task(make_task_dir(TRAIN, test=TRAIN[:4], config={"instruction": "Code."}))
    options = {"epochs": 1, "batch_size": 4, "sweep_max_steps": 2, "learning_curve": False}

    def fit(folder: str, kill_after: int | None = None):
        ctx = RunContext(task=task, work_dir=tmp_path / folder, lm_loader=lambda: tiny_lm)
        ctx.checkpoint_dir = tmp_path / folder / "ckpt"
        strategy = strategies.create("lora", options)
        batches = []

        def hook(model, seed):
            def before(i):
                batches.append(i)
                if kill_after is not None and len(batches) > kill_after:
                    raise Killed

            return before

        monkeypatch.setattr(strategy, "batch_hook", hook)
        model, details = strategy.fit(ctx)
        lora = {n: p.detach() for n, p in model.named_parameters() if "lora_" in n}
        rows = [{k: v for k, v in r.items() if k != "seconds"} for r in details["lr_sweep"]]
        return lora, rows, details["learning_rate_chosen"]

    whole = fit("whole")
    with pytest.raises(Killed):
        fit("killed", kill_after=2)  # rounds of 1 batch: two rates paused, the third dies
    again = fit("killed")
    assert again[1:] == whole[1:]  # the same rounds, losses and choice
    assert all(torch.equal(again[0][n], whole[0][n]) for n in whole[0])


def test_a_round_out_of_memory_retries_at_half_the_batch_pausing_at_the_same_step(monkeypatch):
    """As the final training does (train_with_backoff): half the batch, twice the
    accumulation, and the pause at the same optimizer step, i.e. twice the batches."""
    from shouldtune.finetune.trainer import TrainReport
    from shouldtune.models import memory

    seen = []

    def round_(strategy, ctx, data, cfg, until, folder, label):
        seen.append((cfg.batch_size, cfg.grad_accum))
        if cfg.batch_size == 8:
            raise torch.OutOfMemoryError("CUDA out of memory")
        pause = until * cfg.grad_accum // strategy.options.grad_accum
        report = TrainReport(1, 1, steps=pause, pauses=[{"step": pause, "dev_loss": 0.25}])
        return report, pause

    monkeypatch.setattr(sweep, "_round", round_)
    memory.clear()
    strategy = strategies.create("lora", {"batch_size": 8})
    ctx, data = _ctx()
    cand = sweep._advance(strategy, ctx, data, sweep._Candidate(1e-3), 5, None)
    assert seen == [(8, 1), (4, 2)]
    assert cand.rounds == [{"steps": 10, "dev_loss": 0.25}] and cand.steps == 10
    assert [(e["from"], e["to"]) for e in memory.events()] == [(8, 4)]
    memory.clear()
