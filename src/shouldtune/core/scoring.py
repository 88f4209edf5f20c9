"""Scoring: a strategy's cached answers -> per-example scores, intervals, lenient views.

Scoring runs after generation, outside the resume cache, so a changed or fixed metric
re-scores cached answers in seconds. The test set is split by the data audit into *clean* rows
and *seen* rows (a test input that repeats a training input with the same answer): the verdict
and headline use the clean rows; all and seen rows are scored too, so the report can show what
memorisation adds. Pure Python, no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .metrics import LENIENT, Metric, builtin, contains
from .stats import BOOTSTRAP_SAMPLES, bootstrap_ci
from .types import Example, Quality, StrategyResult, StrategyRun

# score_details hook: (details, score(texts) -> clean-row scores, clean scores) -> details
DetailsHook = Callable[[dict[str, Any], Callable[[Sequence[str]], list[float]], list[float]], dict]


@dataclass(frozen=True)
class TestSplit:
    """Which test rows the verdict scores. `seen`: rows whose input repeats a training input
    with the same answer (answer leakage); every other row is clean."""

    n: int
    seen: frozenset[int] = frozenset()
    # Rows whose expected answer occurs verbatim among the training answers (None: unknown).
    answer_in_train: frozenset[int] | None = None
    open_ended: bool = False

    @property
    def clean(self) -> list[int]:
        return [i for i in range(self.n) if i not in self.seen]

    @property
    def unseen_answers(self) -> list[int] | None:
        """Clean rows whose answer never occurs among the training answers."""
        if self.answer_in_train is None:
            return None
        return [i for i in self.clean if i not in self.answer_in_train]

    @classmethod
    def from_audit(cls, audit: Any, n: int) -> TestSplit:
        """From results.json's audit (its `test_rows`); an older audit: every row is clean."""
        rows = audit.get("test_rows") if isinstance(audit, dict) else None
        if not isinstance(rows, dict):
            return cls(n)

        def indices(key: str) -> frozenset[int] | None:
            found = rows.get(key)
            if not isinstance(found, list):
                return None
            return frozenset(i for i in found if isinstance(i, int) and 0 <= i < n)

        return cls(
            n,
            indices("seen") or frozenset(),
            indices("answer_in_train"),
            bool(audit.get("open_ended")),
        )

    def to_json(self) -> dict[str, Any]:
        return {"clean": len(self.clean), "seen": len(self.seen), "rows_seen": sorted(self.seen)}


def quality(metric: str, scores: Sequence[float], n_resamples: int, seed: int) -> Quality:
    mean, lo, hi = bootstrap_ci(scores, n_resamples, seed)
    return Quality(metric, round(mean, 4), round(lo, 4), round(hi, 4), len(scores))


def _pick(values: Sequence[Any], rows: Sequence[int]) -> list[Any]:
    return [values[i] for i in rows]


def lenient_views(
    texts: Sequence[str], expected: Sequence[str], rows: Sequence[int]
) -> dict[str, float]:
    """Mean score of the same answers under the lenient metrics, on the given rows."""
    if not rows:
        return {}
    out = {}
    for name in LENIENT:
        fn = builtin(name)
        out[name] = round(sum(fn(texts[i], expected[i]) for i in rows) / len(rows), 4)
    return out


def retrieval_diagnosis(
    contexts: Sequence[Any], expected: Sequence[str], scores: Sequence[float], rows: Sequence[int]
) -> dict[str, Any] | None:
    """For strategies that record the retrieved context per request: how often the expected
    answer was in it (retrieval worked), and the score with and without it (reading worked)."""
    usable = [i for i in rows if isinstance(contexts[i], str)]
    if not usable:
        return None
    hit = [i for i in usable if contains(contexts[i], expected[i]) >= 1.0]
    miss = [i for i in usable if i not in set(hit)]

    def mean(ix: list[int]) -> float | None:
        return round(sum(scores[i] for i in ix) / len(ix), 4) if ix else None

    return {
        "rows": len(usable),
        "answer_in_context": round(len(hit) / len(usable), 4),
        "score_when_in_context": mean(hit),
        "score_when_not_in_context": mean(miss),
    }


def score_run(
    run: StrategyRun,
    test: Sequence[Example],
    metric: Metric,
    split: TestSplit,
    n_resamples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
    details_hook: DetailsHook | None = None,
) -> tuple[StrategyResult, list[dict[str, Any]]]:
    """A StrategyResult scored on the clean rows, plus one prediction row per test example."""
    if len(run.generations) != len(test):
        raise ValueError(f"{run.name}: {len(run.generations)} answers for {len(test)} examples")
    texts = [g.text for g in run.generations]
    expected = [ex.output for ex in test]
    sources = [ex.source for ex in test]
    all_scores = metric.score_rows(texts, expected, sources)
    clean = split.clean
    clean_scores = _pick(all_scores, clean)
    subsets = {"all": quality(metric.name, all_scores, n_resamples, seed)}
    if split.seen:
        seen_scores = _pick(all_scores, sorted(split.seen))
        subsets["seen"] = quality(metric.name, seen_scores, n_resamples, seed)
    details = dict(run.details)
    contexts = [g.meta.get("context") for g in run.generations]
    diagnosis = retrieval_diagnosis(contexts, expected, all_scores, clean)
    if diagnosis is not None:
        details["retrieval"] = diagnosis
    if split.unseen_answers:
        unseen = split.unseen_answers
        details["unseen_answer_rows"] = {
            "rows": len(unseen),
            "score": round(sum(all_scores[i] for i in unseen) / len(unseen), 4),
        }
    if details_hook is not None:

        def score_texts(answers: Sequence[str]) -> list[float]:
            return metric.score_rows(
                _pick(answers, clean), _pick(expected, clean), _pick(sources, clean)
            )

        details = details_hook(details, score_texts, clean_scores)
    result = StrategyResult(
        name=run.name,
        kind=run.kind,
        quality=quality(metric.name, clean_scores, n_resamples, seed),
        latency_ms=run.latency_ms,
        tokens_per_s=run.tokens_per_s,
        prompt_tokens_mean=run.prompt_tokens_mean,
        train_seconds=run.train_seconds,
        eval_seconds=run.eval_seconds,
        peak_rss_mb=run.peak_rss_mb,
        predictions_file=prediction_file(run.name),
        scores=clean_scores,
        details=details,
        traits=run.traits,
        subsets=subsets,
        lenient=lenient_views(texts, expected, clean),
    )
    rows = [
        {
            "index": i,
            "source": ex.source,
            "input": ex.input,
            "expected": ex.output,
            "predicted": g.text,
            "score": s,
            "seen": i in split.seen,
            "prompt_tokens": g.prompt_tokens,
            "new_tokens": g.new_tokens,
        }
        for i, (ex, g, s) in enumerate(zip(test, run.generations, all_scores, strict=True))
    ]
    return result, rows


def prediction_file(name: str) -> str:
    return f"predictions/{name}.jsonl"
