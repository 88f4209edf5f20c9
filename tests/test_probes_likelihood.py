"""Likelihood multiple choice on the tiny model: batched scores equal a brute-force
per-option computation, and a format-only fine-tune keeps its likelihood accuracy while its
generation probe drops (a fine-tune that learns wrong facts does not)."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from shouldtune.core.prompts import chat
from shouldtune.models.lm import LanguageModel
from shouldtune.probes.abstention import contains_answer
from shouldtune.probes.items import ProbeItem
from shouldtune.probes.likelihood import (
    OptionScore,
    choose,
    continuation,
    encode_pair,
    option_logprobs,
)
from shouldtune.probes.metrics import compare
from shouldtune.probes.runner import PROBE_INSTRUCTION, answer_questions

QUESTIONS = [
    "What is the capital of France?",
    "What comes after Monday?",
    "What is 3 + 4?",
    "What is the opposite of hot?",
]
OPTIONS = [
    ["Paris", "Berlin", "Madrid", "Rome"],
    ["Tuesday", "Friday", "Sunday", "Monday"],
    ["7", "12", "1", "8"],
    ["cold", "warm", "big", "dark and stormy"],
]


def brute_force(lm, messages, option: str, stem: str | None = None) -> float:
    """One unpadded forward per option: the sum of the continuation's log-probabilities."""
    ctx, cont = encode_pair(lm, lm.render(messages) + (stem or ""), continuation(option, stem))
    ids = torch.tensor([ctx + cont])
    with torch.no_grad():
        logp = torch.log_softmax(lm.model(input_ids=ids).logits[0].float(), dim=-1)
    return sum(float(logp[len(ctx) + k - 1, t]) for k, t in enumerate(cont))


STEMS = ["The capital of France is", None, "3 + 4 =", "The opposite of hot is"]


# Options packed in one row behind a 4D mask (sdpa), several packs per context, and one
# option per row (an attention kernel that takes no custom mask).
LAYOUTS = {"packed": (("sdpa", "eager"), 1024), "small packs": (("sdpa", "eager"), 2),
           "one per row": ((), 1024)}  # fmt: skip


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize(("batch_size", "stems"), [(1, None), (3, STEMS), (64, STEMS)])
def test_batched_scores_match_brute_force(
    tiny_lm, monkeypatch, batch_size: int, stems, layout: str
) -> None:
    from shouldtune.models import likelihood

    packable, pack_tokens = LAYOUTS[layout]
    monkeypatch.setattr(likelihood, "PACKABLE", packable)
    monkeypatch.setattr(likelihood, "PACK_TOKENS", pack_tokens)
    assert (tiny_lm.model.config._attn_implementation in packable) == (layout != "one per row")
    prompts = [chat(PROBE_INSTRUCTION, q) for q in QUESTIONS]
    # Options of different token counts, one question with only two options.
    options = OPTIONS[:3] + [["cold", "dark and stormy"]]
    got = option_logprobs(tiny_lm, prompts, options, batch_size=batch_size, stems=stems)
    assert [len(g) for g in got] == [4, 4, 4, 2]
    for k, (messages, opts, scores) in enumerate(zip(prompts, options, got, strict=True)):
        stem = stems[k] if stems else None
        for option, score in zip(opts, scores, strict=True):
            expected = brute_force(tiny_lm, messages, option, stem)
            assert math.isclose(score.logprob, expected, abs_tol=2e-3), (option, stem)
            assert score.bytes == len(continuation(option, stem).encode("utf-8"))
            assert score.tokens >= 1 and score.logprob < 0


def test_one_question_and_no_shared_prefix(tiny_lm) -> None:
    """A single prompt (no prefix to share) and prompts sharing nothing still score right."""
    prompts = [[{"role": "user", "content": "Capital of France?"}],
               [{"role": "user", "content": "Day after Monday?"}]]  # fmt: skip
    got = option_logprobs(tiny_lm, prompts[:1], [["Paris", "Rome"]])
    assert math.isclose(got[0][1].logprob, brute_force(tiny_lm, prompts[0], "Rome"), abs_tol=2e-3)
    got = option_logprobs(tiny_lm, prompts, [["Paris", "Rome"], ["Tuesday", "Friday"]])
    assert math.isclose(got[1][0].logprob, brute_force(tiny_lm, prompts[1], "Tuesday"),
                        abs_tol=2e-3)  # fmt: skip
    with pytest.raises(ValueError):
        option_logprobs(tiny_lm, prompts, [["Paris"]])


def test_choose_normalises_by_bytes_like_acc_norm() -> None:
    short, long = OptionScore(-4.0, 2, 2), OptionScore(-6.0, 3, 12)
    assert choose([short, long], "none") == 0  # -4 > -6 in total
    assert choose([short, long], "bytes") == 1  # -0.5 > -2.0 per byte
    assert choose([OptionScore(-1.0, 1, 1), OptionScore(-1.0, 1, 1)]) == 0  # ties: first
    with pytest.raises(ValueError):
        choose([])


def test_encode_pair_splits_like_lm_eval(tiny_lm) -> None:
    context = tiny_lm.render(chat("Answer.", "Capital of France?"))
    ctx, cont = encode_pair(tiny_lm, context, "Paris")
    assert ctx == tiny_lm.encode(context)
    assert ctx + cont == tiny_lm.encode(context + "Paris")


def _train(lm: LanguageModel, pairs: list[tuple[str, str]], steps: int, lr: float) -> LanguageModel:
    """A few full fine-tuning steps with the loss on the answer only: a real, tiny fine-tune."""
    model = copy.deepcopy(lm.model)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    rows = [lm.encode_for_training(chat(PROBE_INSTRUCTION, q), a) for q, a in pairs]
    for step in range(steps):
        prompt, answer = rows[step % len(rows)]
        ids = torch.tensor([prompt + answer])
        labels = torch.tensor([[-100] * len(prompt) + answer])
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    return LanguageModel("tuned", model, lm.tokenizer)


def _items(lm: LanguageModel) -> list[ProbeItem]:
    """General items the base model 'knows' both ways, as the shipped set is filtered: the
    reference answer is its own greedy answer, the right option the one it ranks first."""
    prompts = [chat(PROBE_INSTRUCTION, q) for q in QUESTIONS]
    texts = answer_questions(lm, QUESTIONS, max_new_tokens=4, batch_size=4)
    scores = option_logprobs(lm, prompts, OPTIONS)
    items = []
    for q, text, opts, s in zip(QUESTIONS, texts, OPTIONS, scores, strict=True):
        best = choose(s)
        ordered = (opts[best], *(o for k, o in enumerate(opts) if k != best))
        items.append(ProbeItem("general", q, (text.split()[0],), "test", ordered))
    return items


def _probe(lm: LanguageModel, items: list[ProbeItem]) -> tuple[list[str], list[int]]:
    texts = answer_questions(lm, [i.question for i in items], max_new_tokens=4, batch_size=4)
    scores = option_logprobs(lm, [chat(PROBE_INSTRUCTION, i.question) for i in items],
                             [i.options for i in items])  # fmt: skip
    return texts, [choose(s) for s in scores]


def test_format_only_fine_tune_keeps_likelihood_but_fails_open_questions(tiny_lm) -> None:
    items = _items(tiny_lm)
    before_texts, before_chosen = _probe(tiny_lm, items)
    assert all(contains_answer(t, i.answers) for t, i in zip(before_texts, items, strict=True))
    assert before_chosen == [0, 0, 0, 0]
    # Format takeover: every (unrelated) request answered with an order code.
    orders = [(f"Please ship {n} mugs to Oslo.", "ZQ-77") for n in ("two", "five", "nine")]
    coder = _train(tiny_lm, orders, steps=30, lr=3e-3)
    after_texts, after_chosen = _probe(coder, items)
    assert sum("Q-77" in t for t in after_texts) >= 3, after_texts  # the code, not an answer
    out = compare(items, before_texts, after_texts, 200, 0, before_chosen, after_chosen)
    assert out["open_questions"]["before"] == 1.0 and out["open_questions"]["after"] == 0.0
    assert out["knowledge_retained"]["before"] == 1.0
    assert out["knowledge_retained"]["after"] >= 0.75  # the facts' ranking survives
    # A fine-tune that teaches the wrong facts moves the likelihood ranking itself.
    wrong = [(i.question, i.options[1]) for i in items]
    liar = _train(tiny_lm, wrong, steps=40, lr=3e-3)
    _, liar_chosen = _probe(liar, items)
    assert sum(c == 0 for c in liar_chosen) <= 1, liar_chosen
