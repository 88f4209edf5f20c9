"""Know the cost before paying it: workload counts, the arithmetic, calibration and --plan."""

from __future__ import annotations

import json

import pytest
from transformers import AutoTokenizer
from typer.testing import CliRunner

from shouldtune.core.taskio import load_task
from shouldtune.estimate import Settings, estimate_run, plan_lines, speed
from shouldtune.estimate.speed import Speeds, TrainSpeed
from shouldtune.estimate.timing import estimate_strategy, gen_seconds, train_seconds
from shouldtune.estimate.workload import FineTuneWork, GenJob, ProbeWork, TrainJob, Workload
from shouldtune.run import RunOptions, plan, run_task


def fake_speeds(methods=("lora",)) -> Speeds:
    return Speeds(
        prefill_batch=0.001,
        prefill_single=0.002,
        decode={1: 0.01, 8: 0.03},
        model_load_s=1.0,
        train={m: TrainSpeed(0.01, 2.0, 0.003, (8, 20)) for m in methods},
        embed_load_s=1.5,
        embed_per_text=0.01,
        embed_per_call=0.02,
        basis={"measured": ["fake"], "machine": {"cpu": "test"}},
    )


def test_generation_and_training_arithmetic():
    sp = fake_speeds()
    job = GenJob("test set", [(8, 10), (2, 12)], prefix=20, steps=5)
    decode_2 = 0.01 + (0.03 - 0.01) / 7  # linear between the measured batch sizes
    expected = 20 * 0.002 + (80 * 0.001 + 5 * 0.03) + (24 * 0.001 + 5 * decode_2)
    assert gen_seconds(job, sp) == pytest.approx(expected)
    single = GenJob("latency", [(1, 10), (1, 6)], prefix=0, steps=4, single=True)
    assert gen_seconds(single, sp) == pytest.approx(16 * 0.002 + 8 * 0.01)
    job.scale = 3.0
    assert gen_seconds(job, sp) == pytest.approx(3 * expected)
    job.cap_s = 0.5  # the prompt search's budget: the run stops there, so does the estimate
    assert gen_seconds(job, sp) == pytest.approx(0.5)
    job.cap_s = 100.0
    assert gen_seconds(job, sp) == pytest.approx(3 * expected)
    train = TrainJob("training", "lora", 10, 1000, 900, dev_evals=3, dev_padded_tokens=100)
    assert train_seconds(train, sp) == pytest.approx(2.0 + 1000 * 0.01 + 3 * 100 * 0.003)
    assert sp.decode_step(32) == pytest.approx(0.01 + 31 * 0.02 / 7)  # extrapolated


def _tune(training_tokens: int, budget: float | None) -> FineTuneWork:
    work = Workload("lora", "fine-tuning")
    work.train = [TrainJob("training", "lora", 10, training_tokens, training_tokens, 0, 0)]
    curve = TrainJob("curve 50%", "lora", 5, training_tokens // 2, training_tokens // 2, 0, 0)
    return FineTuneWork(
        work,
        curve_train=[curve],
        curve_gen=[GenJob("curve 50%", [(8, 10)], 0, 5)],
        curve_fractions=0.5,
        auto_budget_s=budget,
    )


def test_learning_curve_follows_the_runs_budget_rule():
    sp, probes = fake_speeds(), ProbeWork()
    # training 2 + 1000 x 0.01 = 12 s: the curve's projected 6 s fits a 10 s budget
    fits = estimate_strategy(_tune(1000, 10.0), sp, probes, first_tune=True)
    assert fits.seconds["learning curve"] == pytest.approx(2 + 5 + 0.08 + 5 * 0.03)
    assert fits.train_tokens == 1500
    over = estimate_strategy(_tune(3000, 10.0), sp, probes, first_tune=True)
    assert "learning curve" not in over.seconds
    assert any("learning curve skipped" in a for a in over.assumptions)
    forced = estimate_strategy(_tune(3000, None), sp, probes, first_tune=True)
    assert "learning curve" in forced.seconds


def test_base_model_probes_come_with_the_first_fine_tune_only():
    sp = fake_speeds()
    probes = ProbeWork(base=GenJob("b", [(8, 10)], 0, 4), tuned=GenJob("p", [(8, 10)], 0, 4))
    one_pass = 80 * 0.001 + 4 * 0.03
    first = estimate_strategy(_tune(100, None), sp, probes, first_tune=True)
    later = estimate_strategy(_tune(100, None), sp, probes, first_tune=False)
    assert first.seconds["probes"] == pytest.approx(2 * one_pass)
    assert later.seconds["probes"] == pytest.approx(one_pass)
    prompting = estimate_strategy(Workload("zero_shot", "prompting"), sp, probes, True)
    assert "probes" not in prompting.seconds


def _task(make_task_dir, **config):
    train = [{"input": f"order {i} of item {'x' * (i % 5)}", "output": f"C-{i}"} for i in range(20)]
    test = [{"input": f"new order {i} please", "output": f"C-{i}"} for i in range(6)]
    base = {
        "strategies": ["baseline", "zero_shot", "few_shot", "lora", "rag"],
        "generation": {"max_new_tokens": 7, "batch_size": 4},
        "eval": {"latency_samples": 2},
        "probes": {"enabled": False},
        "options": {
            "lora": {
                "epochs": 2,
                "batch_size": 4,
                "dev_fraction": 0.2,
                "sweep_max_steps": 3,
                "patience": 100,
                "learning_curve": True,
                "learning_curve_fractions": [0.5],
            }
        },
    }
    return load_task(make_task_dir(train=train, test=test, config={**base, **config}))


def _estimate(task, tiny_model_dir, quick=False, seen=None):
    def measure(req):
        if seen is not None:
            seen.append(req)
        return fake_speeds(req.train)

    return estimate_run(
        plan(task, None), "tiny", tiny_model_dir, Settings(quick, 0, 2), None, measure
    )


def test_workload_counts_match_the_plan(make_task_dir, tiny_model_dir):
    task = _task(make_task_dir)
    seen: list = []
    est = _estimate(task, tiny_model_dir, seen=seen)
    names = [s.name for s in est.strategies]
    assert names == ["baseline", "zero_shot", "few_shot", "lora"]
    assert est.skipped == [("rag", "no docs/ folder with .md or .txt files")]
    # Latency is its own phase after every strategy: the run times it round-robin.
    assert [p for p, _ in est.phases()] == ["setup", *names, "latency", "verdict"]
    assert dict(est.phases())["latency"] == pytest.approx(
        sum(s.seconds.get("latency", 0.0) for s in est.strategies)
    )
    zero = est.strategies[1]
    assert zero.requests == 6 + 1 + 2  # the test set, a warm-up, then two latency samples
    assert zero.new_tokens == 9 * 7  # every answer assumed to run to max_new_tokens
    assert set(zero.seconds) == {"loading the model", "test set", "latency"}  # first LLM user
    assert est.setup == {}  # no SliCK: nothing loads the model before zero_shot
    few = est.strategies[2]  # shown demonstrations, it answers as long as they do
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    longest = max(len(tok(ex.output, add_special_tokens=False)["input_ids"]) for ex in task.train)
    assert few.new_tokens == 9 * min(longest + 1, 7) < zero.new_tokens
    lora = est.strategies[3]
    # 16 training rows in batches of 4, 2 epochs: 8 batches; each of 5 sweep rates trains a
    # quarter of them (2, under sweep_max_steps 3) and the winner goes on to train all 8;
    # the learning curve trains 2 epochs x 2 batches on half the data.
    assert lora.train_batches == 4 * 2 + 2 * 4 + 2 * 2
    assert set(lora.seconds) == {"learning-rate sweep", "training", "learning curve",
                                 "test set", "latency"}  # fmt: skip
    assert est.total == pytest.approx(sum(s for _, s in est.phases()))
    req = seen[0]
    assert req.gen_batch == 4 and len(req.gen_prompts) == 4
    assert list(req.train) == ["lora"] and len(req.train["lora"][1]) == 4
    text = "\n".join(plan_lines(est, "t"))
    assert "not run: rag: no docs/" in text and "Basis: measured on this machine" in text


def test_quick_means_one_epoch_no_sweep_no_curve(make_task_dir, tiny_model_dir):
    est = _estimate(_task(make_task_dir), tiny_model_dir, quick=True)
    lora = est.strategies[3]
    assert lora.train_batches == 4
    assert set(lora.seconds) == {"training", "test set", "latency"}


def test_training_counts_are_what_the_real_loop_runs(make_task_dir, tiny_lm):
    """The workload mirrors the training loop: same batches, tokens and dev evaluations."""
    from shouldtune import strategies
    from shouldtune.estimate.workload import Tokens, train_job
    from shouldtune.finetune import common
    from shouldtune.finetune.trainer import train

    task = _task(make_task_dir)
    lora = strategies.create("lora", task.config.options["lora"])
    opts = lora.options
    train_ex, dev_ex = common.dev_split(task.train, opts.dev_fraction, 0)
    tok = Tokens(tiny_lm.tokenizer)
    train_s = common.encode_examples(tok.lm, task, train_ex, opts.max_length)
    dev_s = common.encode_examples(tok.lm, task, dev_ex, opts.max_length)
    from shouldtune.finetune.sweep import rung_steps

    sweep = opts.train_config(0, False, opts.learning_rate)
    sweep.max_steps = rung_steps(opts, len(train_s))
    for cfg in (opts.train_config(0, False), sweep):
        job = train_job("x", "lora", train_s, dev_s, cfg)
        report = train(lora.trainable_copy(tiny_lm.model, 0), train_s, dev_s, cfg, 0)
        assert (job.batches, job.real_tokens) == (report.steps, report.train_tokens)
        assert job.dev_evals == len(report.history)


def test_probes_and_slick_are_counted_from_the_sessions_own_items(make_task_dir, tiny_model_dir):
    # "order 3 of item xxx" -> "C-3": a format, so SliCK is planned only when asked for.
    skipped = _estimate(_task(make_task_dir, probes={"quick": True}), tiny_model_dir)
    assert not skipped.knowledge and skipped.phases()[1][0] != "knowledge"
    assert any(a.startswith("SliCK skipped: the data teaches a format") for a in
               skipped.assumptions)  # fmt: skip
    assert not any(a.startswith("SliCK: every analysed") for a in skipped.assumptions)
    task = _task(make_task_dir, probes={"quick": True, "slick": {"on_format": True}})
    est = _estimate(task, tiny_model_dir)
    assert "SliCK" in est.knowledge and est.knowledge_tokens > 0
    assert est.phases()[1][0] == "knowledge"
    lora = est.strategies[3]
    assert lora.seconds["probes"] > 0
    # quick probes: 5 items of each kind, asked of the base model and of the tuned one
    assert lora.requests == 6 + 1 + 2 + 6 + 2 * 15


def test_served_prompting_is_not_estimated(make_task_dir, tiny_model_dir):
    task = _task(make_task_dir)
    est = estimate_run(
        plan(task, None), "tiny", tiny_model_dir, Settings(), object(), lambda r: fake_speeds()
    )
    by_name = {s.name: s for s in est.strategies}
    assert by_name["zero_shot"].not_estimated and not by_name["lora"].not_estimated
    assert not est.complete
    assert "plus what could not be estimated" in plan_lines(est)[0]


def test_calibration_on_a_real_model_is_cached_per_load_band(
    make_task_dir, tiny_model_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("SHOULDTUNE_CALIBRATION", str(tmp_path / "cache" / "calibration.json"))
    monkeypatch.setattr(speed, "load_band", lambda: "idle")
    task = _task(make_task_dir)
    seen: list = []
    _estimate(task, tiny_model_dir, seen=seen)
    req = seen[0]
    measured = speed.speeds_for(req)
    assert not measured.basis["cached"]
    t = measured.train["lora"]
    assert t.seconds_per_token > 0 and t.dev_seconds_per_token > 0 and t.shape[0] == 4
    assert measured.prefill_batch > 0 and set(measured.decode) == {1, 4}
    assert any("training steps of lora" in m for m in measured.basis["measured"])
    again = speed.speeds_for(req)
    assert again.basis["cached"] and again.train["lora"] == t
    monkeypatch.setattr(speed, "load_band", lambda: "overloaded")
    monkeypatch.setattr(speed, "measure", lambda r: fake_speeds())
    assert speed.speeds_for(req).basis["measured"] == ["fake"]  # not the idle calibration
    saved = json.loads((tmp_path / "cache" / "calibration.json").read_text())
    assert len(saved) == 2


def test_plan_only_runs_nothing_and_run_keeps_the_estimate(
    make_task_dir, tiny_model_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("SHOULDTUNE_CALIBRATION", str(tmp_path / "cache" / "calibration.json"))
    monkeypatch.setattr(speed, "load_band", lambda: "idle")  # the same machine both times
    root = make_task_dir(
        train=[{"input": f"order {i}", "output": f"C-{i % 3}"} for i in range(12)],
        test=[{"input": f"new order {i}", "output": f"C-{i % 3}"} for i in range(4)],
        config={"strategies": ["baseline", "zero_shot"], "generation": {"max_new_tokens": 4}},
    )
    out = tmp_path / "run"
    got = run_task(root, RunOptions(out_dir=out, model=str(tiny_model_dir), plan_only=True))
    phases = [p for p, _ in got["plan"]["phases"]]
    assert phases == ["setup", "baseline", "zero_shot", "latency", "verdict"]
    assert not out.exists() and not out.with_name(".run.partial").exists()
    seen: list = []
    results = run_task(
        root, RunOptions(out_dir=out, model=str(tiny_model_dir), on_estimate=seen.append)
    )
    assert results["run"]["estimate"]["phases"] == seen[0].summary()["phases"]
    assert results["run"]["estimate"]["basis"]["cached"] is True  # measured by the plan


def test_cli_plan_prints_the_plan_and_exits(make_task_dir, tiny_model_dir, tmp_path, monkeypatch):
    from shouldtune.cli.main import app

    monkeypatch.setenv("SHOULDTUNE_CALIBRATION", str(tmp_path / "cache" / "calibration.json"))
    root = make_task_dir(
        train=[{"input": f"order {i}", "output": f"C-{i % 3}"} for i in range(12)],
        test=[{"input": f"new order {i}", "output": f"C-{i % 3}"} for i in range(4)],
        config={"strategies": ["zero_shot", "rag"], "generation": {"max_new_tokens": 4}},
    )
    out = tmp_path / "o"
    result = CliRunner().invoke(
        app, ["run", str(root), "--plan", "--model", str(tiny_model_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "zero_shot (prompting):" in result.output
    assert "not run: rag: no docs/" in result.output
    assert "\x1b" not in result.output
    assert not out.exists()
