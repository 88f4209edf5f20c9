"""Resuming: a training loop killed after a checkpoint ends exactly where an uninterrupted one
does, and a run reuses the strategies it already finished."""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from shouldtune import strategies
from shouldtune.finetune import trainer
from shouldtune.finetune.data import Sample, make_sample
from shouldtune.finetune.layers import LisaSampler, find_blocks


class Killed(Exception):
    """Stands in for SIGKILL inside the loop (the subprocess test does the real thing)."""


def _samples(lm, n: int, offset: int = 0) -> list[Sample]:
    return [
        make_sample(lm.encode(f"question {i} about {i * 7 % 11}"), lm.encode(f"answer {i % 3}"), 64)
        for i in range(offset, offset + n)
    ]


def _train(
    lm,
    cfg,
    folder: Path | None,
    kill_at: int | None = None,
    seen: list | None = None,
    lisa: bool = False,
):
    strategy = strategies.create("lora", {"dropout": 0.3})  # dropout: the RNG must resume too
    model = strategy.trainable_copy(lm.model, seed=0)
    if lisa:  # full weights, one of the two blocks trains, resampled every 3 batches
        model = copy.deepcopy(lm.model).requires_grad_(True)
        sampler = LisaSampler(find_blocks(model), 1, 3, seed=5)

    def before(i: int) -> None:
        if seen is not None:
            seen.append(i)
        if kill_at is not None and i == kill_at:
            raise Killed
        if lisa:
            sampler(i)

    report = trainer.train(
        model,
        _samples(lm, 12),
        _samples(lm, 4, offset=100),
        cfg,
        lm.tokenizer.pad_token_id,
        accelerator=trainer.make_accelerator(cfg.grad_accum),
        before_batch=before,
        checkpoint_dir=folder,
    )
    trained = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    return trained, report


def _same(a, b) -> None:
    trained_a, report_a = a
    trained_b, report_b = b
    assert trained_a.keys() == trained_b.keys()
    for name in trained_a:
        assert torch.equal(trained_a[name], trained_b[name]), name
    for key in ("steps", "train_tokens", "history", "stopped_early", "epochs_run"):
        assert getattr(report_a, key) == getattr(report_b, key), key
    assert math.isclose(report_a.final_train_loss, report_b.final_train_loss, rel_tol=1e-9)


@pytest.mark.parametrize(
    ("kill_at", "grad_accum"),
    [(3, 1), (5, 1), (6, 2)],  # mid-epoch, just after an epoch's end, with accumulation
)
def test_killed_training_resumes_to_the_same_weights(tiny_lm, tmp_path, kill_at, grad_accum):
    # 12 samples in batches of 3: 4 batches an epoch, a checkpoint after batches 2 and 4.
    cfg = trainer.TrainConfig(
        epochs=2,
        learning_rate=1e-2,
        batch_size=3,
        evals_per_epoch=2,
        patience=100,
        grad_accum=grad_accum,
    )
    reference = _train(tiny_lm, cfg, None)
    with pytest.raises(Killed):
        _train(tiny_lm, cfg, tmp_path / "ckpt", kill_at=kill_at)
    manifests = list((tmp_path / "ckpt").glob("*/checkpoint.json"))
    assert len(manifests) == 1
    assert json.loads(manifests[0].read_text())["position"] != [0, 0]
    resumed = _train(tiny_lm, cfg, tmp_path / "ckpt")
    _same(reference, resumed)
    assert len(list(manifests[0].parent.glob("state-*.safetensors"))) == 1  # old ones pruned


def test_lisa_resumed_mid_period_freezes_what_the_uninterrupted_run_froze(tiny_lm, tmp_path):
    # The checkpoint after batch 2 falls inside the sampler's first period (batches 0-2).
    cfg = trainer.TrainConfig(
        epochs=2, learning_rate=1e-2, batch_size=3, evals_per_epoch=2, patience=100
    )
    reference = _train(tiny_lm, cfg, None, lisa=True)
    with pytest.raises(Killed):
        _train(tiny_lm, cfg, tmp_path / "ckpt", kill_at=3, lisa=True)
    _same(reference, _train(tiny_lm, cfg, tmp_path / "ckpt", lisa=True))


def test_a_finished_checkpoint_skips_training(tiny_lm, tmp_path):
    cfg = trainer.TrainConfig(epochs=1, learning_rate=1e-2, batch_size=4, patience=100)
    first = _train(tiny_lm, cfg, tmp_path)
    seen: list[int] = []
    again = _train(tiny_lm, cfg, tmp_path, seen=seen)
    _same(first, again)
    assert again[1].steps == first[1].steps > 0 and seen == []  # not one batch trained again


def test_damaged_or_foreign_checkpoints_are_ignored(tiny_lm, tmp_path):
    cfg = trainer.TrainConfig(
        epochs=1, learning_rate=1e-2, batch_size=3, evals_per_epoch=2, patience=100
    )
    reference = _train(tiny_lm, cfg, None)
    with pytest.raises(Killed):
        _train(tiny_lm, cfg, tmp_path, kill_at=3)
    (tensors,) = tmp_path.glob("*/state-*.safetensors")
    tensors.write_bytes(tensors.read_bytes()[:100])  # truncated: must not be trusted
    _same(reference, _train(tiny_lm, cfg, tmp_path))
    other = trainer.TrainConfig(epochs=1, learning_rate=2e-2, batch_size=3, patience=100)
    assert len(list(tmp_path.iterdir())) == 1
    _train(tiny_lm, other, tmp_path)  # another config: its own fingerprint folder
    assert len(list(tmp_path.iterdir())) == 2


class _Strategy:
    name, kind = "zero_shot", "prompting"

    def __init__(self, k: int = 4):
        from shouldtune.strategies.few_shot import FewShotOptions

        self.options = FewShotOptions(k=k)

    def cache_identity(self):
        return None


def _run():
    from shouldtune.core.types import Generation, StrategyRun, Traits

    return StrategyRun(
        name="zero_shot", kind="prompting", traits=Traits(),
        generations=[Generation("a", 9, 1), Generation("b", 9, 1, {"context": "c"})],
        latency_ms={"p50": 10.0, "p95": 12.0}, tokens_per_s=3.0, prompt_tokens_mean=9.0,
        train_seconds=0.0, eval_seconds=1.0, peak_rss_mb=100.0, details={"k": 4},
    )  # fmt: skip


def test_run_cache_reuses_whole_entries_and_distrusts_damaged_ones(tmp_path: Path) -> None:
    from shouldtune.resume import RunCache

    work = tmp_path / ".run.partial"
    work.mkdir()
    cache = RunCache(tmp_path / "run", {"task": "x"})
    calls = []

    def compute():
        calls.append(1)
        (work / "trained").mkdir(exist_ok=True)
        (work / "trained" / "weights.jsonl").write_text('{"index": 0}\n')
        return _run()

    first, reused = cache.evaluate(_Strategy(), work, 0, compute)
    assert reused is False
    shutil.rmtree(work)  # a new attempt starts from an empty work folder
    work.mkdir()
    again, reused = cache.evaluate(_Strategy(), work, 0, compute)
    assert calls == [1] and reused and again == first
    assert [g.text for g in again.generations] == ["a", "b"]
    assert again.generations[1].meta == {"context": "c"}
    assert (work / "trained" / "weights.jsonl").read_text() == '{"index": 0}\n'

    cache.evaluate(_Strategy(k=2), work, 0, compute)  # other options: another key
    assert calls == [1, 1]

    key = cache.key(_Strategy())
    entry = cache.folder / f"{key}.json"
    text = entry.read_text()
    entry.write_text(text[: len(text) // 2])  # truncated by hand: never trusted
    assert cache.load(key, work) is None
    entry.write_text(text)
    assert cache.load(key, work) is not None
    stash = cache.folder / f"{key}.files"
    next(stash.rglob("*.jsonl")).write_text("{")  # a stashed file that changed size
    assert cache.load(key, work) is None
    other = RunCache(tmp_path / "run", {"task": "y"})  # another task: nothing matches
    assert other.load(key, work) is None and other.key(_Strategy()) != cache.key(_Strategy())


def test_what_only_scores_or_decides_is_not_part_of_the_cache_key(make_task_dir):
    from shouldtune.core.taskio import load_task
    from shouldtune.resume import task_fingerprint

    train = [{"input": f"q{i}", "output": f"a{i}"} for i in range(6)]

    def fingerprint(config, files=None):
        root = make_task_dir(train, train[:2], config)
        for name, text in (files or {}).items():
            (root / name).write_text(text)
        return task_fingerprint(load_task(root))

    base = fingerprint({"name": "t"})
    scorer = {"m.py": "def f(p, e):\n    return 1.0\n"}
    fixed = {"m.py": "def f(p, e):\n    return float(p == e)\n"}
    # The metric, its file, prices, needs and the bootstrap size only score or decide.
    assert fingerprint({"name": "t", "metric": "contains"}) == base
    assert fingerprint({"name": "t", "metric": "python:m.py:f"}, scorer) == fingerprint(
        {"name": "t", "metric": "python:m.py:f"}, fixed
    )
    assert fingerprint({"name": "t", "cost": {"price_per_hour": 9}}) == base
    assert fingerprint({"name": "t", "needs": {"requests_per_day": 9}}) == base
    assert fingerprint({"name": "t", "eval": {"bootstrap_samples": 500}}) == base
    # What shapes the answers does change it.
    assert fingerprint({"name": "t", "instruction": "Be brief."}) != base
    assert fingerprint({"name": "t", "eval": {"latency_samples": 2}}) != base
    assert fingerprint({"name": "t"}, {"tools.py": "def f(x: int) -> int:\n    return x\n"}) != base
    # A metric file the tools also use is tool code: it stays in the key.
    tools = {"name": "t", "metric": "python:tools.py:f", "options": {"tools": {"file": "tools.py"}}}
    assert fingerprint(tools, {"tools.py": "def f(p, e):\n    return 1.0\n"}) != fingerprint(
        tools, {"tools.py": "def f(p, e):\n    return 0.0\n"}
    )
