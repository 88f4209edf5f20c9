"""Our decode loop (reaching into transformers' cache internals) gives the very tokens of
`model.generate(do_sample=False)`, with and without the prefix KV cache, batched with padding:
a transformers upgrade that changes either side fails here loudly instead of drifting."""

from __future__ import annotations

import pytest
import torch

from shouldtune.models.decode import StopRule, greedy
from shouldtune.models.lm import LanguageModel

SHOTS = [
    ("Send two red caps to Paris.", "CAP-RED x2 > PAR"),
    ("I need one blue hoodie in Rome, fast.", "HOD-BLU x1 > ROM (EXP)"),
    ("Four green posters for Vienna please.", "PST-GRN x4 > VIE"),
]
QUESTIONS = [
    "Three white mugs to Warsaw.",
    "Could you ship a single large black hoodie to Madrid by express, please?",
    "Six caps.",
    "Two medium red hoodies to Paris, overnight shipping, and please wrap them as a gift.",
    "One poster",
]


def few_shot(question: str) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": "Write the order code for this message."}]
    for q, a in SHOTS:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return msgs + [{"role": "user", "content": question}]


def reference(lm: LanguageModel, prompt: list[int], max_new: int) -> list[int]:
    """transformers' greedy decoding of one prompt, stop token included, nothing after."""
    ids = torch.tensor([prompt], device=lm.device)
    out = lm.model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_new,
        do_sample=False,
        eos_token_id=lm.stop_ids(),
        pad_token_id=lm.tokenizer.pad_token_id or lm.tokenizer.eos_token_id,
    )
    return out[0, len(prompt) :].tolist()


def check(lm: LanguageModel, max_new: int, n: int) -> int:
    """Assert equality for n prompts, both ways; returns how many rows hit a stop token."""
    fresh = LanguageModel(lm.name, lm.model, lm.tokenizer)
    prompts = [fresh.encode(fresh.render(few_shot(q))) for q in QUESTIONS[:n]]
    want = [reference(fresh, p, max_new) for p in prompts]
    prefix = fresh.prefix_for(prompts)
    assert prefix is not None and len(prefix.ids) > 50  # the demonstrations are cached
    assert len({len(p) for p in prompts}) >= 3  # rows are padded differently
    rule = StopRule(frozenset(fresh.stop_ids()))
    pad = fresh.tokenizer.pad_token_id
    for cached in (None, prefix):
        rows = greedy(fresh.model, prompts, pad, max_new, rule, fresh._decode, cached)
        assert [r.ids for r in rows] == want, "with prefix cache" if cached else "no cache"
    return sum(r[-1] in rule.ids for r in want)


def test_decode_gives_generates_tokens_on_the_tiny_model(tiny_lm):
    check(tiny_lm, max_new=8, n=5)


@pytest.mark.integration
def test_decode_gives_generates_tokens_on_the_bundled_model():
    from shouldtune.models.bundled import resolve_model

    lm = LanguageModel.load(*resolve_model(None))
    stopped = check(lm, max_new=24, n=3)
    assert stopped >= 1  # real answers end at <|im_end|>: the stop path is compared too
