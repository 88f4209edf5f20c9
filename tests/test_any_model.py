"""Any Hugging Face causal LM folder works as --model: without a chat template (the plain
fallback rendering, its turn stops, no padding token) and with untied embeddings, through the
prompting strategies and generation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from shouldtune import strategies
from shouldtune.core.taskio import load_task
from shouldtune.models.lm import LanguageModel
from shouldtune.strategies.base import RunContext

TRAIN = [
    {"input": "Send two red caps to Paris.", "output": "CAP-RED x2 > PAR"},
    {"input": "One blue hoodie to Rome, fast.", "output": "HOD-BLU x1 > ROM (EXP)"},
    {"input": "Four green posters for Vienna.", "output": "PST-GRN x4 > VIE"},
    {"input": "Three white mugs to Warsaw.", "output": "MUG-WHT x3 > WAW"},
]
TEST = [
    {"input": "Six black caps to Madrid.", "output": "CAP-BLK x6 > MAD"},
    {"input": "A poster for Berlin, by express please.", "output": "PST-??? x1 > BER (EXP)"},
    {"input": "Two mugs.", "output": "MUG-??? x2"},
]
DOCS = {"codes.md": "Caps are CAP, hoodies HOD, posters PST, mugs MUG.\n\nExpress adds (EXP)."}
PROMPTING = ["zero_shot", "few_shot", "few_shot_knn", "rag"]


@pytest.fixture
def task(make_task_dir):
    config = {"instruction": "Write the order code.", "generation": {"max_new_tokens": 6}}
    return load_task(make_task_dir(TRAIN, test=TEST, config=config, docs=DOCS))


def run_strategy(name: str, task, lm, embedder):
    ctx = RunContext(task=task, lm_loader=lambda: lm, embedder_loader=lambda: embedder)
    strategy = strategies.create(name, None)
    strategy.prepare(ctx)
    convos = [strategy.messages(ex, ctx) for ex in task.test]
    return convos, strategy.predict(task.test, ctx)


@pytest.mark.parametrize("name", PROMPTING)
def test_a_model_without_chat_template_through_the_prompting_strategies(
    name, task, notemplate_lm, fake_embedder
):
    lm = notemplate_lm
    assert lm.tokenizer.pad_token_id is None  # the end-of-text token pads instead
    convos, gens = run_strategy(name, task, lm, fake_embedder)
    for convo, gen in zip(convos, gens, strict=True):
        text = lm.render(convo)
        assert text.endswith("\nAssistant:") and f"User: {convo[-1]['content']}\n" in text
        assert gen.prompt_tokens == len(lm.encode(text))
        assert 0 < gen.new_tokens <= 6
    # Batched with left padding by the end-of-text token = one at a time.
    alone = [lm.generate([c], max_new_tokens=6)[0] for c in convos]
    assert gens == alone


def test_the_fallback_stops_at_a_new_turn(notemplate_lm):
    tok = notemplate_lm.tokenizer
    script = tok("Paris\nUser: and now something else", add_special_tokens=False)["input_ids"]

    class Scripted(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.config = notemplate_lm.model.config
            self.calls = 0

        def forward(self, input_ids, **kwargs):
            logits = torch.zeros(input_ids.shape[0], 1, len(tok))
            logits[:, 0, script[min(self.calls, len(script) - 1)]] = 1.0
            self.calls += 1
            return SimpleNamespace(logits=logits)

    model = Scripted()
    lm = LanguageModel("scripted", model, tok)
    (gen,) = lm.generate([[{"role": "user", "content": "Capital of France?"}]], 20)
    assert gen.text == "Paris"
    assert gen.new_tokens < len(script) and model.calls == gen.new_tokens  # stopped, not cut


def test_training_encodings_without_a_template_end_with_the_eos(notemplate_lm):
    lm = notemplate_lm
    prompt, completion = lm.encode_for_training([{"role": "user", "content": "Hi"}], "Paris")
    assert lm.tokenizer.decode(prompt) == "User: Hi\nAssistant:"
    assert completion[-1] == lm.tokenizer.eos_token_id
    assert lm.tokenizer.decode(completion[:-1]).strip() == "Paris"


@pytest.mark.parametrize("name", PROMPTING)
def test_untied_embeddings_through_the_prompting_strategies(
    name, task, untied_model_dir, fake_embedder
):
    lm = LanguageModel.load("untied", untied_model_dir)
    head, embed = lm.model.get_output_embeddings().weight, lm.model.get_input_embeddings().weight
    assert head.data_ptr() != embed.data_ptr() and not torch.equal(head, embed)
    convos, gens = run_strategy(name, task, lm, fake_embedder)
    for convo, gen in zip(convos, gens, strict=True):  # as transformers' own greedy decoding
        ids = torch.tensor([lm.encode(lm.render(convo))])
        out = lm.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=6,
            do_sample=False,
            eos_token_id=lm.stop_ids(),
            pad_token_id=lm.tokenizer.pad_token_id,
        )
        new = out[0, ids.shape[1] :].tolist()
        assert gen.text == lm.tokenizer.decode(new, skip_special_tokens=True).strip()
        assert gen.new_tokens == len(new)
