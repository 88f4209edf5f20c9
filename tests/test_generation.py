"""The evaluation generation path: prefix KV-cache reuse, stop strings, early exit."""

from __future__ import annotations

import copy

import pytest
import torch

from shouldtune.models import decode
from shouldtune.models.decode import PrefixCache, common_prefix_len
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
    "Eight small white mugs for Berlin, standard shipping is fine.",
]


def few_shot(question: str) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": "Write the order code for this message."}]
    for q, a in SHOTS:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return msgs + [{"role": "user", "content": question}]


@pytest.fixture
def fresh_lm(tiny_lm):
    """Own instance (own prefix cache), same weights: tests never see each other's caches."""
    return LanguageModel(tiny_lm.name, tiny_lm.model, tiny_lm.tokenizer)


def test_common_prefix_len():
    assert common_prefix_len([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert common_prefix_len([[1, 2, 3]]) == 3
    assert common_prefix_len([[1, 2], [3]]) == 0
    assert common_prefix_len([]) == 0


def test_prefix_cache_gives_the_same_outputs_as_no_cache(fresh_lm):
    convos = [few_shot(q) for q in QUESTIONS]
    encoded = [fresh_lm.encode(fresh_lm.render(c)) for c in convos]
    shared = common_prefix_len(encoded)
    assert shared > 100  # the demonstrations really are a long shared prefix
    assert len({len(e) - shared for e in encoded}) >= 4  # suffixes differ: padding is exercised
    plain = fresh_lm.generate(convos, max_new_tokens=8, batch_size=4, reuse_prefix=False)
    assert fresh_lm._prefix is None
    cached = fresh_lm.generate(convos, max_new_tokens=8, batch_size=4)
    assert fresh_lm._prefix is not None and len(fresh_lm._prefix.ids) == shared
    assert cached == plain
    assert len({g.text for g in plain}) > 1 and all(g.new_tokens == 8 for g in plain)
    for batch_size in (1, 6):
        assert fresh_lm.generate(convos, max_new_tokens=8, batch_size=batch_size) == plain


def test_no_cache_path_matches_transformers_generate(fresh_lm):
    convos = [few_shot(q) for q in QUESTIONS[:3]]
    ours = fresh_lm.generate(convos, max_new_tokens=6, batch_size=1, reuse_prefix=False)
    for convo, gen in zip(convos, ours, strict=True):
        ids = torch.tensor([fresh_lm.encode(fresh_lm.render(convo))])
        out = fresh_lm.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=6,
            do_sample=False,
            eos_token_id=fresh_lm.stop_ids(),
            pad_token_id=fresh_lm.tokenizer.pad_token_id,
        )
        new = out[0, ids.shape[1] :].tolist()
        assert gen.text == fresh_lm.tokenizer.decode(new, skip_special_tokens=True).strip()


def test_prefix_is_built_once_and_reused_by_single_requests(fresh_lm, monkeypatch):
    built = []
    real_build = PrefixCache.build.__func__

    def counting_build(cls, model, ids):
        built.append(len(ids))
        return real_build(cls, model, ids)

    monkeypatch.setattr(PrefixCache, "build", classmethod(counting_build))
    convos = [few_shot(q) for q in QUESTIONS]
    batched = fresh_lm.generate(convos, max_new_tokens=5, batch_size=2)
    assert len(built) == 1  # once for three batches, not once per batch or per example
    single = [fresh_lm.generate([c], max_new_tokens=5)[0] for c in convos[:2]]
    assert len(built) == 1  # a single request reuses the prefix kept from the batch
    assert single == batched[:2]
    other = [[{"role": "user", "content": q}] for q in QUESTIONS[:2]]
    fresh_lm.generate(other, max_new_tokens=2)  # no demonstrations: the kept prefix can't apply
    assert len(built) == 2


def test_prefix_is_not_reused_after_the_weights_change(tiny_lm):
    lm = LanguageModel("copy", copy.deepcopy(tiny_lm.model), tiny_lm.tokenizer)
    convos = [few_shot(q) for q in QUESTIONS[:3]]
    lm.generate(convos, max_new_tokens=4)
    kept = lm._prefix
    assert kept is not None and kept.valid_for(lm.model)
    with torch.no_grad():
        lm.model.get_input_embeddings().weight.mul_(3.0)  # in place, as an optimizer step
    assert not kept.valid_for(lm.model)
    single = lm.generate(convos[:1], max_new_tokens=4)
    assert lm._prefix is None  # the stale prefix is dropped, not reused
    assert single == lm.generate(convos[:1], max_new_tokens=4, reuse_prefix=False)


def test_stop_strings_cut_the_text_and_end_the_row(fresh_lm):
    convos = [[{"role": "user", "content": q}] for q in QUESTIONS[:3]]
    full = fresh_lm.generate(convos, max_new_tokens=12)
    text = full[0].text
    assert len(text) > 6
    stop = text[3:5]  # a string the model really produces, mid-answer
    cut = fresh_lm.generate(convos, max_new_tokens=12, stop=[stop, "never-produced-xyz"])
    assert cut[0].text == text[: text.index(stop)].strip()
    assert cut[0].new_tokens < full[0].new_tokens  # it stopped early, not just cut afterwards
    for before, after in zip(full, cut, strict=True):
        assert before.text.startswith(after.text)
        if stop not in before.text:
            assert after == before


def test_earliest_stop_string_wins():
    rule = decode.StopRule(frozenset(), ("\n", "###"))
    assert rule.cut("abc###def\nx") == 3
    assert rule.cut("abc\ndef###") == 3
    assert rule.cut("plain") is None


class RowScript(torch.nn.Module):
    """Row 0 stops after one token, row 1 runs on: records each call's batch size."""

    def __init__(self, stop_id: int, word_id: int, vocab_size: int):
        super().__init__()
        from transformers import LlamaConfig

        self.config = LlamaConfig(vocab_size=vocab_size, num_hidden_layers=1)
        self.stop_id, self.word_id = stop_id, word_id
        self.batch_sizes: list[int] = []
        self.first_rows: list[int] = []

    def forward(self, input_ids, attention_mask, position_ids, cache=None, **kwargs):
        from types import SimpleNamespace

        self.batch_sizes.append(input_ids.shape[0])
        logits = torch.zeros(input_ids.shape[0], 1, self.config.vocab_size)
        if len(self.batch_sizes) == 1:  # prefill: the shortest prompt (row 0) stops at once
            short = attention_mask.sum(-1) == attention_mask.sum(-1).min()
            logits[:, 0, self.word_id] = 1.0
            logits[short, 0, self.word_id] = 0.0
            logits[short, 0, self.stop_id] = 1.0
        else:
            logits[:, 0, self.word_id] = 1.0
        return SimpleNamespace(logits=logits)


def test_finished_rows_leave_the_batch(tiny_tokenizer):
    tok = tiny_tokenizer
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    word = tok("yes", add_special_tokens=False)["input_ids"][0]
    model = RowScript(im_end, word, len(tok))
    lm = LanguageModel("scripted", model, tok)
    convos = [[{"role": "user", "content": q}] for q in ("Hi", "A much longer question here")]
    short, long = lm.generate(convos, max_new_tokens=5, reuse_prefix=False)
    assert (short.text, short.new_tokens) == ("", 1)
    assert long.new_tokens == 5 and long.text == tok.decode([word] * 5).strip()
    assert model.batch_sizes == [2, 1, 1, 1, 1]  # after the first token, one row is computed


def test_growing_kv_layer_appends_in_place_and_follows_row_selection():
    from transformers.cache_utils import DynamicLayer

    from shouldtune.models.kvcache import GrowingLayer

    torch.manual_seed(0)
    grow, plain = GrowingLayer(reserve=4), DynamicLayer()

    def both(k: torch.Tensor) -> torch.Tensor:
        got, want = grow.update(k, k + 1), plain.update(k, k + 1)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
        return got[0]

    both(torch.randn(3, 2, 5, 8))
    first = both(torch.randn(3, 2, 1, 8)).data_ptr()
    assert both(torch.randn(3, 2, 1, 8)).data_ptr() == first  # spare room: nothing copied
    keep = torch.tensor([0, 2])
    grow.batch_select_indices(keep)  # a finished row leaves the batch
    plain.batch_select_indices(keep)
    assert torch.equal(grow.keys, plain.keys) and torch.equal(grow.values, plain.values)
    selected = grow.keys.data_ptr()
    assert both(torch.randn(2, 2, 1, 8)).shape == (2, 2, 8, 8)
    assert grow.keys.data_ptr() == selected  # one gather kept the spare room: no regrow
    for _ in range(8):  # past the reserve: it grows and stays equal
        both(torch.randn(2, 2, 1, 8))
