"""What the verdict knows besides the scores: how the run was made and what the data showed.

Each field comes from one place (the run flags, the audit, SliCK, a fine-tune's training
report) and each changes what the verdict may claim: a --quick run is indicative, a fine-tune
still learning is no evidence against fine-tuning, training answers the documents contradict
are what a fine-tune would learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# A dev loss this much (relative) below the previous evaluation counts as still falling; the
# dev loss of a converged run moves by less than 1% between evaluations on the demo task.
STILL_FALLING = 0.01


@dataclass(frozen=True)
class Evidence:
    quick: bool = False
    n_test: int = 0  # test rows in all
    n_seen: int = 0  # of which repeat a training input with its answer (scored apart)
    docs_warning: str | None = None  # the audit's docs_support finding, when it warns
    docs_share: float | None = None
    knowledge_warning: str | None = None  # SliCK, for a data set that teaches facts
    open_ended: bool = False

    @classmethod
    def from_run(
        cls, quick: bool, audit: Any, knowledge: Any, n_test: int, n_seen: int
    ) -> Evidence:
        docs = _finding(audit, "docs_support")
        warn_docs = docs is not None and docs.get("severity") in ("warning", "blocking")
        data = docs.get("data") if docs and isinstance(docs.get("data"), dict) else {}
        share = data.get("share") if warn_docs and not data.get("skipped") else None
        warning = knowledge.get("warning") if isinstance(knowledge, dict) else None
        return cls(
            quick=quick,
            n_test=n_test,
            n_seen=n_seen,
            docs_warning=str(docs.get("message")) if warn_docs and docs else None,
            docs_share=float(share) if isinstance(share, int | float) else None,
            knowledge_warning=str(warning) if warning else None,
            open_ended=bool(audit.get("open_ended")) if isinstance(audit, dict) else False,
        )


def _finding(audit: Any, check: str) -> dict | None:
    findings = audit.get("findings") if isinstance(audit, dict) else None
    for f in findings or []:
        if isinstance(f, dict) and f.get("check") == check:
            return f
    return None


def still_learning(training: Any) -> bool:
    """A fine-tune whose dev loss was still falling when training ended: more training would
    likely change its score. Its own report says so (`still_learning`), or its history does:
    no early stop, and the last evaluation was the best and clearly below the one before
    (a single evaluation tells nothing of a plateau: still learning)."""
    if not isinstance(training, dict):
        return False
    if isinstance(training.get("still_learning"), bool):
        return training["still_learning"]
    if training.get("stopped_early"):
        return False
    losses = [
        h.get("dev_loss")
        for h in training.get("history") or []
        if isinstance(h, dict) and isinstance(h.get("dev_loss"), int | float)
    ]
    losses = [x for x in losses if math.isfinite(x)]
    if not losses:
        return False
    if len(losses) == 1:
        return True
    last, before = losses[-1], losses[-2]
    return last <= min(losses) and last < before * (1 - STILL_FALLING)
