"""What the verdict knows besides the scores: how the run was made and what the data showed.

Each field comes from one place (the run flags, the audit, SliCK, a fine-tune's training
report) and each changes what the verdict may claim: a --quick run is indicative, a fine-tune
still learning is no evidence against fine-tuning, training answers the documents contradict
are what a fine-tune would learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The dev-loss drop between the last two evaluations that counts as "still learning": more
# than 1% of the loss and more than 0.01 nats per answer token (every answer token's
# probability up by over 1%). The dev loss is deterministic (no dropout at evaluation, same
# dev set), so a drop is not sampling noise; the tolerances separate a curve still falling
# from a flat one (early stopping's 1e-4 would call any wiggle progress). The absolute floor
# is measured: the demo's LoRA went 0.0093 -> 0.00035 in its last epoch, a 96% relative drop,
# with every test answer already right (1.000): relative alone would call it under-trained.
STILL_FALLING = 0.01
STILL_FALLING_NATS = 0.01
# The audit's label-noise model (cross-validated TF-IDF + logistic regression) must be right on
# this share of the training rows it does not flag (cross-validated again without them) before
# its flags count against the data. On banking77 (77 intents, 6 rows each) it is right on 62%
# of them and flags 163 of 462 rows: mostly its own mistakes. On examples/support-routing (6
# teams, 38 of 202 rows made contradictory) it is right on 96% and its 30 flags are the
# contradictions. (Its accuracy on every row, 53% and 76%, cannot tell the two apart: the
# wrong labels pull it down.)
NOISE_TRUSTED_ACCURACY = 0.85


@dataclass(frozen=True)
class Evidence:
    quick: bool = False
    n_test: int = 0  # test rows in all
    n_seen: int = 0  # of which repeat a training input with its answer (scored apart)
    docs_warning: str | None = None  # the audit's docs_support finding, when it warns
    docs_share: float | None = None
    knowledge_warning: str | None = None  # SliCK, for a data set that teaches facts
    open_ended: bool = False
    # Positions among the scored (clean) rows whose answer occurs in no training output, for
    # a closed-answer task: what no amount of fine-tuning can teach (core/decision.py).
    unreachable: tuple[int, ...] = ()
    # Training rows the audit found contradicting each other (same or near-same input, other
    # answer) or likely mislabelled (cleanlab), of `n_train`, with file:line examples.
    conflicts: int = 0
    mislabelled: int = 0
    n_train: int = 0
    dirty_sources: tuple[str, ...] = ()

    @property
    def dirty_share(self) -> float:
        """Share of training rows a fine-tune would learn contradictions from."""
        return (self.conflicts + self.mislabelled) / self.n_train if self.n_train else 0.0

    @classmethod
    def from_run(
        cls,
        quick: bool,
        audit: Any,
        knowledge: Any,
        n_test: int,
        n_seen: int,
        n_train: int = 0,
    ) -> Evidence:
        docs = _finding(audit, "docs_support")
        warn_docs = docs is not None and docs.get("severity") in ("warning", "blocking")
        data = docs.get("data") if docs and isinstance(docs.get("data"), dict) else {}
        share = data.get("share") if warn_docs and not data.get("skipped") else None
        warning = knowledge.get("warning") if isinstance(knowledge, dict) else None
        if isinstance(knowledge, dict) and knowledge.get("data_kind") == "format":
            warning = None  # SliCK's new-facts warning does not apply to a format
        return cls(
            quick=quick,
            n_test=n_test,
            n_seen=n_seen,
            docs_warning=str(docs.get("message")) if warn_docs and docs else None,
            docs_share=float(share) if isinstance(share, int | float) else None,
            knowledge_warning=str(warning) if warning else None,
            open_ended=bool(audit.get("open_ended")) if isinstance(audit, dict) else False,
            unreachable=_unreachable(audit, n_test),
            **_dirty(audit, n_train),
        )


def _dirty(audit: Any, n_train: int) -> dict[str, Any]:
    """The audit's conflicting and likely mislabelled training rows, with their sources."""
    conflicts, noise = _finding(audit, "conflicting_labels"), _finding(audit, "label_noise")
    if not _noise_trusted(noise):
        noise = None  # its flags are as likely the detector's errors as the data's
    sources: list[str] = []
    for f in (conflicts, noise):
        for ex in (f or {}).get("examples") or []:
            if isinstance(ex, dict) and isinstance(ex.get("source"), str):
                sources.append(ex["source"])

    def count(f: dict | None) -> int:
        n = (f or {}).get("count")
        return n if isinstance(n, int) and (f or {}).get("severity") != "info" else 0

    return {
        "conflicts": count(conflicts),
        "mislabelled": count(noise),
        "n_train": n_train,
        "dirty_sources": tuple(dict.fromkeys(sources)),
    }


def _noise_trusted(noise: dict | None) -> bool:
    """The label-noise flags count as evidence only when the model that raised them is right
    on at least NOISE_TRUSTED_ACCURACY of the rows it keeps (an older audit that did not
    record it: trusted, as before)."""
    data = (noise or {}).get("data")
    accuracy = data.get("kept_accuracy") if isinstance(data, dict) else None
    return not isinstance(accuracy, int | float) or accuracy >= NOISE_TRUSTED_ACCURACY


def _unreachable(audit: Any, n_test: int) -> tuple[int, ...]:
    """Positions among the clean (scored) rows whose answer is in no training output
    (scoring.TestSplit.unseen_answers); none for an open-ended task (any answer may be
    written) or an audit that did not record it."""
    from .scoring import TestSplit

    split = TestSplit.from_audit(audit, n_test)
    unseen = split.unseen_answers
    if split.open_ended or unseen is None:
        return ()
    at = {row: p for p, row in enumerate(split.clean)}
    return tuple(at[row] for row in unseen)


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
    return dev_loss_still_falling(losses, False)


def dev_loss_still_falling(losses: Sequence[float], stopped_early: bool) -> bool:
    """The trainer's rule (finetune/trainer.py reports it as `still_learning`): training ran
    to its end (no early stop), the last dev evaluation was the best, and it fell from the one
    before by more than STILL_FALLING of the loss and STILL_FALLING_NATS; with a single
    evaluation, True (nothing shows a plateau). No evaluation (no dev set): False."""
    finite = [x for x in losses if math.isfinite(x)]
    if stopped_early or not finite:
        return False
    if len(finite) == 1:
        return True
    last, before = finite[-1], finite[-2]
    relative = last < before * (1 - STILL_FALLING)
    return last <= min(finite) and relative and before - last > STILL_FALLING_NATS
