"""Out-of-memory back-off (generation and training) with an injected OOM, and the GPU peak."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch

from shouldtune.eval import measure
from shouldtune.finetune import trainer
from shouldtune.finetune.data import make_sample
from shouldtune.models import memory
from shouldtune.models.lm import LanguageModel

PROMPTS = [f"Question {i}: " + "tell me more " * (i % 4) for i in range(7)]


@pytest.fixture(autouse=True)
def _clear():
    memory.clear()
    yield
    memory.clear()


def oom_above(model: torch.nn.Module, limit: int) -> list[int]:
    """Make `model` raise torch.OutOfMemoryError for batches of more than `limit` rows, as
    a GPU does; returns the batch sizes of the calls that ran."""
    ran: list[int] = []

    def hook(module, args, kwargs):
        rows = kwargs["input_ids"].shape[0]
        if rows > limit:
            raise torch.OutOfMemoryError(f"CUDA out of memory (injected, {rows} rows)")
        ran.append(rows)

    model.register_forward_pre_hook(hook, with_kwargs=True)
    return ran


def convos(texts):
    return [[{"role": "user", "content": t}] for t in texts]


def test_generation_halves_the_batch_on_oom_and_gives_the_same_answers(tiny_lm):
    want = tiny_lm.generate(convos(PROMPTS), max_new_tokens=5, batch_size=1)
    model = copy.deepcopy(tiny_lm.model)
    ran = oom_above(model, 2)
    lm = LanguageModel("oom", model, tiny_lm.tokenizer)
    got = lm.generate(convos(PROMPTS), max_new_tokens=5, batch_size=8, reuse_prefix=False)
    assert got == want
    assert max(ran) == 2
    assert memory.events() == [
        {"what": "generation batch", "label": "oom", "from": 7, "to": 4},
        {"what": "generation batch", "label": "oom", "from": 4, "to": 2},
    ]
    # The smaller batch is kept: a later call does not run out of memory again.
    assert lm.generate(convos(PROMPTS[:4]), max_new_tokens=3, batch_size=8) is not None
    assert len(memory.events()) == 2


def test_other_errors_and_an_oom_at_batch_one_are_not_swallowed(tiny_lm):
    model = copy.deepcopy(tiny_lm.model)
    oom_above(model, 0)
    lm = LanguageModel("oom", model, tiny_lm.tokenizer)
    with pytest.raises(torch.OutOfMemoryError):
        lm.generate(convos(PROMPTS[:2]), max_new_tokens=2, batch_size=2, reuse_prefix=False)
    assert [(e["from"], e["to"]) for e in memory.events()] == [(2, 1)]

    broken = copy.deepcopy(tiny_lm.model)
    broken.register_forward_pre_hook(lambda m, a: (_ for _ in ()).throw(ValueError("bug")))
    with pytest.raises(ValueError, match="bug"):
        LanguageModel("bug", broken, tiny_lm.tokenizer).generate(convos(PROMPTS[:4]), 2, 4)
    assert len(memory.events()) == 1  # a bug is not an out-of-memory error


def test_mps_style_oom_messages_count():
    assert memory.is_oom(torch.OutOfMemoryError("x"))
    assert memory.is_oom(RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)"))
    assert not memory.is_oom(RuntimeError("shape mismatch"))


def _samples(lm, n: int, offset: int = 0):
    return [
        make_sample(lm.encode(f"question {i} about {i * 7 % 11}"), lm.encode(f"answer {i % 3}"), 64)
        for i in range(offset, offset + n)
    ]


def test_training_halves_the_batch_keeps_the_effective_batch_and_matches(tiny_lm):
    cfg = trainer.TrainConfig(epochs=1, learning_rate=1e-2, batch_size=8, patience=100)
    train_s, dev_s = _samples(tiny_lm, 16), _samples(tiny_lm, 4, 100)
    tried = []

    def fit(c: trainer.TrainConfig):
        tried.append((c.batch_size, c.grad_accum))
        model = copy.deepcopy(tiny_lm.model)  # a fresh copy per attempt, as the pipeline does
        oom_above(model, 2)
        report = trainer.train(model, train_s, dev_s, c, tiny_lm.tokenizer.pad_token_id)
        return model, report

    model, report = memory.train_with_backoff(fit, cfg, "lora")
    assert tried == [(8, 1), (4, 2), (2, 4)]
    assert memory.events() == [
        {"what": "training batch", "label": "lora", "from": 8, "to": 4, "grad_accum": 2},
        {"what": "training batch", "label": "lora", "from": 4, "to": 2, "grad_accum": 4},
    ]
    assert report.steps == 8  # 16 examples in batches of 2; optimizer steps: 8 / 4 = 2
    # The same as training at that size from the start: the retry is a clean run.
    direct = copy.deepcopy(tiny_lm.model)
    small = trainer.TrainConfig(
        epochs=1, learning_rate=1e-2, batch_size=2, grad_accum=4, patience=100
    )
    trainer.train(direct, train_s, dev_s, small, tiny_lm.tokenizer.pad_token_id)
    for (name, a), b in zip(model.named_parameters(), direct.parameters(), strict=True):
        assert torch.equal(a, b), name
    assert any(
        not torch.equal(a, b)
        for a, b in zip(model.parameters(), tiny_lm.model.parameters(), strict=True)
    )


def test_training_gives_up_at_batch_one():
    cfg = trainer.TrainConfig(batch_size=2)

    def fit(c):
        raise torch.OutOfMemoryError("always")

    with pytest.raises(torch.OutOfMemoryError):
        memory.train_with_backoff(fit, cfg, "full")
    assert [(e["from"], e["to"]) for e in memory.events()] == [(2, 1)]


def test_gpu_peak_is_recorded_per_strategy_on_cuda_only(monkeypatch):
    result = SimpleNamespace(details={"x": 1})
    cpu = measure.with_gpu_peak(lambda: result, torch.device("cpu"))()
    assert cpu.details == {"x": 1}  # nothing to say on the CPU

    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda d=None: None)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda d=None: calls.append("reset"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda d=None: 300 * 2**20)
    monkeypatch.setattr(torch.cuda, "max_memory_reserved", lambda d=None: 512 * 2**20)

    def compute():
        calls.append("compute")
        return SimpleNamespace(details={})

    gpu = measure.with_gpu_peak(compute, torch.device("cuda", 0))()
    assert calls == ["reset", "compute"]  # this strategy's peak, not the process's so far
    assert gpu.details == {"peak_gpu_memory_mb": {"allocated": 300.0, "reserved": 512.0}}
