"""Every alternative gets its best shot: the prompt search on dev, label ranking, and the rule
that no choice reads a test row.

A fake chat model that answers right only with at least 8 demonstrations in the prompt stands
for "the default prompt (k = 4) is not the best prompt": the search must find k >= 8 on dev,
and a fine-tune that beats the default prompt but not the best one must not win on quality.
"""

from __future__ import annotations

import math
import sys
import time

import pytest
import torch

from shouldtune import strategies
from shouldtune.core.taskio import load_task
from shouldtune.core.types import Generation, Kind
from shouldtune.models import likelihood
from shouldtune.run import RunOptions, run_task
from shouldtune.strategies import search
from shouldtune.strategies.answering import label_summary, rank_labels
from shouldtune.strategies.base import RunContext, Strategy

NEEDED_SHOTS = 8


def rule(n: int) -> str:
    return f"code-{n * 7 % 100}"


class NeedsShotsLM:
    """Answers `rule(n)` for "item n" when the prompt holds >= NEEDED_SHOTS demonstrations,
    else "?". Records every question it was asked."""

    parameters = 1000

    def __init__(self) -> None:
        self.asked: list[str] = []

    def generate(self, convos, max_new_tokens, batch_size=1, on_batch=None, stop=(), **kw):
        out = []
        for convo in convos:
            question = convo[-1]["content"]
            self.asked.append(question)
            shots = sum(1 for m in convo if m["role"] == "assistant")
            n = int(question.split()[-1])
            out.append(Generation(rule(n) if shots >= NEEDED_SHOTS else "?", 5, 2))
        if on_batch:
            on_batch(len(convos))
        return out


class Memo(Strategy):
    """A stand-in fine-tune: trains (by its trait), right on 8 of 10 test rows."""

    name = "memo"
    kind = Kind.FINE_TUNING
    trains = True
    uses_llm = False

    def prepare(self, ctx):
        time.sleep(0.01)
        return {"train_seconds": 0.01}

    def predict(self, examples, ctx):
        return [
            Generation(rule(n) if n % 5 else "?")
            for n in (int(ex.input.split()[-1]) for ex in examples)
        ]


TRAIN = [{"input": f"item {n}", "output": rule(n)} for n in range(60)]
TEST = [{"input": f"item {n}", "output": rule(n)} for n in range(100, 110)]
CONFIG = {
    "instruction": "Give the code.",
    "eval": {"latency_samples": 1, "bootstrap_samples": 200},
    "probes": {"enabled": False},
}


def ctx_for(task, lm, embedder=None, score=True) -> RunContext:
    return RunContext(
        task=task,
        lm_loader=lambda: lm,
        embedder_loader=lambda: embedder,
        score_row=(lambda p, e: float(p == e)) if score else None,
    )


def test_the_search_finds_the_shots_the_model_needs_on_dev(make_task_dir):
    task = load_task(make_task_dir(TRAIN, TEST, CONFIG))
    lm = NeedsShotsLM()
    strategy = strategies.create("few_shot", {"k": 4})
    details = strategy.prepare(ctx_for(task, lm))
    assert details["k"] >= NEEDED_SHOTS and details["search"]["default"]["k"] == 4
    table = details["search"]["table"]
    assert {row["settings"]["k"] for row in table} == {2, 4, 8, 16}
    assert all(row["dev_score"] == (1.0 if row["settings"]["k"] >= 8 else 0.0) for row in table)
    # Successive halving spends less than scoring every candidate on every dev row.
    dev_rows = details["search"]["dev_rows"]
    assert dev_rows == 6
    assert details["search"]["row_evaluations"] < len(table) * dev_rows
    assert [g.text for g in strategy.predict(task.test, ctx_for(task, lm))] == [
        ex.output for ex in task.test
    ]


class SealedList(list):
    """A test set that fails the test if anything reads it."""

    def _read(self, *args, **kwargs):
        pytest.fail("a choice read the test set")

    __iter__ = __getitem__ = __len__ = _read  # type: ignore[assignment]


@pytest.mark.parametrize("name", ["zero_shot", "few_shot", "few_shot_knn", "rag"])
def test_no_choice_reads_a_test_row(make_task_dir, fake_embedder, name):
    docs = {"codes.md": "Codes are seven times the item number, modulo one hundred."}
    task = load_task(make_task_dir(TRAIN, TEST, CONFIG, docs=docs))
    test_inputs = {ex.input for ex in task.test}
    task.test = SealedList(task.test)
    lm = NeedsShotsLM()
    details = strategies.create(name, {}).prepare(ctx_for(task, lm, fake_embedder))
    assert details["search"]["row_evaluations"] > 0 and details["search"]["dev_rows"] == 6
    asked = {q.split("Question: ")[-1] for q in lm.asked}
    assert asked and not asked & test_inputs


def test_ties_keep_the_configured_prompt_and_only_dev_rows_are_scored():
    dev = [type("Row", (), {"output": str(i), "input": f"q{i}"})() for i in range(9)]
    cands = [search.Candidate.of(k=k) for k in (4, 2, 8, 16)]
    seen = []

    def answer(pairs):
        seen.extend(ex.input for _, ex in pairs)
        return ["x" for _ in pairs]  # every candidate scores 0: a tie

    result = search.successive_halving(cands, dev, answer, lambda p, e: float(p == e))
    assert result.chosen == cands[0] == result.default
    assert set(seen) <= {r.input for r in dev}


def test_a_fine_tune_that_beats_only_the_default_prompt_does_not_win_on_quality(
    make_task_dir, tiny_model_dir, tmp_path, monkeypatch
):
    from shouldtune.models import vllm_engine

    monkeypatch.setattr(vllm_engine, "loader", lambda *a, **k: NeedsShotsLM)
    monkeypatch.setitem(strategies.REGISTRY, "memo", f"{__name__}:Memo")
    assert sys.modules[__name__].Memo is Memo
    verdicts = {}
    for searched in (False, True):
        config = {**CONFIG, "options": {"few_shot": {"k": 4, "search": searched}}}
        root = make_task_dir(TRAIN, TEST, config)
        opts = RunOptions(out_dir=tmp_path / f"run-{searched}", only=["few_shot", "memo"],
                          model=str(tiny_model_dir), allow_audit_failures=True)  # fmt: skip
        results = run_task(root, opts)
        scores = {s["name"]: s["quality"]["score"] for s in results["strategies"]}
        verdicts[searched] = (results["verdict"], scores)
    untuned, untuned_scores = verdicts[False]
    assert untuned_scores == {"few_shot": 0.0, "memo": 0.8}
    assert untuned["fine_tune"] is True and "quality" in untuned["drivers"]
    tuned, tuned_scores = verdicts[True]
    assert tuned_scores == {"few_shot": 1.0, "memo": 0.8}
    assert tuned["fine_tune"] is False and tuned["recommended"] == "few_shot"
    given = [r for r in tuned["reasons"] if r.startswith("Each side's tuning")]
    assert len(given) == 1 and "few_shot the best of 8 prompts on 6 dev rows (k = 8" in given[0]
    report = (tmp_path / "run-True" / "report.md").read_text(encoding="utf-8")
    assert "## Tuning on the dev split" in report and "← chosen" in report


# ---- label ranking -------------------------------------------------------------------------

LABELS = ["yes", "no", "maybe"]
LABEL_TRAIN = [{"input": f"question {i}?", "output": LABELS[i % 3]} for i in range(30)]
LABEL_TEST = [{"input": f"another question {i}?", "output": LABELS[i % 3]} for i in range(5)]


def brute_force_choice(lm, convo, options) -> int:
    """Per-byte log-likelihood of each option by one full forward each (no cache)."""
    context = lm.render(convo)
    best, best_value = -1, -math.inf
    for j, option in enumerate(options):
        ctx_ids, cont = likelihood.encode_pair(lm, context, option)
        ids = torch.tensor([ctx_ids + cont])
        with torch.inference_mode():
            logp = torch.log_softmax(lm.model(input_ids=ids).logits.float(), -1)[0]
        total = sum(float(logp[len(ctx_ids) + t - 1, tok]) for t, tok in enumerate(cont))
        value = total / len(option.encode("utf-8"))
        if value > best_value:
            best, best_value = j, value
    return best


@pytest.mark.parametrize("cached_tokens", [65_536, 40])  # one pass, and many small chunks
def test_ranking_picks_what_a_full_forward_picks(tiny_lm, monkeypatch, cached_tokens):
    monkeypatch.setattr(likelihood, "MAX_CACHED_TOKENS", cached_tokens)
    labels = ["card_arrival", "card", "cash", "lost_or_stolen_card", "top_up"]
    convos = [
        [{"role": "system", "content": "Classify."}, {"role": "user", "content": q}]
        for q in ("where is my card", "I lost my wallet", "add money please")
    ]
    got = rank_labels(tiny_lm, convos, labels)
    marker = "<|im_end|>"
    want = [brute_force_choice(tiny_lm, c, [f"{x}{marker}" for x in labels]) for c in convos]
    assert [g.text for g in got] == [labels[i] for i in want]


def test_label_tasks_answer_from_the_label_set_with_the_free_text_as_a_view(
    make_task_dir, tiny_lm, fake_embedder
):
    config = {"instruction": "Answer yes, no or maybe.", "generation": {"max_new_tokens": 4}}
    task = load_task(make_task_dir(LABEL_TRAIN, LABEL_TEST, config))
    ctx = ctx_for(task, tiny_lm, fake_embedder, score=False)
    assert ctx.labels == sorted(LABELS)
    strategy = strategies.create("zero_shot")
    strategy.prepare(ctx)
    counted = []
    ctx.progress = type("P", (), {"advance": lambda self, n=1: counted.append(n),
                                  "stage": lambda *a, **k: None, "log": lambda *a: None})()
    gens = strategy.predict(task.test, ctx)
    assert sum(counted) == len(task.test)  # each row counted once: ranked, not again as a view
    assert all(g.text in LABELS and g.meta["ranked"] for g in gens)
    free = [g.meta["free_text"] for g in gens]
    summary = label_summary(gens)
    assert summary["ranked"] == 5 and summary["free_checked"] == 5
    assert summary["free_outside_labels"] == sum(f.strip() not in LABELS for f in free)
    ctx.serving = True  # a served request: the ranking only
    assert "free_text" not in strategy.predict(task.test[:1], ctx)[0].meta


def test_label_ranking_can_be_turned_off(make_task_dir, tiny_lm):
    config = {"instruction": "x", "eval": {"label_ranking": False}}
    task = load_task(make_task_dir(LABEL_TRAIN, LABEL_TEST, config))
    assert ctx_for(task, tiny_lm).labels is None
