"""Prompt search on the dev split: the prompting strategies' counterpart of the fine-tunes'
learning-rate sweep (DSPy chooses demonstrations and instructions on a dev set the same way).

Each prompting strategy lists its candidate prompts (shot count, how shots are chosen, an
instruction variant); successive halving (Jamieson & Talwalkar 2016, as the LR sweep does)
scores them on a growing prefix of the seeded dev rows, keeps the best third each round and
ends with one. Only dev rows are ever scored here: the test set is read once, afterwards, by
the run. A tie keeps the earlier candidate, and the strategy's configured prompt comes first,
so the search changes a prompt only when another scored strictly better on dev.

The search has a time budget (`eval.search_budget_s`, like the learning curve's): the
configured prompt's first-round answers measure the seconds per dev answer; when the whole
schedule would not fit, the configured prompt and a seeded random draw of the others (random
search, Bergstra & Bengio 2012) are searched instead, and a search that still overruns stops
at the end of a round with the best so far, saying so.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..contract import RunContext
from ..core.types import Example, Task

ETA = 3  # keep the best 1/ETA each round, with ETA times the rows
MIN_ROWS = 4  # rows per candidate in the first round


@dataclass(frozen=True)
class Candidate:
    """One prompt configuration: settings as (name, value) pairs, in display order."""

    settings: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, **settings: Any) -> Candidate:
        return cls(tuple(settings.items()))

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.settings).get(key, default)

    @property
    def label(self) -> str:
        return ", ".join(f"{k} = {v}" for k, v in self.settings)


@dataclass
class Searched:
    """A candidate's dev scores so far (one per dev row, in the seeded order)."""

    candidate: Candidate
    scores: list[float] = field(default_factory=list)
    rounds: int = 0

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


@dataclass
class SearchResult:
    chosen: Candidate
    default: Candidate
    table: list[Searched]
    dev_rows: int
    row_evaluations: int
    seconds: float
    note: str = ""
    listed: int = 0  # candidates listed; more than `table` when the budget drew a subset
    budget_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        ranked = sorted(self.table, key=lambda s: (-s.rounds, -s.mean))
        return {
            "chosen": dict(self.chosen.settings),
            "chosen_label": self.chosen.label,
            "default": dict(self.default.settings),
            "candidates": len(self.table),
            "listed": max(self.listed, len(self.table)),
            "budget_s": self.budget_s,
            "dev_rows": self.dev_rows,
            "row_evaluations": self.row_evaluations,
            "seconds": round(self.seconds, 2),
            "note": self.note,
            "table": [
                {
                    "settings": dict(s.candidate.settings),
                    "label": s.candidate.label,
                    "dev_rows": len(s.scores),
                    "dev_score": round(s.mean, 4),
                    "rounds": s.rounds,
                    "chosen": s.candidate == self.chosen,
                }
                for s in ranked
            ],
        }


def unique(candidates: Sequence[Candidate]) -> list[Candidate]:
    return list(dict.fromkeys(candidates))


def grid(default: Candidate, axes: dict[str, Iterable[Any]]) -> list[Candidate]:
    """The configured candidate first, then every combination of `axes` (in display order; the
    first axis varies fastest), without repeats."""
    names = list(axes)
    combos = itertools.product(*(list(axes[n]) for n in reversed(names)))
    made = [Candidate(tuple(zip(names, reversed(c), strict=True))) for c in combos]
    return unique([default, *made])


def successive_halving(
    candidates: Sequence[Candidate],
    dev: Sequence[Example],
    answer: Callable[[list[tuple[Candidate, Example]]], list[str]],
    score: Callable[[str, str], float],
    budget_s: float | None = None,
    seed: int = 0,
) -> SearchResult:
    """The best candidate on `dev` by successive halving. `answer(pairs)` answers (candidate, dev
    row) pairs of one candidate at a time (mixing prompts in a batch would pad every row to the
    longest prompt and lose the shared-prefix cache); `score(predicted, expected)` is the task
    metric. `budget_s`: seconds of answering the search may take (None: no limit)."""
    start = time.perf_counter()
    pool = [Searched(c) for c in unique(candidates)]
    listed, notes = len(pool), []
    if len(pool) == 1:
        return not_searched(pool[0].candidate, "one candidate: nothing to choose")
    rows = _first_rows(len(pool), len(dev))

    def run(s: Searched, upto: int) -> int:
        todo = dev[len(s.scores) : upto]
        texts = answer([(s.candidate, ex) for ex in todo]) if todo else []
        s.scores += [score(text, ex.output) for ex, text in zip(todo, texts, strict=True)]
        return len(todo)

    # The configured prompt first: with a budget, its first MIN_ROWS answers measure the rate.
    evaluations = run(pool[0], min(rows, MIN_ROWS) if budget_s is not None else rows)
    if budget_s is not None and evaluations:
        spent = time.perf_counter() - start
        per_answer = spent / evaluations
        if spent + MIN_ROWS * per_answer > budget_s:  # not even one other candidate fits
            why = (f"the {budget_s:.0f} s budget holds no second candidate at {per_answer:.2f} s"
                   " per dev answer: the configured prompt is kept")  # fmt: skip
            return SearchResult(pool[0].candidate, pool[0].candidate, [pool[0]], evaluations,
                                evaluations, spent, why, listed, budget_s)  # fmt: skip
        pool, used, why = _fit_budget(pool, len(dev), budget_s, spent, evaluations, seed)
        dev, rows = dev[:used], _first_rows(len(pool), used)
        notes += [why] if why else []
    alive, rounds = pool, 0
    while True:
        for s in alive:  # one call per prompt: its rows share a prefix and a length
            evaluations += run(s, rows)
        for s in alive:
            s.rounds += 1
        rounds += 1
        if len(alive) == 1 or rows >= len(dev):
            break
        spent = time.perf_counter() - start
        if budget_s is not None and spent >= budget_s:
            notes.append(f"budget spent after round {rounds} ({spent:.0f} s): best so far kept")
            break
        keep = max(1, math.ceil(len(alive) / ETA))
        order = sorted(range(len(alive)), key=lambda i: (-alive[i].mean, i))  # ties: earlier
        alive = [alive[i] for i in sorted(order[:keep])]
        rows = min(len(dev), rows * ETA)
    best = max(range(len(alive)), key=lambda i: (alive[i].mean, -i))
    return SearchResult(
        alive[best].candidate,
        pool[0].candidate,
        pool,
        len(dev),
        evaluations,
        time.perf_counter() - start,
        "; ".join(notes),
        listed,
        budget_s,
    )


def _fit_budget(
    pool: list[Searched], n_dev: int, budget_s: float, spent: float, answered: int, seed: int
) -> tuple[list[Searched], int, str]:
    """The candidates (and dev rows) whose halving schedule fits the budget at the measured
    seconds per answer: the configured one and a seeded random draw of the rest, in listed
    order. When even two candidates on every dev row would overrun, two on fewer rows."""
    per_answer = spent / answered
    fits = [n for n in range(2, len(pool) + 1)
            if halving_answers(n, n_dev) * per_answer <= budget_s]  # fmt: skip
    n, rows = max(fits, default=2), n_dev
    if not fits:  # the configured prompt and one other, on the rows the budget pays for
        rows = min(n_dev, max(MIN_ROWS, int(budget_s / per_answer / 2)))
    if n >= len(pool):
        return pool, rows, ""
    drawn = sorted(random.Random(seed).sample(range(1, len(pool)), n - 1))
    kept = [pool[0], *(pool[i] for i in drawn)]
    on = f" on {rows} of {n_dev} dev rows" if rows < n_dev else ""
    return kept, rows, (
        f"{n} of {len(pool)} candidates (the configured prompt and a seeded random draw){on}"
        f" fit the {budget_s:.0f} s budget at {per_answer:.2f} s per dev answer"
    )


def _first_rows(n_candidates: int, n_dev: int) -> int:
    """Rows per candidate in round one: the whole dev set is reached in the last round."""
    rounds = max(1, math.ceil(math.log(max(n_candidates, 1), ETA)))
    return min(n_dev, max(MIN_ROWS, math.ceil(n_dev / ETA ** (rounds - 1)) if rounds else n_dev))


def halve_on_dev(
    ctx: RunContext,
    name: str,
    candidates: Sequence[Candidate],
    dev: Sequence[Example],
    answer: Callable[[list[tuple[Candidate, Example]]], list[str]],
    score: Callable[[str, str], float],
) -> SearchResult:
    """`successive_halving` as a stage of the run's progress (its dev answers counted), within
    the task's search budget."""
    total = halving_answers(len(unique(candidates)), len(dev))
    ctx.progress.stage(name, f"prompt search on {len(dev)} dev rows", total=total or None)
    budget = getattr(getattr(ctx.task.config, "eval", None), "search_budget_s", None)
    return successive_halving(candidates, dev, answer, score, budget, ctx.seed)


def halving_answers(n_candidates: int, n_dev: int) -> int:
    """Dev answers `successive_halving` gives for this many candidates and dev rows (the plan's
    estimate): each round's survivors answer up to the round's rows."""
    if n_candidates <= 1:
        return 0
    alive, rows, total, done = n_candidates, _first_rows(n_candidates, n_dev), 0, 0
    while alive:
        total += alive * (rows - done)
        if alive == 1 or rows >= n_dev:
            return total
        alive, done, rows = max(1, math.ceil(alive / ETA)), rows, min(n_dev, rows * ETA)
    return total


def not_searched(default: Candidate, why: str) -> SearchResult:
    return SearchResult(default, default, [Searched(default)], 0, 0, 0.0, why)


def skip_reason(ctx: RunContext, dev: Sequence[Example], enabled: bool) -> str | None:
    """Why a strategy keeps its configured prompt instead of searching, or None."""
    if not enabled:
        return "search off in task.yaml: the configured prompt is used"
    if ctx.quick:
        return "no prompt search under --quick (as no learning-rate sweep)"
    if ctx.score_row is None:
        return "no metric to score dev rows with"
    if len(dev) < MIN_ROWS:
        return f"too few training rows for a dev split ({len(dev)} dev rows)"
    return None


# ---- instruction variants, derived from the data without an LLM ----------------------------


def instruction_variants(
    task: Task, labels: Sequence[str] | None, ranked: bool = False
) -> dict[str, str]:
    """The task's own instruction, plus variants that state the answer's form: the label
    list (label tasks whose answers are not ranked from the labels: ranking already answers
    from the set, and 77 labels would double the prompt) or the output format with examples
    from train (other tasks)."""
    own = task.instruction.strip()
    variants = {"task": own}
    if labels and ranked:
        return variants
    if labels:
        variants["labels"] = (
            f"{own}\nAnswer with exactly one of these labels and nothing else: "
            + ", ".join(labels)
        ).strip()
    else:
        shown = _format_examples(task.train)
        if shown:
            variants["format"] = (
                f"{own}\nAnswer with the answer only, no explanation, in the same form as "
                f"these answers: {shown}"
            ).strip()
    return variants


def _format_examples(train: Sequence[Example], n: int = 3) -> str:
    outputs = list(dict.fromkeys(ex.output.strip() for ex in train if ex.output.strip()))
    short = [o for o in outputs if len(o) <= 120 and "\n" not in o][:n]
    return "; ".join(short)


def shot_counts(
    wanted: Sequence[int], pool: int, default: int, shot_tokens: float, room: int | None
) -> list[int]:
    """Shot counts to try: the default first, then `wanted`, each at most the pool and what
    the context holds (`room` tokens left for shots; None: unknown, no cap)."""
    cap = pool if room is None else min(pool, int(room // max(shot_tokens, 1.0)))
    counts = [min(default, pool)] + [k for k in sorted(wanted) if 0 < k <= cap]
    return list(dict.fromkeys(c for c in counts if c > 0))


def context_room(ctx: RunContext, shots: Sequence[Example]) -> tuple[float, int | None]:
    """(mean tokens of one demonstration, tokens left for demonstrations in the context)."""
    lm = ctx.chat_lm
    if not hasattr(lm, "encode") or not shots:
        return 1.0, None
    sample = list(shots)[:32]
    mean = sum(len(lm.encode(f"{ex.input}\n{ex.output}")) + 12 for ex in sample) / len(sample)
    limit = getattr(getattr(lm, "model", None), "config", None)
    window = getattr(limit, "max_position_embeddings", None)
    if not isinstance(window, int):
        return mean, None
    question = max(len(lm.encode(ex.input)) for ex in sample) + 64
    return mean, max(0, window - question - ctx.generation.max_new_tokens)

