"""Probes and SliCK on the real bundled model: known facts are known, made-up ones are not,
and a model that forgot everything is flagged by the verdict's probe rule."""

from __future__ import annotations

import pytest

from shouldtune.core.types import Example, Generation
from shouldtune.probes import slick
from shouldtune.probes.forgetting import general_items
from shouldtune.probes.metrics import compare
from shouldtune.probes.runner import ModelOracle, run_probes

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real_lm():
    from shouldtune.models.bundled import resolve_model
    from shouldtune.models.lm import LanguageModel

    return LanguageModel.load(*resolve_model(None))


class Parrot:
    """A 'fine-tune' that answers everything with a ticket code: forgot all else."""

    def generate(self, convos, max_new_tokens=24, batch_size=8, on_batch=None):
        return [Generation("NBK-WHT-M x9 > BER (STD)") for _ in convos]


def test_general_probe_known_both_ways_and_format_takeover(real_lm) -> None:
    from shouldtune.core.prompts import chat
    from shouldtune.probes.likelihood import choose, option_logprobs
    from shouldtune.probes.runner import PROBE_INSTRUCTION

    items = general_items(8)
    before = run_probes(real_lm, items, max_new_tokens=24, batch_size=16)
    scores = option_logprobs(real_lm, [chat(PROBE_INSTRUCTION, i.question) for i in items],
                             [i.options for i in items], 16, [i.stem for i in items])  # fmt: skip
    chosen = [choose(s) for s in scores]
    after = run_probes(Parrot(), items)  # the parrot's weights are the base's: same ranking
    out = compare(items, before.answers, after.answers, 1000, 0, chosen, chosen)
    # The shipped set was filtered to what this model gets right both ways, these settings.
    assert out["open_questions"]["before"] >= 0.9 and out["knowledge_retained"]["before"] == 1.0
    assert out["open_questions"]["after"] == 0.0 and out["open_questions"]["ci_high"] < 0
    assert out["knowledge_retained"]["diff"] == 0


def test_selfaware_leaves_room_for_more_fabrication(real_lm) -> None:
    """With hedges counted as not confident, the base model fabricates on fewer than 90% of
    the default unanswerable questions: a rise can show."""
    from shouldtune.probes.items import shipped_items

    items = shipped_items("unanswerable", 40)
    answers = run_probes(real_lm, items, max_new_tokens=24, batch_size=16).answers
    out = compare(items, answers, answers, 200)
    assert out["fabrication_rate"]["before"] < 0.9 and "room" not in out["fabrication_rate"]


def test_slick_on_real_model_known_and_made_up_facts(real_lm) -> None:
    train = [
        Example("What is the capital of France?", "Paris"),
        Example("What is the capital of Japan?", "Tokyo"),
        Example("What is the capital of Zorblandia?", "Quimtarro"),
        Example("What is the capital of Italy?", "Rome"),
        Example("What is the capital of Spain?", "Madrid"),
        Example("What is the capital of Vexmoria?", "Dulgarth"),
    ]

    def contains(pred: str, gold: str) -> float:
        return float(gold.lower() in pred.lower())

    oracle = ModelOracle(
        real_lm, "Answer with the city only.", train, [0, 2], contains, shots=3,
        max_new_tokens=6,
    )  # fmt: skip
    result = slick.analyse(2, oracle, prompts=2, samples=1)
    france, made_up = result["per_example"]
    assert france in (slick.HIGHLY_KNOWN, slick.MAYBE_KNOWN)
    assert made_up == slick.UNKNOWN
