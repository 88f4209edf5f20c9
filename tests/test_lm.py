"""LanguageModel: chat rendering, training encodings and batched greedy generation."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import torch

from shouldtune.models.lm import LanguageModel

PROMPTS = [
    "Tell me about the capital of France and the river that flows through it, please.",
    "Hi",
    "What is 2 + 2?",
    "Count from one to ten in French, then in Spanish, then in Italian.",
    "Yes or no?",
    "The cat sat on the mat yesterday.",
    "a",
]
MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is the capital of France?"},
]


def convos(texts):
    return [[{"role": "user", "content": t}] for t in texts]


def test_load_gives_an_eval_float32_model(tiny_lm, tiny_tokenizer):
    assert tiny_lm.name == "tiny"
    assert not tiny_lm.model.training
    assert next(tiny_lm.model.parameters()).dtype == torch.float32
    assert 50_000 < tiny_lm.parameters < 500_000
    assert len(tiny_lm.tokenizer) == len(tiny_tokenizer)


def test_generate_keeps_input_order_across_batch_sizes(tiny_lm):
    lengths = [len(tiny_lm.encode(tiny_lm.render(c))) for c in convos(PROMPTS)]
    assert lengths != sorted(lengths)  # batching by length really reorders these
    one = tiny_lm.generate(convos(PROMPTS), max_new_tokens=6, batch_size=1)
    three = tiny_lm.generate(convos(PROMPTS), max_new_tokens=6, batch_size=3)
    assert three == one
    assert [g.prompt_tokens for g in three] == lengths
    # The outputs differ from prompt to prompt, so a shuffled order could not pass.
    assert len({g.text for g in one}) == len(PROMPTS)
    assert all(g.text for g in one)


def test_generate_is_deterministic_and_counts_batches(tiny_lm):
    seen = []
    first = tiny_lm.generate(convos(PROMPTS), max_new_tokens=3, batch_size=3, on_batch=seen.append)
    assert seen == [3, 3, 1]
    assert tiny_lm.generate(convos(PROMPTS), max_new_tokens=3, batch_size=7) == first
    assert all(g.new_tokens == 3 for g in first)  # the random model never emits <|im_end|>


def test_render_uses_the_chat_template(tiny_lm):
    prompt = tiny_lm.render(MESSAGES)
    assert prompt == (
        "<|im_start|>system\nAnswer briefly.<|im_end|>\n"
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert tiny_lm.render(MESSAGES, "Paris") == prompt + "Paris<|im_end|>\n"


def test_template_adds_smollm2_default_system_turn(tiny_lm):
    text = tiny_lm.render([{"role": "user", "content": "hi"}])
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert text.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_encode_for_training_splits_the_full_conversation(tiny_lm, tiny_tokenizer):
    prompt, completion = tiny_lm.encode_for_training(MESSAGES, "Paris")
    # The turn's trailing newline after <|im_end|> is not a training target.
    full = tiny_lm.render(MESSAGES, "Paris").rstrip()
    assert tiny_lm.encode(tiny_lm.render(MESSAGES)) == prompt
    assert tiny_tokenizer.decode(prompt + completion) == full
    assert prompt + completion == tiny_lm.encode(full)
    assert tiny_tokenizer.decode(completion).startswith("Paris<|im_end|>")


def test_training_completion_ends_with_im_end(tiny_lm, tiny_tokenizer):
    im_end = tiny_tokenizer.convert_tokens_to_ids("<|im_end|>")
    _, completion = tiny_lm.encode_for_training(MESSAGES, "Paris")
    assert completion.count(im_end) == 1
    # The loss's last target is the stop token: nothing is trained after <|im_end|>
    # (ChatML's trailing "\n" belongs to the next turn, not to this answer).
    tail = tiny_tokenizer.convert_ids_to_tokens(completion[-2:])
    assert completion[-1] == im_end, f"completion ends with {tail}, not <|im_end|>"


def test_stop_ids_contain_im_end(tiny_lm, tiny_tokenizer):
    im_end = tiny_tokenizer.convert_tokens_to_ids("<|im_end|>")
    stops = tiny_lm.stop_ids()
    assert im_end in stops
    assert tiny_tokenizer.eos_token_id in stops
    assert tiny_tokenizer.pad_token_id not in stops


def test_render_without_a_chat_template(tiny_lm):
    tok = copy.deepcopy(tiny_lm.tokenizer)
    tok.chat_template = None
    lm = LanguageModel("plain", tiny_lm.model, tok)
    assert lm.render(MESSAGES) == (
        "System: Answer briefly.\nUser: What is the capital of France?\nAssistant:"
    )
    assert lm.render(MESSAGES, "Paris") == lm.render(MESSAGES) + " Paris<|im_end|>"
    prompt, completion = lm.encode_for_training(MESSAGES, "Paris")
    assert tok.decode(completion) == " Paris<|im_end|>"
    assert completion[-1] == tok.convert_tokens_to_ids("<|im_end|>")


class ScriptedModel(torch.nn.Module):
    """Stands in for a causal LM: records its inputs, emits a fixed continuation (one token
    per forward call, the same for every row)."""

    def __init__(self, continuation: list[int], vocab_size: int):
        super().__init__()
        from transformers import LlamaConfig

        self.config = LlamaConfig(vocab_size=vocab_size, num_hidden_layers=1)
        self.continuation = continuation
        self.calls = []

    def forward(self, input_ids, attention_mask, position_ids, cache=None, **kwargs):
        mask = attention_mask.clone() if attention_mask is not None else None  # None: unpadded
        self.calls.append((input_ids.clone(), mask, position_ids.clone()))
        token = self.continuation[min(len(self.calls), len(self.continuation)) - 1]
        logits = torch.zeros(input_ids.shape[0], 1, self.config.vocab_size)
        logits[:, :, token] = 1.0
        return SimpleNamespace(logits=logits)


def test_generation_stops_at_im_end_and_pads_on_the_left(tiny_tokenizer):
    tok = tiny_tokenizer
    im_end, pad = tok.convert_tokens_to_ids("<|im_end|>"), tok.pad_token_id
    answer = tok("Paris", add_special_tokens=False)["input_ids"]
    junk = tok(" and more", add_special_tokens=False)["input_ids"]
    model = ScriptedModel(answer + [im_end] + junk, len(tok))
    lm = LanguageModel("scripted", model, tok)
    gens = lm.generate(
        convos(["Hi", "What is the capital of France?"]), max_new_tokens=20, reuse_prefix=False
    )
    assert [g.text for g in gens] == ["Paris", "Paris"]
    assert [g.new_tokens for g in gens] == [len(answer) + 1] * 2
    assert len(model.calls) == len(answer) + 1  # nothing is computed after the stop token
    ids, mask, positions = model.calls[0]
    assert ids.shape[0] == 2
    width = ids.shape[1]
    n_pad = width - gens[0].prompt_tokens
    assert n_pad > 0
    assert ids[0, :n_pad].tolist() == [pad] * n_pad  # left padding on the shorter prompt
    assert mask[0].tolist() == [0] * n_pad + [1] * (width - n_pad)
    assert mask[1].tolist() == [1] * width
    # Real tokens keep their unpadded positions.
    assert positions[0, n_pad:].tolist() == list(range(width - n_pad))
    assert positions[1].tolist() == list(range(width))


def test_generation_without_a_stop_counts_every_token(tiny_tokenizer):
    tok = tiny_tokenizer
    words = tok(" one two three four", add_special_tokens=False)["input_ids"]
    lm = LanguageModel("scripted", ScriptedModel(words, len(tok)), tok)
    (gen,) = lm.generate(convos(["Count"]), max_new_tokens=len(words))
    assert gen.text == "one two three four"
    assert gen.new_tokens == len(words)
