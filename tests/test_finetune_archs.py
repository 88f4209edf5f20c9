"""Any Hugging Face causal LM fine-tunes, not only SmolLM2's Llama: LoRA targets are found by
module type (GPT-2's Conv1D, Qwen2's untied head), and every method trains on them."""

from __future__ import annotations

import pytest
import torch

from shouldtune import strategies
from shouldtune.finetune import trainer
from shouldtune.finetune.data import make_sample
from shouldtune.finetune.layers import block_linears

VOCAB = 96


def _gpt2(tied: bool):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        n_embd=32, n_layer=2, n_head=2, n_positions=64, vocab_size=VOCAB,
        tie_word_embeddings=tied, bos_token_id=1, eos_token_id=2,
    )  # fmt: skip
    return GPT2LMHeadModel(config)


def _qwen2(tied: bool):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, vocab_size=VOCAB, max_position_embeddings=64,
        tie_word_embeddings=tied, bos_token_id=1, eos_token_id=2,
    )  # fmt: skip
    return Qwen2ForCausalLM(config)


ARCHS = {
    "gpt2-tied": (_gpt2, True),
    "qwen2-untied": (_qwen2, False),
    "qwen2-tied": (_qwen2, True),
}


@pytest.fixture(params=list(ARCHS))
def base(request):
    build, tied = ARCHS[request.param]
    torch.manual_seed(0)
    model = build(tied).eval()
    assert (model.get_output_embeddings().weight is model.get_input_embeddings().weight) == tied
    return model


def _samples(n: int, offset: int = 0):
    gen = torch.Generator().manual_seed(offset)
    out = []
    for _ in range(n):
        prompt = torch.randint(3, VOCAB, (6,), generator=gen).tolist()
        answer = [3 + len(out) % 4, 2]
        out.append(make_sample(prompt, answer, 32))
    return out


def _train(strategy, base):
    model = strategy.trainable_copy(base, seed=0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    cfg = trainer.TrainConfig(epochs=2, learning_rate=1e-2, batch_size=4, patience=100)
    report = trainer.train(model, _samples(8), _samples(4, 1), cfg, pad_id=0)
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    return model, report, changed


def test_lora_adapts_every_block_linear_and_nothing_else(base):
    from transformers.pytorch_utils import Conv1D

    targets = block_linears(base)
    linear = torch.nn.Linear | Conv1D
    in_blocks = [n for n, m in base.named_modules() if isinstance(m, linear) and ".h." in n]
    in_blocks += [n for n, m in base.named_modules() if isinstance(m, linear) and ".layers." in n]
    assert sorted(targets) == sorted(in_blocks) and len(targets) >= 4
    strategy = strategies.create("lora", {"rank": 2, "dropout": 0.0})
    model, report, changed = _train(strategy, base)
    adapted = {n.rsplit(".lora_", 1)[0].removeprefix("base_model.model.") for n in changed}
    assert adapted == set(targets)  # every block linear trained, the head never
    assert all(".lora_A." in n or ".lora_B." in n for n in changed)
    assert report.history[-1]["dev_loss"] < report.history[0]["dev_loss"]
    details = strategy.describe(model)["lora"]
    assert details["adapted_layers"] == len(targets)
    merged = strategy.for_inference(model)  # merging works for Conv1D too
    ids = torch.tensor([_samples(1, 2)[0].input_ids])
    assert not torch.allclose(merged(ids).logits, base(ids).logits)


@pytest.mark.parametrize("name", ["full", "layerwise"])
def test_full_and_layerwise_train_other_architectures(base, name):
    options = {"top_k": 1} if name == "layerwise" else {}
    _, report, changed = _train(strategies.create(name, options), base)
    assert changed and report.train_tokens > 0
    if name == "layerwise":  # only the top block: ".h.1." (GPT-2) or ".layers.1." (Qwen2)
        assert all(".h.1." in n or ".layers.1." in n for n in changed)


def test_linears_outside_the_blocks_get_no_adapter():
    """peft's own "all-linear" would adapt any Linear but the head; only the blocks train."""
    model = _qwen2(tied=False)
    model.model.side_projection = torch.nn.Linear(32, 32)  # e.g. a projector beside the blocks
    targets = block_linears(model)
    assert "model.side_projection" not in targets and "lm_head" not in targets
    lora = strategies.create("lora").trainable_copy(model, seed=0)
    adapted = {n for n, _ in lora.named_parameters() if "lora_A" in n}
    assert adapted and not any("side_projection" in n or "lm_head" in n for n in adapted)
