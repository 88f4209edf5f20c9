"""Fine-tuning methods on the tiny random model: each changes exactly the parameters it should,
and the shared loop's batching, accumulation and early stopping behave as documented."""

from __future__ import annotations

import math

import pytest
import torch

from shouldtune import strategies
from shouldtune.core.errors import InputError
from shouldtune.finetune import trainer
from shouldtune.finetune.data import (
    Sample,
    bucketed_batches,
    make_sample,
    padding_report,
    padding_waste,
    random_batches,
)
from shouldtune.finetune.layers import LisaSampler, find_blocks


def _samples(lm, n: int, offset: int = 0) -> list[Sample]:
    out = []
    for i in range(offset, offset + n):
        prompt = lm.encode(f"question {i} about thing {i * 7 % 11}" + " more" * (i % 5))
        answer = lm.encode(f"answer {i % 3}")
        out.append(make_sample(prompt, answer, 64))
    return out


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _changed(before: dict[str, torch.Tensor], model: torch.nn.Module) -> set[str]:
    return {n for n, p in model.named_parameters() if not torch.equal(before[n], p.detach())}


def _cfg(**kw) -> trainer.TrainConfig:
    base = {"epochs": 2, "learning_rate": 1e-2, "batch_size": 4, "patience": 100}
    return trainer.TrainConfig(**{**base, **kw})


def _train(strategy, lm, cfg=None, n: int = 16):
    model = strategy.trainable_copy(lm.model, seed=0)
    before = _snapshot(model)
    cfg = cfg or _cfg()
    report = trainer.train(
        model,
        _samples(lm, n),
        _samples(lm, 4, offset=100),
        cfg,
        lm.tokenizer.pad_token_id,
        accelerator=trainer.make_accelerator(cfg.grad_accum),
        before_batch=strategy.batch_hook(model, cfg.seed),
    )
    return model, before, report


def test_full_trains_every_weight_and_leaves_the_base_alone(tiny_lm):
    base_before = _snapshot(tiny_lm.model)
    model, before, report = _train(strategies.create("full"), tiny_lm)
    assert _changed(before, model) == set(before)
    assert report.trainable_parameters == report.total_parameters
    assert _changed(base_before, tiny_lm.model) == set()


def test_layerwise_changes_only_the_top_blocks(tiny_lm):
    strategy = strategies.create("layerwise", {"top_k": 1})
    model, before, report = _train(strategy, tiny_lm)
    changed = _changed(before, model)
    assert changed and all(n.startswith("model.layers.1.") for n in changed)
    top_names = {n for n, _ in model.named_parameters() if n.startswith("model.layers.1.")}
    assert changed == top_names  # frozen: embeddings, block 0, final norm bit-identical
    assert report.trainable_parameters == sum(p.numel() for p in find_blocks(model)[1].parameters())


@pytest.fixture(scope="module")
def deep_lm(tiny_tokenizer):
    """Six blocks, so LISA has a pool of lower blocks to sample from."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from shouldtune.models.lm import LanguageModel

    tok = tiny_tokenizer
    config = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=6,
        num_attention_heads=2,
        num_key_value_heads=1,
        vocab_size=len(tok),
        max_position_embeddings=128,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    return LanguageModel("deep", LlamaForCausalLM(config), tok)


def test_lisa_trains_only_sampled_blocks(deep_lm):
    strategy = strategies.create("layerwise", {"top_k": 1, "lisa_layers": 1, "lisa_interval": 4})
    model, before, _ = _train(strategy, deep_lm, _cfg(epochs=1), n=16)  # 4 batches: 1 sample
    sampled = {i for draw in strategy.sampler.history for i in draw}
    assert len(strategy.sampler.history) == 1 and len(sampled) == 1
    changed_blocks = {int(n.split(".")[2]) for n in _changed(before, model)}
    assert changed_blocks == sampled | {5}  # lower blocks never sampled: bit-identical
    assert not any(n.startswith("model.embed") for n in _changed(before, model))


def test_lisa_sampler_is_seeded_and_resamples_on_schedule():
    blocks = [torch.nn.Linear(2, 2) for _ in range(5)]
    a, b = LisaSampler(blocks, 2, 3, seed=1), LisaSampler(blocks, 2, 3, seed=1)
    for i in range(9):
        a(i)
        b(i)
    assert a.history == b.history and len(a.history) == 3
    assert [p.requires_grad for blk in blocks for p in blk.parameters()].count(True) == 4


def test_lora_trains_adapters_only_and_merges(tiny_lm):
    strategy = strategies.create("lora", {"rank": 4})
    model, before, report = _train(strategy, tiny_lm)
    changed = _changed(before, model)
    assert changed and all("lora_" in n for n in changed)
    assert any("lora_A" in n for n in changed) and any("lora_B" in n for n in changed)
    assert 0 < report.trainable_parameters < report.total_parameters / 5
    merged = strategy.for_inference(model)
    differs = [
        not torch.equal(p, dict(tiny_lm.model.named_parameters())[n])
        for n, p in merged.named_parameters()
    ]
    assert any(differs)


def test_lora_defaults_follow_the_literature():
    opts = strategies.create("lora").options
    assert opts.rank == 8 and opts.target_modules == "all-linear"
    assert opts.dropout == 0.0  # peft's and torchtune's default; 0.05 cost ~8% of a step
    assert strategies.create("lora").alpha == 16
    assert strategies.create("lora", {"rank": 32}).alpha == 64


def test_schedule_warms_up_from_zero_then_decays_linearly():
    """transformers' get_linear_schedule_with_warmup: lr 0 at step 0, the peak at step W."""
    params = [torch.nn.Parameter(torch.zeros(2))]
    cfg = trainer.TrainConfig(learning_rate=1.0, warmup_ratio=0.1)
    optimizer, schedule = trainer._schedule(params, cfg, total_steps=20)  # W = 2
    rates = []
    for _ in range(20):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    expected = [0.0, 0.5] + [(20 - s) / 18 for s in range(2, 20)]
    assert rates == pytest.approx(expected) and rates[2] == 1.0
    assert optimizer.param_groups[0]["lr"] == 0.0  # zero after the last step


def test_bucketing_wastes_less_padding_than_random_batches(tiny_lm):
    samples = _samples(tiny_lm, 40)
    plain = random_batches(samples, 8, seed=0, epoch=0)
    assert sorted(i for b in plain for i in b) == list(range(40))
    bucketed = bucketed_batches(samples, 8, seed=0, epoch=0)
    assert padding_waste(samples, bucketed) < padding_waste(samples, plain)
    report = padding_report(samples, 8, seed=0)
    assert report["bucketed_batches"] < report["random_batches"]


def test_completion_only_labels():
    sample = make_sample([1, 2, 3], [4, 5], max_length=16)
    assert sample.labels == [-100, -100, -100, 4, 5] and sample.n_target == 2
    cut = make_sample([1, 2, 3, 4], [5, 6], max_length=4)
    assert cut.input_ids == [3, 4, 5, 6]  # the prompt loses its start, never the answer


def test_gradient_accumulation_steps_every_n_batches(tiny_lm):
    strategy = strategies.create("full")
    model = strategy.trainable_copy(tiny_lm.model, seed=0)
    weight = model.model.norm.weight
    seen: list[torch.Tensor] = []
    cfg = _cfg(epochs=1, grad_accum=2)
    report = trainer.train(
        model,
        _samples(tiny_lm, 16),
        [],
        cfg,
        tiny_lm.tokenizer.pad_token_id,
        accelerator=trainer.make_accelerator(2),
        before_batch=lambda i: seen.append(weight.detach().clone()),
    )
    seen.append(weight.detach().clone())
    moved = [not torch.equal(a, b) for a, b in zip(seen, seen[1:], strict=False)]
    assert report.steps == 4 and moved == [False, True, False, True]


def test_early_stopping_restores_the_best_weights(tiny_lm):
    strategy = strategies.create("full")
    cfg = _cfg(epochs=6, learning_rate=0.05, evals_per_epoch=2, patience=2)
    model, _, report = _train(strategy, tiny_lm, cfg, n=8)
    dev = trainer.dev_loss(model, _samples(tiny_lm, 4, offset=100), 0, 4)
    assert report.stopped_early and report.epochs_run < 6
    assert math.isclose(dev, report.best_dev_loss, rel_tol=1e-5)
    assert report.best_dev_loss <= min(h["dev_loss"] for h in report.history) + 1e-9


def test_step_cap_and_report_fields(tiny_lm):
    _, _, report = _train(strategies.create("lora"), tiny_lm, _cfg(max_steps=3, epochs=5))
    assert report.steps == 3 and report.epochs_run < 1
    assert report.train_tokens > 0 and report.tokens_per_s > 0 and report.peak_rss_mb > 0
    assert report.padding_waste <= report.padding_waste_random
    assert math.isfinite(report.final_train_loss) and math.isfinite(report.final_dev_loss)


@pytest.mark.parametrize(
    "options",
    [
        {"learning_curve_fractions": [1.0]},
        {"lr_candidates": [0]},
        {"top_k": 0},
        {"lisa_interval": 0},
    ],
)
def test_bad_options_are_input_errors(options):
    name = "layerwise" if "top_k" in options or "lisa_interval" in options else "lora"
    with pytest.raises(InputError, match=f"options.{name}"):
        strategies.create(name, options)


def test_default_sweep_candidates_bracket_the_learning_rate():
    assert strategies.create("lora").options.candidates() == [0.00033, 0.001, 0.003]
    assert strategies.create("full").options.candidates() == [1.7e-05, 5e-05, 0.00015]
    fixed = strategies.create("full", {"lr_candidates": [1e-4, 1e-5]}).options
    assert fixed.candidates() == [1e-4, 1e-5]


def test_completion_loss_projects_only_target_positions(tiny_lm):
    """Same loss as transformers' full-vocabulary loss, with logits for target rows only."""
    from shouldtune.finetune.data import collate

    samples = _samples(tiny_lm, 4)
    batch = collate(samples, tiny_lm.tokenizer.pad_token_id)
    model = tiny_lm.model
    reference = model(**batch).loss
    rows: list[int] = []
    hook = model.get_output_embeddings().register_forward_hook(
        lambda m, args, out: rows.append(args[0].shape[-2] if args[0].dim() == 2 else -1)
    )
    try:
        loss, n = trainer.completion_loss(model, batch)
        plain, n_plain = trainer.completion_loss(model, batch, keep=False)
    finally:
        hook.remove()
    assert n == n_plain == sum(s.n_target for s in samples)  # every answer token
    assert rows == [n, -1]  # masked: (n, hidden) rows; plain: the whole (batch, seq, hidden)
    assert torch.allclose(loss, reference, atol=1e-5) and torch.allclose(plain, reference)
    assert trainer.keeps_logits(strategies.create("lora").trainable_copy(model, 0))  # peft


@pytest.mark.parametrize(
    ("losses", "stopped", "expected"),
    [
        ([3.0, 2.0, 1.5], False, True),  # falling to the end
        ([3.0, 2.0, 1.995], False, False),  # last step under 1%: flat
        ([0.1, 0.0093, 0.00035], False, False),  # -96% but 0.009 nats: nothing left (demo)
        ([0.5, 0.23, 0.11], False, True),  # the demo's layerwise: still falling
        ([3.0, 1.5, 1.6], False, False),  # the best was earlier
        ([3.0, 2.0, 1.5], True, False),  # early stopping ended it
        ([2.0], False, True),  # one evaluation: no sign it stopped improving
        ([2.0], True, False),
        ([], False, False),  # no dev set: no evidence either way
    ],
)
def test_still_learning(losses, stopped, expected):
    history = [{"step": i, "dev_loss": d} for i, d in enumerate(losses)]
    assert trainer.still_learning(history, stopped) is expected


def test_report_says_whether_training_was_still_learning(tiny_lm):
    short = _cfg(epochs=1, learning_rate=1e-3, evals_per_epoch=2)
    _, _, report = _train(strategies.create("full"), tiny_lm, short)
    losses = [h["dev_loss"] for h in report.history]
    assert len(losses) == 2 and losses[1] < losses[0] * 0.99  # a short run, still falling
    assert report.still_learning and not report.stopped_early
    cfg = _cfg(epochs=6, learning_rate=0.05, evals_per_epoch=2, patience=2)
    _, _, stopped = _train(strategies.create("full"), tiny_lm, cfg, n=8)
    assert stopped.stopped_early and not stopped.still_learning
