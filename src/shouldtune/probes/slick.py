"""SliCK: does the base model already know each training example? (Gekhman et al. 2024, §3)

Each example is asked with several few-shot prompts: greedily under every prompt, and a few
times more by temperature sampling. The category is a pure function of how often the answer
was right:

- HighlyKnown: the greedy answer is right under every prompt;
- MaybeKnown: the greedy answer is right under some prompts, not all;
- WeaklyKnown: the greedy answer is never right, some sampled answer is;
- Unknown: no answer, greedy or sampled, is ever right.

Gekhman et al. use 10 four-shot prompts and 16 samples at temperature 0.5; here both counts
are configuration (`probes.slick`), scaled down to fit a CPU run. Fine-tuning on Unknown
examples is what they find raises hallucination.

Two halves: `collect` generates the raw answers (the model calls, behind an `Answerer`: a
function from queries to texts; cached per model by the probe session) and `categorize` scores
them with the task's metric, a pure function, so a changed metric re-scores without
generating. Gekhman sample only where no greedy answer is right; here every example is
sampled, so the raw answers do not depend on the metric (on the demo every example needed its
samples anyway; at worst it costs samples/prompts more generations, once per model and data,
since the raw answers are cached).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

HIGHLY_KNOWN, MAYBE_KNOWN, WEAKLY_KNOWN, UNKNOWN = (
    "HighlyKnown",
    "MaybeKnown",
    "WeaklyKnown",
    "Unknown",
)
CATEGORIES = (HIGHLY_KNOWN, MAYBE_KNOWN, WEAKLY_KNOWN, UNKNOWN)


@dataclass(frozen=True)
class Query:
    """Ask example `example` with few-shot prompt `prompt`; `sample` None means greedy."""

    example: int
    prompt: int
    sample: int | None = None


@dataclass(frozen=True)
class Counts:
    greedy_correct: int
    greedy_total: int
    sampled_correct: int = 0
    sampled_total: int = 0


Oracle = Callable[[Sequence[Query]], Sequence[bool]]


def classify(counts: Counts) -> str:
    """Gekhman's four categories from correctness counts (greedy first, samples as tie-break)."""
    if counts.greedy_total <= 0:
        raise ValueError("SliCK needs at least one greedy answer per example")
    if counts.greedy_correct >= counts.greedy_total:
        return HIGHLY_KNOWN
    if counts.greedy_correct > 0:
        return MAYBE_KNOWN
    if counts.sampled_correct > 0:
        return WEAKLY_KNOWN
    return UNKNOWN


Raw = list[dict[str, list[str]]]  # per example: {"greedy": [per prompt], "samples": [...]}
Answerer = Callable[[Sequence[Query]], Sequence[str]]


def queries(n_examples: int, prompts: int, samples: int) -> tuple[list[Query], list[Query]]:
    """Greedy under every prompt; `samples` temperature samples per example, spread
    round-robin over the prompts. Every example is sampled, whatever its greedy answers:
    what is generated then depends only on the model, the examples and these settings, never
    on the metric, so a changed metric re-categorises the same raw answers exactly."""
    greedy = [Query(i, p) for i in range(n_examples) for p in range(prompts)]
    sampled = [Query(i, s % prompts, s) for i in range(n_examples) for s in range(samples)]
    return greedy, sampled


def collect(n_examples: int, answer: Answerer, prompts: int, samples: int) -> Raw:
    """The generation half of SliCK: every answer text, per example (no scoring)."""
    greedy, sampled = queries(n_examples, prompts, samples)
    raw: Raw = [{"greedy": [], "samples": []} for _ in range(n_examples)]
    for group, key in ((greedy, "greedy"), (sampled, "samples")):
        texts = list(answer(group)) if group else []
        if len(texts) != len(group):
            raise ValueError(f"the model answered {len(texts)} of {len(group)} queries")
        for q, text in zip(group, texts, strict=True):
            raw[q.example][key].append(str(text))
    return raw


def counts_from_raw(
    raw: Raw, expected: Sequence[str], scorer: Callable[[str, str], float], correct_at: float
) -> list[Counts]:
    """The categorisation half: how many greedy and sampled answers the scorer accepts."""
    if len(raw) != len(expected):
        raise ValueError(f"{len(raw)} raw answer sets for {len(expected)} examples")

    def right(texts: Sequence[str], gold: str) -> int:
        return sum(scorer(t, gold) >= correct_at for t in texts)

    return [
        Counts(
            right(r["greedy"], gold), len(r["greedy"]), right(r["samples"], gold), len(r["samples"])
        )  # fmt: skip
        for r, gold in zip(raw, expected, strict=True)
    ]


def measure(n_examples: int, oracle: Oracle, prompts: int, samples: int) -> list[Counts]:
    """Counts from a correctness oracle (greedy and sampled queries, as `queries` lists)."""
    greedy, sampled = queries(n_examples, prompts, samples)
    right = _ask(oracle, greedy)
    s_right = _ask(oracle, sampled) if sampled else []
    g_correct = Counter(q.example for q, ok in zip(greedy, right, strict=True) if ok)
    s_correct = Counter(q.example for q, ok in zip(sampled, s_right, strict=True) if ok)
    return [Counts(g_correct[i], prompts, s_correct[i], samples) for i in range(n_examples)]


def _ask(oracle: Oracle, queries: Sequence[Query]) -> list[bool]:
    answers = list(oracle(queries))
    if len(answers) != len(queries):
        raise ValueError(f"the oracle answered {len(answers)} of {len(queries)} queries")
    return [bool(a) for a in answers]


def unknown_warning(share: float, threshold: float, n: int, prompts: int, samples: int) -> str:
    return (
        f"{share:.0%} of the {n} training examples analysed are Unknown to the base model"
        f" (never answered right under {prompts} few-shot prompts and {samples} samples at"
        " temperature): most of your data teaches new facts, so fine-tuning will raise"
        " hallucination (Gekhman et al. 2024); retrieval is the safer way to add knowledge."
        f" (Warning threshold: {threshold:.0%}.)"
    )


def summarise(counts: Sequence[Counts], prompts: int, samples: int, warn_share: float) -> dict:
    """Categories, the Unknown share and the warning, for results.json."""
    categories = [classify(c) for c in counts]
    tally = Counter(categories)
    n = len(counts)
    share = tally[UNKNOWN] / n if n else 0.0
    warn = n > 0 and share >= warn_share
    return {
        "categories": {name: tally[name] for name in CATEGORIES},
        "unknown_share": round(share, 4),
        "n_examples": n,
        "prompts": prompts,
        "samples": samples,
        "generations": sum(c.greedy_total + c.sampled_total for c in counts),
        "warning": unknown_warning(share, warn_share, n, prompts, samples) if warn else None,
        "per_example": categories,
    }


def categorize(
    raw: Raw,
    expected: Sequence[str],
    scorer: Callable[[str, str], float],
    warn_share: float = 0.5,
    correct_at: float = 0.5,
) -> dict[str, Any]:
    """SliCK's result from raw answers alone (no model): re-run it with another scorer
    without generating anything. An answer is right when the scorer gives >= `correct_at`."""
    counts = counts_from_raw(raw, expected, scorer, correct_at)
    prompts = max((c.greedy_total for c in counts), default=0)
    samples = max((c.sampled_total for c in counts), default=0)
    return summarise(counts, prompts, samples, warn_share)


def only_facts_warn(result: dict[str, Any]) -> None:
    """The new-facts warning only where the data carries facts (`data_kind`, from
    probes/datakind.py); else say why not. No `data_kind` (older runs): left as it is."""
    kind = result.get("data_kind")
    if kind is None:
        return
    if kind == "facts":
        if result["warning"]:
            result["warning"] += f" The data looks like facts: {result['data_kind_reason']}"
        return
    if result["warning"]:
        result["note"] = (
            f"{result['unknown_share']:.0%} of the examples analysed are Unknown to the base"
            " model, which is expected here: the data teaches a format, not facts"
            f" ({result['data_kind_reason']}). No new-facts warning."
        )
    result["warning"] = None


# Keys of the knowledge dict that scoring recomputes from `raw`; everything else is kept.
RECOMPUTED = ("categories", "unknown_share", "n_examples", "prompts", "samples", "generations",
              "warning", "note", "examples")  # fmt: skip


def recategorize(knowledge: dict[str, Any], scorer: Callable[[str, str], float]) -> dict[str, Any]:
    """The knowledge dict with its categories, share and warning computed from its stored raw
    answers (`raw`, `expected`, `sources`) under `scorer`: scoring calls it, so a changed
    metric re-categorises without generating. Without raw answers (older runs, SliCK off) the
    dict is returned as it is."""
    raw, expected = knowledge.get("raw"), knowledge.get("expected")
    if not isinstance(raw, list) or not isinstance(expected, list) or len(raw) != len(expected):
        return knowledge
    warn_share = float(knowledge.get("warn_unknown_share", 0.5))
    correct_at = float(knowledge.get("correct_at", 0.5))
    result = categorize(raw, expected, scorer, warn_share, correct_at)
    result |= {k: v for k, v in knowledge.items() if k not in RECOMPUTED}
    only_facts_warn(result)
    categories = result.pop("per_example")
    sources = knowledge.get("sources") or [""] * len(categories)
    result["examples"] = [
        {"source": str(src), "category": c} for src, c in zip(sources, categories, strict=True)
    ]
    return result


def analyse(
    n_examples: int,
    oracle: Oracle,
    prompts: int,
    samples: int,
    warn_share: float = 0.5,
) -> dict[str, Any]:
    """SliCK with a correctness oracle in one go (the experiments use it), timed."""
    t0 = time.perf_counter()
    counts = measure(n_examples, oracle, prompts, samples)
    return summarise(counts, prompts, samples, warn_share) | {
        "seconds": round(time.perf_counter() - t0, 2)
    }
