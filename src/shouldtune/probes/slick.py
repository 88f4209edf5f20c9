"""SliCK: does the base model already know each training example? (Gekhman et al. 2024, §3)

Each example is asked with several few-shot prompts: greedily under every prompt, and (only
when no greedy answer is right) a few times more by temperature sampling. The category is a
pure function of how often the answer was right:

- HighlyKnown: the greedy answer is right under every prompt;
- MaybeKnown: the greedy answer is right under some prompts, not all;
- WeaklyKnown: the greedy answer is never right, some sampled answer is;
- Unknown: no answer, greedy or sampled, is ever right.

Gekhman et al. use 10 four-shot prompts and 16 samples at temperature 0.5; here both counts
are configuration (`probes.slick`), scaled down to fit a CPU run. Fine-tuning on Unknown
examples is what they find raises hallucination. The model calls live behind an `Oracle`
(a function from queries to correctness), so the rules can be tested with a fake one.
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


def measure(n_examples: int, oracle: Oracle, prompts: int, samples: int) -> list[Counts]:
    """Greedy under every prompt; samples only where no greedy answer was right (they can
    change the category only there), spread round-robin over the prompts."""
    greedy = [Query(i, p) for i in range(n_examples) for p in range(prompts)]
    right = _ask(oracle, greedy)
    g_correct = Counter(q.example for q, ok in zip(greedy, right, strict=True) if ok)
    unknown = [i for i in range(n_examples) if g_correct[i] == 0]
    sampled = [Query(i, s % prompts, s) for i in unknown for s in range(samples)]
    s_right = _ask(oracle, sampled) if sampled else []
    s_correct = Counter(q.example for q, ok in zip(sampled, s_right, strict=True) if ok)
    asked = set(unknown)
    return [
        Counts(g_correct[i], prompts, s_correct[i], samples if i in asked else 0)
        for i in range(n_examples)
    ]


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
        " If the data teaches a format or style rather than facts, a high share is expected"
        f" and this matters less. (Warning threshold: {threshold:.0%}.)"
    )


def analyse(
    n_examples: int,
    oracle: Oracle,
    prompts: int,
    samples: int,
    warn_share: float = 0.5,
) -> dict[str, Any]:
    """Categories, the Unknown share, the time it took and the warning, for results.json."""
    t0 = time.perf_counter()
    counts = measure(n_examples, oracle, prompts, samples)
    categories = [classify(c) for c in counts]
    tally = Counter(categories)
    share = tally[UNKNOWN] / n_examples if n_examples else 0.0
    warn = n_examples > 0 and share >= warn_share
    return {
        "categories": {name: tally[name] for name in CATEGORIES},
        "unknown_share": round(share, 4),
        "n_examples": n_examples,
        "prompts": prompts,
        "samples": samples,
        "generations": sum(c.greedy_total + c.sampled_total for c in counts),
        "seconds": round(time.perf_counter() - t0, 2),
        "warning": unknown_warning(share, warn_share, n_examples, prompts, samples)
        if warn
        else None,
        "per_example": categories,
    }
