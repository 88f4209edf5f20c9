"""How an LLM strategy's answers are produced: free generation, or for a label task the label
set ranked by likelihood (as lm-evaluation-harness scores multiple choice).

A label task (few distinct short training outputs, the audit's own test) is answered by the
label the model finds most likely after the prompt, so no strategy loses points for spelling a
label it knows wrongly, or for inventing one. The free generation is kept beside it as a view
(`meta["free_text"]`, and whether it is one of the labels), generated in the test-set pass only:
a served request (the latency samples) costs what serving the ranking costs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ..contract import RunContext
from ..core.types import Generation
from ..progress import NullProgress

# Prompts per ranking pass. A prompt's labels are packed behind one copy of its cache
# (models/likelihood.py); 4 prompts a pass were no faster than 1 on a 2-core CPU with 77
# labels (benchmarks/label_ranking.py), and one keeps the padding away.
RANK_CONTEXTS = 1


def can_rank(model: Any) -> bool:
    """Ranking needs the weights (a local model); a served chat API gives no likelihoods of
    arbitrary continuations."""
    return hasattr(model, "render") and hasattr(model, "model") and hasattr(model, "encode")


def answers_ranked(ctx: RunContext, model: Any) -> bool:
    """Whether this run's label task is answered by ranking the labels on `model`."""
    return bool(ctx.labels) and can_rank(model)


def end_of_turn(model: Any) -> str:
    """What the chat template writes after an assistant reply ("<|im_end|>"): scored with each
    label, so a label that is a prefix of another ("card" and "card_arrival") is told apart."""
    probe = [{"role": "user", "content": "x"}]
    prompt, whole = model.render(probe), model.render(probe, "LABEL")
    if not whole.startswith(prompt + "LABEL"):
        return ""
    return whole[len(prompt) + len("LABEL") :].rstrip()


def rank_labels(model: Any, convos: Sequence[Any], labels: Sequence[str]) -> list[Generation]:
    """Per conversation, the label with the highest log-likelihood per byte (lm-eval's
    acc_norm) as the answer. Conversations that differ only in their last turn (one prompt's
    rows) are ranked together, so their shared prompt is run once."""
    from ..models.likelihood import choose, option_logprobs

    marker = end_of_turn(model)
    options = [f"{label}{marker}" for label in labels]
    groups: dict[str, list[int]] = {}
    for i, convo in enumerate(convos):
        groups.setdefault(json.dumps(convo[:-1], sort_keys=True), []).append(i)
    out: list[Generation | None] = [None] * len(convos)
    for rows in groups.values():
        scores = option_logprobs(
            model, [convos[i] for i in rows], [options] * len(rows), RANK_CONTEXTS
        )
        for i, row in zip(rows, scores, strict=True):
            best = choose(row)
            ranked = sorted((s.per_byte for s in row), reverse=True)
            out[i] = Generation(
                labels[best],
                prompt_tokens=len(model.encode(model.render(convos[i]))),
                new_tokens=row[best].tokens,
                meta={"ranked": True, "label_margin": round(ranked[0] - ranked[1], 4)}
                if len(ranked) > 1
                else {"ranked": True},
            )
    return [g for g in out if g is not None]


def with_free_view(ranked: list[Generation], free: list[Generation], labels: set[str]):
    """The ranked answers, each carrying the free generation beside it."""
    out = []
    for r, f in zip(ranked, free, strict=True):
        text = f.text.strip()
        meta = {**f.meta, **r.meta, "free_text": f.text, "free_in_labels": text in labels}
        out.append(Generation(r.text, r.prompt_tokens, r.new_tokens, meta))
    return out


def answer(
    model: Any, convos: list, ctx: RunContext, generate: Any, views: bool = True
) -> list[Generation]:
    """The strategy's answers: `generate(model, convos, ctx)` for free text; for a label task
    on a local model, the ranked label (with the free text as a view, unless serving or
    `views` is off: the prompt search needs the answers only)."""
    labels = ctx.labels
    if not labels or not can_rank(model) or not convos:
        return generate(model, convos, ctx)
    ranked = rank_labels(model, convos, labels)
    if ctx.serving:  # a served request: no diagnostic view (and eval/latency.py counts it)
        return ranked
    ctx.progress.advance(len(convos))
    if not views:
        return ranked
    started, progress = time.perf_counter(), ctx.progress
    ctx.progress = NullProgress()  # the rows were counted once, when ranked
    try:
        free = generate(model, convos, ctx)
    finally:
        ctx.progress = progress
    ctx.view_seconds += time.perf_counter() - started
    return with_free_view(ranked, free, set(labels))


def label_summary(gens: Sequence[Generation]) -> dict[str, Any] | None:
    """Details for results.json: how many answers were ranked, and how many of the free
    generations were not one of the labels (what free generation alone would have scored as
    a wrong label)."""
    ranked = [g for g in gens if g.meta.get("ranked")]
    if not ranked:
        return None
    free = [g for g in ranked if "free_text" in g.meta]
    outside = sum(1 for g in free if not g.meta.get("free_in_labels"))
    return {
        "answered_by": "label ranking (log-likelihood per byte)",
        "ranked": len(ranked),
        "free_outside_labels": outside,
        "free_checked": len(free),
    }
