"""Training data that contradicts itself reaches the verdict where a fine-tune would learn it:
recommended or left undecided, past DIRTY_SHARE of the training rows (issue 30, item 5)."""

from __future__ import annotations

import pytest
from test_mut_reasons import LEARNING, ones, result, tune, verdict

from shouldtune.core.evidence import Evidence
from shouldtune.core.reasons import DIRTY_SHARE

pytestmark = pytest.mark.decision

AUDIT = {
    "findings": [
        {"check": "conflicting_labels", "severity": "warning", "count": 30,
         "examples": [{"source": "train.jsonl:12"}, {"source": "train.jsonl:40"}]},
        {"check": "label_noise", "severity": "warning", "count": 36,
         "examples": [{"source": "train.jsonl:7"}, {"source": "train.jsonl:12"}]},
    ]
}  # fmt: skip


def evidence(n_train: int) -> Evidence:
    return Evidence.from_run(False, AUDIT, None, 30, 0, n_train)


def test_the_audits_conflicts_and_label_errors_are_counted_with_their_sources():
    e = evidence(600)
    assert (e.conflicts, e.mislabelled, e.n_train) == (30, 36, 600)
    assert e.dirty_sources == ("train.jsonl:12", "train.jsonl:40", "train.jsonl:7")
    assert e.dirty_share == pytest.approx(0.11)
    info = {"findings": [{"check": "label_noise", "severity": "info", "count": 0}]}
    assert Evidence.from_run(False, info, None, 30, 0, 600).dirty_share == 0.0


def test_a_recommended_fine_tune_names_the_contradictions_and_says_fix_them_first():
    rs = [result("few_shot", ones(10)), tune("lora", ones(25))]
    v = verdict(rs, evidence=evidence(600))
    assert v.fine_tune is True
    assert (
        "Training data: 30 conflicting pairs and 36 rows that look mislabelled (11% of 600"
        " training rows, e.g. train.jsonl:12, train.jsonl:40, train.jsonl:7) — a fine-tune"
        " learns those contradictions as they are; fix these first (the audit lists them)."
    ) in v.reasons
    assert v.next_steps[0].startswith("fix the training rows the audit finds contradicting")


def test_undecided_says_it_too_and_a_decision_against_or_a_small_share_does_not():
    undecided = verdict([result("few_shot", ones(15)), tune("lora", ones(10), details=LEARNING)],
                        evidence=evidence(600))  # fmt: skip
    assert undecided.fine_tune is None
    assert any(r.startswith("Training data: 30 conflicting pairs") for r in undecided.reasons)
    assert undecided.next_steps[0].startswith("fix the training rows")
    against = verdict([result("few_shot", ones(25)), tune("lora", ones(10))],
                      evidence=evidence(600))  # fmt: skip
    assert against.fine_tune is False
    assert not any("conflicting pairs" in r for r in against.reasons)
    # 66 of 2,000 rows (3.3%) is under the stated share.
    assert DIRTY_SHARE > 66 / 2000
    small = verdict([result("few_shot", ones(10)), tune("lora", ones(25))], evidence=evidence(2000))
    assert not any("conflicting pairs" in r for r in small.reasons) and small.next_steps == []


def test_label_noise_counts_only_when_its_detector_reads_the_task_well():
    from shouldtune.core.evidence import NOISE_TRUSTED_ACCURACY

    def audit(accuracy):
        noise = {"check": "label_noise", "severity": "warning", "count": 163,
                 "examples": [{"source": "train.jsonl:7"}],
                 "data": {"kept_accuracy": accuracy, "folds": 5}}  # fmt: skip
        return {"findings": [noise]}

    # banking77: right on 62% of the rows it keeps, 163 flags: mostly its own mistakes.
    weak = Evidence.from_run(False, audit(0.62), None, 30, 0, 462)
    assert weak.mislabelled == 0 and weak.dirty_share == 0.0 and weak.dirty_sources == ()
    sure = Evidence.from_run(False, audit(NOISE_TRUSTED_ACCURACY), None, 30, 0, 462)
    assert sure.mislabelled == 163 and sure.dirty_sources == ("train.jsonl:7",)
    just_under = Evidence.from_run(False, audit(NOISE_TRUSTED_ACCURACY - 0.001), None, 30, 0, 462)
    assert just_under.mislabelled == 0
