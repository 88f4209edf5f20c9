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


def test_general_probe_known_before_and_forgetting_flagged(real_lm) -> None:
    from shouldtune.core.types import Quality, StrategyResult
    from shouldtune.core.verdict import probe_harms
    from shouldtune.probes.items import ProbeItem

    items = general_items(8) + [ProbeItem("unanswerable", "What will I dream tomorrow?")]
    before = run_probes(real_lm, items, max_new_tokens=24, batch_size=16)
    after = run_probes(Parrot(), items)
    out = compare(items, before.answers, after.answers, n_resamples=1000)
    # The shipped set was filtered to what this model answers with these settings.
    assert out["forgetting"]["before"] >= 0.9
    assert out["forgetting"]["after"] == 0.0 and out["forgetting"]["ci_high"] < 0
    assert out["fabrication_rate"]["after"] == 1.0
    tuned = StrategyResult("lora", "fine-tuning", Quality("exact_match", 1, 1, 1), {}, 0, 0, 1, 0,
                           0, "", [1.0], {"probes": out})  # fmt: skip
    harms = probe_harms(tuned)
    assert any("general-knowledge accuracy went from" in h for h in harms)


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
