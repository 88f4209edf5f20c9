"""The prompt search's work for the plan (strategies/search.py): how many dev answers
successive halving gives, with prompts as long as the candidates' on average."""

from __future__ import annotations

from typing import Any

from ..contract import Strategy
from ..core.splits import DEV_FRACTION, dev_split
from ..strategies import search
from .workload import GenJob, Settings, Tokens, Workload, demo_turn_tokens, lengths_job


def candidates_of(strategy: Strategy, task: Any, labels: list[str] | None) -> list[dict[str, int]]:
    """The candidates' sizes the search would try: shot counts (few-shot), top_k and worked
    examples (rag), one entry per instruction variant and selection."""
    opts = strategy.options
    variants = len(search.instruction_variants(task, labels, ranked=True))  # a local model
    if hasattr(opts, "search_k"):
        ks = dict.fromkeys([opts.k, *[k for k in opts.search_k if 0 < k <= len(task.train)]])
        selections = 2 if labels else 1
        return [{"shots": k} for k in ks] * (variants * selections)
    if hasattr(opts, "search_top_k"):
        tops = dict.fromkeys([opts.top_k, *opts.search_top_k])
        shots = dict.fromkeys([opts.examples, *opts.search_examples])
        return [{"top_k": t, "examples": e} for t in tops for e in shots] * variants
    return [{}] * variants


def search_job(strategy: Strategy, work: Workload, task: Any, tok: Tokens, s: Settings) -> Workload:
    """`work` plus its prompt search on dev, when the run would search."""
    opts = strategy.options
    _, dev = dev_split(task.train, DEV_FRACTION, s.seed)
    if s.quick or not getattr(opts, "search", False) or len(dev) < search.MIN_ROWS:
        return work
    from ..contract import label_set

    labels = label_set(task)
    cands = candidates_of(strategy, task, labels)
    answers = search.halving_answers(len(cands), len(dev))
    test = next((j for j in work.gen if j.label == "test set"), None)
    if test is None or not test.rows:
        return work
    turn, chunk = demo_turn_tokens(task, tok), _chunk_tokens(opts, task, tok)
    base = test.prompt_tokens / test.rows - _extra(turn, chunk, vars(opts))
    sizes = [round(base + _extra(turn, chunk, c)) for c in cands]
    lengths = [sizes[i % len(sizes)] for i in range(answers)]
    job: GenJob = lengths_job("prompt search (dev)", lengths, 0, task.config.generation.batch_size,
                              test.steps)  # fmt: skip
    job.cap_s = task.config.eval.search_budget_s
    work.gen.append(job)
    budget = f", at most {job.cap_s:.0f} s (its budget)" if job.cap_s is not None else ""
    work.assumptions.append(
        f"prompt search: {len(cands)} candidates on {len(dev)} dev rows, {answers} dev answers"
        f" by successive halving, each as long as the candidates' mean prompt{budget}"
    )
    return work


def _chunk_tokens(opts: Any, task: Any, tok: Tokens) -> float:
    """Mean tokens of one retrieved chunk as the prompt shows it (rag), else 0."""
    if not hasattr(opts, "chunk_chars"):
        return 0.0
    from ..retrieval.index import chunk_documents

    chunks = chunk_documents(task.docs, opts.chunk_chars)
    shown = [len(tok.lm.encode(f"[{c.source}]\n{c.text}\n\n")) for c in chunks]
    return sum(shown) / max(len(shown), 1)


def _extra(turn: float, chunk_tokens: float, c: dict[str, Any]) -> float:
    """Prompt tokens a candidate adds to a bare question."""
    if "shots" in c or "k" in c:
        return float(c.get("shots", c.get("k", 0))) * turn
    top, shots = int(c.get("top_k", 0) or 0), int(c.get("examples", 0) or 0)
    return top * chunk_tokens + shots * (turn + top * chunk_tokens)
