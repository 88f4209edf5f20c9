"""The probe measures computed at scoring time, from answers a run already saved (no model).

`results.build_results` calls these after scoring every strategy, so `shouldtune rescore`
recomputes them under the new metric too:

- in-domain hallucination: each trained strategy's answers on the clean test rows against the
  base model's zero-shot answers on the same rows (`indomain.in_domain`), stored in the
  strategy's `details["probes"]` beside the general-knowledge and SelfAware probes;
- SliCK's categories, re-made from its stored raw answers with the run's metric
  (`slick.recategorize`).

Pure Python, no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.types import StrategyResult, StrategyRun
from .indomain import in_domain
from .slick import recategorize

BASE = "zero_shot"  # the base model answering the task's own questions without training
KEYS = ("in_domain_fabrication", "in_domain_abstention")


def attach_in_domain(
    scored: Sequence[StrategyResult],
    runs: Sequence[StrategyRun],
    clean: Sequence[int],
    n_resamples: int,
    seed: int,
) -> None:
    """Add in_domain_fabrication / in_domain_abstention to each trained strategy's probes
    (or `in_domain_note` saying why not). `scored[i].scores` are the clean-row scores."""
    trained = [r for r in scored if r.trains]
    if not trained:
        return
    texts = {run.name: [run.generations[i].text for i in clean] for run in runs}
    base = next((r for r in scored if r.name == BASE), None)
    note = None
    if base is None:
        note = f"{BASE} was not run: no base-model answers to compare the task questions with"
    elif base.hosted:
        note = f"{BASE} ran on a served model, not on the base this fine-tune was trained from"
    for result in trained:
        probes = {k: v for k, v in (result.details.get("probes") or {}).items() if k not in KEYS}
        probes.pop("in_domain_note", None)
        if base is not None and note is None:
            probes |= in_domain(
                texts[BASE], base.scores, texts[result.name], result.scores, n_resamples, seed
            )
        else:
            probes["in_domain_note"] = str(note)
        result.details = {**result.details, "probes": probes}


def rescore_knowledge(
    knowledge: dict[str, Any] | None, scorer: Callable[[str, str], float]
) -> dict[str, Any] | None:
    """SliCK re-categorised under `scorer` when the run kept its raw answers; else as it was."""
    if not isinstance(knowledge, dict):
        return knowledge
    return recategorize(knowledge, scorer)
