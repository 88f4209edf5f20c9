"""Evidence.from_run (what the audit and SliCK tell the verdict) and still_learning (a
fine-tune whose dev loss was still falling), on hand-made audit, knowledge and training dicts."""

from __future__ import annotations

import pytest

from shouldtune.core.evidence import STILL_FALLING, Evidence, still_learning

pytestmark = pytest.mark.decision


def _docs(severity: str, **data) -> dict:
    return {
        "check": "docs_support",
        "severity": severity,
        "message": "3 of 10 training answers are contradicted by the documents.",
        "data": data,
    }


def _audit(*findings, **extra) -> dict:
    # Other checks and junk entries come first: only the docs_support finding counts.
    other = {"check": "near_duplicates", "severity": "warning", "message": "not this one"}
    return {"findings": ["junk", None, other, *findings], **extra}


FACTS = {"warning": "Most answers are new facts to the model.", "data_kind": "facts"}
MSG = "3 of 10 training answers are contradicted by the documents."


@pytest.mark.parametrize("severity", ["warning", "blocking"])
def test_a_docs_finding_that_warns_carries_its_message_and_share(severity):
    audit = _audit(_docs(severity, share=0.3), open_ended=True)
    assert Evidence.from_run(True, audit, FACTS, 10, 2) == Evidence(
        quick=True,
        n_test=10,
        n_seen=2,
        docs_warning=MSG,
        docs_share=0.3,
        knowledge_warning="Most answers are new facts to the model.",
        open_ended=True,
    )


def test_an_info_docs_finding_says_nothing():
    audit = _audit(_docs("info", share=0.3))
    assert Evidence.from_run(False, audit, None, 7, 0) == Evidence(n_test=7)


def test_a_skipped_docs_check_warns_without_a_share():
    ev = Evidence.from_run(False, _audit(_docs("warning", share=0.3, skipped=True)), None, 5, 1)
    assert ev == Evidence(n_test=5, n_seen=1, docs_warning=MSG)


def test_the_share_is_a_float_only_when_it_is_a_number():
    def share(data) -> float | None:
        docs = {**_docs("warning"), "data": data}
        return Evidence.from_run(False, _audit(docs), None, 1, 0).docs_share

    assert share({"share": 1}) == 1.0 and isinstance(share({"share": 1}), float)
    assert share({"share": "0.3"}) is None
    assert share({}) is None
    assert share(["share", 0.3]) is None  # data not a dict
    # A message that is not text is shown as text.
    docs = {**_docs("blocking", share=0.5), "message": 42}
    assert Evidence.from_run(False, _audit(docs), None, 1, 0).docs_warning == "42"


def test_slick_warning_does_not_apply_to_a_format_task():
    fmt = {**FACTS, "data_kind": "format"}
    assert Evidence.from_run(False, {}, fmt, 4, 0) == Evidence(n_test=4)
    assert Evidence.from_run(False, {}, FACTS, 4, 0).knowledge_warning == FACTS["warning"]
    assert Evidence.from_run(False, {}, {"warning": ""}, 4, 0).knowledge_warning is None
    assert Evidence.from_run(False, {}, {"warning": 7}, 4, 0).knowledge_warning == "7"
    assert Evidence.from_run(False, {}, ["warning"], 4, 0).knowledge_warning is None


def test_no_audit_or_an_audit_without_findings():
    assert Evidence.from_run(True, None, None, 3, 1) == Evidence(quick=True, n_test=3, n_seen=1)
    assert Evidence.from_run(False, "audit", FACTS, 3, 0).docs_warning is None
    assert Evidence.from_run(False, {"open_ended": 1}, None, 3, 0) == Evidence(
        n_test=3, open_ended=True
    )
    assert Evidence.from_run(False, {"findings": None}, None, 3, 0) == Evidence(n_test=3)
    # The first docs_support finding counts.
    two = _audit(_docs("info", share=0.1), _docs("warning", share=0.9))
    assert Evidence.from_run(False, two, None, 3, 0) == Evidence(n_test=3)


def _history(*losses) -> list[dict]:
    return [{"step": 10 * (i + 1), "dev_loss": x} for i, x in enumerate(losses)]


def test_still_learning_from_the_report_flag_first():
    assert still_learning({"still_learning": True, "stopped_early": True}) is True
    assert still_learning({"still_learning": False, "history": _history(3.0, 1.0)}) is False
    # A flag that is not a bool is ignored: the history decides.
    assert still_learning({"still_learning": "yes", "history": _history(3.0, 3.0)}) is False
    assert still_learning({"still_learning": 1, "history": _history(3.0, 1.0)}) is True


def test_an_early_stopped_run_or_no_report_is_not_still_learning():
    assert still_learning({"stopped_early": True, "history": _history(3.0, 1.0)}) is False
    assert still_learning(None) is False
    assert still_learning([{"dev_loss": 1.0}]) is False


def test_still_learning_from_the_history():
    assert still_learning({"history": []}) is False  # no evaluation: nothing to say
    assert still_learning({}) is False
    assert still_learning({"history": _history(2.0)}) is True  # one evaluation: no plateau seen
    # Last below the one before by more than STILL_FALLING (1%): still falling.
    assert STILL_FALLING == 0.01
    assert still_learning({"history": _history(3.0, 2.0, 1.97)}) is True
    # By less than 1%, or exactly 1%: converged.
    assert still_learning({"history": _history(3.0, 2.0, 1.99)}) is False
    assert still_learning({"history": _history(4.0, 2.0, 1.98)}) is False
    # Rising again, or not the best evaluation: not still learning.
    assert still_learning({"history": _history(3.0, 1.0, 2.0)}) is False
    assert still_learning({"history": _history(1.0, 3.0, 2.0)}) is False


def test_non_finite_and_missing_losses_are_skipped():
    nan, inf = float("nan"), float("inf")
    hist = [*_history(3.0, 2.0), {"dev_loss": nan}, {"step": 5}, "junk", {"dev_loss": "1.0"}]
    assert still_learning({"history": hist}) is True  # 3.0 -> 2.0 is all that counts
    assert still_learning({"history": _history(inf, nan)}) is False  # nothing finite
    assert still_learning({"history": _history(nan, 2.0)}) is True  # one finite evaluation
    assert still_learning({"history": _history(2.0, 1.0, inf)}) is True
    assert still_learning({"history": [{"dev_loss": 3}, {"dev_loss": 1}]}) is True  # ints count
